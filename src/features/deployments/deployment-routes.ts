// Deployments (canary), A/B experiments and stand-alone validations under /api/v1. Writes need an
// operator key, reads a viewer key.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { CANARY_MONITORS } from '../../core/canary/canary-settings.ts';
import type { DeploymentRequest } from '../../core/canary/deployment-plan.ts';
import { isActiveDeployment } from '../../core/canary/deployment-machine.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime } from '../../core/iso-time.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { DeploymentService } from './deployment-service.ts';
import type { DeploymentRecord } from './deployment-store.ts';
import { deploymentSummaryView, deploymentView, experimentView } from './deployment-views.ts';
import type { ExperimentService } from './experiment-service.ts';
import type { ValidationJob, ValidationJobs } from './validation-jobs.ts';

const name = z.string().min(1).max(64);
const nameParams = z.object({ name });
const idParams = z.object({ id: z.string().min(1).max(128) });
const versionParams = z.object({ name, version: name });
const open01 = z.number().gt(0).lt(1);

// Numbers are checked by planDeployment, whose messages name the field and the rule.
const createBody = z.strictObject({
  version: name,
  steps: z.unknown().optional(),
  stepSeconds: z.unknown().optional(),
  shadowPercent: z.unknown().optional(),
  minSamples: z.unknown().optional(),
  onInsufficientData: z.enum(['wait', 'abort', 'ask']).optional(),
  deadlineSeconds: z.unknown().optional(),
  stickyKey: z.string().min(1).max(80).optional(),
  reason: z.string().max(2000).optional(),
  settings: z
    .strictObject({
      alpha: z.number().gt(0).max(0.2).optional(),
      confidence: open01.optional(),
      minBaselineSamples: z.number().int().min(1).optional(),
      minBreachBaseline: z.number().int().min(1).optional(),
      minShadowAgreement: z.number().gt(0).max(1).optional(),
      margins: z.strictObject({ errors: open01.optional(), validity: open01.optional(), feedback: open01.optional(), accuracy: open01.optional() }).optional(),
      latency: z.strictObject({ minRatio: z.number().min(1).optional(), minDeltaMs: z.number().min(0).optional(), quantiles: z.array(open01).min(1).max(4).optional() }).optional(),
      required: z.array(z.enum(CANARY_MONITORS)).optional(),
    })
    .optional(),
});
const controlBody = z.strictObject({ reason: z.string().max(2000).optional() }).nullable().optional();
const detailQuery = z.object({ analyses: z.coerce.number().int().min(0).max(1000).default(50) });
const listQuery = z.object({
  model: name.optional(),
  status: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const experimentBody = z.strictObject({
  versions: z.record(name, z.unknown()),
  durationSeconds: z.unknown(),
  stickyKey: z.string().min(1).max(80).optional(),
  control: name.optional(),
  reason: z.string().max(2000).optional(),
});

const requestIdOf = (request: FastifyRequest) => (request.headers['x-request-id'] as string | undefined) || undefined;

function validationView(job: ValidationJob) {
  return { ...job, startedAt: isoTime(job.startedAt), result: job.result ? { ...job.result, startedAt: isoTime(job.result.startedAt), finishedAt: job.result.finishedAt === undefined ? undefined : isoTime(job.result.finishedAt) } : undefined };
}

export interface DeploymentRouteServices {
  deployments: DeploymentService;
  experiments: ExperimentService;
  validations: ValidationJobs;
}

export function deploymentRoutes(s: DeploymentRouteServices): FeaturePlugin {
  return async function deploymentPlugin(app: FastifyInstance, ctx: AppContext): Promise<void> {
    const operator = ctx.requireRole('operator');
    const viewer = ctx.requireRole('viewer');
    const tags = ['deployments'];

    const detail = async (d: DeploymentRecord, analyses = 50) => {
      const current = isActiveDeployment(d.status) ? s.deployments.currentPhaseRequests(d) : undefined;
      const shown = current ? { ...d, requests: { candidate: d.requests.candidate + current.candidate, stable: d.requests.stable + current.stable } } : d;
      return deploymentView(shown, analyses > 0 ? await s.deployments.analyses(d.id, analyses) : []);
    };

    app.post('/models/:name/deployments', { preHandler: operator, schema: { tags, summary: 'Start a progressive rollout (offline gate, shadow, canary steps, promote/abort)' } }, async (request, reply) => {
      const { name: model } = parseInput(nameParams, request.params, 'params');
      const b = parseInput(createBody, request.body);
      const d = await s.deployments.create(model, { ...(b as DeploymentRequest), stickyKey: b.stickyKey, settings: b.settings }, { actor: actorOf(request), reason: b.reason, requestId: requestIdOf(request) });
      return reply.code(201).send({ deployment: await detail(d, 0) });
    });

    app.get('/models/:name/deployments', { preHandler: viewer, schema: { tags, summary: 'Deployments of a model, newest first' } }, async (request) => {
      const { name: model } = parseInput(nameParams, request.params, 'params');
      const q = parseInput(listQuery, request.query, 'query');
      return { deployments: (await s.deployments.list(model, q.limit)).map(deploymentSummaryView) };
    });

    app.get('/deployments', { preHandler: viewer, schema: { tags, summary: 'Deployments of every model, newest first (status=running,paused to filter)' } }, async (request) => {
      const q = parseInput(listQuery, request.query, 'query');
      const status = q.status?.split(',').filter(Boolean) as DeploymentRecord['status'][] | undefined;
      const bad = status?.find((x) => !['running', 'paused', 'promoted', 'aborted'].includes(x));
      if (bad) throw new FailsafeError('VALIDATION_FAILED', `status: expected running, paused, promoted or aborted, got "${bad}"`);
      return { deployments: (await ctx.stores.deployments.list({ model: q.model, status, limit: q.limit })).map(deploymentSummaryView) };
    });

    app.get('/deployments/:id', { preHandler: viewer, schema: { tags, summary: 'One deployment with its latest analyses (?analyses=N)' } }, async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      const q = parseInput(detailQuery, request.query, 'query');
      return { deployment: await detail(await s.deployments.get(id), q.analyses) };
    });

    for (const op of ['promote', 'pause', 'resume', 'abort'] as const) {
      app.post(`/deployments/:id/${op}`, { preHandler: operator, schema: { tags, summary: `${op[0].toUpperCase()}${op.slice(1)} a deployment` } }, async (request) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const b = parseInput(controlBody, request.body);
        const d = await s.deployments[op](id, { actor: actorOf(request), reason: b?.reason, requestId: requestIdOf(request) });
        return { deployment: await detail(d, 0) };
      });
    }

    app.post('/models/:name/experiments', { preHandler: operator, schema: { tags, summary: 'Start an A/B test: a sticky weighted split held for durationSeconds' } }, async (request, reply) => {
      const { name: model } = parseInput(nameParams, request.params, 'params');
      const b = parseInput(experimentBody, request.body);
      const e = await s.experiments.create(model, { ...b, versions: b.versions as Record<string, number>, durationSeconds: b.durationSeconds as number }, { actor: actorOf(request), reason: b.reason, requestId: requestIdOf(request) });
      return reply.code(201).send({ experiment: experimentView(e) });
    });

    app.get('/models/:name/experiments', { preHandler: viewer, schema: { tags, summary: 'A/B tests of a model, newest first' } }, async (request) => {
      const { name: model } = parseInput(nameParams, request.params, 'params');
      if (!(await ctx.stores.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
      return { experiments: (await s.experiments.list(model)).map((e) => experimentView(e)) };
    });

    app.get('/experiments/:id', { preHandler: viewer, schema: { tags, summary: 'An A/B test with its report (interim while it runs)' } }, async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      const { record, interim } = await s.experiments.get(id);
      return { experiment: experimentView(record, interim) };
    });

    app.post('/experiments/:id/stop', { preHandler: operator, schema: { tags, summary: 'End an A/B test now (report and route restored)' } }, async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      const b = parseInput(controlBody, request.body);
      return { experiment: experimentView(await s.experiments.stop(id, { actor: actorOf(request), reason: b?.reason, requestId: requestIdOf(request) })) };
    });

    app.post('/models/:name/versions/:version/validate', { preHandler: operator, schema: { tags, summary: 'Validate a version offline on the golden set (background job)' } }, async (request, reply) => {
      const { name: model, version } = parseInput(versionParams, request.params, 'params');
      const job = await s.validations.start(model, version, { actor: actorOf(request), requestId: requestIdOf(request) });
      return reply.code(202).send({ validation: validationView(job) });
    });

    app.get('/validations/:id', { preHandler: viewer, schema: { tags, summary: 'Progress and result of a validation' } }, async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      return { validation: validationView(s.validations.get(id)) };
    });
  };
}
