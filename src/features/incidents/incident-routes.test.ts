import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startIncidentServer, type IncidentServer } from '../../../test/helpers/incident-server.ts';
import type { Finding } from '../../core/types.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 0);

const finding = (over: Partial<Finding> = {}): Finding => ({
  monitor: 'error-rate',
  family: 'errors',
  model: 'support-bot',
  version: 'v2',
  status: 'breach',
  at: T0,
  evidence: { test: 'two-proportion z', statistic: 8.2, threshold: 3.5, window: { from: T0 - 60_000, to: T0 } },
  ...over,
});

let s: IncidentServer;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

beforeEach(async () => {
  s = await startIncidentServer({ clockStart: T0 });
});
afterEach(async () => {
  await s.close();
});

describe('/api/v1/incidents', () => {
  it('lists newest first with ISO times and filters', async () => {
    const svc = s.feature.incidents;
    await svc.openOrUpdate(finding());
    s.f.clock.advance(1000);
    await svc.openOrUpdate(finding({ model: 'fraud-scorer', family: 'drift', at: T0 + 1000, severity: 'SEV1' }));
    s.f.clock.advance(1000);
    const third = (await svc.openOrUpdate(finding({ version: 'v1', at: T0 + 2000 }))).incident!;
    await svc.resolve(third.id, { actor: 'test' });

    const res = await s.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: auth(s.keys.viewer) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.incidents.map((i: any) => i.id)).toEqual(['INC-20250314-003', 'INC-20250314-002', 'INC-20250314-001']);
    expect(body.incidents[2]).toMatchObject({
      id: 'INC-20250314-001',
      model: 'support-bot',
      version: 'v2',
      severity: 'SEV2',
      status: 'open',
      detectedAt: '2025-03-14T09:00:00.000Z',
      acknowledgedAt: null,
    });
    const q = async (query: string) =>
      (await s.app.inject({ method: 'GET', url: `/api/v1/incidents?${query}`, headers: auth(s.keys.viewer) })).json().incidents.map((i: any) => i.id);
    expect(await q('model=fraud-scorer')).toEqual(['INC-20250314-002']);
    expect(await q('status=resolved')).toEqual(['INC-20250314-003']);
    expect(await q('status=open,acknowledged&severity=sev1')).toEqual(['INC-20250314-002']);
    expect(await q('active=true')).toEqual(['INC-20250314-002', 'INC-20250314-001']);
    expect(await q('active=false')).toEqual(['INC-20250314-003']);
    expect(await q('limit=1')).toEqual(['INC-20250314-003']);
    expect(await q('before=2025-03-14T09:00:01.000Z')).toEqual(['INC-20250314-001']);

    const bad = await s.app.inject({ method: 'GET', url: '/api/v1/incidents?status=burning', headers: auth(s.keys.viewer) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const anon = await s.app.inject({ method: 'GET', url: '/api/v1/incidents' });
    expect(anon.statusCode).toBe(401);
  });

  it('shows one incident with its timeline and provider sections; unknown id is 404', async () => {
    const inc = (await s.feature.incidents.openOrUpdate(finding())).incident!;
    s.feature.incidents.addDetailProvider('checklist', async () => [{ id: 'detect', status: 'done' }]);
    const res = await s.app.inject({ method: 'GET', url: `/api/v1/incidents/${inc.id}`, headers: auth(s.keys.viewer) });
    expect(res.statusCode).toBe(200);
    const { incident } = res.json();
    expect(incident).toMatchObject({ id: inc.id, dedupKey: 'support-bot/v2/errors', checklist: [{ id: 'detect', status: 'done' }] });
    expect(incident.evidence[0].window).toEqual({ from: '2025-03-14T08:59:00.000Z', to: '2025-03-14T09:00:00.000Z' });
    expect(incident.timeline).toHaveLength(1);
    expect(incident.timeline[0]).toMatchObject({ kind: 'detected', at: '2025-03-14T09:00:00.000Z', actor: 'monitor:error-rate' });

    const missing = await s.app.inject({ method: 'GET', url: '/api/v1/incidents/INC-19990101-001', headers: auth(s.keys.viewer) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('INCIDENT_NOT_FOUND');
  });

  it('acknowledges, notes, changes severity, resolves; operator only; audited with the key as actor', async () => {
    const inc = (await s.feature.incidents.openOrUpdate(finding())).incident!;
    const url = (p: string) => `/api/v1/incidents/${inc.id}/${p}`;

    const forbidden = await s.app.inject({ method: 'POST', url: url('acknowledge'), headers: auth(s.keys.viewer) });
    expect(forbidden.statusCode).toBe(403);
    expect((await s.feature.incidents.get(inc.id)).status).toBe('open');

    s.f.clock.advance(45_000);
    const ack = await s.app.inject({ method: 'POST', url: url('acknowledge'), headers: auth(s.keys.operator) });
    expect(ack.statusCode).toBe(200);
    expect(ack.json().incident).toMatchObject({ status: 'acknowledged', acknowledgedAt: '2025-03-14T09:00:45.000Z' });

    const note = await s.app.inject({ method: 'POST', url: url('notes'), headers: auth(s.keys.operator), payload: { text: 'rolling back' } });
    expect(note.statusCode).toBe(201);
    expect(note.json().note).toMatchObject({ kind: 'note', actor: 'key:ops', message: 'rolling back' });
    const emptyNote = await s.app.inject({ method: 'POST', url: url('notes'), headers: auth(s.keys.operator), payload: { text: '' } });
    expect(emptyNote.statusCode).toBe(400);

    const sev = await s.app.inject({ method: 'POST', url: url('severity'), headers: auth(s.keys.operator), payload: { severity: 'SEV1', reason: 'all users' } });
    expect(sev.json().incident.severity).toBe('SEV1');
    const badSev = await s.app.inject({ method: 'PUT', url: url('severity'), headers: auth(s.keys.operator), payload: { severity: 'SEV9' } });
    expect(badSev.statusCode).toBe(400);

    const resolved = await s.app.inject({ method: 'POST', url: url('resolve'), headers: auth(s.keys.operator), payload: { reason: 'rolled back to v1' } });
    expect(resolved.json().incident.status).toBe('resolved');

    const again = await s.app.inject({ method: 'POST', url: url('acknowledge'), headers: auth(s.keys.operator) });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('is resolved') });

    const detail = (await s.app.inject({ method: 'GET', url: `/api/v1/incidents/${inc.id}`, headers: auth(s.keys.viewer) })).json().incident;
    expect(detail.timeline.map((e: any) => e.kind)).toEqual(['detected', 'status', 'note', 'severity', 'status']);
    const audit = await s.f.audit.list({ target: `incident:${inc.id}` });
    expect(audit.map((e) => [e.action, e.actor])).toEqual([
      ['incident.open', 'monitor:error-rate'],
      ['incident.acknowledge', 'key:ops'],
      ['incident.note', 'key:ops'],
      ['incident.severity', 'key:ops'],
      ['incident.resolve', 'key:ops'],
    ]);
    expect(audit[4]!.reason).toBe('rolled back to v1');
  });

  it('declines only with a reason; unknown fields and ids are refused', async () => {
    const inc = (await s.feature.incidents.openOrUpdate(finding())).incident!;
    const url = `/api/v1/incidents/${inc.id}/decline`;
    const noReason = await s.app.inject({ method: 'POST', url, headers: auth(s.keys.operator), payload: {} });
    expect(noReason.statusCode).toBe(400);
    const extra = await s.app.inject({ method: 'POST', url, headers: auth(s.keys.operator), payload: { reason: 'x', nope: 1 } });
    expect(extra.statusCode).toBe(400);
    const ok = await s.app.inject({ method: 'POST', url, headers: auth(s.keys.operator), payload: { reason: 'synthetic load test' } });
    expect(ok.json().incident).toMatchObject({ status: 'declined', declineReason: 'synthetic load test' });
    const unknown = await s.app.inject({ method: 'POST', url: '/api/v1/incidents/INC-x/resolve', headers: auth(s.keys.operator) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('INCIDENT_NOT_FOUND');
  });

  it('opens an incident by hand and joins the active one for the same key', async () => {
    const body = { model: 'support-bot', title: 'users report rude answers', severity: 'sev2' };
    const first = await s.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: auth(s.keys.operator), payload: body });
    expect(first.statusCode).toBe(201);
    expect(first.json().incident).toMatchObject({ source: 'manual', severity: 'SEV2', version: null });
    const second = await s.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: auth(s.keys.operator), payload: body });
    expect(second.statusCode).toBe(200);
    expect(second.json().incident.id).toBe(first.json().incident.id);
    expect(second.json().incident.evidenceCount).toBe(2);
  });

  it('serves the timeline alone with filters', async () => {
    const inc = (await s.feature.incidents.openOrUpdate(finding())).incident!;
    await s.feature.incidents.addNote(inc.id, 'one', { actor: 'a' });
    await s.feature.incidents.addTimelineEvent(inc.id, { kind: 'rollback', actor: 'rollback', message: 'v2 → v1' });
    const res = await s.app.inject({ method: 'GET', url: `/api/v1/incidents/${inc.id}/timeline?kind=note,rollback`, headers: auth(s.keys.viewer) });
    expect(res.json().timeline.map((e: any) => e.kind)).toEqual(['note', 'rollback']);
  });
});
