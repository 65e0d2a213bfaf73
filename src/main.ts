// Composition root: reads the configuration, opens the store, builds every service and the HTTP
// server, and owns shutdown. Nothing else constructs services.
import { existsSync } from 'node:fs';
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

  const ctx: AppContext = {
    loaded,
    clock,
    bus,
    logger,
    storage,
    stores,
    requireRole: makeRequireRole({ authenticate: async () => undefined }),
    services: {},
  };

  const adminPlugins: FeaturePlugin[] = [];
  const rootPlugins: FeaturePlugin[] = [];
  const bootstrapAdminSecret: string | undefined = undefined;

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
