// /api/v1/models/{name}/route, …/route/history, …/pause, …/resume.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { parseTimeParam } from '../../core/iso-time.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import { emptyRoute } from './compile-serving-model.ts';
import type { RouteChangeContext, RouteUpdateResult } from './routing-service.ts';
import { routeChangeView, routeView } from './route-views.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

// Weights are checked in detail by the routing rules (INVALID_ROUTE with the offending version);
// here only the outline, so a malformed body still gets a precise answer.
const putBody = z.strictObject({
  weights: z.record(z.string(), z.unknown()).optional(),
  mode: z.enum(['serving', 'paused', 'fallback']).optional(),
  shadow: z.strictObject({ version: z.string().min(1), percent: z.number().optional() }).nullable().optional(),
  stickyKey: z.string().nullable().optional(),
  reason: z.string().max(2000).optional(),
});

// Pause and resume also take `fallback` (pause into fallback answers) and the incident they answer;
// with the containment service present (src/features/containment) it records them on the incident.
const modeBody = z
  .strictObject({ reason: z.string().max(2000).optional(), fallback: z.boolean().optional(), incidentId: z.string().min(1).max(64).optional() })
  .nullable()
  .optional();

const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  since: z.string().optional(),
});

export const routeChangeContext = (request: FastifyRequest, reason?: string): RouteChangeContext => ({
  actor: actorOf(request),
  reason,
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

const updateView = (r: RouteUpdateResult) => ({ route: routeView(r.route), changed: r.changed, wentLive: r.wentLive });

export async function routingRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const routing = ctx.services.routing;
  const viewer = ctx.requireRole('viewer');
  const operator = ctx.requireRole('operator');

  app.get('/models/:name/route', { preHandler: viewer, schema: { tags: ['routes'], summary: 'The route as it serves now' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const route = await routing.getRoute(name);
    const model = await ctx.stores.models.get(name);
    return { route: routeView(route ?? emptyRoute(model!)) };
  });

  app.put('/models/:name/route', { preHandler: operator, schema: { tags: ['routes'], summary: 'Change weights (and mode, shadow, sticky key) atomically' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const body = parseInput(putBody, request.body);
    const result = await routing.update(
      name,
      {
        weights: body.weights as Record<string, number> | undefined,
        mode: body.mode,
        shadow: body.shadow === null ? null : body.shadow ? { version: body.shadow.version, percent: body.shadow.percent ?? 100 } : undefined,
        stickyKey: body.stickyKey,
      },
      routeChangeContext(request, body.reason),
    );
    return updateView(result);
  });

  app.get('/models/:name/route/history', { preHandler: viewer, schema: { tags: ['routes'], summary: 'Route changes, newest first' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const q = parseInput(historyQuery, request.query, 'query');
    const changes = await routing.history(name, { limit: q.limit, since: parseTimeParam(q.since, 'since') });
    return { history: changes.map(routeChangeView) };
  });

  app.post('/models/:name/pause', { preHandler: operator, schema: { tags: ['routes'], summary: 'Pause the model API (503 or fallback answers)' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const body = parseInput(modeBody, request.body);
    const change = routeChangeContext(request, body?.reason);
    const containment = ctx.services.containment;
    if (containment) {
      const r = await containment.pause(name, { fallback: body?.fallback }, { ...change, incidentId: body?.incidentId });
      return updateView({ route: r.route, changed: r.changed, wentLive: [] });
    }
    if (body?.fallback) return updateView(await routing.update(name, { mode: 'fallback' }, { ...change, action: 'route.fallback' }));
    return updateView(await routing.pause(name, change));
  });

  app.post('/models/:name/resume', { preHandler: operator, schema: { tags: ['routes'], summary: 'Resume serving' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const body = parseInput(modeBody, request.body);
    const change = routeChangeContext(request, body?.reason);
    const containment = ctx.services.containment;
    if (containment) {
      const r = await containment.resume(name, { ...change, incidentId: body?.incidentId });
      return updateView({ route: r.route, changed: r.changed, wentLive: [] });
    }
    return updateView(await routing.resume(name, change));
  });
}
