import { describe, expect, it } from 'vitest';
import { chatUpstream, createFoundation, seedSupportBot } from '../../../test/helpers/foundation.ts';
import { createSqliteStorage } from '../../../test/helpers/storage.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { versionContentHash } from './registry-service.ts';

const ops = { actor: 'key:ops' };

describe('RegistryService', () => {
  it('registers a model once (MODEL_EXISTS on the second try) and audits it', async () => {
    const f = createFoundation();
    const model = await f.registry.registerModel({ name: 'fraud-scorer', kind: 'predict', tags: ['critical'] }, ops);
    expect(model).toMatchObject({ name: 'fraud-scorer', kind: 'predict', tags: ['critical'], createdAt: f.clock.now() });
    await expect(f.registry.registerModel({ name: 'fraud-scorer', kind: 'chat' }, ops)).rejects.toMatchObject({ code: 'MODEL_EXISTS' });
    await expect(f.registry.registerModel({ name: '../etc', kind: 'chat' }, ops)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const entries = await f.audit.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'model.register', target: 'model:fraud-scorer', actor: 'key:ops' });
  });

  it('registers versions idempotently by content hash and refuses other content under the same id', async () => {
    const f = createFoundation();
    await f.registry.registerModel({ name: 'bot', kind: 'chat' }, ops);
    const spec = { version: 'v1', upstream: { ...chatUpstream(), provider: 'openai' }, prompt: 'Be brief.', params: { temperature: 0.2 } };
    const first = await f.registry.registerVersion('bot', spec, ops);
    expect(first.created).toBe(true);
    expect(first.version).toMatchObject({ state: 'candidate', contentHash: versionContentHash(spec) });
    // Same content with keys in another order and provider left to its default: the same version.
    const again = await f.registry.registerVersion(
      'bot',
      { params: { temperature: 0.2 }, prompt: 'Be brief.', upstream: { model: 'sim-chat', url: chatUpstream().url } as never, version: 'v1' },
      ops,
    );
    expect(again.created).toBe(false);
    await expect(f.registry.registerVersion('bot', { ...spec, prompt: 'Be verbose.' }, ops)).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      message: expect.stringContaining('prompt'),
    });
    await expect(f.registry.registerVersion('nope', spec, ops)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect((await f.registry.listVersions('bot')).map((v) => v.version)).toEqual(['v1']);
    expect((await f.audit.list({ action: 'version.register' })).length).toBe(1);
  });

  it('makes a new version pinnable at once: the gateway gets it before the call returns', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    await f.registry.registerVersion('support-bot', { version: 'v3', upstream: { ...chatUpstream(9003), provider: 'openai' } }, ops);
    expect(Object.keys(f.sink.models.get('support-bot')!.versions)).toEqual(['v1', 'v2', 'v3']);
  });

  it('moves versions through the allowed states, emitting version.state and auditing each change', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const events: string[] = [];
    f.bus.on('version.state', (e) => void events.push(`${e.version}:${e.from}->${e.to}`));
    await f.registry.setVersionState('support-bot', 'v2', 'validated', { ...ops, reason: 'golden set passed' });
    f.clock.advance(1000);
    const live = await f.registry.setVersionState('support-bot', 'v2', 'live', ops);
    expect(live.liveSince).toBe(f.clock.now());
    f.clock.advance(1000);
    const stable = await f.registry.setVersionState('support-bot', 'v2', 'stable', ops);
    expect(stable).toMatchObject({ state: 'stable', stableSince: f.clock.now() });
    // v2 earned stable after v1, so it is now the last known stable for the gateway's retry.
    expect(f.sink.models.get('support-bot')!.stableVersion).toBe('v2');
    await f.registry.setVersionState('support-bot', 'v2', 'faulty', { ...ops, reason: 'error spike' });
    expect(f.sink.models.get('support-bot')!.stableVersion).toBe('v1');
    await expect(f.registry.setVersionState('support-bot', 'v2', 'stable', ops)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(events).toEqual(['v2:candidate->validated', 'v2:validated->live', 'v2:live->stable', 'v2:stable->faulty']);
    const audit = await f.audit.list({ action: 'version.state' });
    expect(audit.map((e) => (e.after as { state: string }).state)).toEqual(['validated', 'live', 'stable', 'faulty']);
    expect(audit[0]!.reason).toBe('golden set passed');
  });

  it('treats setting the current state as a no-op and refuses to retire a version with traffic', async () => {
    const f = createFoundation();
    await seedSupportBot(f);
    const before = (await f.audit.list()).length;
    await f.registry.setVersionState('support-bot', 'v1', 'stable', ops);
    expect((await f.audit.list()).length).toBe(before);
    await expect(f.registry.setVersionState('support-bot', 'v1', 'retired', ops)).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('100% of traffic'),
    });
    await f.registry.setVersionState('support-bot', 'v2', 'retired', ops);
    await expect(f.registry.setVersionState('support-bot', 'v9', 'retired', ops)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
  });

  describe('seedFromConfig', () => {
    const config = {
      models: [
        {
          name: 'support-bot',
          kind: 'chat' as const,
          tags: ['critical'],
          versions: [
            { version: 'v1', upstream: { ...chatUpstream(9001), provider: 'openai' }, stable: true },
            { version: 'v2', upstream: { ...chatUpstream(9002), provider: 'openai' } },
          ],
          route: { v2: 100 },
        },
      ],
    };

    it('registers models and versions (stable: true starts stable), sets the route, actor config', async () => {
      const f = createFoundation();
      const report = await f.registry.seedFromConfig(config);
      expect(report).toMatchObject({ modelsCreated: ['support-bot'], versionsCreated: ['support-bot@v1', 'support-bot@v2'], routesSet: ['support-bot'] });
      const versions = await f.registry.listVersions('support-bot');
      // v2 received traffic from the configured route, so it went live.
      expect(versions.map((v) => [v.version, v.state])).toEqual([
        ['v1', 'stable'],
        ['v2', 'live'],
      ]);
      const served = f.sink.models.get('support-bot')!;
      expect(served.route.weights).toEqual({ v2: 100 });
      expect(served.stableVersion).toBe('v1');
      expect(new Set((await f.audit.list()).map((e) => e.actor))).toEqual(new Set(['config']));
    });

    it('is idempotent and never overwrites a route changed at run time', async () => {
      const f = createFoundation();
      await f.registry.seedFromConfig(config);
      await f.routing.setWeights('support-bot', { v1: 100, v2: 0 }, { actor: 'key:ops', reason: 'manual' });
      const entries = (await f.audit.list()).length;
      const report = await f.registry.seedFromConfig(config);
      expect(report.modelsCreated).toEqual([]);
      expect(report.versionsCreated).toEqual([]);
      expect(report.routesSet).toEqual([]);
      expect(report.warnings.join('\n')).toContain('changed at run time');
      expect((await f.routing.getRoute('support-bot'))!.weights).toEqual({ v1: 100, v2: 0 });
      expect((await f.audit.list()).length).toBe(entries);
    });

    it('stops with a message naming the config path when a declared version changed content', async () => {
      const f = createFoundation();
      await f.registry.seedFromConfig(config);
      const changed = structuredClone(config);
      changed.models[0]!.versions[1]!.upstream.url = 'http://127.0.0.1:9999/v1';
      await expect(f.registry.seedFromConfig(changed)).rejects.toMatchObject({
        code: 'VERSION_CONFLICT',
        message: expect.stringMatching(/^models\[0\]\.versions\[1\]: .*upstream\.url/),
      });
    });

    it('defaults the route to the stable version when the config gives none', async () => {
      const f = createFoundation();
      const noRoute = structuredClone(config);
      delete (noRoute.models[0] as { route?: unknown }).route;
      await f.registry.seedFromConfig(noRoute);
      expect((await f.routing.getRoute('support-bot'))!.weights).toEqual({ v1: 100 });
    });
  });

  it('lists models with the route as it serves now, on a real SQLite file', async () => {
    const storage = await createSqliteStorage();
    try {
      const f = createFoundation({ stores: createKyselyStores(storage.handle) });
      await seedSupportBot(f);
      await f.registry.registerModel({ name: 'fraud-scorer', kind: 'predict' }, ops);
      const models = await f.registry.listModels();
      expect(models.map((m) => [m.model.name, m.route?.mode, m.route?.weights, m.stableVersion])).toEqual([
        ['fraud-scorer', undefined, undefined, undefined],
        ['support-bot', 'serving', { v1: 100 }, 'v1'],
      ]);
      expect(await f.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await storage.cleanup();
    }
  });
});

describe('seedFromConfig on two replicas at once', () => {
  it('converges without failing either start', async () => {
    const a = createFoundation();
    const b = createFoundation({ stores: a.stores });
    const config = {
      models: [
        {
          name: 'support-bot',
          kind: 'chat' as const,
          tags: [],
          versions: [{ version: 'v1', upstream: { ...chatUpstream(9001), provider: 'openai' }, stable: true }],
          route: { v1: 100 },
        },
      ],
    };
    const [ra, rb] = await Promise.all([a.registry.seedFromConfig(config), b.registry.seedFromConfig(config)]);
    expect([...ra.modelsCreated, ...rb.modelsCreated]).toEqual(['support-bot']);
    expect((await a.routing.history('support-bot')).length).toBe(1);
  });
});
