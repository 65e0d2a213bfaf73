import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRunbookDir } from './runbook-service.ts';
import { openIncident, seedModel, startRunbookServer, T0, type RunbookServer } from './runbook-test-kit.ts';

let s: RunbookServer;
let incidentId: string;

const call = async (method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown, headers: Record<string, string> = {}) => {
  const res = await s.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload !== undefined ? { payload: payload as never } : {}) });
  return { status: res.statusCode, body: res.headers['content-type']?.toString().includes('json') ? res.json() : res.body, type: String(res.headers['content-type'] ?? '') };
};
const complete = (step: string, body: unknown, token = s.keys.operator, id = incidentId) =>
  call('POST', `/api/v1/incidents/${id}/checklist/${step}/complete`, token, body);
const snapshot = async () => ({
  checklist: await s.feature.runbooks.checklist(incidentId),
  audit: await s.f.audit.count(),
  timeline: (await s.incidents.timeline(incidentId)).length,
});

beforeAll(async () => {
  s = await startRunbookServer();
  await seedModel(s);
  incidentId = (await openIncident(s)).id;
});
afterAll(async () => {
  await s.close();
});

describe('checklist over HTTP', () => {
  it('is part of the incident detail and has its own route', async () => {
    const detail = await call('GET', `/api/v1/incidents/${incidentId}`, s.keys.viewer);
    expect(detail.status).toBe(200);
    const first = detail.body.incident.checklist[0];
    expect(first).toMatchObject({ id: 'detect', title: expect.any(String), kind: 'automatic', status: 'done', owner: { role: 'operator', audience: 'engineering' }, completedAt: new Date(T0).toISOString(), by: 'monitor:error-rate', evidence: null });
    expect(first.dueAt).toBe(new Date(T0 + 5 * 60_000).toISOString());
    expect(detail.body.incident.runbook).toEqual({ id: 'SOP-001', version: 1 });
    const own = await call('GET', `/api/v1/incidents/${incidentId}/checklist`, s.keys.viewer);
    expect(own.body.runbook).toMatchObject({ id: 'SOP-001', version: 1 });
    expect(own.body.checklist).toHaveLength(16);
    expect((await call('GET', '/api/v1/incidents/INC-nope/checklist', s.keys.viewer)).status).toBe(404);
  });

  it('refuses bad completions with the right status and changes nothing', async () => {
    const before = await snapshot();
    const cases: [string, unknown, string, number, string][] = [
      ['no-such-step', { evidence: { note: 'x' } }, s.keys.operator, 404, 'STEP_NOT_FOUND'],
      ['document-issue', { evidence: { note: 'x' } }, s.keys.viewer, 403, 'FORBIDDEN'],
      ['document-issue', { evidence: { note: 'x' } }, s.keys.client, 403, 'FORBIDDEN'],
      ['document-issue', {}, s.keys.operator, 400, 'VALIDATION_FAILED'],
      ['document-issue', { evidence: { note: '   ' } }, s.keys.operator, 400, 'VALIDATION_FAILED'],
      ['document-issue', { evidence: { link: 'not a url' } }, s.keys.operator, 400, 'VALIDATION_FAILED'],
      ['document-issue', { evidence: { note: 'x' }, extra: 1 }, s.keys.operator, 400, 'VALIDATION_FAILED'],
      // rca (its prerequisite) is still open.
      ['document-issue', { evidence: { note: 'x' } }, s.keys.operator, 409, 'INVALID_STATE'],
      // Automatic steps complete themselves; by hand only with a deviation reason.
      ['isolate', {}, s.keys.operator, 400, 'VALIDATION_FAILED'],
      ['detect', { deviation: 'again' }, s.keys.operator, 409, 'STEP_ALREADY_COMPLETED'],
      ['pause-api', { deviation: 'x' }, s.keys.operator, 409, 'INVALID_STATE'],
      ['review-thresholds', { evidence: { note: 'maybe' } }, s.keys.operator, 400, 'VALIDATION_FAILED'],
      ['review-thresholds', { evidence: { answer: 'perhaps' } }, s.keys.operator, 400, 'VALIDATION_FAILED'],
    ];
    for (const [step, body, token, status, code] of cases) {
      const res = await complete(step, body, token);
      expect({ step, status: res.status, code: res.body.error?.code }).toEqual({ step, status, code });
    }
    const missing = await complete('detect', {}, s.keys.operator, 'INC-nope');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'INCIDENT_NOT_FOUND']);
    expect((await complete('document-issue', {}, s.keys.operator)).body.error.message).toBe('evidence.note: step "document-issue" needs a note');
    expect(await snapshot()).toEqual(before);
  });

  it('completes a manual step with evidence: timeline event, audit entry, detail', async () => {
    await s.incidents.addTimelineEvent(incidentId, { kind: 'rca', actor: 'rca', message: 'RCA: version_change 0.91' });
    await s.feature.runbooks.idle();
    s.f.clock.advance(30 * 60_000);
    const auditBefore = await s.f.audit.count();
    const res = await complete('document-issue', { evidence: { note: 'v2 prompt change broke JSON; 12% of requests 09:00–09:07' } });
    expect(res.status).toBe(200);
    expect(res.body.step).toMatchObject({ id: 'document-issue', status: 'done', by: 'key:ops', completedAt: new Date(T0 + 30 * 60_000).toISOString(), evidence: { note: 'v2 prompt change broke JSON; 12% of requests 09:00–09:07' }, deviation: null });
    const again = await complete('document-issue', { evidence: { note: 'again' } });
    expect([again.status, again.body.error.code]).toEqual([409, 'STEP_ALREADY_COMPLETED']);
    expect(await s.f.audit.count()).toBe(auditBefore + 1);
    const [entry] = await s.f.audit.list({ target: `incident:${incidentId}`, action: 'runbook.step.complete' });
    expect(entry).toMatchObject({ actor: 'key:ops', after: { status: 'done', step: 'document-issue', evidence: { note: expect.stringContaining('v2 prompt') } } });
    const events = await s.incidents.timeline(incidentId, { kinds: ['checklist'] });
    expect(events.map((e) => e.message)).toEqual([expect.stringContaining('(document-issue) completed by key:ops')]);
    const detail = await call('GET', `/api/v1/incidents/${incidentId}`, s.keys.viewer);
    expect(detail.body.incident.checklist.find((i: { id: string }) => i.id === 'document-issue').evidence.note).toContain('v2 prompt');
  });

  it('records deviations and out-of-order completions; skips with a reason', async () => {
    const res = await complete('isolate', { deviation: 'isolated by hand at the load balancer' });
    expect(res.body.step).toMatchObject({ status: 'done', deviation: 'isolated by hand at the load balancer', by: 'key:ops' });
    const ooo = await complete('review-fallbacks', { evidence: { answer: 'yes', note: 'cache served' }, deviation: 'answered before the postmortem draft' });
    expect(ooo.body.step).toMatchObject({ status: 'done', evidence: { answer: 'yes', note: 'cache served' }, outOfOrder: ['postmortem'] });
    const noReason = await call('POST', `/api/v1/incidents/${incidentId}/checklist/identify-m1/skip`, s.keys.operator, {});
    expect(noReason.status).toBe(400);
    const skip = await call('POST', `/api/v1/incidents/${incidentId}/checklist/identify-m1/skip`, s.keys.operator, { reason: 'no rollback: upstream recovered' });
    expect(skip.body.step).toMatchObject({ status: 'skipped', skipReason: 'no rollback: upstream recovered', by: 'key:ops' });
    expect((await call('POST', `/api/v1/incidents/${incidentId}/checklist/identify-m1/skip`, s.keys.viewer, { reason: 'x' })).status).toBe(403);
  });

  it('reports compliance as JSON and Markdown, tied to the audit chain', async () => {
    const json = await call('GET', `/api/v1/incidents/${incidentId}/compliance`, s.keys.viewer);
    expect(json.status).toBe(200);
    const r = json.body.compliance;
    expect(r.runbook).toMatchObject({ id: 'SOP-001', version: 1 });
    const doc = r.steps.find((x: { id: string }) => x.id === 'document-issue');
    expect(doc).toMatchObject({ status: 'done', by: 'key:ops', tookMs: 30 * 60_000, dueInMs: 24 * 3_600_000, onTime: true });
    expect(r.deviations.map((d: { step: string }) => d.step).sort()).toEqual(['isolate', 'review-fallbacks']);
    expect(r.skipped.map((d: { step: string; reason: string }) => [d.step, d.reason])).toEqual([
      ['pause-api', expect.stringContaining('critical')],
      ['identify-m1', 'no rollback: upstream recovered'],
    ]);
    const mine = (await s.f.audit.list({ limit: 1000 })).filter((e) => e.target === `incident:${incidentId}` || e.target === 'model:support-bot' || e.target.startsWith('version:support-bot@'));
    const inWindow = mine.filter((e) => e.target.startsWith('incident:') || e.at >= T0);
    expect(r.audit.seqs).toEqual(inWindow.map((e) => e.seq));
    expect(r.audit.firstSeq).toBe(inWindow[0]!.seq);
    const [completion] = await s.f.audit.list({ target: `incident:${incidentId}`, action: 'runbook.step.complete' });
    const [opening] = await s.f.audit.list({ target: `incident:${incidentId}`, action: 'incident.open' });
    expect(r.audit.seqs).toEqual(expect.arrayContaining([completion!.seq, opening!.seq]));
    expect(r.audit.seqs).not.toContain((await s.f.audit.list({ target: 'runbook:SOP-001' }))[0]!.seq);
    const { createHash } = await import('node:crypto');
    expect(r.audit.sha256).toBe(createHash('sha256').update(inWindow.map((e) => e.hash).join('\n')).digest('hex'));

    const md = await call('GET', `/api/v1/incidents/${incidentId}/compliance`, s.keys.viewer, undefined, { accept: 'text/markdown' });
    expect(md.type).toContain('text/markdown');
    expect(md.body).toContain(`# Compliance report: ${incidentId}`);
    expect(md.body).toMatch(/\| `document-issue` Document the issue with timestamps and impact scope \| manual \| done \| key:ops \|/);
    expect(md.body).toContain('isolated by hand at the load balancer');
    expect(md.body).toContain(r.audit.sha256);

    const range = await call('GET', `/api/v1/compliance?from=${new Date(T0 - 1000).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, s.keys.viewer);
    expect(range.body.compliance.summary).toMatchObject({ incidents: 1, withChecklist: 1, deviations: 2 });
    expect(range.body.compliance.perStep.find((p: { id: string }) => p.id === 'document-issue')).toMatchObject({ done: 1, onTime: 1, medianTookMs: 30 * 60_000 });
    const empty = await call('GET', `/api/v1/compliance?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z&format=markdown`, s.keys.viewer);
    expect(empty.body).toContain('- Incidents: 0');
    expect((await call('GET', '/api/v1/compliance?from=yesterday', s.keys.viewer)).status).toBe(400);
    expect((await call('GET', `/api/v1/incidents/INC-nope/compliance`, s.keys.viewer)).status).toBe(404);
  });
});

describe('runbook versions over HTTP', () => {
  const yaml = readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8');

  it('lists and shows runbooks', async () => {
    const list = await call('GET', '/api/v1/runbooks', s.keys.viewer);
    expect(list.body.runbooks).toEqual([expect.objectContaining({ id: 'SOP-001', version: 1, steps: 16, createdBy: 'config', hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    const one = await call('GET', '/api/v1/runbooks/SOP-001', s.keys.viewer);
    expect(one.body.runbook).toMatchObject({ id: 'SOP-001', version: 1, versions: [1], yaml });
    const asYaml = await call('GET', '/api/v1/runbooks/SOP-001', s.keys.viewer, undefined, { accept: 'application/yaml' });
    expect(asYaml.body).toBe(yaml);
    expect((await call('GET', '/api/v1/runbooks/NOPE', s.keys.viewer)).body.error.code).toBe('RUNBOOK_NOT_FOUND');
    expect((await call('GET', '/api/v1/runbooks/SOP-001?version=9', s.keys.viewer)).body.error.code).toBe('RUNBOOK_NOT_FOUND');
  });

  it('uploads a new version as admin only, validated with the path named', async () => {
    const changed = yaml.replace('title: Draft the postmortem from the timeline', 'title: Draft the postmortem');
    const asOperator = await call('PUT', '/api/v1/runbooks/SOP-001', s.keys.operator, changed, { 'content-type': 'application/yaml' });
    expect(asOperator.status).toBe(403);
    const bad = await call('PUT', '/api/v1/runbooks/SOP-001', s.keys.admin, changed.replace('action: postmortem', 'action: reboot'), { 'content-type': 'application/yaml' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^request body: steps\[11\]\.action: unknown action "reboot"/);
    const put = await call('PUT', '/api/v1/runbooks/SOP-001', s.keys.admin, changed, { 'content-type': 'application/yaml' });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ created: true, runbook: { version: 2, versions: [1, 2] } });
    const same = await call('PUT', '/api/v1/runbooks/SOP-001', s.keys.admin, { yaml: changed });
    expect([same.status, same.body.created]).toEqual([200, false]);
    const v1 = await call('GET', '/api/v1/runbooks/SOP-001?version=1', s.keys.viewer);
    expect(v1.body.runbook.definition.steps[11].title).toBe('Draft the postmortem from the timeline');
    expect((await call('GET', '/api/v1/runbooks/SOP-001', s.keys.viewer)).body.runbook.version).toBe(2);
    // A JSON definition works too; its id comes from the path when it has none.
    const json = await call('PUT', '/api/v1/runbooks/SOP-LITE', s.keys.admin, { title: 'Lite', steps: [{ id: 'ack', title: 'Acknowledge', kind: 'manual', owner: { role: 'viewer', audience: 'engineering' }, evidence: 'note' }] });
    expect(json.status).toBe(201);
    const entries = await s.f.audit.list({ target: 'runbook:SOP-001' });
    expect(entries.map((e) => e.actor)).toEqual(['config', 'key:bootstrap-admin']);
    // The open incident keeps version 1.
    expect((await s.feature.runbooks.checklist(incidentId))!.runbook.version).toBe(1);
  });
});
