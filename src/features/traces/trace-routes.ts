// GET /api/v1/traces (search) and GET /api/v1/traces/{requestId} (one request in full). Viewers
// may read both. Malformed filters are refused with 400 naming the filter and what was wrong.
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { parseTimeParam } from '../../core/iso-time.ts';
import type { TraceStatus } from '../../core/types.ts';
import { parseInput } from '../../http/parse-input.ts';
import { MAX_TRACE_LIMIT, TraceExplorer, traceStatuses } from './trace-explorer.ts';
import { traceDetailView, traceHitView } from './trace-views.ts';

const name = z.string().trim().min(1).max(200);

export const traceSearchQuery = z.strictObject({
  model: name.optional(),
  version: name.optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  status: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(traceStatuses as [TraceStatus, ...TraceStatus[]], { error: `expected one of ${traceStatuses.join(', ')}` }))
    .optional(),
  errorClass: name.optional(),
  validator: name.optional(),
  feedback: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['positive', 'negative', 'any'], { error: 'expected positive, negative or any' }))
    .optional(),
  client: name.optional(),
  shadow: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
  limit: z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(1).max(MAX_TRACE_LIMIT).default(100),
});

const idParams = z.object({ requestId: z.string().min(1).max(200) });

export function traceRoutesWith(explorerFor: (ctx: AppContext) => TraceExplorer) {
  return async function traceRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
    const explorer = explorerFor(ctx);
    const viewer = ctx.requireRole('viewer');
    const tags = ['traces'];

    app.get(
      '/traces',
      {
        preHandler: viewer,
        schema: {
          tags,
          summary: 'Search traces, newest first (model, version, from, to, status, errorClass, validator (failed; * for any), feedback positive|negative|any, client, limit)',
        },
      },
      async (request) => {
        const q = parseInput(traceSearchQuery, request.query, 'query');
        const result = await explorer.search({
          model: q.model,
          version: q.version,
          from: parseTimeParam(q.from, 'from'),
          to: parseTimeParam(q.to, 'to'),
          status: q.status,
          errorClass: q.errorClass,
          validator: q.validator,
          feedback: q.feedback,
          client: q.client,
          shadow: q.shadow === 'true',
          limit: q.limit,
        });
        return { traces: result.traces.map(traceHitView), count: result.traces.length, scanned: result.scanned, truncated: result.truncated };
      },
    );

    app.get('/traces/:requestId', { preHandler: viewer, schema: { tags, summary: 'One request: input, output, timings, version, fallback, validator results, feedback' } }, async (request) => {
      const { requestId } = parseInput(idParams, request.params, 'params');
      return { trace: traceDetailView(await explorer.get(requestId)) };
    });
  };
}

/** The route plugin over the context's stores. */
export const traceRoutes = traceRoutesWith((ctx) => new TraceExplorer({ stores: ctx.stores }));
