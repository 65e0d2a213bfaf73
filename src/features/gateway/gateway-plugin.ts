// The data-plane routes, registered at the root: /v1/chat/completions, /v1/models,
// /v1/models/{name}:predict, and GET /metrics. Bodies on these routes are parsed with plain
// JSON.parse (whatever the content type, so `curl -d` works) and kept as text for pass-through.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { FailsafeError } from '../../core/errors.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import { metricsRoute } from '../telemetry/metrics.ts';
import { chatHandler } from './chat-handler.ts';
import { sendApiError, sendJson, type GatewayRuntime } from './exchange.ts';
import { apiError } from './openai-shapes.ts';
import { predictHandler } from './predict-handler.ts';
import { requestIdOf } from './request-id.ts';

export interface GatewayPluginOptions {
  /** Require a `client` (or higher) API key on /v1 (config `server.clientAuth`). */
  clientAuth: boolean;
  /** Serve GET /metrics from the telemetry registry (default true). */
  metrics?: boolean;
}

function parseJsonBody(request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void): void {
  request.failsafeRawBody = body;
  if (body.length === 0) {
    done(new FailsafeError('BAD_REQUEST', 'request body is empty; expected a JSON object'));
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    done(new FailsafeError('BAD_REQUEST', `malformed JSON body: ${(err as Error).message}`));
    return;
  }
  done(null, parsed);
}

export function gatewayPlugin(rt: GatewayRuntime, options: GatewayPluginOptions): FeaturePlugin {
  return async function gateway(app: FastifyInstance, ctx) {
    app.decorateRequest('failsafeRequestId', '');
    app.decorateRequest('failsafeRawBody', undefined);
    // Content-type parsers are scoped to this plugin: the admin API keeps Fastify's own.
    app.removeAllContentTypeParsers();
    // The exact type first: Fastify finds it with one lookup, the catch-all takes a slower path.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
    app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);
    // Handlers set x-request-id themselves; answers made by Fastify's error path (bad JSON, 413,
    // 401) get it here. No per-request hook on the happy path.
    app.addHook('onError', (request, reply, _error, done) => {
      reply.header('x-request-id', requestIdOf(request));
      done();
    });

    const routeOptions: RouteShorthandOptions = { schema: { hide: true } };
    if (options.clientAuth) routeOptions.preHandler = ctx.requireRole('client');

    app.post('/v1/chat/completions', routeOptions, chatHandler(rt));
    app.post<{ Params: { target: string } }>('/v1/models/:target', routeOptions, predictHandler(rt));

    app.get('/v1/models', routeOptions, async (request, reply) => {
      const data = rt.routes.models().map((r) => modelObject(r.name, r.serving.model.createdAt, r.kind, r.mode));
      data.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return sendJson(reply, 200, requestIdOf(request), undefined, JSON.stringify({ object: 'list', data }));
    });

    app.get<{ Params: { target: string } }>('/v1/models/:target', routeOptions, async (request, reply) => {
      const name = request.params.target.split('@')[0];
      const r = rt.routes.get(name);
      if (!r) return sendApiError(reply, requestIdOf(request), apiError(404, `The model '${name}' does not exist`, 'model_not_found', 'model'));
      return sendJson(reply, 200, requestIdOf(request), undefined, JSON.stringify(modelObject(r.name, r.serving.model.createdAt, r.kind, r.mode)));
    });

    const notFound = async (request: FastifyRequest, reply: FastifyReply) =>
      sendApiError(reply, requestIdOf(request), apiError(404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`, 'not_found'));
    app.all('/v1', notFound);
    app.all('/v1/*', notFound);

    if (options.metrics !== false) metricsRoute(app, rt.telemetry.metrics);
  };
}

function modelObject(name: string, createdAt: number, kind: string, mode: string) {
  return { id: name, object: 'model', created: Math.floor(createdAt / 1000), owned_by: 'failsafe', kind, mode };
}
