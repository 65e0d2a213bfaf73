// POST /api/v1/feedback is data plane: open like /v1 unless client auth is enabled (then a client
// key or higher). Reading feedback back is for viewers.
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { isoTime, parseTimeParam } from '../../core/iso-time.ts';
import type { Feedback } from '../../core/types.ts';
import { parseInput } from '../../http/parse-input.ts';

export const feedbackView = (f: Feedback) => ({
  id: f.id,
  requestId: f.requestId,
  model: f.model,
  version: f.version,
  requestAt: isoTime(f.requestAt),
  receivedAt: isoTime(f.receivedAt),
  rating: f.rating,
  score: f.score,
  label: f.label,
  comment: f.comment,
});

const feedbackBody = z.strictObject({
  requestId: z.string().min(1).max(200),
  rating: z.union([z.literal(1), z.literal(-1)]).optional(),
  score: z.number().finite().optional(),
  // Labels often arrive as numbers or booleans from labelling pipelines; they are kept as text.
  label: z.union([z.string().min(1).max(1000), z.number(), z.boolean()]).transform(String).optional(),
  comment: z.string().max(10_000).optional(),
});

const listQuery = z.object({
  requestId: z.string().min(1).max(200).optional(),
  model: z.string().min(1).optional(),
  version: z.string().min(1).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export async function feedbackRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const feedback = ctx.services.feedback;
  const submitGuard = ctx.loaded.config.server.clientAuth ? { preHandler: ctx.requireRole('client') } : {};

  app.post('/feedback', { ...submitGuard, schema: { tags: ['feedback'], summary: 'Attach a rating, score or label to a request' } }, async (request, reply) => {
    const body = parseInput(feedbackBody, request.body);
    const stored = await feedback.submit(body as typeof body & { label?: string });
    return reply.code(201).send({ feedback: feedbackView(stored) });
  });

  app.get('/feedback', { preHandler: ctx.requireRole('viewer'), schema: { tags: ['feedback'], summary: 'Feedback by request id, or by model/version and request time' } }, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const items = await feedback.query({
      requestId: q.requestId,
      model: q.model,
      version: q.version,
      from: parseTimeParam(q.from, 'from'),
      to: parseTimeParam(q.to, 'to'),
      limit: q.limit,
    });
    return { feedback: items.map(feedbackView) };
  });
}
