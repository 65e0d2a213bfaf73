import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/stats/random.ts';
import { servingModel } from './gateway-test-kit.ts';
import { RouteTable, compileServingModel, parseStickyKey, pickFrom, stickyBucket } from './route-table.ts';

const up = (port: number) => ({ url: `http://127.0.0.1:${port}/v1`, model: 'sim-chat' });

describe('RouteTable', () => {
  it('splits traffic by weight (90/10 within 1 point over 100k picks)', () => {
    const table = new RouteTable({ random: mulberry32(7) });
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v1: 90, v2: 10 }));
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < 100_000; i++) {
      const r = table.pick('bot');
      if (!r.ok) throw new Error('no pick');
      counts[r.version.name]++;
    }
    expect(counts.v1 / 100_000).toBeGreaterThan(0.89);
    expect(counts.v1 / 100_000).toBeLessThan(0.91);
    expect(counts.v1 + counts.v2).toBe(100_000);
  });

  it('never picks a zero-weight or unknown version, and three-way splits follow the weights', () => {
    const table = new RouteTable({ random: mulberry32(3) });
    table.apply(servingModel('bot', 'chat', { a: up(1), b: up(2), c: up(3), d: up(4) }, { a: 50, b: 30, c: 20, d: 0, ghost: 10 }));
    const counts: Record<string, number> = {};
    for (let i = 0; i < 60_000; i++) {
      const r = table.pick('bot');
      if (r.ok) counts[r.version.name] = (counts[r.version.name] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['a', 'b', 'c']);
    // `ghost` is not a version: the remaining weights (50/30/20 of 100) are used as they are.
    expect(counts.a / 60_000).toBeCloseTo(0.5, 1);
    expect(counts.b / 60_000).toBeCloseTo(0.3, 1);
    expect(counts.c / 60_000).toBeCloseTo(0.2, 1);
  });

  it('keeps a sticky client on one arm and spreads sticky clients by weight', () => {
    const table = new RouteTable({ random: mulberry32(1) });
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v1: 80, v2: 20 }, { stickyKey: 'user' }));
    const perUser = new Map<string, Set<string>>();
    const arms: Record<string, number> = { v1: 0, v2: 0 };
    for (let u = 0; u < 2000; u++) {
      const user = `user-${u}`;
      for (let k = 0; k < 5; k++) {
        const r = table.pick('bot', { stickyValue: user });
        if (!r.ok) throw new Error('no pick');
        if (!perUser.has(user)) perUser.set(user, new Set());
        perUser.get(user)!.add(r.version.name);
        if (k === 0) arms[r.version.name]++;
      }
    }
    for (const set of perUser.values()) expect(set.size).toBe(1);
    expect(arms.v1 / 2000).toBeGreaterThan(0.75);
    expect(arms.v1 / 2000).toBeLessThan(0.85);
    // Moving 10 points of weight moves only the clients in the moved band.
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v1: 90, v2: 10 }, { stickyKey: 'user' }));
    let moved = 0;
    for (const [user, set] of perUser) {
      const r = table.pick('bot', { stickyValue: user });
      if (r.ok && !set.has(r.version.name)) moved++;
    }
    expect(moved / 2000).toBeGreaterThan(0.05);
    expect(moved / 2000).toBeLessThan(0.15);
  });

  it('hashes sticky values stably into 0..99', () => {
    expect(stickyBucket('alice')).toBe(stickyBucket('alice'));
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const b = stickyBucket(`c${i}`);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      seen.add(b);
    }
    expect(seen.size).toBe(100);
    expect(parseStickyKey('header:X-Client-Id')).toEqual({ kind: 'header', name: 'x-client-id' });
    expect(parseStickyKey('user')).toEqual({ kind: 'body', field: 'user' });
    expect(parseStickyKey(undefined)).toBeUndefined();
  });

  it('pins any non-retired version and refuses unknown or retired ones', () => {
    const table = new RouteTable();
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2), v0: { ...up(3), state: 'retired' } }, { v1: 100 }));
    const pinned = table.pick('bot', { pinnedVersion: 'v2' });
    expect(pinned.ok && pinned.version.name).toBe('v2');
    expect(table.pick('bot', { pinnedVersion: 'v0' })).toMatchObject({ ok: false, reason: 'unknown_version' });
    expect(table.pick('bot', { pinnedVersion: 'v9' })).toMatchObject({ ok: false, reason: 'unknown_version' });
    expect(table.pick('nope')).toEqual({ ok: false, reason: 'unknown_model' });
  });

  it('falls back to the stable version when every arm has weight 0, and says so when there is none', () => {
    const table = new RouteTable();
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v2: 0 }, { stable: 'v1' }));
    const r = table.pick('bot');
    expect(r.ok && r.version.name).toBe('v1');
    table.apply(servingModel('bot', 'chat', { v1: up(1) }, {}));
    expect(table.pick('bot')).toMatchObject({ ok: false, reason: 'no_version' });
  });

  it('swaps atomically: a request holding the old entry keeps it, every pick after apply() uses the new one', () => {
    const table = new RouteTable({ random: mulberry32(9) });
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v1: 100 }, { revision: 1 }));
    const before = table.get('bot')!;
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v2: 100 }, { revision: 2 }));
    expect(before.revision).toBe(1);
    for (let i = 0; i < 1000; i++) {
      const old = pickFrom(before, {}, Math.random);
      expect(old.ok && old.version.name).toBe('v1');
      const now = table.pick('bot');
      expect(now.ok && now.version.name).toBe('v2');
    }
    expect(table.get('bot')!.revision).toBe(2);
    table.remove('bot');
    expect(table.get('bot')).toBeUndefined();
  });

  it('compiles upstream URLs: chat appends /chat/completions, predict keeps the endpoint', () => {
    const chat = compileServingModel(servingModel('bot', 'chat', { v1: { url: 'http://127.0.0.1:9001/v1/', model: 'm', params: { temperature: 0 } } }, { v1: 100 }));
    const v = chat.versions.get('v1')!;
    expect(v.url).toBe('http://127.0.0.1:9001/v1/chat/completions');
    expect(v.origin).toBe('http://127.0.0.1:9001');
    expect(v.path).toBe('/v1/chat/completions');
    expect(v.params).toEqual([['temperature', 0]]);
    const predict = compileServingModel(servingModel('fraud', 'predict', { v1: { url: 'http://127.0.0.1:9003/v1/models/fraud:predict?x=1' } }, { v1: 100 }));
    expect(predict.versions.get('v1')!.path).toBe('/v1/models/fraud:predict?x=1');
  });

  it('samples shadow traffic by percent and never shadows the chosen version onto itself', () => {
    const table = new RouteTable({ random: mulberry32(5) });
    table.apply(servingModel('bot', 'chat', { v1: up(1), v2: up(2) }, { v1: 100 }, { shadow: { version: 'v2', percent: 25 } }));
    const route = table.get('bot')!;
    let shadowed = 0;
    for (let i = 0; i < 20_000; i++) if (table.shadowFor(route, route.versions.get('v1')!)) shadowed++;
    expect(shadowed / 20_000).toBeGreaterThan(0.23);
    expect(shadowed / 20_000).toBeLessThan(0.27);
    expect(table.shadowFor(route, route.versions.get('v2')!)).toBeUndefined();
  });
});
