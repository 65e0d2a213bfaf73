import { describe, expect, it } from 'vitest';
import { createContainmentKit } from './containment-test-kit.ts';

describe('ContainmentService', () => {
  it('isolates: renormalises onto the arms still serving, marks faulty, audits, contains the incident', async () => {
    const k = await createContainmentKit({ versions: { v1: 'stable', v2: 'stable', v3: 'candidate', v4: 'candidate' }, route: { v2: 50, v3: 30, v4: 20 } });
    const id = await k.open('v3');
    const r = await k.containment.isolate('bot', 'v3', { actor: 'key:ops', incidentId: id, reason: 'errors' });
    expect(r).toMatchObject({ outcome: 'renormalized', weightsAfter: { v2: 71, v3: 0, v4: 29 }, changed: true });
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v2: 71, v3: 0, v4: 29 });
    expect((await k.f.stores.versions.get('bot', 'v3'))!.state).toBe('faulty');
    const audit = await k.f.audit.list();
    expect(audit.map((e) => e.action)).toContain('version.isolate');
    expect(audit.find((e) => e.action === 'version.isolate')).toMatchObject({ reason: 'isolate v3: errors', after: { weights: { v2: 71, v3: 0, v4: 29 } } });
    expect(r.summary).toBe('v3 isolated; its 30% moved to v2 71%, v4 29%');
    const incident = await k.incidents.get(id);
    expect(incident.status).toBe('contained');
    const timeline = await k.incidents.timeline(id);
    expect(timeline.map((e) => e.kind)).toEqual(['detected', 'contained', 'status']);

    // Again: nothing moves, nothing more is recorded in the audit log.
    const n = (await k.f.audit.list()).length;
    expect((await k.containment.isolate('bot', 'v3', { actor: 'key:ops' })).outcome).toBe('noop');
    expect((await k.f.audit.list()).length).toBe(n);
  });

  it('goes to fallback mode when no healthy or stable version remains, and refuses to resume without weights', async () => {
    const k = await createContainmentKit({ versions: { v3: 'candidate' }, route: { v3: 100 } });
    const r = await k.containment.isolate('bot', 'v3', { actor: 'playbook' });
    expect(r).toMatchObject({ outcome: 'fallback', mode: 'fallback', weightsAfter: { v3: 0 } });
    expect(k.f.sink.models.get('bot')!.route).toMatchObject({ mode: 'fallback', weights: { v3: 0 } });
    await expect(k.containment.resume('bot', { actor: 'key:ops' })).rejects.toMatchObject({ code: 'INVALID_ROUTE' });
  });

  it('pauses (503 or fallback answers) and resumes, with timeline events; an unknown incident moves nothing', async () => {
    const k = await createContainmentKit({ route: { v2: 100 } });
    const id = await k.open(undefined);
    await expect(k.containment.pause('bot', {}, { actor: 'key:ops', incidentId: 'INC-nope' })).rejects.toMatchObject({ code: 'INCIDENT_NOT_FOUND' });
    expect(k.f.sink.models.get('bot')!.route.mode).toBe('serving');
    expect((await k.containment.pause('bot', { fallback: true }, { actor: 'key:ops', incidentId: id })).mode).toBe('fallback');
    expect(k.f.sink.models.get('bot')!.route.mode).toBe('fallback');
    expect((await k.containment.pause('bot', {}, { actor: 'key:ops', incidentId: id })).route.mode).toBe('paused');
    expect((await k.containment.resume('bot', { actor: 'key:ops', incidentId: id })).route.mode).toBe('serving');
    const actions = (await k.f.audit.list()).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('route.'))).toEqual(expect.arrayContaining(['route.fallback', 'route.pause', 'route.resume']));
    const timeline = await k.incidents.timeline(id);
    expect(timeline.filter((e) => e.kind === 'contained' || e.kind === 'resumed').map((e) => e.message)).toEqual([
      'bot paused with fallback answers',
      'bot paused (503 with Retry-After)',
      'bot resumed serving',
    ]);
    expect((await k.incidents.get(id)).status).toBe('contained');
  });

  it('stops shadow copies to an isolated version', async () => {
    const k = await createContainmentKit({ route: { v2: 100 } });
    await k.f.routing.update('bot', { shadow: { version: 'v3', percent: 50 } }, { actor: 'test' });
    const r = await k.containment.isolate('bot', 'v3', { actor: 'ops' });
    expect(r.outcome).toBe('marked');
    expect(k.f.sink.models.get('bot')!.route.shadow).toBeUndefined();
    expect((await k.f.stores.versions.get('bot', 'v3'))!.state).toBe('faulty');
  });

  it('names unknown models and versions', async () => {
    const k = await createContainmentKit();
    await expect(k.containment.isolate('nope', 'v1', { actor: 'x' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(k.containment.isolate('bot', 'v9', { actor: 'x' })).rejects.toThrow('bot: no version "v9"');
  });
});
