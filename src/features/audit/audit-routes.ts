// GET /api/v1/audit and /api/v1/audit/verify. The log has no write routes: entries are only ever
// written by the services, inside the transaction of the change they record.
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { isoTime, parseTimeParam } from '../../core/iso-time.ts';
import type { AuditEntry } from '../../core/types.ts';
import { parseInput } from '../../http/parse-input.ts';
import { hashedFields } from './audit-service.ts';

/** The entry as hashed (time as ISO 8601) and its hashes, so a reader can recompute the chain. */
export const auditEntryView = (e: AuditEntry) => ({ ...hashedFields(e), at: isoTime(e.at), prevHash: e.prevHash, hash: e.hash });

const listQuery = z.object({
  target: z.string().min(1).optional(),
  action: z.string().min(1).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

export async function auditRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const audit = ctx.services.audit;
  const viewer = ctx.requireRole('viewer');

  app.get('/audit', { preHandler: viewer, schema: { tags: ['audit'], summary: 'List audit entries (oldest first; order=desc for newest first)' } }, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    const entries = await audit.list({
      target: q.target,
      action: q.action,
      from: parseTimeParam(q.from, 'from'),
      to: parseTimeParam(q.to, 'to'),
      afterSeq: q.afterSeq,
      limit: q.limit,
      order: q.order,
    });
    return { entries: entries.map(auditEntryView) };
  });

  app.get('/audit/verify', { preHandler: viewer, schema: { tags: ['audit'], summary: 'Recompute the hash chain' } }, async () => {
    return audit.verify();
  });
}
