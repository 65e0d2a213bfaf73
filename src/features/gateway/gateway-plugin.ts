// Mounts the data plane. /v1/* is served by the data plane's own router (data-plane.ts) ahead of
// Fastify; Fastify serves GET /metrics, and forwards /v1/* to the same router for requests that
// never pass the HTTP server (app.inject in tests).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FeaturePlugin } from '../../http/server.ts';
import { metricsRoute } from '../telemetry/metrics.ts';
import { createDataPlane } from './data-plane.ts';
import type { GatewayRuntime } from './exchange.ts';

export interface GatewayPluginOptions {
  /** Require a `client` (or higher) API key on /v1 (config `server.clientAuth`). */
  clientAuth: boolean;
  bodyLimitBytes: number;
  /** Serve GET /metrics from the telemetry registry (default true). */
  metrics?: boolean;
}

export function gatewayPlugin(rt: GatewayRuntime, options: GatewayPluginOptions): FeaturePlugin {
  return async function gateway(app: FastifyInstance, ctx) {
    const dataPlane = createDataPlane(rt, { clientAuth: options.clientAuth, bodyLimitBytes: options.bodyLimitBytes, authorize: ctx.requireRole.authorize });
    app.addRawRoute(dataPlane);

    // The body stays unread for the data plane to read.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const forward = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      dataPlane(request.raw, reply.raw);
    };
    app.all('/v1', { schema: { hide: true } }, forward);
    app.all('/v1/*', { schema: { hide: true } }, forward);

    if (options.metrics !== false) metricsRoute(app, rt.telemetry.metrics);
  };
}
