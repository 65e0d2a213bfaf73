// POST /api/v1/models/{name}/versions/{version}/isolate (operator). Pause and resume live in the
// routing routes and call the containment service when it is present.
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { isoTime } from '../../core/iso-time.ts';
import { FailsafeError } from '../../core/errors.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { IsolationResult } from './containment-service.ts';

const params = z.object({ name: z.string().min(1).max(64), version: z.string().min(1).max(64) });
const body = z
  .strictObject({ reason: z.string().max(2000).optional(), incidentId: z.string().min(1).max(64).optional() })
  .nullable()
  .optional();

export const isolationView = (r: IsolationResult) => ({ ...r, at: isoTime(r.at) });

export async function containmentRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const operator = ctx.requireRole('operator');
  app.post(
    '/models/:name/versions/:version/isolate',
    { preHandler: operator, schema: { tags: ['containment'], summary: 'Take a version out of rotation (weight 0, faulty, traffic renormalised)' } },
    async (request) => {
      const containment = ctx.services.containment;
      if (!containment) throw new FailsafeError('NOT_FOUND', 'containment is not enabled on this server');
      const p = parseInput(params, request.params, 'params');
      const b = parseInput(body, request.body);
      const result = await containment.isolate(p.name, p.version, {
        actor: actorOf(request),
        reason: b?.reason,
        incidentId: b?.incidentId,
        requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
      });
      return { isolation: isolationView(result) };
    },
  );
}
