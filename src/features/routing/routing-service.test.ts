import { describe, expect, it } from 'vitest';
import { createFoundation, seedSupportBot } from '../../../test/helpers/foundation.ts';
import { createSqliteStorage } from '../../../test/helpers/storage.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import type { RouteChange } from '../../core/types.ts';

const ops = { actor: 'key:ops', reason: 'canary 10%', requestId: 'req-1' };

describe('RoutingService', () => {
  it('applies a weight change to the gateway before returning, with history and audit', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const changes: RouteChange[] = [];
    f.bus.on('route.changed', (e) => void changes.push(e.change));
    f.clock.advance(1000);
    const result = await f.routing.setWeights('support-bot', { v1: 90, v2: 10 }, ops);
    expect(result).toMatchObject({ changed: true, wentLive: ['v2'] });
    expect(result.route).toMatchObject({ weights: { v1: 90, v2: 10 }, revision: 2, updatedBy: 'key:ops', reason: 'canary 10%' });
    // In effect when the call returns: the sink already serves revision 2.
    const served = f.sink.models.get('support-bot')!;
    expect(served.route.revision).toBe(2);
    expect(served.route.weights).toEqual({ v1: 90, v2: 10 });
    expect(served.versions.v2!.state).toBe('live');
    expect(served.versions.v2!.liveSince).toBe(f.clock.now());
    expect(changes).toEqual([expect.objectContaining({ revision: 2, weights: { v1: 90, v2: 10 }, actor: 'key:ops' })]);
    const history = await f.routing.history('support-bot');
    expect(history.map((h) => h.revision)).toEqual([2, 1]);
    const audit = await f.audit.list({ target: 'model:support-bot', action: 'route.update' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ before: { weights: { v1: 100 } }, after: { weights: { v1: 90, v2: 10 } }, requestId: 'req-1' });
  });

  it('validates weights with INVALID_ROUTE and changes nothing on failure', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const before = (await f.audit.list()).length;
    await expect(f.routing.setWeights('support-bot', { v1: 50, v2: 40 }, ops)).rejects.toMatchObject({ code: 'INVALID_ROUTE' });
    await expect(f.routing.setWeights('support-bot', { v1: 50, v7: 50 }, ops)).rejects.toMatchObject({ code: 'INVALID_ROUTE' });
    await expect(f.routing.setWeights('nope', { v1: 100 }, ops)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await f.registry.setVersionState('support-bot', 'v2', 'faulty', ops);
    await expect(f.routing.setWeights('support-bot', { v1: 50, v2: 50 }, ops)).rejects.toMatchObject({
      code: 'INVALID_ROUTE',
      message: expect.stringContaining('faulty'),
    });
    expect((await f.routing.getRoute('support-bot'))!.revision).toBe(1);
    expect((await f.audit.list()).length).toBe(before + 1); // only the state change
  });

  it('isolates atomically: marks a version faulty and moves its traffic in one change', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    await f.routing.setWeights('support-bot', { v1: 50, v2: 50 }, ops);
    const events: string[] = [];
    f.bus.on('version.state', (e) => void events.push(`${e.version}:${e.from}->${e.to}`));
    // Marking v2 faulty while it keeps traffic is refused as a whole: nothing changes.
    await expect(
      f.routing.update('support-bot', { weights: { v1: 50, v2: 50 }, versionStates: { v2: 'faulty' } }, ops),
    ).rejects.toMatchObject({ code: 'INVALID_ROUTE' });
    expect((await f.stores.versions.get('support-bot', 'v2'))!.state).toBe('live');
    const result = await f.routing.update(
      'support-bot',
      { weights: { v1: 100, v2: 0 }, versionStates: { v2: 'faulty' } },
      { actor: 'playbook:contain', action: 'version.isolate', reason: 'error rate breach' },
    );
    expect(result.changed).toBe(true);
    const served = f.sink.models.get('support-bot')!;
    expect(served.route.weights).toEqual({ v1: 100, v2: 0 });
    expect(served.versions.v2!.state).toBe('faulty');
    expect(events).toEqual(['v2:live->faulty']);
    expect((await f.audit.list()).slice(-2).map((e) => e.action)).toEqual(['version.isolate', 'version.state']);
    await expect(f.routing.update('support-bot', { versionStates: { v2: 'stable' } }, ops)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(f.routing.update('support-bot', { versionStates: { v1: 'retired' } }, ops)).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('does not record a change that changes nothing', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const result = await f.routing.setWeights('support-bot', { v1: 100 }, ops);
    expect(result.changed).toBe(false);
    expect((await f.routing.history('support-bot')).length).toBe(1);
  });

  it('pauses and resumes, audited as route.pause / route.resume', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    await f.routing.pause('support-bot', { actor: 'key:ops', reason: 'incident' });
    expect(f.sink.models.get('support-bot')!.route.mode).toBe('paused');
    expect(f.sink.models.get('support-bot')!.route.weights).toEqual({ v1: 100 });
    await f.routing.resume('support-bot', { actor: 'key:ops' });
    expect(f.sink.models.get('support-bot')!.route.mode).toBe('serving');
    expect((await f.audit.list()).slice(-2).map((e) => e.action)).toEqual(['route.pause', 'route.resume']);
    await f.routing.setMode('support-bot', 'fallback', { actor: 'playbook:p1', action: 'containment.fallback' });
    expect((await f.audit.list()).at(-1)).toMatchObject({ action: 'containment.fallback', actor: 'playbook:p1' });
  });

  it('refuses to resume a model that has no weights yet, but may pause it', async () => {
    const f = createFoundation();
    await f.registry.registerModel({ name: 'bare', kind: 'chat' }, ops);
    // A registered model is known to the gateway even before it has a route (revision 0, no arms).
    expect(f.sink.models.get('bare')!.route).toMatchObject({ revision: 0, weights: {} });
    await f.routing.pause('bare', ops);
    await expect(f.routing.resume('bare', ops)).rejects.toMatchObject({ code: 'INVALID_ROUTE' });
  });

  it('sets shadow and sticky key, and clears them with null', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    await f.routing.setShadow('support-bot', { version: 'v2', percent: 20 }, ops);
    await f.routing.setStickyKey('support-bot', 'header:x-client-id', ops);
    let served = f.sink.models.get('support-bot')!;
    expect(served.route.shadow).toEqual({ version: 'v2', percent: 20 });
    expect(served.route.stickyKey).toBe('header:x-client-id');
    // Shadow traffic answers no client, so it does not make the version live.
    expect(served.versions.v2!.state).toBe('candidate');
    await f.routing.update('support-bot', { shadow: null, stickyKey: null }, ops);
    served = f.sink.models.get('support-bot')!;
    expect(served.route.shadow).toBeUndefined();
    expect(served.route.stickyKey).toBeUndefined();
  });

  it('applies concurrent changes in order: the gateway ends on the latest revision', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const weights = [10, 20, 30, 40, 50, 60, 70, 80];
    await Promise.all(weights.map((w) => f.routing.setWeights('support-bot', { v1: 100 - w, v2: w }, ops)));
    const route = (await f.routing.getRoute('support-bot'))!;
    expect(route.revision).toBe(1 + weights.length);
    expect(f.sink.models.get('support-bot')!.route).toMatchObject({ revision: route.revision, weights: route.weights });
    expect(await f.audit.verify()).toMatchObject({ ok: true });
  });

  it('loadAll pushes every model to the gateway', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    await f.registry.registerModel({ name: 'fraud-scorer', kind: 'predict' }, ops);
    const g = createFoundation({ stores: f.stores });
    expect(await g.routing.loadAll()).toBe(2);
    expect([...g.sink.models.keys()].sort()).toEqual(['fraud-scorer', 'support-bot']);
    expect(g.routing.serving('support-bot')!.stableVersion).toBe('v1');
  });

  it('commits route, history, version state and audit together on a real SQLite file', async () => {
    const storage = await createSqliteStorage();
    try {
      const f = createFoundation({ stores: createKyselyStores(storage.handle) });
      await seedSupportBot(f);
      await f.routing.setWeights('support-bot', { v1: 50, v2: 50 }, ops);
      expect((await f.stores.versions.get('support-bot', 'v2'))!.state).toBe('live');
      expect((await f.routing.history('support-bot')).length).toBe(2);
      // A failure later in the same transaction takes the route, its history row and its audit entry back.
      await expect(
        f.stores.transaction(async (tx) => {
          await tx.routes.save({ ...(await tx.routes.get('support-bot'))!, revision: 99 }, {
            model: 'support-bot', revision: 99, weights: {}, mode: 'serving', actor: 'x', at: 0,
          });
          await f.audit.append(tx, { actor: 'x', action: 'route.update', target: 'model:support-bot' });
          throw new Error('later step failed');
        }),
      ).rejects.toThrow('later step failed');
      expect((await f.routing.getRoute('support-bot'))!.revision).toBe(2);
      expect((await f.routing.history('support-bot')).length).toBe(2);
      expect(await f.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await storage.cleanup();
    }
  });
});
