// An in-process admin API with the incident area (incidents, alerts, notifier) over a real SQLite
// file and the foundation services, for app.inject tests and real-HTTP end-to-end tests.
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config.ts';
import { foundationAdminPlugins } from '../../src/features/foundation-services.ts';
import { createIncidentFeature, type IncidentFeature } from '../../src/features/incidents/incident-feature.ts';
import { buildServer } from '../../src/http/server.ts';
import { createKyselyStores } from '../../src/storage/kysely-stores.ts';
import { createFoundation, type Foundation } from './foundation.ts';
import { foundationContext } from './foundation-server.ts';
import { createSqliteStorage, type TestStorage } from './storage.ts';

export interface IncidentServer {
  app: FastifyInstance;
  f: Foundation;
  feature: IncidentFeature;
  storage: TestStorage;
  keys: Record<'admin' | 'operator' | 'viewer' | 'client', string>;
  /** Base URL once `listen()` ran. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startIncidentServer(options: { config?: unknown; clockStart?: number } = {}): Promise<IncidentServer> {
  const storage = await createSqliteStorage();
  const stores = createKyselyStores(storage.handle);
  const f = createFoundation({ stores });
  if (options.clockStart !== undefined) f.clock.t = options.clockStart;
  const config = parseConfig(options.config ?? {}, {});
  const logger = pino({ level: 'silent' });
  const feature = createIncidentFeature({ config, stores, clock: f.clock, bus: f.bus, audit: f.audit, logger });
  const ctx = foundationContext(f, storage, { config, logger, services: { incidents: feature.incidents, notifier: feature.notifier } });
  const app = await buildServer(ctx, {
    bodyLimitBytes: config.server.bodyLimitBytes,
    adminPlugins: [...foundationAdminPlugins, ...feature.adminPlugins],
    rootPlugins: [],
  });
  const boot = await f.apiKeys.ensureBootstrapAdmin();
  const keys = {
    admin: boot.status === 'created' ? boot.secret! : '',
    operator: (await f.apiKeys.create({ name: 'ops', role: 'operator' }, { actor: 'test' })).secret,
    viewer: (await f.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret,
    client: (await f.apiKeys.create({ name: 'app', role: 'client' }, { actor: 'test' })).secret,
  };
  return {
    app,
    f,
    feature,
    storage,
    keys,
    listen: async () => {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    },
    close: async () => {
      await feature.close();
      await app.close();
      await storage.cleanup();
    },
  };
}
