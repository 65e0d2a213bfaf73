// /api/v1/incidents: list, detail (with timeline and sections others provide, e.g. the runbook
// checklist), manual open, life-cycle steps, notes, severity. RCA and postmortem routes live
// with their features.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { incidentStatuses, severities } from '../../core/incident-lifecycle.ts';
import { parseTimeParam } from '../../core/iso-time.ts';
import type { Incident, IncidentStatus, Severity } from '../../core/types.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { ChangeOptions, IncidentService } from './incident-service.ts';
import { incidentSummaryView, incidentView, timelineEventView } from './incident-views.ts';

const severityEnum = z.enum(severities as [Severity, ...Severity[]]);
const statusEnum = z.enum(incidentStatuses as [IncidentStatus, ...IncidentStatus[]]);

/** `status=open,acknowledged` or repeated `status=open&status=acknowledged`. */
const csvStrings = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean));

const listQuery = z.object({
  model: z.string().min(1).max(64).optional(),
  version: z.string().min(1).max(64).optional(),
  status: csvStrings.pipe(z.array(statusEnum)).optional(),
  severity: csvStrings.transform((l) => l.map((s) => s.toUpperCase())).pipe(z.array(severityEnum)).optional(),
  /** `active=true`: open, acknowledged, contained or mitigated. */
  active: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.string().optional(),
  since: z.string().optional(),
});

const idParams = z.object({ id: z.string().min(1).max(64) });

const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(2000).optional() }).optional();
const declineBody = z.strictObject({ reason: z.string().trim().min(1, 'say why this is a false alarm').max(2000) });
const noteBody = z.strictObject({ text: z.string().trim().min(1, 'a note needs some text').max(20_000) });
const severityBody = z.strictObject({
  severity: z.string().transform((s) => s.toUpperCase()).pipe(severityEnum),
  reason: z.string().trim().min(1).max(2000).optional(),
});
const openBody = z.strictObject({
  model: z.string().min(1).max(64),
  version: z.string().min(1).max(64).optional(),
  family: z.string().min(1).max(64).regex(/^[a-z0-9_.-]+$/i).optional(),
  title: z.string().trim().min(1).max(500),
  severity: z.string().transform((s) => s.toUpperCase()).pipe(severityEnum).optional(),
  details: z.string().max(20_000).optional(),
});

const changeOptions = (request: FastifyRequest, reason?: string): ChangeOptions => ({
  actor: actorOf(request),
  reason,
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

const activeStatuses: IncidentStatus[] = ['open', 'acknowledged', 'contained', 'mitigated'];

export async function incidentRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const incidents: IncidentService = ctx.services.incidents;
  const viewer = ctx.requireRole('viewer');
  const operator = ctx.requireRole('operator');
  const tags = ['incidents'];

  app.get('/incidents', { preHandler: viewer, schema: { tags, summary: 'Incidents, newest first' } }, async (request) => {
    const q = parseInput(listQuery, request.query, 'query');
    let status = q.status;
    if (q.active === 'true') status = status ? status.filter((s) => activeStatuses.includes(s)) : activeStatuses;
    if (q.active === 'false') status = (status ?? incidentStatuses).filter((s) => !activeStatuses.includes(s));
    const list = status && status.length === 0
      ? []
      : await incidents.list({
          model: q.model,
          version: q.version,
          status,
          severity: q.severity,
          limit: q.limit,
          before: parseTimeParam(q.before, 'before'),
          since: parseTimeParam(q.since, 'since'),
        });
    return { incidents: list.map(incidentSummaryView) };
  });

  app.post('/incidents', { preHandler: operator, schema: { tags, summary: 'Open an incident by hand (joins the active one for the same key)' } }, async (request, reply) => {
    const body = parseInput(openBody, request.body);
    const r = await incidents.openManual(body, changeOptions(request));
    return reply.code(r.created ? 201 : 200).send({ incident: incidentView(r.incident!), created: r.created });
  });

  app.get('/incidents/:id', { preHandler: viewer, schema: { tags, summary: 'One incident with its timeline' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const detail = await incidents.detail(id);
    return { incident: { ...incidentView(detail.incident), ...detail.extra, timeline: detail.timeline.map(timelineEventView) } };
  });

  app.get('/incidents/:id/timeline', { preHandler: viewer, schema: { tags, summary: 'Timeline events, oldest first' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const q = parseInput(
      z.object({ kind: csvStrings.optional(), afterId: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() }),
      request.query,
      'query',
    );
    const events = await incidents.timeline(id, { kinds: q.kind, afterId: q.afterId, limit: q.limit });
    return { timeline: events.map(timelineEventView) };
  });

  const step = (path: string, summary: string, run: (id: string, o: ChangeOptions) => Promise<Incident>) =>
    app.post(`/incidents/:id/${path}`, { preHandler: operator, schema: { tags, summary } }, async (request) => {
      const { id } = parseInput(idParams, request.params, 'params');
      const body = parseInput(reasonBody, request.body);
      return { incident: incidentView(await run(id, changeOptions(request, body?.reason))) };
    });
  step('acknowledge', 'Acknowledge (someone is on it)', (id, o) => incidents.acknowledge(id, o));
  step('contain', 'Mark contained (the fault no longer reaches users)', (id, o) => incidents.contain(id, o));
  step('mitigate', 'Mark mitigated (a fix or rollback is in place)', (id, o) => incidents.mitigate(id, o));
  step('resolve', 'Resolve', (id, o) => incidents.resolve(id, o));
  step('review', 'Mark reviewed (postmortem done)', (id, o) => incidents.review(id, o));

  app.post('/incidents/:id/decline', { preHandler: operator, schema: { tags, summary: 'Decline as a false alarm (reason required)' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(declineBody, request.body);
    const incident = await incidents.decline(id, { ...changeOptions(request, body.reason), reason: body.reason });
    return { incident: incidentView(incident) };
  });

  app.post('/incidents/:id/notes', { preHandler: operator, schema: { tags, summary: 'Add a note to the timeline' } }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(noteBody, request.body);
    const note = await incidents.addNote(id, body.text, changeOptions(request));
    return reply.code(201).send({ note: timelineEventView(note) });
  });

  const setSeverity = async (request: FastifyRequest) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(severityBody, request.body);
    const incident = await incidents.setSeverity(id, body.severity, changeOptions(request, body.reason));
    return { incident: incidentView(incident) };
  };
  app.post('/incidents/:id/severity', { preHandler: operator, schema: { tags, summary: 'Set the severity (either way)' } }, setSeverity);
  app.put('/incidents/:id/severity', { preHandler: operator, schema: { tags, summary: 'Set the severity (either way)' } }, setSeverity);
}
