// Contract for RouteStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Route, RouteChange } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

const route = (model: string, revision: number, extra: Partial<Route> = {}): Route => ({
  model,
  weights: { v1: 100 },
  mode: 'serving',
  revision,
  updatedAt: 1_000 * revision,
  updatedBy: 'ops',
  ...extra,
});

const changeOf = (r: Route, extra: Partial<RouteChange> = {}): RouteChange => ({
  model: r.model,
  revision: r.revision,
  weights: r.weights,
  ...(r.shadow ? { shadow: r.shadow } : {}),
  mode: r.mode,
  actor: r.updatedBy,
  ...(r.reason !== undefined ? { reason: r.reason } : {}),
  at: r.updatedAt,
  ...extra,
});

async function withModels(s: Stores, ...names: string[]): Promise<void> {
  for (const name of names) await s.models.insert({ name, kind: 'chat', tags: [], createdAt: 1 });
}

export function routeStoreContract(getStores: () => Stores): void {
  describe('RouteStore', () => {
    it('round-trips every field of a route and its change, optional ones included', async () => {
      const s = getStores();
      await withModels(s, 'full', 'bare');
      const full = route('full', 3, {
        weights: { v1: 90, v2: 10, v3: 0 },
        shadow: { version: 'v4', percent: 12.5 },
        stickyKey: 'header:x-client-id',
        mode: 'fallback',
        reason: 'canary step 1',
        updatedBy: 'playbook:sev1',
      });
      await s.routes.save(full, changeOf(full));
      expect(await s.routes.get('full')).toStrictEqual(full);
      expect(await s.routes.history('full')).toStrictEqual([changeOf(full)]);

      const bare = route('bare', 1);
      await s.routes.save(bare, changeOf(bare));
      expect(await s.routes.get('bare')).toStrictEqual(bare);
      expect(await s.routes.history('bare')).toStrictEqual([changeOf(bare)]);
      expect(await s.routes.get('none')).toBeUndefined();
    });

    it('replaces the route on save and keeps every change, newest first', async () => {
      const s = getStores();
      await withModels(s, 'm');
      const r1 = route('m', 1, { weights: { v1: 100 }, shadow: { version: 'v2', percent: 5 }, reason: 'initial' });
      const r2 = route('m', 2, { weights: { v1: 50, v2: 50 } });
      const r3 = route('m', 3, { mode: 'paused', weights: { v1: 50, v2: 50 }, reason: 'incident' });
      for (const r of [r1, r2, r3]) await s.routes.save(r, changeOf(r));
      // Optional fields of an older revision do not linger after a save without them.
      expect(await s.routes.get('m')).toStrictEqual(r3);
      expect((await s.routes.history('m')).map((c) => c.revision)).toEqual([3, 2, 1]);
      expect(await s.routes.list()).toHaveLength(1);
    });

    it('orders changes made in the same millisecond by insertion, and honours limit and since', async () => {
      const s = getStores();
      await withModels(s, 'm', 'other');
      const at = [1_000, 2_000, 2_000, 2_000, 3_000];
      for (let i = 0; i < at.length; i++) {
        const r = route('m', i + 1, { updatedAt: at[i] });
        await s.routes.save(r, changeOf(r));
      }
      const o = route('other', 1, { updatedAt: 2_500 });
      await s.routes.save(o, changeOf(o));
      expect((await s.routes.history('m')).map((c) => c.revision)).toEqual([5, 4, 3, 2, 1]);
      expect((await s.routes.history('m', { limit: 2 })).map((c) => c.revision)).toEqual([5, 4]);
      expect((await s.routes.history('m', { since: 2_000 })).map((c) => c.revision)).toEqual([5, 4, 3, 2]);
      expect((await s.routes.history('m', { since: 2_000, limit: 3 })).map((c) => c.revision)).toEqual([5, 4, 3]);
      expect(await s.routes.history('nobody')).toEqual([]);
    });

    it('lists routes by model name', async () => {
      const s = getStores();
      await withModels(s, 'zeta', 'alpha', 'mid');
      for (const name of ['zeta', 'alpha', 'mid']) {
        const r = route(name, 1);
        await s.routes.save(r, changeOf(r));
      }
      expect((await s.routes.list()).map((r) => r.model)).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('refuses a route for an unknown model and stores no history for it', async () => {
      const s = getStores();
      const r = route('ghost', 1);
      await expect(s.routes.save(r, changeOf(r))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
      expect(await s.routes.get('ghost')).toBeUndefined();
      expect(await s.routes.history('ghost')).toEqual([]);
    });
  });
}
