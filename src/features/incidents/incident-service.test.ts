import { afterEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestStorage } from '../../../test/helpers/storage.ts';
import { EventBus, type DomainEvents } from '../../core/events.ts';
import { defaultSeverityRules } from '../../core/incident-lifecycle.ts';
import type { Finding, Incident } from '../../core/types.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { AuditLog } from '../audit/audit-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { Stores } from '../stores.ts';
import { IncidentService, type ExternalAlertInput } from './incident-service.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 0);

function setup(stores: Stores = createMemoryStores(), rules = defaultSeverityRules) {
  let now = T0;
  const clock = { now: () => now };
  const bus = new EventBus((err) => {
    throw err;
  });
  const audit = new AuditLog({ stores, clock });
  const events: { name: string; payload: any }[] = [];
  for (const name of ['incident.opened', 'incident.updated', 'incident.timeline'] as const) {
    bus.on(name, (payload: DomainEvents[typeof name]) => {
      events.push({ name, payload });
    });
  }
  const service = new IncidentService({ stores, clock, bus, audit, severityRules: rules, evidenceIntervalMs: 60_000 });
  return {
    stores,
    service,
    audit,
    events,
    bus,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const finding = (over: Partial<Finding> = {}): Finding => ({
  monitor: 'error-rate',
  family: 'errors',
  model: 'support-bot',
  version: 'v2',
  status: 'breach',
  at: T0,
  evidence: { test: 'two-proportion z', statistic: 8.2, threshold: 3.5, observed: 0.12, baseline: 0.004, sampleSize: 400 },
  onsetAt: T0 - 20_000,
  ...over,
});

const alert = (over: Partial<ExternalAlertInput> = {}): ExternalAlertInput => ({
  kind: 'alert',
  source: 'alertmanager',
  origin: 'alertmanager',
  alertKey: 'fp-1',
  model: 'support-bot',
  version: 'v2',
  title: 'HighErrorRate: 5xx above 5%',
  status: 'firing',
  startsAt: T0 - 60_000,
  ...over,
});

describe('IncidentService: opening and de-duplication', () => {
  it('opens an incident from a breach with a readable id, timeline, audit entry and bus events', async () => {
    const { service, stores, audit, events } = setup();
    const r = await service.openOrUpdate(finding());
    expect(r.created).toBe(true);
    const inc = r.incident!;
    expect(inc.id).toBe('INC-20250314-001');
    expect(inc).toMatchObject({
      model: 'support-bot',
      version: 'v2',
      family: 'errors',
      severity: 'SEV2', // errors family default
      status: 'open',
      source: 'monitor',
      dedupKey: 'support-bot/v2/errors',
      detectedAt: T0,
      onsetAt: T0 - 20_000,
      evidenceCount: 1,
    });
    expect(inc.title).toContain('errors breach on support-bot@v2');
    expect(await stores.incidents.get(inc.id)).toEqual(inc);
    const timeline = await service.timeline(inc.id);
    expect(timeline.map((e) => e.kind)).toEqual(['detected']);
    expect(timeline[0]!.actor).toBe('monitor:error-rate');
    const entries = await audit.list();
    expect(entries.map((e) => [e.action, e.target])).toEqual([['incident.open', `incident:${inc.id}`]]);
    expect(events.map((e) => e.name)).toEqual(['incident.timeline', 'incident.opened']);
    expect(events[1]!.payload.incident.id).toBe(inc.id);
  });

  it('ignores findings that are not breaches', async () => {
    const { service, stores } = setup();
    expect((await service.openOrUpdate(finding({ status: 'ok' }))).incident).toBeUndefined();
    expect((await service.openOrUpdate(finding({ status: 'insufficient_data' }))).incident).toBeUndefined();
    expect(await stores.incidents.list()).toEqual([]);
  });

  it('keeps one active incident per model + version + family and appends evidence to it', async () => {
    const { service, events, advance } = setup();
    const first = (await service.openOrUpdate(finding())).incident!;
    // the same monitor re-evaluating within the interval is absorbed without a write
    advance(1000);
    const repeat = await service.openOrUpdate(finding({ at: T0 + 1000 }));
    expect(repeat).toMatchObject({ created: false, changed: false });
    expect(repeat.incident!.id).toBe(first.id);
    // another monitor of the same family adds evidence at once
    const other = await service.openOrUpdate(finding({ monitor: 'error-burst', at: T0 + 1000 }));
    expect(other).toMatchObject({ created: false, changed: true });
    expect(other.incident!.evidenceCount).toBe(2);
    // after the interval the first monitor adds evidence again
    advance(60_000);
    const later = await service.openOrUpdate(finding({ at: T0 + 61_000 }));
    expect(later.changed).toBe(true);
    expect(later.incident!.evidenceCount).toBe(3);
    expect(later.incident!.sources!['monitor:error-rate']).toMatchObject({ kind: 'monitor', count: 2, firstAt: T0, lastAt: T0 + 61_000 });
    // a different version or family is a different incident
    const v1 = await service.openOrUpdate(finding({ version: 'v1', at: T0 + 61_000 }));
    const latency = await service.openOrUpdate(finding({ family: 'latency', at: T0 + 61_000 }));
    expect(v1.created && latency.created).toBe(true);
    expect(new Set([first.id, v1.incident!.id, latency.incident!.id]).size).toBe(3);
    expect((await service.timeline(first.id)).map((e) => e.kind)).toEqual(['detected', 'evidence', 'evidence']);
    const updates = events.filter((e) => e.name === 'incident.updated').map((e) => e.payload.change);
    expect(updates).toEqual(['evidence', 'evidence']);
  });

  it('raises severity as evidence grows, records why, and never lowers it automatically', async () => {
    const rules = { ...defaultSeverityRules, escalation: { everyEvidence: 2, max: 'SEV1' as const } };
    const { service, audit, events } = setup(undefined, rules);
    const inc = (await service.openOrUpdate(finding({ family: 'drift', monitor: 'psi-0' }))).incident!;
    expect(inc.severity).toBe('SEV4');
    await service.openOrUpdate(finding({ family: 'drift', monitor: 'psi-1' }));
    const raised = (await service.openOrUpdate(finding({ family: 'drift', monitor: 'psi-2' }))).incident!;
    expect(raised.severity).toBe('SEV3');
    const timeline = await service.timeline(inc.id);
    const raise = timeline.find((e) => e.kind === 'severity_raised')!;
    expect(raise.data).toEqual({ from: 'SEV4', to: 'SEV3', evidenceCount: 3 });
    expect((await audit.list()).map((e) => e.action)).toContain('incident.severity');
    expect(events.filter((e) => e.name === 'incident.updated').map((e) => e.payload.change)).toEqual(['evidence', 'severity']);
    // an item saying SEV4 does not lower it
    const after = (await service.openOrUpdate(finding({ family: 'drift', monitor: 'psi-3', severity: 'SEV4' }))).incident!;
    expect(after.severity).toBe('SEV3');
  });

  it('opens at the tag floor for critical models', async () => {
    const { service, stores } = setup();
    await stores.models.insert({ name: 'fraud-scorer', kind: 'predict', tags: ['critical'], createdAt: T0 });
    const inc = (await service.openOrUpdate(finding({ model: 'fraud-scorer', family: 'drift' }))).incident!;
    expect(inc.severity).toBe('SEV2');
  });

  it('opens a new incident once the previous one for the key has closed', async () => {
    const { service } = setup();
    const first = (await service.openOrUpdate(finding())).incident!;
    await service.resolve(first.id, { actor: 'key:alice' });
    const second = await service.openOrUpdate(finding({ at: T0 + 5 }));
    expect(second.created).toBe(true);
    expect(second.incident!.id).toBe('INC-20250314-002');
  });

  it('opens exactly one incident under concurrent findings for one key', async () => {
    const { service, stores } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => service.openOrUpdate(finding({ monitor: `m${i}` }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const all = await stores.incidents.list();
    expect(all).toHaveLength(1);
    expect(all[0]!.evidenceCount).toBe(20);
  });

  it('rolls everything back when the audit entry cannot be written', async () => {
    const stores = createMemoryStores();
    const bus = new EventBus();
    const opened: Incident[] = [];
    bus.on('incident.opened', ({ incident }) => {
      opened.push(incident);
    });
    const service = new IncidentService({
      stores,
      clock: { now: () => T0 },
      bus,
      audit: {
        lock: async () => {},
        append: async () => {
          throw new Error('audit store down');
        },
      },
    });
    await expect(service.openOrUpdate(finding())).rejects.toThrow('audit store down');
    expect(await stores.incidents.list()).toEqual([]);
    expect(opened).toEqual([]);
  });
});

describe('IncidentService: life cycle', () => {
  it('moves through the steps, each with its timestamp, timeline event, audit entry and bus event', async () => {
    const { service, audit, events, advance } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    advance(30_000);
    const acked = await service.acknowledge(inc.id, { actor: 'key:alice', requestId: 'req-1' });
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedAt: T0 + 30_000 });
    advance(1_000);
    expect((await service.contain(inc.id, { actor: 'playbook:p1', reason: 'isolated v2' })).containedAt).toBe(T0 + 31_000);
    advance(1_000);
    expect((await service.mitigate(inc.id, { actor: 'playbook:p1', reason: 'rolled back to v1' })).mitigatedAt).toBe(T0 + 32_000);
    advance(1_000);
    expect((await service.resolve(inc.id, { actor: 'key:alice' })).resolvedAt).toBe(T0 + 33_000);
    advance(1_000);
    const reviewed = await service.review(inc.id, { actor: 'key:bob' });
    expect(reviewed).toMatchObject({ status: 'reviewed', reviewedAt: T0 + 34_000 });

    const statusEvents = (await service.timeline(inc.id)).filter((e) => e.kind === 'status');
    expect(statusEvents.map((e) => (e.data as any).to)).toEqual(['acknowledged', 'contained', 'mitigated', 'resolved', 'reviewed']);
    expect(statusEvents[1]!.message).toBe('contained by playbook:p1: isolated v2');
    const entries = await audit.list();
    expect(entries.map((e) => e.action)).toEqual([
      'incident.open',
      'incident.acknowledge',
      'incident.contain',
      'incident.mitigate',
      'incident.resolve',
      'incident.review',
    ]);
    expect(entries[1]).toMatchObject({ actor: 'key:alice', before: { status: 'open' }, after: { status: 'acknowledged' }, requestId: 'req-1' });
    expect(entries[2]!.reason).toBe('isolated v2');
    expect((await audit.verify()).ok).toBe(true);
    expect(events.filter((e) => e.name === 'incident.updated').map((e) => e.payload.change)).toEqual([
      'acknowledged',
      'contained',
      'mitigated',
      'resolved',
      'reviewed',
    ]);
  });

  it('refuses invalid transitions with INVALID_STATE and changes nothing', async () => {
    const { service, audit } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    await service.resolve(inc.id, { actor: 'key:alice' });
    const before = (await service.timeline(inc.id)).length;
    const auditBefore = await audit.count();
    await expect(service.acknowledge(inc.id, { actor: 'key:alice' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('is resolved; it cannot become acknowledged'),
    });
    await expect(service.decline(inc.id, { actor: 'key:alice', reason: 'noise' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(service.changeStatus(inc.id, 'open', { actor: 'x' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect((await service.timeline(inc.id)).length).toBe(before);
    expect(await audit.count()).toBe(auditBefore);
    expect((await service.get(inc.id)).status).toBe('resolved');
    await expect(service.acknowledge('INC-nope', { actor: 'x' })).rejects.toMatchObject({ code: 'INCIDENT_NOT_FOUND' });
  });

  it('treats a repeated request as a no-op and records a late ack after automation contained', async () => {
    const { service, audit, advance } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    await service.contain(inc.id, { actor: 'playbook:p1' });
    const n = await audit.count();
    await service.contain(inc.id, { actor: 'playbook:p1' });
    expect(await audit.count()).toBe(n);
    advance(120_000);
    const acked = await service.acknowledge(inc.id, { actor: 'key:alice' });
    expect(acked.status).toBe('contained');
    expect(acked.acknowledgedAt).toBe(T0 + 120_000);
  });

  it('declines with a reason only', async () => {
    const { service } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    await expect(service.decline(inc.id, { actor: 'key:alice', reason: '  ' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const declined = await service.decline(inc.id, { actor: 'key:alice', reason: 'load test traffic' });
    expect(declined).toMatchObject({ status: 'declined', declineReason: 'load test traffic', declinedAt: T0 });
  });

  it('lets a human set severity either way; escalation then starts from that choice', async () => {
    const rules = { ...defaultSeverityRules, escalation: { everyEvidence: 2, max: 'SEV1' as const } };
    const { service, audit } = setup(undefined, rules);
    const inc = (await service.openOrUpdate(finding())).incident!;
    const lowered = await service.setSeverity(inc.id, 'SEV4', { actor: 'key:alice', reason: 'internal traffic only' });
    expect(lowered.severity).toBe('SEV4');
    expect(lowered.severityBasis).toMatchObject({ severity: 'SEV4', setBy: 'key:alice', evidenceCount: 1 });
    expect((await service.openOrUpdate(finding({ monitor: 'b' }))).incident!.severity).toBe('SEV4');
    expect((await service.openOrUpdate(finding({ monitor: 'c' }))).incident!.severity).toBe('SEV3');
    const raised = await service.setSeverity(inc.id, 'SEV1', { actor: 'key:bob' });
    expect(raised.severity).toBe('SEV1');
    expect((await audit.list({ action: 'incident.severity' })).map((e) => e.actor)).toEqual(['key:alice', 'system', 'key:bob']);
  });

  it('records notes, impact, root cause, runbook and free timeline events', async () => {
    const { service, events, audit } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    const note = await service.addNote(inc.id, ' customer tickets up ', { actor: 'key:alice' });
    expect(note).toMatchObject({ kind: 'note', actor: 'key:alice', message: 'customer tickets up' });
    await expect(service.addNote(inc.id, ' ', { actor: 'key:alice' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await service.setImpact(inc.id, { trafficShare: 0.1, failedRequests: 40 }, { actor: 'system' });
    const withImpact = await service.setImpact(inc.id, { clients: 3 }, { actor: 'system' });
    expect(withImpact.impact).toEqual({ trafficShare: 0.1, failedRequests: 40, clients: 3 });
    const rc = await service.setRootCause(inc.id, { category: 'version_change', summary: 'new prompt', confidence: 0.82 }, { actor: 'rca' });
    expect(rc.rootCause?.category).toBe('version_change');
    const rb = await service.setRunbook(inc.id, { id: 'SOP-001', version: 2 }, { actor: 'runbooks' });
    expect(rb.runbook).toEqual({ id: 'SOP-001', version: 2 });
    const ev = await service.addTimelineEvent(inc.id, { kind: 'rollback', actor: 'rollback', message: 'v2 → v1', data: { to: 'v1' } });
    expect(ev.id).toBeGreaterThan(note.id);
    await expect(service.addTimelineEvent('INC-nope', { kind: 'x', actor: 'y', message: 'z' })).rejects.toMatchObject({
      code: 'INCIDENT_NOT_FOUND',
    });
    const kinds = (await service.timeline(inc.id)).map((e) => e.kind);
    expect(kinds).toEqual(['detected', 'note', 'impact', 'impact', 'root_cause', 'runbook', 'rollback']);
    expect(events.filter((e) => e.name === 'incident.timeline').at(-1)!.payload.event.kind).toBe('rollback');
    expect((await audit.list()).map((e) => e.action)).toEqual([
      'incident.open',
      'incident.note',
      'incident.impact',
      'incident.impact',
      'incident.root_cause',
      'incident.runbook',
    ]);
  });

  it('writes a timeline event inside a caller transaction, and rolls it back with it', async () => {
    const { service, stores } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    await expect(
      stores.transaction(async (tx) => {
        await service.addTimelineEvent(inc.id, { kind: 'contained', actor: 'containment', message: 'v2 isolated' }, tx);
        throw new Error('route change failed');
      }),
    ).rejects.toThrow('route change failed');
    await stores.transaction((tx) => service.addTimelineEvent(inc.id, { kind: 'contained', actor: 'containment', message: 'v2 isolated' }, tx));
    expect((await service.timeline(inc.id)).map((e) => e.kind)).toEqual(['detected', 'contained']);
  });

  it('adds provider sections to the detail and survives a failing provider', async () => {
    const { service } = setup();
    const inc = (await service.openOrUpdate(finding())).incident!;
    service.addDetailProvider('checklist', async (i) => [{ id: 'step-1', incident: i.id }]);
    service.addDetailProvider('broken', async () => {
      throw new Error('nope');
    });
    const detail = await service.detail(inc.id);
    expect(detail.extra).toEqual({ checklist: [{ id: 'step-1', incident: inc.id }] });
    expect(detail.timeline).toHaveLength(1);
  });

  it('opens from findings published on the bus when subscribed', async () => {
    const { service, bus, stores } = setup();
    const off = service.subscribeToFindings();
    bus.emit('finding', { finding: finding() });
    bus.emit('finding', { finding: finding({ status: 'ok', version: 'v1' }) });
    await new Promise((r) => setTimeout(r, 20));
    off();
    expect((await stores.incidents.list()).map((i) => i.version)).toEqual(['v2']);
  });
});

describe('IncidentService: external alerts', () => {
  it('opens from a firing alert, absorbs repeats, resolves when the alert resolves', async () => {
    const { service, events } = setup();
    const opened = await service.openOrUpdate(alert({ severity: 'SEV1' }));
    expect(opened.incident).toMatchObject({ source: 'alertmanager', family: 'external', severity: 'SEV1', onsetAt: T0 - 60_000 });
    expect(opened.incident!.sources!['alertmanager:fp-1']).toMatchObject({ kind: 'alert', status: 'firing' });
    expect((await service.openOrUpdate(alert({ severity: 'SEV1' }))).changed).toBe(false);
    // a second alert feeds the same incident; resolving the first alone keeps it open
    await service.openOrUpdate(alert({ alertKey: 'fp-2' }));
    const partial = await service.openOrUpdate(alert({ status: 'resolved' }));
    expect(partial.incident!.status).toBe('open');
    const resolved = await service.openOrUpdate(alert({ alertKey: 'fp-2', status: 'resolved', endsAt: T0 }));
    expect(resolved.incident).toMatchObject({ status: 'resolved', resolvedAt: T0 });
    const kinds = (await service.timeline(resolved.incident!.id)).map((e) => e.kind);
    expect(kinds).toEqual(['detected', 'evidence', 'alert_resolved', 'alert_resolved', 'status']);
    expect(events.filter((e) => e.name === 'incident.updated').map((e) => e.payload.change)).toEqual([
      'evidence',
      'alert_resolved',
      'resolved',
    ]);
    // a resolve for an alert nobody knows changes nothing
    expect((await service.openOrUpdate(alert({ alertKey: 'fp-9', status: 'resolved' }))).changed).toBe(false);
  });

  it('does not resolve an incident a monitor also fed', async () => {
    const { service } = setup();
    await service.openOrUpdate(alert({ family: 'errors' }));
    await service.openOrUpdate(finding());
    const r = await service.openOrUpdate(alert({ family: 'errors', status: 'resolved' }));
    expect(r.incident!.status).toBe('open');
  });

  it('opens manual incidents', async () => {
    const { service } = setup();
    const r = await service.openManual({ model: 'support-bot', title: 'users report rude answers', severity: 'SEV2' }, { actor: 'key:alice' });
    expect(r.incident).toMatchObject({ source: 'manual', family: 'manual', severity: 'SEV2', dedupKey: 'support-bot/*/manual' });
    expect(r.incident).not.toHaveProperty('version');
  });
});

for (const target of storageTargets) {
  describe.skipIf(!target.enabled)(`IncidentService on ${target.name}`, () => {
    let storage: TestStorage | undefined;
    afterEach(async () => {
      await storage?.cleanup();
      storage = undefined;
    });

    it('keeps one incident when two replicas see the same fault at once, and the audit chain verifies', async () => {
      storage = await target.create();
      // Two services over one database stand for two replicas: no shared in-process lock.
      const a = setup(createKyselyStores(storage.handle));
      const b = setup(createKyselyStores(storage.handle));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.openOrUpdate(finding({ monitor: `m${i}` }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const all = await a.stores.incidents.list();
      expect(all).toHaveLength(1);
      expect(all[0]!.evidenceCount).toBe(10);
      await Promise.all([a.service.acknowledge(all[0]!.id, { actor: 'key:alice' }), b.service.acknowledge(all[0]!.id, { actor: 'key:bob' })]);
      await a.service.resolve(all[0]!.id, { actor: 'key:alice' });
      expect(await a.audit.verify()).toMatchObject({ ok: true, entries: 3 });
      expect((await a.service.timeline(all[0]!.id)).filter((e) => e.kind === 'status')).toHaveLength(2);
    });
  });
}
