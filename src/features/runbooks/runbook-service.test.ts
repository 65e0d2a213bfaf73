import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStores } from '../memory-stores.ts';
import { builtinRunbookDir } from './runbook-service.ts';
import { createRunbookKit, openIncident, seedModel, T0, type RunbookKit } from './runbook-test-kit.ts';

const MIN = 60_000;
let kit: RunbookKit;

const states = async (id: string) => (await kit.feature.runbooks.checklist(id))!.states;
const event = (incidentId: string, kind: string, data: unknown, actor = 'test') =>
  kit.incidents.addTimelineEvent(incidentId, { kind, actor, message: kind, data });
const settle = () => kit.feature.runbooks.idle();

describe('checklists on memory stores', () => {
  beforeEach(async () => {
    kit = await createRunbookKit({ stores: createMemoryStores() });
    await seedModel(kit);
  });
  afterEach(async () => {
    await kit.close();
  });

  it('instantiates the runbook in force when an incident opens and pins it on the incident', async () => {
    const incident = await openIncident(kit);
    const c = (await kit.feature.runbooks.checklist(incident.id))!;
    expect(c.runbook).toMatchObject({ id: 'SOP-001', version: 1 });
    expect(c.steps).toHaveLength(16);
    const detected = (await kit.incidents.timeline(incident.id, { kinds: ['detected'] }))[0]!;
    // Detection completes step 1 from the `detected` event.
    expect(c.states.detect).toMatchObject({ status: 'done', eventId: detected.id, completedAt: T0, by: 'monitor:error-rate' });
    // Non-critical model: the pause step does not apply, and says why.
    expect(c.states['pause-api']).toMatchObject({ status: 'skipped', skippedBy: 'condition' });
    expect(c.states['pause-api']!.skipReason).toMatch(/tagged critical; this model has no tags/);
    // Due times are relative to detection, at the incident's severity (SEV2).
    expect(c.states.isolate).toMatchObject({ status: 'pending', dueAt: T0 + 60 * MIN });
    expect(c.states['alert-on-call']!.dueAt).toBe(T0 + 15 * MIN);
    expect((await kit.incidents.get(incident.id)).runbook).toEqual({ id: 'SOP-001', version: 1 });
    // Part of the incident detail, in the fixed shape.
    const detail = await kit.incidents.detail(incident.id);
    const items = detail.extra.checklist as Record<string, unknown>[];
    expect(Object.keys(items[0]!)).toEqual(expect.arrayContaining(['id', 'title', 'kind', 'status', 'owner', 'dueAt', 'completedAt', 'by', 'evidence', 'eventId', 'deviation']));
    expect(items[0]).toMatchObject({ id: 'detect', status: 'done', completedAt: new Date(T0).toISOString(), eventId: detected.id });
    expect(kit.errors).toEqual([]);
  });

  it('completes automatic steps from timeline events, in order, each linked to its event', async () => {
    const incident = await openIncident(kit);
    const id = incident.id;
    kit.f.clock.advance(MIN);
    const opened = await event(id, 'notified', { ok: true, event: 'opened', channel: 'slack' }, 'notifier');
    const failed = await event(id, 'notified', { ok: false, event: 'opened', channel: 'pd' }, 'notifier');
    await settle();
    expect((await states(id))['alert-on-call']).toMatchObject({ status: 'done', eventId: opened.id, by: 'notifier' });
    expect(failed.id).toBeGreaterThan(opened.id);
    // The stakeholder update comes after containment: earlier notifications do not count for it.
    expect((await states(id))['notify-stakeholders']!.status).toBe('pending');

    // A validation before the rollback named its target is out of order and does not count.
    const early = await event(id, 'validation', { version: 'v1', passed: true });
    kit.f.clock.advance(MIN);
    const isolated = await event(id, 'contained', { action: 'isolate', version: 'v2' }, 'playbook:contain');
    const told = await event(id, 'notified', { ok: true, event: 'contained', channel: 'slack' }, 'notifier');
    const rca = await event(id, 'rca', { hypotheses: [] }, 'rca');
    kit.f.clock.advance(MIN);
    const started = await event(id, 'rollback', { rollbackId: 'RB-1', from: 'v2', candidates: ['v1'] }, 'playbook:rollback');
    const rejected = await event(id, 'validation', { version: 'v1', passed: false });
    const passed = await event(id, 'validation', { version: 'v1', passed: true });
    const entry = await kit.f.audit.append(kit.stores, { actor: 'playbook:rollback', action: 'rollback.succeeded', target: 'model:support-bot', before: { rollbackId: 'RB-1' }, after: { to: 'v1' } });
    const landed = await event(id, 'rollback', { rollbackId: 'RB-1', from: 'v2', to: 'v1', durationMs: 812 }, 'playbook:rollback');
    kit.f.clock.advance(MIN);
    const pm = await event(id, 'postmortem', { path: 'x.md' }, 'review');
    await settle();

    const s = await states(id);
    expect(s.isolate).toMatchObject({ status: 'done', eventId: isolated.id, by: 'playbook:contain', completedAt: T0 + 2 * MIN });
    expect(s['notify-stakeholders']).toMatchObject({ status: 'done', eventId: told.id });
    expect(s.rca).toMatchObject({ status: 'done', eventId: rca.id });
    expect(s['identify-m1']).toMatchObject({ status: 'done', eventId: started.id });
    expect(s['validate-m1']).toMatchObject({ status: 'done', eventId: passed.id });
    expect([early.id, rejected.id]).not.toContain(s['validate-m1']!.eventId);
    expect(s['push-live']).toMatchObject({ status: 'done', eventId: landed.id, completedAt: T0 + 3 * MIN });
    expect(s['audit-log']).toMatchObject({ status: 'done', eventId: landed.id, audit: { seq: entry.seq, hash: entry.hash } });
    expect(s.postmortem).toMatchObject({ status: 'done', eventId: pm.id });
    // Manual steps wait for people.
    expect(s['document-issue']!.status).toBe('pending');
    expect(s['review-thresholds']!.status).toBe('pending');

    // Replaying an event changes nothing.
    const before = await kit.feature.runbooks.checklist(id);
    kit.f.bus.emit('incident.timeline', { event: landed });
    await settle();
    expect(await kit.feature.runbooks.checklist(id)).toEqual(before);
  });

  it('a rollback without its audit entry leaves the audit step open', async () => {
    const { id } = await openIncident(kit);
    await event(id, 'rollback', { rollbackId: 'RB-9', from: 'v2', candidates: ['v1'] });
    await event(id, 'validation', { version: 'v1', passed: true });
    await event(id, 'rollback', { rollbackId: 'RB-9', from: 'v2', to: 'v1' });
    await settle();
    const s = await states(id);
    expect(s['push-live']!.status).toBe('done');
    expect(s['audit-log']!.status).toBe('pending');
  });

  it('a critical model has the pause step; containment pausing the API completes it', async () => {
    await seedModel(kit, 'fraud-scorer', ['critical']);
    const { id } = await openIncident(kit, { model: 'fraud-scorer' });
    expect((await states(id))['pause-api']!.status).toBe('pending');
    const paused = await event(id, 'contained', { action: 'paused', mode: 'fallback' });
    await settle();
    expect((await states(id))['pause-api']).toMatchObject({ status: 'done', eventId: paused.id });
    expect((await states(id)).isolate!.status).toBe('pending');
  });

  it('follows the severity: due times move, and conditional steps are reconsidered', async () => {
    const { id } = await openIncident(kit, { severity: 'SEV3' });
    expect((await states(id)).isolate!.dueAt).toBe(T0 + 4 * 60 * MIN);
    await kit.incidents.setSeverity(id, 'SEV1', { actor: 'key:ops' });
    await settle();
    const c = (await kit.feature.runbooks.checklist(id))!;
    expect(c.severity).toBe('SEV1');
    expect(c.states.isolate!.dueAt).toBe(T0 + 15 * MIN);
    expect(c.states.detect!.status).toBe('done');
  });

  it('a declined incident skips its open steps with the reason', async () => {
    const { id } = await openIncident(kit);
    await kit.incidents.decline(id, { actor: 'key:ops', reason: 'load test' });
    await settle();
    const s = await states(id);
    expect(s.detect!.status).toBe('done');
    expect(s.isolate).toMatchObject({ status: 'skipped', skipReason: 'incident declined as a false alarm: load test' });
  });

  it('escalates an overdue step once through the notifier, to its owner audience', async () => {
    const { id } = await openIncident(kit);
    kit.f.clock.advance(15 * MIN);
    expect(await kit.feature.runbooks.tick()).toEqual([]); // due, not past due
    kit.f.clock.advance(1);
    expect(await kit.feature.runbooks.tick()).toEqual([{ incidentId: id, stepId: 'alert-on-call' }]);
    expect(kit.notifier.sent).toEqual([
      expect.objectContaining({ incidentId: id, audience: 'engineering', event: expect.objectContaining({ kind: 'reminder', message: expect.stringContaining('"Alert the on-call engineers') }) }),
    ]);
    const escalations = await kit.incidents.timeline(id, { kinds: ['escalated'] });
    expect(escalations).toHaveLength(1);
    expect(escalations[0]).toMatchObject({ actor: 'runbook', at: T0 + 15 * MIN + 1, data: expect.objectContaining({ step: 'alert-on-call' }) });
    // Once only.
    expect(await kit.feature.runbooks.tick()).toEqual([]);
    expect(kit.notifier.sent).toHaveLength(1);
    // Later, every step past due, each once; the product-owned stakeholder step goes to product.
    kit.f.clock.advance(2 * 60 * MIN);
    const next = await kit.feature.runbooks.tick();
    expect(next.map((x) => x.stepId).sort()).toEqual(['identify-m1', 'isolate', 'notify-stakeholders']);
    expect(kit.notifier.sent.find((n) => (n.event.data as { step?: string }).step === 'notify-stakeholders')?.audience).toBe('product');
    expect(await kit.feature.runbooks.tick()).toEqual([]);
    // A step done in time is never escalated.
    const items = await kit.feature.runbooks.checklistItems(id);
    expect(items.find((i) => i.id === 'detect')!.escalatedAt).toBeNull();
    expect(items.find((i) => i.id === 'isolate')).toMatchObject({ status: 'overdue', escalatedAt: new Date(kit.f.clock.now()).toISOString() });
  });
});

describe('runbook versions', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-runbooks-'));
    writeFileSync(join(dir, 'sop-001.yaml'), readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8'));
    kit = await createRunbookKit({ stores: createMemoryStores(), dirs: [dir] });
    await seedModel(kit);
  });
  afterEach(async () => {
    await kit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a changed file becomes version N+1 (audited); an unchanged one does not; older versions stay', async () => {
    const rb = kit.feature.runbooks;
    expect((await rb.versions('SOP-001')).map((v) => v.version)).toEqual([1]);
    expect((await rb.loadDirectory(dir))[0]).toMatchObject({ created: false });
    const text = readFileSync(join(dir, 'sop-001.yaml'), 'utf8');
    writeFileSync(join(dir, 'sop-001.yaml'), text.replace('title: Alert the on-call engineers through the configured channels', 'title: Page the on-call'));
    const [r] = await rb.loadDirectory(dir);
    expect(r).toMatchObject({ created: true, runbook: { id: 'SOP-001', version: 2 } });
    expect((await rb.versions('SOP-001')).map((v) => v.version)).toEqual([1, 2]);
    expect((await rb.get('SOP-001', 1)).definition.steps[1]!.title).toBe('Alert the on-call engineers through the configured channels');
    const audit = await kit.f.audit.list({ target: 'runbook:SOP-001' });
    expect(audit.map((e) => [e.action, (e.after as { version: number }).version, (e.before as { version?: number } | undefined)?.version])).toEqual([
      ['runbook.version', 1, undefined],
      ['runbook.version', 2, 1],
    ]);
    // The file as it was before is a known version: loading it again does not revert anything.
    writeFileSync(join(dir, 'sop-001.yaml'), text);
    expect((await rb.loadDirectory(dir))[0]).toMatchObject({ created: false, runbook: { version: 1 } });
    expect((await rb.get('SOP-001')).version).toBe(2);
  });

  it('editing the runbook after an incident opened leaves that incident’s checklist unchanged', async () => {
    const rb = kit.feature.runbooks;
    const first = await openIncident(kit);
    const before = await rb.checklist(first.id);
    const text = readFileSync(join(dir, 'sop-001.yaml'), 'utf8').replace('title: Isolate the faulty model version (take it out of rotation)', 'title: Quarantine the version');
    const up = await rb.upload('SOP-001', text, { actor: 'key:admin' });
    expect(up).toMatchObject({ created: true, runbook: { version: 2 } });
    // Uploading the same again is not a new version.
    expect(await rb.upload('SOP-001', text, { actor: 'key:admin' })).toMatchObject({ created: false, runbook: { version: 2 } });

    expect(await rb.checklist(first.id)).toEqual(before);
    expect((await rb.checklistItems(first.id)).find((i) => i.id === 'isolate')!.title).toBe('Isolate the faulty model version (take it out of rotation)');
    const second = await openIncident(kit, { family: 'latency' });
    expect((await rb.checklist(second.id))!.runbook.version).toBe(2);
    expect((await rb.checklistItems(second.id)).find((i) => i.id === 'isolate')!.title).toBe('Quarantine the version');
    // And the first keeps completing against its own snapshot.
    await event(first.id, 'contained', { action: 'isolate' });
    await settle();
    expect((await states(first.id)).isolate!.status).toBe('done');
    expect((await rb.checklist(first.id))!.runbook.version).toBe(1);
  });

  it('refuses an upload whose id does not match, naming the path', async () => {
    const text = readFileSync(join(dir, 'sop-001.yaml'), 'utf8');
    await expect(kit.feature.runbooks.upload('SOP-002', text, { actor: 'a' })).rejects.toThrow('request body: id: the runbook says "SOP-001" but was uploaded as "SOP-002"');
    await expect(kit.feature.runbooks.upload('SOP-001', text.replace('action: rca', 'action: reboot'), { actor: 'a' })).rejects.toThrow(
      /^request body: steps\[5\]\.action: unknown action "reboot"/,
    );
  });
});

describe('choosing the runbook per incident (runbooks.select)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-runbooks-'));
    // An organization's own procedure for drift: SOP-001's steps under another id and title.
    const drift = readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8')
      .replace(/^id: SOP-001$/m, 'id: SOP-DRIFT')
      .replace(/^title: .*$/m, 'title: Input drift review');
    writeFileSync(join(dir, 'sop-drift.yaml'), drift);
  });
  afterEach(async () => {
    await kit?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an incident follows the first rule that matches it, else the default, and says which on its timeline', async () => {
    kit = await createRunbookKit({
      stores: createMemoryStores(),
      dirs: [builtinRunbookDir, dir],
      select: [
        { runbook: 'SOP-DRIFT', families: ['drift'], severities: ['SEV3', 'SEV4'] },
        { runbook: 'SOP-001', models: ['fraud-scorer'] },
        { runbook: 'SOP-DRIFT' },
      ],
    });
    await seedModel(kit);
    await seedModel(kit, 'fraud-scorer');
    const drift = await openIncident(kit, { family: 'drift', severity: 'SEV4' });
    const severeDrift = await openIncident(kit, { model: 'fraud-scorer', family: 'drift', severity: 'SEV1' });
    const other = await openIncident(kit, { family: 'errors' });
    const pinned = async (id: string) => (await kit.incidents.get(id)).runbook?.id;
    expect(await pinned(drift.id)).toBe('SOP-DRIFT');
    expect((await kit.feature.runbooks.checklist(drift.id))!.runbook).toMatchObject({ id: 'SOP-DRIFT', version: 1 });
    // SEV1 drift misses the first rule (severity) and matches the second (model).
    expect(await pinned(severeDrift.id)).toBe('SOP-001');
    // Errors on support-bot match only the catch-all rule.
    expect(await pinned(other.id)).toBe('SOP-DRIFT');
    const reason = async (id: string) => (await kit.incidents.timeline(id)).find((e) => e.kind === 'runbook')?.message ?? '';
    expect(await reason(drift.id)).toMatch(/runbooks\.select\[0\] \(family drift, severity SEV3\/SEV4\)/);
    expect(await reason(severeDrift.id)).toMatch(/runbooks\.select\[1\] \(model fraud-scorer\)/);
    expect(await reason(other.id)).toMatch(/runbooks\.select\[2\] \(every incident\)/);
    expect(kit.errors).toEqual([]);
  });

  it('with no rule matching, the default runbook; a rule or default naming a runbook not loaded refuses to start', async () => {
    kit = await createRunbookKit({ stores: createMemoryStores(), dirs: [builtinRunbookDir, dir], defaultRunbookId: 'SOP-DRIFT', select: [{ runbook: 'SOP-001', families: ['errors'] }] });
    await seedModel(kit);
    expect((await kit.incidents.get((await openIncident(kit, { family: 'latency' })).id)).runbook?.id).toBe('SOP-DRIFT');
    expect((await kit.incidents.get((await openIncident(kit, { family: 'errors' })).id)).runbook?.id).toBe('SOP-001');
    await expect(createRunbookKit({ stores: createMemoryStores(), select: [{ runbook: 'SOP-001' }, { runbook: 'SOP-404' }] })).rejects.toThrow(
      'runbooks.select[1].runbook: no runbook "SOP-404" is loaded (loaded: SOP-001)',
    );
    await expect(createRunbookKit({ stores: createMemoryStores(), defaultRunbookId: 'SOP-9' })).rejects.toThrow('runbooks.default: no runbook "SOP-9" is loaded');
  });
});
