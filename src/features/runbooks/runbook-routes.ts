// Runbook routes under /api/v1:
//   GET  /runbooks                                        latest version of each runbook (viewer)
//   GET  /runbooks/{id}?version=                          one version with its YAML (viewer; Accept: application/yaml → the YAML)
//   GET  /runbooks/{id}/versions                          every version (viewer)
//   PUT  /runbooks/{id}                                   upload a new version: YAML text, {"yaml"} or a JSON definition (admin)
//   GET  /incidents/{id}/checklist                        the incident's checklist (viewer)
//   POST /incidents/{id}/checklist/{step}/complete        {"evidence":{"note","link","answer"},"deviation"} (the step owner's role or higher)
//   POST /incidents/{id}/checklist/{step}/skip            {"reason"} (the step owner's role or higher)
//   GET  /incidents/{id}/compliance                       compliance report (JSON; Accept: text/markdown → Markdown)
//   GET  /compliance?from=&to=                            compliance over incidents detected in [from, to)
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime } from '../../core/iso-time.ts';
import { parseTimeParam } from '../../core/iso-time.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import { complianceMarkdown, rangeMarkdown } from './compliance-report.ts';
import type { RunbookService, Who } from './runbook-service.ts';
import type { StoredRunbook } from './runbook-store.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });
const stepParams = z.object({ id: z.string().min(1).max(64), stepId: z.string().min(1).max(64) });
const versionQuery = z.object({ version: z.coerce.number().int().min(1).optional() });
const rangeQuery = z.object({ from: z.string().min(1, 'from is required'), to: z.string().optional(), format: z.enum(['json', 'markdown']).optional() });
const formatQuery = z.object({ format: z.enum(['json', 'markdown']).optional() });

const completeBody = z
  .strictObject({
    evidence: z
      .strictObject({
        note: z.string().max(20_000).optional(),
        link: z
          .string()
          .max(2000)
          .refine((v) => /^https?:\/\/\S+$/i.test(v), 'expected an http(s) URL')
          .optional(),
        answer: z.enum(['yes', 'no'], { error: 'expected "yes" or "no"' }).optional(),
      })
      .optional(),
    deviation: z.string().trim().max(2000).optional(),
  })
  .optional();
const skipBody = z.strictObject({ reason: z.string().trim().min(1, 'say why this step is not needed').max(2000) });

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

export function runbookSummaryView(r: StoredRunbook) {
  return { id: r.id, version: r.version, title: r.title, hash: r.hash, steps: r.definition.steps.length, createdAt: isoTime(r.createdAt), createdBy: r.createdBy };
}

export function runbookView(r: StoredRunbook, versions: number[]) {
  return { ...runbookSummaryView(r), versions, definition: r.definition, yaml: r.yaml };
}

const who = (request: FastifyRequest): Who => ({
  actor: actorOf(request),
  role: request.apiKey?.role ?? 'client',
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

const wantsMarkdown = (request: FastifyRequest, format?: string): boolean =>
  format === 'markdown' || (format !== 'json' && /\btext\/markdown\b/i.test(String(request.headers.accept ?? '')));

const sendMarkdown = (reply: FastifyReply, text: string) => reply.type('text/markdown; charset=utf-8').send(text);

export function runbookRoutes(service: RunbookService): FeaturePlugin {
  return async function runbookPlugin(app: FastifyInstance, ctx: AppContext): Promise<void> {
    // Encapsulated, so the YAML body parser applies to these routes only.
    await app.register(async (scope) => {
      scope.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));
      const viewer = ctx.requireRole('viewer');
      const admin = ctx.requireRole('admin');
      const tags = ['runbooks'];

      scope.get('/runbooks', { preHandler: viewer, schema: { tags, summary: 'Runbooks (latest version of each)' } }, async () => ({
        runbooks: (await service.list()).map(runbookSummaryView),
      }));

      scope.get('/runbooks/:id', { preHandler: viewer, schema: { tags, summary: 'One runbook version (latest unless ?version=)' } }, async (request, reply) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const { version } = parseInput(versionQuery, request.query, 'query');
        const runbook = await service.get(id, version);
        if (/yaml/i.test(String(request.headers.accept ?? ''))) return reply.type('application/yaml; charset=utf-8').send(runbook.yaml);
        const versions = (await service.versions(id)).map((v) => v.version);
        return { runbook: runbookView(runbook, versions) };
      });

      scope.get('/runbooks/:id/versions', { preHandler: viewer, schema: { tags, summary: 'Every version of a runbook, oldest first' } }, async (request) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const versions = await service.versions(id);
        if (!versions.length) throw new FailsafeError('RUNBOOK_NOT_FOUND', `no runbook "${id}"`);
        return { versions: versions.map(runbookSummaryView) };
      });

      scope.put('/runbooks/:id', { preHandler: admin, schema: { tags, summary: 'Upload a new version (YAML body, {"yaml"} or a JSON definition)' } }, async (request, reply) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const body = request.body;
        const w = who(request);
        const ctxInfo = { actor: w.actor, requestId: w.requestId };
        let result;
        if (typeof body === 'string') result = await service.upload(id, body, ctxInfo);
        else if (body && typeof body === 'object' && typeof (body as { yaml?: unknown }).yaml === 'string' && Object.keys(body).length === 1) {
          result = await service.upload(id, (body as { yaml: string }).yaml, ctxInfo);
        } else if (body && typeof body === 'object') result = await service.uploadDefinition(id, body, ctxInfo);
        else throw new FailsafeError('BAD_REQUEST', 'send the runbook as YAML (Content-Type: application/yaml), {"yaml": "..."} or a JSON definition');
        const versions = (await service.versions(id)).map((v) => v.version);
        return reply.code(result.created ? 201 : 200).send({ runbook: runbookView(result.runbook, versions), created: result.created });
      });

      scope.get('/incidents/:id/checklist', { preHandler: viewer, schema: { tags, summary: "The incident's runbook checklist" } }, async (request) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const checklist = await service.checklist(id);
        if (!checklist) await ctx.services.incidents.get(id);
        return { runbook: checklist?.runbook ?? null, checklist: await service.checklistItems(id) };
      });

      scope.post(
        '/incidents/:id/checklist/:stepId/complete',
        { preHandler: viewer, schema: { tags, summary: "Complete a step with its evidence (the step owner's role or higher)" } },
        async (request) => {
          const { id, stepId } = parseInput(stepParams, request.params, 'params');
          const body = parseInput(completeBody, request.body ?? undefined);
          return service.complete(id, stepId, { evidence: body?.evidence, deviation: body?.deviation || undefined }, who(request));
        },
      );

      scope.post(
        '/incidents/:id/checklist/:stepId/skip',
        { preHandler: viewer, schema: { tags, summary: "Mark a step not needed, with the reason (the step owner's role or higher)" } },
        async (request) => {
          const { id, stepId } = parseInput(stepParams, request.params, 'params');
          const body = parseInput(skipBody, request.body);
          return service.skip(id, stepId, body.reason, who(request));
        },
      );

      scope.get('/incidents/:id/compliance', { preHandler: viewer, schema: { tags, summary: 'How the incident followed its runbook (JSON; Markdown for Accept: text/markdown)' } }, async (request, reply) => {
        const { id } = parseInput(idParams, request.params, 'params');
        const { format } = parseInput(formatQuery, request.query, 'query');
        const report = await service.compliance(id);
        if (wantsMarkdown(request, format)) return sendMarkdown(reply, complianceMarkdown(report));
        return { compliance: report };
      });

      scope.get('/compliance', { preHandler: viewer, schema: { tags, summary: 'Runbook compliance over incidents detected in [from, to)' } }, async (request, reply) => {
        const q = parseInput(rangeQuery, request.query, 'query');
        const from = parseTimeParam(q.from, 'from')!;
        const to = parseTimeParam(q.to, 'to') ?? ctx.clock.now() + 1;
        const report = await service.complianceRange(from, to);
        if (wantsMarkdown(request, q.format)) return sendMarkdown(reply, rangeMarkdown(report));
        return { compliance: report };
      });
    });
  };
}
