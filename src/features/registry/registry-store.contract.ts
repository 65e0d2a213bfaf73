// Contract for ModelStore and VersionStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Model, ModelVersion } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

const model = (name: string, extra: Partial<Model> = {}): Model => ({ name, kind: 'chat', tags: [], createdAt: 1_000, ...extra });

const version = (m: string, v: string, extra: Partial<ModelVersion> = {}): ModelVersion => ({
  model: m,
  version: v,
  state: 'candidate',
  upstream: { url: 'http://127.0.0.1:9001/v1', provider: 'openai' },
  contentHash: `hash-${v}`,
  createdAt: 1_000,
  stateChangedAt: 1_000,
  ...extra,
});

export function registryStoreContract(getStores: () => Stores): void {
  describe('ModelStore', () => {
    it('round-trips every field and returns undefined for an unknown name', async () => {
      const s = getStores();
      const m: Model = { name: 'support-bot', kind: 'predict', tags: ['critical', 'eu'], createdAt: 1_717_000_000_123 };
      await s.models.insert(m);
      expect(await s.models.get('support-bot')).toStrictEqual(m);
      expect(await s.models.get('nope')).toBeUndefined();
    });

    it('lists by name', async () => {
      const s = getStores();
      for (const n of ['beta', 'alpha', 'gamma']) await s.models.insert(model(n));
      expect((await s.models.list()).map((m) => m.name)).toEqual(['alpha', 'beta', 'gamma']);
    });

    it('refuses a duplicate name with MODEL_EXISTS and keeps the original', async () => {
      const s = getStores();
      await s.models.insert(model('dup', { kind: 'chat' }));
      await expect(s.models.insert(model('dup', { kind: 'predict' }))).rejects.toMatchObject({ code: 'MODEL_EXISTS' });
      expect((await s.models.get('dup'))?.kind).toBe('chat');
      expect(await s.models.list()).toHaveLength(1);
    });

    it('updates tags, and refuses an unknown model', async () => {
      const s = getStores();
      await s.models.insert(model('tagged', { tags: ['a'] }));
      await s.models.updateTags('tagged', ['critical', 'pii']);
      expect((await s.models.get('tagged'))?.tags).toEqual(['critical', 'pii']);
      await expect(s.models.updateTags('ghost', ['x'])).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    });

    it('hands out copies: mutating a result changes nothing stored', async () => {
      const s = getStores();
      const m = model('copied', { tags: ['one'] });
      await s.models.insert(m);
      m.tags.push('mutated-input');
      const got = (await s.models.get('copied'))!;
      got.tags.push('mutated-output');
      expect((await s.models.get('copied'))?.tags).toEqual(['one']);
    });
  });

  describe('VersionStore', () => {
    it('round-trips every field, optional ones included', async () => {
      const s = getStores();
      await s.models.insert(model('m'));
      const full: ModelVersion = {
        model: 'm',
        version: 'v1',
        state: 'stable',
        upstream: {
          url: 'http://127.0.0.1:9001/v1',
          model: 'sim-chat',
          provider: 'openai',
          headers: { authorization: 'env:UPSTREAM_KEY' },
          timeoutMs: 30_000,
          contextWindow: 8192,
        },
        prompt: 'You are a helpful assistant.\nAnswer briefly — ünïcödé ok.',
        params: { temperature: 0.2, max_tokens: 256, stop: ['\n\n'], nested: { a: [1, 2, { b: null }] } },
        metadata: { gitSha: 'abc123', dataset: 'ds-2024-05', author: 'ana', trainingRun: 42 },
        contentHash: 'sha256:0123456789abcdef',
        createdAt: 1_717_000_000_001,
        stateChangedAt: 1_717_000_000_002,
        liveSince: 1_717_000_000_003,
        stableSince: 1_717_000_000_004,
      };
      await s.versions.insert(full);
      expect(await s.versions.get('m', 'v1')).toStrictEqual(full);

      const minimal = version('m', 'v2');
      await s.versions.insert(minimal);
      expect(await s.versions.get('m', 'v2')).toStrictEqual(minimal);
      expect(await s.versions.get('m', 'v3')).toBeUndefined();
      expect(await s.versions.get('other', 'v1')).toBeUndefined();
    });

    it('lists one model oldest first, ties broken by version id', async () => {
      const s = getStores();
      await s.models.insert(model('m'));
      await s.models.insert(model('n'));
      await s.versions.insert(version('m', 'v2', { createdAt: 2_000 }));
      await s.versions.insert(version('m', 'v3', { createdAt: 1_000 }));
      await s.versions.insert(version('m', 'v1', { createdAt: 1_000 }));
      await s.versions.insert(version('n', 'v0', { createdAt: 500 }));
      expect((await s.versions.list('m')).map((v) => v.version)).toEqual(['v1', 'v3', 'v2']);
      expect(await s.versions.list('nobody')).toEqual([]);
    });

    it('refuses a duplicate id (VERSION_CONFLICT) and an unknown model (MODEL_NOT_FOUND)', async () => {
      const s = getStores();
      await s.models.insert(model('m'));
      await s.versions.insert(version('m', 'v1', { contentHash: 'first' }));
      await expect(s.versions.insert(version('m', 'v1', { contentHash: 'second' }))).rejects.toMatchObject({
        code: 'VERSION_CONFLICT',
      });
      expect((await s.versions.get('m', 'v1'))?.contentHash).toBe('first');
      await expect(s.versions.insert(version('ghost', 'v1'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
      expect(await s.versions.list('ghost')).toEqual([]);
    });

    it('the same version id may serve two models', async () => {
      const s = getStores();
      await s.models.insert(model('a'));
      await s.models.insert(model('b'));
      await s.versions.insert(version('a', 'v1'));
      await s.versions.insert(version('b', 'v1'));
      expect(await s.versions.list('a')).toHaveLength(1);
      expect(await s.versions.list('b')).toHaveLength(1);
    });

    it('setState changes state and time; liveSince/stableSince only when given', async () => {
      const s = getStores();
      await s.models.insert(model('m'));
      await s.versions.insert(version('m', 'v1'));
      await s.versions.setState('m', 'v1', 'live', 5_000, { liveSince: 5_000 });
      let v = (await s.versions.get('m', 'v1'))!;
      expect([v.state, v.stateChangedAt, v.liveSince, v.stableSince]).toEqual(['live', 5_000, 5_000, undefined]);
      await s.versions.setState('m', 'v1', 'stable', 9_000, { stableSince: 9_000 });
      v = (await s.versions.get('m', 'v1'))!;
      expect([v.state, v.stateChangedAt, v.liveSince, v.stableSince]).toEqual(['stable', 9_000, 5_000, 9_000]);
      await s.versions.setState('m', 'v1', 'faulty', 12_000);
      v = (await s.versions.get('m', 'v1'))!;
      expect([v.state, v.stateChangedAt, v.liveSince, v.stableSince]).toEqual(['faulty', 12_000, 5_000, 9_000]);
      // Other fields stay as registered.
      expect(v.upstream).toEqual(version('m', 'v1').upstream);
      await expect(s.versions.setState('m', 'v9', 'live', 1)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    });
  });
}
