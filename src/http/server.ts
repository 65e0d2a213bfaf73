// Assembles the HTTP server: data plane (/v1), admin API (/api/v1), /metrics, health, dashboard.
// The composition root (src/main.ts) passes the feature plugins in.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { AppContext } from '../app-context.ts';
import { FailsafeError } from '../core/errors.ts';
import { isDataPlanePath, openAiErrorBody, sendError } from './error-mapping.ts';

export type FeaturePlugin = (app: FastifyInstance, ctx: AppContext) => Promise<void>;

/**
 * A handler that sees every request before Fastify does and answers the ones it owns (returns
 * true). The data plane is served this way: its hot path skips Fastify's per-request work.
 */
export type RawRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds a RawRoute to the server (plugins call it while they register, before listen). */
    addRawRoute(route: RawRoute): void;
  }
}

export interface ServerOptions {
  bodyLimitBytes: number;
  /** Mounted under /api/v1 (admin and control plane). */
  adminPlugins: FeaturePlugin[];
  /** Mounted at the root (data plane /v1, /metrics, dashboard). */
  rootPlugins: FeaturePlugin[];
  ready?: () => boolean;
}

export async function buildServer(ctx: AppContext, options: ServerOptions): Promise<FastifyInstance> {
  const rawRoutes: RawRoute[] = [];
  const app = Fastify({
    serverFactory: (fastifyHandler) => {
      const server = createServer((req, res) => {
        for (let i = 0; i < rawRoutes.length; i++) if (rawRoutes[i](req, res)) return;
        fastifyHandler(req, res);
      });
      // What Fastify sets on a server it creates itself.
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      return server;
    },
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // Per-request logs would cost the gateway's hot path; traces and metrics record every request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // Request ids are ours (x-request-id); Fastify's counter would only confuse logs.
    genReqId: () => '',
    // With no request id to bind, a child logger per request would be pure cost: share the root one.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  app.decorate('addRawRoute', (route: RawRoute) => {
    rawRoutes.push(route);
  });
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => {
    if (isDataPlanePath(request.url)) {
      return reply.code(404).send(openAiErrorBody(404, `no such endpoint: ${request.method} ${request.url}`, 'not_found'));
    }
    return sendError(request, reply, new FailsafeError('NOT_FOUND', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Failsafe API', version: '1', description: 'Incident response and rollback control plane for AI models' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ready = options.ready ? options.ready() : true;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  await app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    for (const plugin of options.adminPlugins) await plugin(scope, ctx);
  }, { prefix: '/api/v1' });

  for (const plugin of options.rootPlugins) await app.register(async (scope) => plugin(scope, ctx));

  return app;
}
