// Builds containment, fallbacks, circuit breakers, rollback, soak and playbooks for the composition
// root, so src/main.ts adds a few lines: create, `await start()` before listening (startup
// recovery of interrupted rollbacks), services into ctx.services, adminPlugins, `close()`.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import type { LoadedConfig } from '../../config.ts';
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { Gateway } from '../gateway/index.ts';
import type { IncidentService } from '../incidents/incident-service.ts';
import type { Notifier } from '../notifications/notifier.ts';
import { BreakerRegistry, guardUpstream } from '../fallbacks/circuit-breaker.ts';
import { FallbackService } from '../fallbacks/fallback-service.ts';
import { PlaybookRunner } from '../playbooks/playbook-runner.ts';
import { actionView, playbookRoutes } from '../playbooks/playbook-routes.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import { rollbackRoutes } from '../rollback/rollback-routes.ts';
import { RollbackService, type CandidateValidator } from '../rollback/rollback-service.ts';
import { SoakTracker } from '../rollback/soak-tracker.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { Stores } from '../stores.ts';
import { modelPolicy } from './containment-config.ts';
import { containmentRoutes } from './containment-routes.ts';
import { ContainmentService } from './containment-service.ts';

export interface ContainmentFeatureDeps {
  loaded: LoadedConfig;
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  audit: AuditLog;
  routing: RoutingService;
  registry: RegistryService;
  incidents: IncidentService;
  notifier?: Notifier;
  /** The data plane: fallback hooks and circuit breakers are installed on it. */
  gateway?: Pick<Gateway, 'routeTable' | 'upstream' | 'setHooks'>;
  logger?: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void; info?(obj: unknown, msg?: string): void };
  /** Run the soak loop (earning `stable`); playbooks listen to the bus either way. */
  background?: boolean;
  /** Replaces golden-set validation of rollback targets (tests). */
  validator?: CandidateValidator;
  /** Only this process uses the store (SQLite): rollbacks found running at startup are orphans at once. */
  exclusiveStore?: boolean;
}

export interface ContainmentFeature {
  services: { containment: ContainmentService; rollback: RollbackService; playbooks: PlaybookRunner; fallbacks?: FallbackService };
  breakers?: BreakerRegistry;
  soak: SoakTracker;
  adminPlugins: FeaturePlugin[];
  /** Startup recovery (interrupted rollbacks), then playbooks and the soak loop. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createContainmentFeature(deps: ContainmentFeatureDeps): ContainmentFeature {
  const { loaded, stores, clock, bus, logger } = deps;
  const config = loaded.config;
  // The configuration is fixed for the life of the process: one policy object per model, so the
  // gateway hooks (fallback, onAnswer, breakers) pay a Map lookup, not a config walk.
  const policies = new Map<string, ReturnType<typeof modelPolicy>>();
  const policy = (model: string) => {
    let p = policies.get(model);
    if (!p) policies.set(model, (p = modelPolicy(config, model)));
    return p;
  };
  const onError = (err: unknown, context: string) => logger?.error({ err, context }, 'containment failed');

  const containment = new ContainmentService({ routing: deps.routing, clock, incidents: deps.incidents, onError });
  const rollback = new RollbackService({
    stores,
    routing: deps.routing,
    audit: deps.audit,
    clock,
    loaded,
    incidents: deps.incidents,
    notifier: deps.notifier,
    validator: deps.validator,
    exclusiveStore: deps.exclusiveStore,
    onError,
  });
  const playbooks = new PlaybookRunner({
    stores,
    clock,
    bus,
    incidents: deps.incidents,
    containment,
    rollback,
    notifier: deps.notifier,
    policyFor: (model) => policy(model).playbook,
    onError,
  });
  const soak = new SoakTracker({ stores, registry: deps.registry, clock, bus, soakMsFor: (m) => policy(m).soakMs, onError: (err) => onError(err, 'soak') });

  let fallbacks: FallbackService | undefined;
  let breakers: BreakerRegistry | undefined;
  const undo: Array<() => void> = [];
  if (deps.gateway) {
    fallbacks = new FallbackService({ routes: deps.gateway.routeTable, upstream: deps.gateway.upstream, clock, policyFor: (m) => policy(m).fallbacks, logger });
    deps.gateway.setHooks(fallbacks.hooks());
    breakers = new BreakerRegistry({
      clock,
      configFor: (model) => (model === undefined ? config.containment.circuitBreaker : policy(model).circuitBreaker),
      onChange: (snap, from, to, why) => logger?.warn({ breaker: snap.key, from, to, why }, 'circuit breaker changed state'),
    });
    undo.push(guardUpstream(deps.gateway.upstream as Gateway['upstream'], breakers, clock));
  }

  // Pending and past playbook actions show in the incident's detail.
  deps.incidents.addDetailProvider('actions', async (incident) => (await stores.playbookActions.listForIncident(incident.id)).map(actionView));

  const breakerRoutes: FeaturePlugin = async (app: FastifyInstance, ctx: AppContext) => {
    app.get('/breakers', { preHandler: ctx.requireRole('viewer'), schema: { tags: ['containment'], summary: 'Circuit breakers per version, fallback counters' } }, async () => ({
      breakers: breakers?.snapshot() ?? [],
      fallbacks: fallbacks?.stats() ?? null,
      containment: { recent: playbooks.containmentTimings.slice(-20) },
    }));
  };

  const stops: Array<() => void> = [];
  return {
    services: { containment, rollback, playbooks, fallbacks },
    breakers,
    soak,
    adminPlugins: [containmentRoutes, rollbackRoutes, playbookRoutes, breakerRoutes],
    async start() {
      const report = (recovered: Awaited<ReturnType<RollbackService['recoverInterrupted']>>) => {
        for (const r of recovered) logger?.warn({ rollbackId: r.id, model: r.model, error: r.error }, 'rollback was interrupted: its server stopped');
      };
      report(await rollback.recoverInterrupted({ startup: true }));
      stops.push(playbooks.start());
      if (deps.background !== false) {
        stops.push(soak.start());
        // Rollbacks orphaned by another replica that died while this one runs, checked once a lease.
        const sweep = setInterval(() => {
          rollback.recoverInterrupted().then(report, (err: unknown) => onError(err, 'recovering interrupted rollbacks'));
        }, rollback.leaseMs);
        sweep.unref();
        stops.push(() => clearInterval(sweep));
      }
    },
    async close() {
      for (const stop of stops.splice(0)) stop();
      await playbooks.idle();
      for (const u of undo.splice(0)) u();
    },
  };
}
