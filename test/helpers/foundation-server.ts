// An in-process admin API over a real SQLite file with the foundation services, for app.inject tests.
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppContext, Services } from '../../src/app-context.ts';
import { parseConfig, type FailsafeConfig } from '../../src/config.ts';
import type { RecentRequests } from '../../src/features/feedback/feedback-service.ts';
import { foundationAdminPlugins } from '../../src/features/foundation-services.ts';
import { makeRequireRole } from '../../src/http/auth.ts';
import { buildServer, type FeaturePlugin } from '../../src/http/server.ts';
import { createKyselyStores } from '../../src/storage/kysely-stores.ts';
import { createFoundation, type Foundation } from './foundation.ts';
import { createSqliteStorage, type TestStorage } from './storage.ts';

/** Secrets of one key per role. */
export type RoleKeys = Record<'admin' | 'operator' | 'viewer' | 'client', string>;

export interface FoundationServer {
  app: FastifyInstance;
  f: Foundation;
  storage: TestStorage;
  keys: RoleKeys;
  close(): Promise<void>;
}

/** The bootstrap admin key (from FAILSAFE_ADMIN_KEY or generated) and one new key for each other role. */
export async function createRoleKeys(f: Foundation): Promise<RoleKeys> {
  const boot = await f.apiKeys.ensureBootstrapAdmin();
  return {
    admin: boot.status === 'created' ? boot.secret! : '',
    operator: (await f.apiKeys.create({ name: 'ops', role: 'operator' }, { actor: 'test' })).secret,
    viewer: (await f.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret,
    client: (await f.apiKeys.create({ name: 'app', role: 'client' }, { actor: 'test' })).secret,
  };
}

/** Listens on a free port of 127.0.0.1; resolves to the base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/**
 * The app context of a test server over the foundation services and `storage`; `services` adds
 * other areas' services (the rest are not needed by the routes under test).
 */
export function foundationContext(
  f: Foundation,
  storage: TestStorage,
  options: { config: FailsafeConfig; logger?: Logger; services?: Partial<Services> },
): AppContext {
  return {
    loaded: { config: options.config, baseDir: process.cwd() },
    clock: f.clock,
    bus: f.bus,
    logger: options.logger ?? pino({ level: 'silent' }),
    storage: storage.handle,
    stores: f.stores,
    requireRole: makeRequireRole(f.apiKeys),
    services: { audit: f.audit, apiKeys: f.apiKeys, registry: f.registry, routing: f.routing, feedback: f.feedback, ...options.services } as Services,
  };
}

export async function startFoundationServer(
  options: { config?: unknown; recentRequests?: RecentRequests; /** Served after the foundation's routes. */ adminPlugins?: FeaturePlugin[] } = {},
): Promise<FoundationServer> {
  const storage = await createSqliteStorage();
  const stores = createKyselyStores(storage.handle);
  const f = createFoundation({ stores, recentRequests: options.recentRequests });
  const config = parseConfig(options.config ?? {}, {});
  const ctx = foundationContext(f, storage, { config });
  const app = await buildServer(ctx, { bodyLimitBytes: 1024 * 1024, adminPlugins: [...foundationAdminPlugins, ...(options.adminPlugins ?? [])], rootPlugins: [] });
  const keys = await createRoleKeys(f);
  return {
    app,
    f,
    storage,
    keys,
    close: async () => {
      await app.close();
      await storage.cleanup();
    },
  };
}
