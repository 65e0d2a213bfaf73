// GET /api/v1/incidents/{id}/postmortem (Markdown for `Accept: text/markdown`, JSON otherwise) and
// POST /api/v1/incidents/{id}/postmortem/tuning/{suggestionId}/apply. Marking an incident reviewed
// is POST /api/v1/incidents/{id}/review (incident routes).
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import { renderPostmortemMarkdown } from './postmortem-markdown.ts';
import type { PostmortemService } from './postmortem-service.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });
const applyParams = z.object({ id: z.string().min(1).max(64), suggestionId: z.string().min(1).max(128) });
const bool = z.enum(['true', 'false'], { error: 'expected true or false' });
const postmortemQuery = z.object({
  /** `markdown` or `json`, overriding the Accept header. */
  format: z.enum(['markdown', 'json'], { error: 'expected markdown or json' }).optional(),
  /** Store the result as a `postmortem` timeline event when it changed (default true). */
  store: bool.default('true'),
  /** Recompute the monitor replay and the golden-set run (default: reuse the stored ones). */
  refresh: bool.default('false'),
  /** Run the golden set against the faulty version when no report is stored (default true). */
  validate: bool.default('true'),
  /**
   * Seconds to wait for the slow parts (monitor replay, golden-set run) before answering without
   * them (default 15); they finish in the background and the postmortem is stored again.
   */
  wait: z.coerce.number({ error: 'expected seconds' }).min(0).max(600).default(15),
});
const applyBody = z.strictObject({ reason: z.string().trim().min(1).max(2000).optional() }).optional();

const wantsMarkdown = (request: FastifyRequest, format?: string): boolean => {
  if (format) return format === 'markdown';
  const accept = request.headers.accept ?? '';
  return /\btext\/(markdown|x-markdown)\b/i.test(accept);
};

export function reviewRoutesFor(review: PostmortemService) {
  return async function reviewRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
    const viewer = ctx.requireRole('viewer');
    const operator = ctx.requireRole('operator');
    const tags = ['incidents'];

    app.get(
      '/incidents/:id/postmortem',
      { preHandler: viewer, schema: { tags, summary: 'Postmortem draft from the timeline and recorded traffic (Markdown for Accept: text/markdown, JSON otherwise)' } },
      async (request, reply) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const q = parseInput(postmortemQuery, request.query, 'query');
        const postmortem = await review.generate(id, { store: q.store === 'true', refresh: q.refresh === 'true', validate: q.validate === 'true', waitMs: q.wait * 1000, actor: actorOf(request) });
        if (wantsMarkdown(request, q.format)) {
          return reply.type('text/markdown; charset=utf-8').header('content-disposition', `inline; filename="${id}-postmortem.md"`).send(renderPostmortemMarkdown(postmortem));
        }
        return { postmortem };
      },
    );

    app.post(
      '/incidents/:id/postmortem/tuning/:suggestionId/apply',
      { preHandler: operator, schema: { tags, summary: "Apply a postmortem's suggested monitor tuning (changes the monitor; audited)" } },
      async (request) => {
        const { id, suggestionId } = parseInput(applyParams, request.params, 'params');
        const body = parseInput(applyBody, request.body);
        const requestId = (request.headers['x-request-id'] as string | undefined) || undefined;
        const r = await review.applyTuning(id, suggestionId, { actor: actorOf(request), ...(body?.reason ? { reason: body.reason } : {}), ...(requestId ? { requestId } : {}) });
        return { suggestion: r.suggestion, monitor: r.monitor };
      },
    );
  };
}
