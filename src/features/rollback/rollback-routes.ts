// POST /api/v1/models/{name}/rollback (operator), the rollback history and a running rollback's
// progress (viewer).
import { z } from 'zod';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { RollbackService } from './rollback-service.ts';
import type { RollbackRecord } from './rollback-store.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });
const idParams = z.object({ id: z.string().min(1).max(128) });
const body = z
  .strictObject({
    to: z.string().min(1).max(64).optional(),
    from: z.string().min(1).max(64).optional(),
    reason: z.string().max(2000).optional(),
    incidentId: z.string().min(1).max(64).optional(),
  })
  .nullable()
  .optional();
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() });

/** The answer shape: `{from, to, validation: {passed, ...report}, id, durationMs, ...}`. */
export function rollbackView(r: RollbackRecord) {
  const last = r.validations[r.validations.length - 1];
  return {
    id: r.id,
    model: r.model,
    from: r.from ?? null,
    to: r.to ?? null,
    requestedTo: r.requestedTo,
    status: r.status,
    phase: r.phase,
    reason: r.reason,
    actor: r.actor,
    incidentId: r.incidentId,
    candidates: r.candidates,
    // The validation that decided: the passing one, or the last one tried.
    validation: last
      ? { ...last.report, passed: last.passed, version: last.version, kind: last.kind, summary: last.summary }
      : { passed: false, summary: 'no validation ran' },
    validations: r.validations.map((v) => ({ ...v, startedAt: isoTime(v.startedAt), finishedAt: isoTime(v.finishedAt) })),
    deploy: r.deploy,
    error: r.error,
    routeBefore: r.routeBefore,
    routeRevision: r.routeRevision,
    startedAt: isoTime(r.startedAt),
    switchedAt: isoTimeOpt(r.switchedAt),
    finishedAt: isoTimeOpt(r.finishedAt),
    durationMs: r.durationMs,
  };
}

const service = (ctx: AppContext): RollbackService => {
  const s = ctx.services.rollback;
  if (!s) throw new FailsafeError('NOT_FOUND', 'rollback is not enabled on this server');
  return s;
};

export async function rollbackRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const operator = ctx.requireRole('operator');
  const viewer = ctx.requireRole('viewer');
  const tags = ['rollback'];

  app.post('/models/:name/rollback', { preHandler: operator, schema: { tags, summary: 'Validated rollback to the last known stable version (or `to`)' } }, async (request, reply: FastifyReply) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const b = parseInput(body, request.body);
    try {
      const record = await service(ctx).rollback(name, {
        to: b?.to,
        from: b?.from,
        reason: b?.reason,
        incidentId: b?.incidentId,
        actor: actorOf(request),
        requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
      });
      return { rollback: rollbackView(record) };
    } catch (err) {
      // A failed gate answers 409 with the reports, so a pipeline sees why without a second call.
      const rec = err instanceof FailsafeError ? (err.details as { rollback?: RollbackRecord } | undefined)?.rollback : undefined;
      if (err instanceof FailsafeError && rec) {
        const view = rollbackView(rec);
        return reply.code(err.httpStatus).send({ error: { code: err.code, message: err.message, details: { rollback: view } }, rollback: view });
      }
      throw err;
    }
  });

  app.get('/models/:name/rollbacks', { preHandler: viewer, schema: { tags, summary: 'Rollbacks of a model, newest first' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    const q = parseInput(listQuery, request.query, 'query');
    if (!(await ctx.stores.models.get(name))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${name}"`);
    return { rollbacks: (await service(ctx).list({ model: name, limit: q.limit })).map(rollbackView) };
  });

  app.get('/models/:name/rollback/progress', { preHandler: viewer, schema: { tags, summary: 'Progress of the running rollback, if any' } }, async (request) => {
    const { name } = parseInput(nameParams, request.params, 'params');
    return { progress: service(ctx).progress(name) ?? null };
  });

  app.get('/rollbacks', { preHandler: viewer, schema: { tags, summary: 'Rollbacks of every model, newest first' } }, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    return { rollbacks: (await service(ctx).list({ limit: q.limit })).map(rollbackView) };
  });

  app.get('/rollbacks/:id', { preHandler: viewer, schema: { tags, summary: 'One rollback with its validation reports' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    return { rollback: rollbackView(await service(ctx).get(id)) };
  });
}
