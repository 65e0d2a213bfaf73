// Test kit for the data plane: a real gateway on 127.0.0.1 (port 0) over the memory stores, and a
// builder for ServingModels (re-exported), so tests drive the gateway the way the routing service does.
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppContext, Services } from '../../app-context.ts';
import { parseConfig } from '../../config.ts';
import { EventBus } from '../../core/events.ts';
import type { ApiKey } from '../../core/types.ts';
import { makeRequireRole } from '../../http/auth.ts';
import { buildServer } from '../../http/server.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { Stores } from '../stores.ts';
import { createGateway, type CreateGatewayOptions, type Gateway } from './index.ts';

export { servingModel, type VersionInit } from './serving-model-builder.ts';

export interface TestGateway {
  url: string;
  app: FastifyInstance;
  gateway: Gateway;
  stores: Stores;
  close(): Promise<void>;
}

export const CLIENT_KEY = 'fsk_test_client_key';
export const VIEWER_KEY = 'fsk_test_viewer_key';

export async function startTestGateway(
  options: { config?: unknown; hooks?: CreateGatewayOptions['hooks']; random?: () => number; bodyLimitBytes?: number } = {},
): Promise<TestGateway> {
  const config = parseConfig(options.config ?? {}, {});
  if (options.bodyLimitBytes) config.server.bodyLimitBytes = options.bodyLimitBytes;
  const stores = createMemoryStores();
  const logger = pino({ level: 'silent' });
  const clock = { now: () => Date.now() };
  const gateway = createGateway({ config, stores, clock, logger, hooks: options.hooks, random: options.random, defaultMetrics: false });
  const keys: Record<string, ApiKey> = {
    [CLIENT_KEY]: { id: 'k1', name: 'app', role: 'client', prefix: 'fsk_test', createdAt: 0 },
    [VIEWER_KEY]: { id: 'k2', name: 'dash', role: 'viewer', prefix: 'fsk_test', createdAt: 0 },
  };
  const ctx: AppContext = {
    loaded: { config, baseDir: process.cwd() },
    clock,
    bus: new EventBus(),
    logger,
    storage: undefined as unknown as AppContext['storage'],
    stores,
    requireRole: makeRequireRole({ authenticate: async (secret) => keys[secret] }),
    services: {} as Services,
  };
  const app = await buildServer(ctx, { bodyLimitBytes: config.server.bodyLimitBytes, adminPlugins: [], rootPlugins: [gateway.plugin] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    gateway,
    stores,
    close: async () => {
      await app.close();
      await gateway.close();
    },
  };
}
