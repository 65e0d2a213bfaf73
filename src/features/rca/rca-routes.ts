// GET /api/v1/incidents/{id}/rca: ranked root-cause hypotheses with their evidence. Viewers may
// read it; running it also records the best hypothesis as the incident's root cause when it is
// confident and new (idempotent: an unchanged answer writes nothing).
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { RcaService } from './rca-service.ts';
import { rcaReportView } from './rca-views.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });
const rcaQuery = z.object({ record: z.enum(['true', 'false']).default('true') });

export async function rcaRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const rca: RcaService | undefined = ctx.services.rca;
  if (!rca) throw new Error('rcaRoutes: ctx.services.rca is not set (build it with createRcaFeature)');
  const viewer = ctx.requireRole('viewer');
  app.get(
    '/incidents/:id/rca',
    { preHandler: viewer, schema: { tags: ['incidents'], summary: 'Root-cause analysis: ranked hypotheses with evidence, segments, error clusters, version diff' } },
    async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      const q = parseInput(rcaQuery, request.query, 'query');
      return rcaReportView(await rca.analyzeIncident(id, { record: q.record === 'true' }));
    },
  );
}
