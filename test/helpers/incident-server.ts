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
import { createRoleKeys, foundationContext, listenOnLoopback, type RoleKeys } from './foundation-server.ts';
import { createSqliteStorage, type TestStorage } from './storage.ts';

export interface IncidentServer {
  app: FastifyInstance;
  f: Foundation;
  feature: IncidentFeature;
  storage: TestStorage;
  keys: RoleKeys;
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
  const keys = await createRoleKeys(f);
  return {
    app,
    f,
    feature,
    storage,
    keys,
    listen: () => listenOnLoopback(app),
    close: async () => {
      await feature.close();
      await app.close();
      await storage.cleanup();
    },
  };
}
