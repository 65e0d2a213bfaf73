// Composition root: reads the configuration, opens the store, builds every service and the HTTP
// server, and owns shutdown. Nothing else constructs services.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './app-context.ts';
import { loadConfigFile, parseConfig, type LoadedConfig } from './config.ts';
import { EventBus } from './core/events.ts';
import { systemClock, type Clock } from './core/types.ts';
import { makeRequireRole } from './http/auth.ts';
import { buildServer, type FeaturePlugin } from './http/server.ts';
import { openStorage } from './storage/database.ts';
import { createKyselyStores } from './storage/kysely-stores.ts';
import { createDashboardPlugin } from './features/dashboard/dashboard-plugin.ts';
import { createContainmentFeature } from './features/containment/containment-feature.ts';
import { createFoundationServices, foundationAdminPlugins } from './features/foundation-services.ts';
import { createGateway } from './features/gateway/index.ts';
import { buildValidatorEngines, createValidatorHooks } from './features/validators/validator-hooks.ts';
import { IncidentService } from './features/incidents/incident-service.ts';
import { incidentRoutes } from './features/incidents/incident-routes.ts';
import { alertRoutes } from './features/alerts/alert-routes.ts';
import { severityRulesFrom } from './features/incidents/severity-config.ts';
import { Notifier } from './features/notifications/notifier.ts';
import { createRcaFeature } from './features/rca/rca-feature.ts';
import { createMonitoringFeature } from './features/monitoring/monitoring-feature.ts';
import { createReviewFeature } from './features/review/review-feature.ts';
import { createRouteSync } from './features/routing/route-sync.ts';
import { createRunbookFeature } from './features/runbooks/runbook-feature.ts';
import { builtinRunbookDir } from './features/runbooks/runbook-service.ts';
import { createDeploymentsFeature } from './features/deployments/deployments-feature.ts';

export interface StartOptions {
  /** Path of failsafe.yaml; when absent and `config` is not given, `failsafe.yaml` if it exists. */
  configPath?: string;
  /** An already loaded configuration (tests, demo). */
  config?: LoadedConfig;
  host?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
  /** Start background loops (monitors, playbooks, retention). Tests may drive them by hand. */
  background?: boolean;
}

export interface RunningFailsafe {
  url: string;
  app: FastifyInstance;
  ctx: AppContext;
  /** Set only when this start created the first admin key; shown once. */
  bootstrapAdminSecret?: string;
  close(): Promise<void>;
}

export function resolveConfig(options: StartOptions): LoadedConfig {
  const env = options.env ?? process.env;
  if (options.config) return options.config;
  if (options.configPath) return loadConfigFile(options.configPath, env);
  if (existsSync('failsafe.yaml')) return loadConfigFile('failsafe.yaml', env);
  return { config: parseConfig({}, env), baseDir: process.cwd() };
}

export function createLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({
    level: env.FAILSAFE_LOG_LEVEL ?? 'info',
    // Secrets are never logged, whatever a caller passes in.
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret', '*.apiKey', '*.token', '*.headers'], censor: '[REDACTED]' },
  });
}

export async function startFailsafe(options: StartOptions = {}): Promise<RunningFailsafe> {
  const env = options.env ?? process.env;
  const loaded = resolveConfig(options);
  const { config } = loaded;
  const logger = options.logger ?? createLogger(env);
  const clock = options.clock ?? systemClock;
  const bus = new EventBus((err, event) => logger.error({ err, event }, 'event handler failed'));
  const storage = await openStorage(config.storage);
  const stores = createKyselyStores(storage);
  const closers: Array<() => Promise<void> | void> = [];
  const onError = (context: string) => (err: unknown) => logger.error({ err }, context);

  const gateway = createGateway({ config, stores, clock, logger });
  closers.push(() => gateway.close());
  const validatorEngines = buildValidatorEngines(config.models);
  gateway.setHooks(createValidatorHooks({ engineFor: (model) => validatorEngines.get(model) }));
  // The gateway's route table is the routing service's serving sink: a route change is in
  // effect for new requests when its call returns.
  const foundation = createFoundationServices({
    stores,
    clock,
    bus,
    sink: gateway.routeTable,
    recentRequests: (id) => gateway.telemetry.lookupRecent(id),
    onFeedback: (f) => {
      // Label correctness needs the prediction the client got: remembered for recent requests
      // (a label sent right after the answer, before its trace is written), else on the trace.
      void (async () => {
        const recent = f.label === undefined ? undefined : gateway.telemetry.lookupRecent(f.requestId)?.prediction;
        const trace = f.label === undefined || recent !== undefined ? undefined : await stores.traces.get(f.requestId);
        gateway.telemetry.recordFeedback({ ...f, prediction: recent ?? trace?.prediction ?? trace?.output });
      })().catch(onError('feedback accounting failed'));
    },
    onError: onError('control plane side effect failed'),
  });
  const { audit, apiKeys, routing, registry } = foundation;
  const bootstrap = await apiKeys.ensureBootstrapAdmin(env.FAILSAFE_ADMIN_KEY);
  if (bootstrap.status === 'revoked') logger.warn('FAILSAFE_ADMIN_KEY names a revoked key; it grants nothing');
  for (const warning of (await registry.seedFromConfig(config)).warnings) logger.warn(warning);
  await routing.loadAll();
  const routeSync = createRouteSync({ storage, routing, onError: (err, context) => logger.error({ err, context }, 'route sync failed') });
  await routeSync.start();
  closers.push(() => routeSync.stop());

  const incidents = new IncidentService({
    stores,
    clock,
    bus,
    audit,
    severityRules: severityRulesFrom(config.severity),
    evidenceIntervalMs: config.severity.evidenceIntervalSeconds * 1000,
    onError: (err, what) => logger.error({ err, what }, 'incident handling failed'),
  });
  const notifier = new Notifier({ config: config.notifications, timeline: incidents, clock, bus, logger });
  closers.push(notifier.start());
  // Let queued notifications finish (bounded) before storage closes: their outcomes go on timelines.
  closers.push(() => notifier.close());
  // Containment, fallbacks, circuit breakers, validated rollback, soak and playbooks. Interrupted
  // rollbacks are recovered before the server takes requests. Created before the other incident
  // listeners on purpose: on `incident.opened` the playbook's route change queues for the database
  // first, which keeps containment within its 100 ms bar while runbooks and RCA do their writes.
  const containmentFeature = createContainmentFeature({
    loaded,
    stores,
    clock,
    bus,
    audit,
    routing,
    registry,
    incidents,
    notifier,
    gateway,
    logger,
    background: options.background,
    // An SQLite file has one Failsafe process; PostgreSQL may have several replicas.
    exclusiveStore: storage.engine === 'sqlite',
  });
  await containmentFeature.start();
  closers.push(() => containmentFeature.close());
  // Runbooks: every incident follows a runbook (SOP-001 unless `runbooks.select` picks another;
  // runbooks/*.yaml and `runbooks.dirs`, versioned) as a checklist whose automatic steps complete
  // from timeline events; overdue steps escalate through the notifier.
  const runbookFeature = await createRunbookFeature({
    stores,
    clock,
    bus,
    audit,
    incidents,
    notifier,
    dirs: [builtinRunbookDir, ...config.runbooks.dirs.map((d) => resolve(loaded.baseDir, d))],
    defaultRunbookId: config.runbooks.default,
    select: config.runbooks.select,
    tickIntervalMs: options.background === false ? undefined : 15_000,
    onError: (err, what) => logger.error({ err, what }, 'runbook handling failed'),
  });
  closers.push(() => runbookFeature.close());
  // RCA: on demand (GET /incidents/{id}/rca) and by itself 10 s after an incident opens (traces are flushed in batches).
  const rcaFeature = createRcaFeature({
    stores,
    clock,
    bus,
    incidents,
    autoAnalyzeDelayMs: options.background === false ? undefined : 10_000,
    onError: (err, what) => logger.error({ err, what }, 'rca failed'),
  });
  closers.push(() => rcaFeature.close());
  // Post-incident review: postmortems (stored on the timeline; the final one when an incident
  // resolves), monitor replays and tuning, and the trace explorer. RCA and monitoring are looked up
  // when a postmortem is made, so the order features are built in does not matter.
  const reviewFeature = createReviewFeature({
    stores,
    clock,
    bus,
    incidents,
    audit,
    loaded,
    rca: () => ctx.services.rca,
    monitoring: () => ctx.services.monitors,
    writeOnResolve: options.background !== false,
    onError: (err, what) => logger.error({ err, what }, 'review failed'),
  });
  closers.push(() => reviewFeature.close());
  // Deployments (canary, shadow, A/B) and stand-alone validations. A running canary is the
  // authority for its candidate: the monitors see the model without it (monitoredView) until it
  // is promoted, then watch it against the previous stable version while it soaks; the soak clock
  // restarts at promotion. Runs on the monitoring leader.
  const deploymentsFeature = createDeploymentsFeature({
    loaded,
    stores,
    clock,
    audit,
    routing,
    registry,
    windows: gateway.telemetry.windows,
    soak: { restart: (model, version, at) => containmentFeature.soak.breach(model, version, at) },
    background: options.background,
    isLeader: () => monitoringFeature.runner.isLeader(),
    onError: (err, what) => logger.error({ err, what }, 'deployment failed'),
  });
  // Monitors: every live version's signals every second over the gateway's metric windows; breaches
  // open incidents (severity, onset, impact). One replica runs them (PostgreSQL advisory lock).
  const monitoringFeature = createMonitoringFeature({
    config,
    storage,
    stores,
    windows: gateway.telemetry.windows,
    serving: (model) => deploymentsFeature.monitoredView(routing.serving(model)),
    incidents,
    audit,
    bus,
    clock,
    onError: (err, what) => logger.error({ err, what }, 'monitoring failed'),
    onLeaderChange: (leader) => logger.info({ leader }, leader ? 'this replica runs the monitors' : 'another replica runs the monitors'),
  });
  await monitoringFeature.start({ loop: options.background !== false });
  closers.push(() => monitoringFeature.close());
  await deploymentsFeature.start();
  closers.push(() => deploymentsFeature.close());

  const ctx: AppContext = {
    loaded,
    clock,
    bus,
    logger,
    storage,
    stores,
    requireRole: makeRequireRole(apiKeys),
    services: { ...foundation, incidents, notifier, rca: rcaFeature.rca, ...containmentFeature.services, runbooks: runbookFeature.runbooks, review: reviewFeature.review, monitors: monitoringFeature.runner, deployments: deploymentsFeature.deployments, experiments: deploymentsFeature.experiments },
  };

  const adminPlugins: FeaturePlugin[] = [...foundationAdminPlugins, incidentRoutes, alertRoutes, ...rcaFeature.adminPlugins, ...containmentFeature.adminPlugins, ...runbookFeature.adminPlugins, ...reviewFeature.adminPlugins, ...monitoringFeature.adminPlugins, ...deploymentsFeature.adminPlugins];
  // The dashboard's charts read the gateway's metric windows.
  const rootPlugins: FeaturePlugin[] = [gateway.plugin, createDashboardPlugin({ windows: () => gateway.telemetry.windows })];
  const bootstrapAdminSecret = bootstrap.status === 'created' ? bootstrap.secret : undefined;

  const app = await buildServer(ctx, { bodyLimitBytes: config.server.bodyLimitBytes, adminPlugins, rootPlugins });
  const host = options.host ?? config.server.host;
  const port = options.port ?? config.server.port;
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;

  let closed = false;
  return {
    url,
    app,
    ctx,
    bootstrapAdminSecret,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      for (const close of closers.reverse()) await close();
      await storage.close();
    },
  };
}
