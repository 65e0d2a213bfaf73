import { describe, expect, it } from 'vitest';
import { createContainmentKit } from '../containment/containment-test-kit.ts';

describe('PlaybookRunner', () => {
  it('SEV2 by default: contains at once, then rolls back; measures the containment latency', async () => {
    const k = await createContainmentKit();
    k.playbooks.start();
    const id = await k.open('v3', 'SEV2');
    await k.playbooks.idle();
    const actions = await k.playbooks.actions(id);
    expect(actions.map((a) => [a.kind, a.status])).toEqual([
      ['contain', 'succeeded'],
      ['rollback', 'succeeded'],
    ]);
    expect(k.playbooks.containmentTimings[0]).toMatchObject({ incidentId: id, version: 'v3' });
    expect(k.playbooks.containmentTimings[0]!.fromEventMs).toBeLessThan(100);
    expect((await k.incidents.get(id)).status).toBe('mitigated');
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 0, v2: 100 });
  });

  it('SEV4 notifies only; SEV3 contains only; a severity rise runs the steps not done yet', async () => {
    const k = await createContainmentKit();
    k.playbooks.start();
    const id = await k.open('v3', 'SEV4');
    await k.playbooks.idle();
    expect(await k.playbooks.actions(id)).toEqual([]);
    await k.incidents.setSeverity(id, 'SEV3', { actor: 'key:ops' });
    await k.playbooks.idle();
    expect((await k.playbooks.actions(id)).map((a) => a.kind)).toEqual(['contain']);
    await k.incidents.setSeverity(id, 'SEV1', { actor: 'key:ops' });
    await k.playbooks.idle();
    expect((await k.playbooks.actions(id)).map((a) => [a.kind, a.status])).toEqual([
      ['contain', 'succeeded'],
      ['rollback', 'succeeded'],
    ]);
  });

  it('does not act automatically on an incident that names no version', async () => {
    const k = await createContainmentKit();
    k.playbooks.start();
    const id = await k.open(undefined, 'SEV1');
    await k.playbooks.idle();
    expect((await k.playbooks.actions(id)).map((a) => [a.kind, a.status])).toEqual([
      ['contain', 'skipped'],
      ['rollback', 'skipped'],
    ]);
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 100 });
    expect(await k.f.stores.rollbacks.list()).toEqual([]);
  });

  it('dry run records what it would do and moves nothing', async () => {
    const k = await createContainmentKit({ containment: { playbook: { dryRun: true } } });
    k.playbooks.start();
    const id = await k.open('v3', 'SEV1');
    await k.playbooks.idle();
    const actions = await k.playbooks.actions(id);
    expect(actions.map((a) => a.status)).toEqual(['dry_run', 'dry_run']);
    expect(actions[0]!.reason).toBe('dry run: would isolate bot v3 (auto)');
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 100 });
    expect((await k.incidents.timeline(id)).filter((e) => e.kind === 'playbook').length).toBe(2);
  });

  it('approval: waits, then runs on approve; deny closes it; only pending actions can be decided', async () => {
    const k = await createContainmentKit({ containment: { playbook: { SEV2: { contain: 'approval', rollback: 'approval' } } } });
    k.playbooks.start();
    const id = await k.open('v3', 'SEV2');
    await k.playbooks.idle();
    const [contain, rollback] = await k.playbooks.actions(id);
    expect([contain!.status, rollback!.status]).toEqual(['pending', 'pending']);
    expect(k.notified.filter((n) => n.kind === 'approval')).toHaveLength(2);
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 100 });

    const denied = await k.playbooks.deny(id, contain!.id, { actor: 'key:ops', reason: 'not yet' });
    expect(denied).toMatchObject({ status: 'denied', decidedBy: 'key:ops' });
    await expect(k.playbooks.approve(id, contain!.id, { actor: 'key:ops' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(k.playbooks.approve(id, 'act_nope', { actor: 'key:ops' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const done = await k.playbooks.approve(id, rollback!.id, { actor: 'key:lead' });
    expect(done).toMatchObject({ status: 'succeeded', decidedBy: 'key:lead', result: { to: 'v2' } });
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 0, v2: 100 });
    const [rb] = await k.f.stores.rollbacks.list();
    expect(rb!.actor).toBe('key:lead');
  });

  it('rate limits automatic rollbacks per model so they cannot loop', async () => {
    const k = await createContainmentKit({ versions: { v1: 'stable', v2: 'stable', v3: 'candidate' } });
    k.playbooks.start();
    const first = await k.open('v3', 'SEV1');
    await k.playbooks.idle();
    expect((await k.playbooks.actions(first)).map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    // Now v2 (the rollback target) goes bad too, 1 minute later.
    k.f.clock.advance(60_000);
    const second = await k.open('v2', 'SEV1');
    await k.playbooks.idle();
    const actions = await k.playbooks.actions(second);
    expect(actions.map((a) => [a.kind, a.status])).toEqual([
      ['contain', 'succeeded'],
      ['rollback', 'skipped'],
    ]);
    expect(actions[1]!.reason).toMatch(/^rate limit: 1 automatic rollback\(s\) of bot in the last 600 s/);
    expect(k.notified.some((n) => n.incident === second && n.kind === 'escalation')).toBe(true);
    // Containment still moved traffic, onto the remaining stable version only.
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 0, v2: 0, v1: 100 });
    // After the window, automation may act again.
    k.f.clock.advance(600_000);
    const third = await k.open('v1', 'SEV1');
    await k.playbooks.idle();
    expect((await k.playbooks.actions(third)).map((a) => [a.kind, a.status])).toEqual([
      ['contain', 'succeeded'],
      ['rollback', 'failed'],
    ]);
    expect((await k.playbooks.actions(third))[1]!.error!.code).toBe('NO_STABLE_VERSION');
    expect(k.f.sink.models.get('bot')!.route.mode).toBe('fallback');
  });
});
