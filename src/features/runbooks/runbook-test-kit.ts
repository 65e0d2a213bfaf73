// Test kit for the runbook area: the foundation services and the incident area over a real SQLite
// file (or given stores), the runbook feature with its routes, a fake notifier that records what it
// was asked to send, and one API key per role. Used by the runbook tests and test/runbook-e2e.test.ts.
import type { FastifyInstance } from 'fastify';
import { createFoundation, type Foundation } from '../../../test/helpers/foundation.ts';
import { createRoleKeys, foundationContext, listenOnLoopback, type RoleKeys } from '../../../test/helpers/foundation-server.ts';
import { createSqliteStorage, type TestStorage } from '../../../test/helpers/storage.ts';
import { parseConfig } from '../../config.ts';
import type { Audience, Incident } from '../../core/types.ts';
import { buildServer } from '../../http/server.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { foundationAdminPlugins } from '../foundation-services.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { incidentRoutes } from '../incidents/incident-routes.ts';
import type { NotificationEvent } from '../notifications/notifier.ts';
import type { Stores } from '../stores.ts';
import type { RunbookRule } from './runbook-config.ts';
import { createRunbookFeature, type RunbookFeature } from './runbook-feature.ts';

export interface SentNotification {
  incidentId: string;
  event: NotificationEvent;
  audience?: Audience;
}

export class FakeNotifier {
  readonly sent: SentNotification[] = [];
  notify(incident: Incident, event: NotificationEvent, audience?: Audience): string[] {
    this.sent.push({ incidentId: incident.id, event, ...(audience ? { audience } : {}) });
    return [`fake-${this.sent.length}`];
  }
}

export interface RunbookKit {
  f: Foundation;
  stores: Stores;
  incidents: IncidentService;
  feature: RunbookFeature;
  notifier: FakeNotifier;
  errors: unknown[];
  close(): Promise<void>;
}

export const T0 = Date.UTC(2025, 2, 14, 9, 0);

export async function createRunbookKit(
  options: { stores?: Stores; dirs?: string[]; clockStart?: number; defaultRunbookId?: string; select?: RunbookRule[] } = {},
): Promise<RunbookKit & { storage?: TestStorage }> {
  const storage = options.stores ? undefined : await createSqliteStorage();
  const stores = options.stores ?? createKyselyStores(storage!.handle);
  const f = createFoundation({ stores });
  f.clock.t = options.clockStart ?? T0;
  const errors: unknown[] = [];
  const incidents = new IncidentService({ stores, clock: f.clock, bus: f.bus, audit: f.audit, onError: (err) => errors.push(err) });
  const notifier = new FakeNotifier();
  const feature = await createRunbookFeature({
    stores,
    clock: f.clock,
    bus: f.bus,
    audit: f.audit,
    incidents,
    notifier,
    dirs: options.dirs,
    defaultRunbookId: options.defaultRunbookId,
    select: options.select,
    onError: (err) => errors.push(err),
  });
  return {
    f,
    stores,
    incidents,
    feature,
    notifier,
    errors,
    storage,
    close: async () => {
      await feature.close();
      await storage?.cleanup();
    },
  };
}

export interface RunbookServer extends RunbookKit {
  app: FastifyInstance;
  keys: RoleKeys;
  listen(): Promise<string>;
}

/** The kit behind a real admin API (incidents, audit, keys, runbooks). */
export async function startRunbookServer(options: { clockStart?: number } = {}): Promise<RunbookServer> {
  const kit = await createRunbookKit(options);
  const config = parseConfig({}, {});
  const ctx = foundationContext(kit.f, kit.storage!, { config, services: { incidents: kit.incidents } });
  const app = await buildServer(ctx, {
    bodyLimitBytes: config.server.bodyLimitBytes,
    adminPlugins: [...foundationAdminPlugins, incidentRoutes, ...kit.feature.adminPlugins],
    rootPlugins: [],
  });
  const keys = await createRoleKeys(kit.f);
  return {
    ...kit,
    app,
    keys,
    listen: () => listenOnLoopback(app),
    close: async () => {
      await app.close();
      await kit.close();
    },
  };
}

/** Registers `name` (chat, versions v1 stable and v2) with the given tags. */
export async function seedModel(kit: RunbookKit, name = 'support-bot', tags: string[] = []): Promise<void> {
  const config = parseConfig({
    models: [
      {
        name,
        kind: 'chat',
        tags,
        versions: [
          { version: 'v1', upstream: { url: 'http://127.0.0.1:9001/v1', model: 'sim-chat' }, stable: true },
          { version: 'v2', upstream: { url: 'http://127.0.0.1:9002/v1', model: 'sim-chat' } },
        ],
        route: { v2: 100 },
      },
    ],
  }, {});
  await kit.f.registry.seedFromConfig(config);
}

/** Opens an incident the way a monitor does and waits for its checklist. */
export async function openIncident(kit: RunbookKit, options: { model?: string; severity?: 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4'; family?: string } = {}): Promise<Incident> {
  const r = await kit.incidents.openOrUpdate({
    monitor: 'error-rate',
    family: options.family ?? 'errors',
    model: options.model ?? 'support-bot',
    version: 'v2',
    status: 'breach',
    at: kit.f.clock.now(),
    severity: options.severity ?? 'SEV2',
    evidence: { test: 'two-proportion z', statistic: 8.2, threshold: 3.5, detail: 'error rate 12% vs 0.4%' },
  });
  await kit.feature.runbooks.idle();
  return r.incident!;
}
