// Playbook actions of an incident: list (viewer), approve or deny a pending one (operator).
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { PlaybookAction } from './playbook-action-store.ts';
import type { PlaybookRunner } from './playbook-runner.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });
const actionParams = z.object({ id: z.string().min(1).max(64), actionId: z.string().min(1).max(64) });
const decisionBody = z.strictObject({ reason: z.string().max(2000).optional() }).nullable().optional();

export const actionView = (a: PlaybookAction) => ({
  ...a,
  createdAt: isoTime(a.createdAt),
  decidedAt: isoTimeOpt(a.decidedAt),
  finishedAt: isoTimeOpt(a.finishedAt),
});

const runner = (ctx: AppContext): PlaybookRunner => {
  const r = ctx.services.playbooks;
  if (!r) throw new FailsafeError('NOT_FOUND', 'playbooks are not enabled on this server');
  return r;
};

export async function playbookRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const viewer = ctx.requireRole('viewer');
  const operator = ctx.requireRole('operator');
  const tags = ['playbooks'];

  app.get('/incidents/:id/actions', { preHandler: viewer, schema: { tags, summary: 'Playbook actions of an incident (done, pending, dry run)' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    await ctx.services.incidents.get(id);
    return { actions: (await runner(ctx).actions(id)).map(actionView) };
  });

  for (const decision of ['approve', 'deny'] as const) {
    app.post(
      `/incidents/:id/actions/:actionId/${decision}`,
      { preHandler: operator, schema: { tags, summary: decision === 'approve' ? 'Approve a pending action: it runs now' : 'Deny a pending action' } },
      async (request) => {
        const p = parseInput(actionParams, request.params, 'params');
        const b = parseInput(decisionBody, request.body);
        const c = { actor: actorOf(request), reason: b?.reason };
        const action = decision === 'approve' ? await runner(ctx).approve(p.id, p.actionId, c) : await runner(ctx).deny(p.id, p.actionId, c);
        return { action: actionView(action) };
      },
    );
  }
}
