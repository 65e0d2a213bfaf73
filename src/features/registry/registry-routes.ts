// /api/v1/models and /api/v1/models/{name}/versions.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { upstreamSchema, versionConfigSchema } from '../../config.ts';
import type { Upstream, VersionState } from '../../core/types.ts';
import { versionStates } from '../../core/version-state.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import { routeView } from '../routing/route-views.ts';
import type { ChangeContext } from './registry-service.ts';
import { modelSummaryView, modelView, versionView } from './registry-views.ts';

const nameSchema = versionConfigSchema.shape.version;

const modelBody = z.strictObject({
  name: nameSchema,
  kind: z.enum(['chat', 'predict']),
  tags: z.array(z.string().min(1).max(64)).max(50).optional(),
  reason: z.string().max(2000).optional(),
});

const versionBody = z.strictObject({
  version: nameSchema,
  upstream: upstreamSchema,
  prompt: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  reason: z.string().max(2000).optional(),
});

const stateBody = z.strictObject({
  state: z.enum(versionStates as [VersionState, ...VersionState[]]),
  reason: z.string().max(2000).optional(),
});

const modelParams = z.object({ name: z.string().min(1).max(64) });
const versionParams = z.object({ name: z.string().min(1).max(64), version: z.string().min(1).max(64) });

const changeContext = (request: FastifyRequest, reason?: string): ChangeContext => ({
  actor: actorOf(request),
  reason,
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

export async function registryRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const registry = ctx.services.registry;
  const viewer = ctx.requireRole('viewer');
  const operator = ctx.requireRole('operator');

  app.get('/models', { preHandler: viewer, schema: { tags: ['models'], summary: 'Models with their route as it serves now' } }, async () => ({
    models: (await registry.listModels()).map(modelSummaryView),
  }));

  app.post('/models', { preHandler: operator, schema: { tags: ['models'], summary: 'Register a model' } }, async (request, reply) => {
    const body = parseInput(modelBody, request.body);
    const model = await registry.registerModel({ name: body.name, kind: body.kind, tags: body.tags }, changeContext(request, body.reason));
    return reply.code(201).send({ model: { ...modelView(model), mode: 'serving', weights: {} } });
  });

  app.get('/models/:name', { preHandler: viewer, schema: { tags: ['models'], summary: 'One model with its versions and route' } }, async (request) => {
    const { name } = parseInput(modelParams, request.params, 'params');
    const summary = await registry.describeModel(name);
    return {
      model: modelSummaryView(summary),
      versions: summary.versions.map((v) => versionView(v, summary.route)),
      route: summary.route ? routeView(summary.route) : null,
    };
  });

  app.get('/models/:name/versions', { preHandler: viewer, schema: { tags: ['versions'], summary: 'Versions, oldest first' } }, async (request) => {
    const { name } = parseInput(modelParams, request.params, 'params');
    const summary = await registry.describeModel(name);
    return { versions: summary.versions.map((v) => versionView(v, summary.route)) };
  });

  app.post('/models/:name/versions', { preHandler: operator, schema: { tags: ['versions'], summary: 'Register an immutable version' } }, async (request, reply) => {
    const { name } = parseInput(modelParams, request.params, 'params');
    const body = parseInput(versionBody, request.body);
    const { reason, ...spec } = body;
    const result = await registry.registerVersion(name, { ...spec, upstream: spec.upstream as Upstream }, changeContext(request, reason));
    const route = await ctx.stores.routes.get(name);
    return reply.code(result.created ? 201 : 200).send({ version: versionView(result.version, route), created: result.created });
  });

  app.get('/models/:name/versions/:version', { preHandler: viewer, schema: { tags: ['versions'], summary: 'One version' } }, async (request) => {
    const { name, version } = parseInput(versionParams, request.params, 'params');
    const v = await registry.getVersion(name, version);
    return { version: versionView(v, await ctx.stores.routes.get(name)) };
  });

  app.put('/models/:name/versions/:version/state', { preHandler: operator, schema: { tags: ['versions'], summary: 'Change a version state' } }, async (request) => {
    const { name, version } = parseInput(versionParams, request.params, 'params');
    const body = parseInput(stateBody, request.body);
    const v = await registry.setVersionState(name, version, body.state, changeContext(request, body.reason));
    return { version: versionView(v, await ctx.stores.routes.get(name)) };
  });
}
