import { describe, expect, it } from 'vitest';
import {
  hasSoaked,
  planIsolation,
  proportionalWeights,
  rollbackCandidates,
  rollbackSource,
  switchWeights,
  underRateLimit,
} from './rollback-plan.ts';
import type { ModelVersion, VersionState } from './types.ts';

const T = Date.UTC(2025, 0, 1);
const v = (version: string, state: VersionState, at: number, extra: Partial<ModelVersion> = {}): ModelVersion => ({
  model: 'm',
  version,
  state,
  upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
  contentHash: version,
  createdAt: at,
  stateChangedAt: at,
  ...(state === 'stable' ? { stableSince: at } : {}),
  ...extra,
});

describe('proportionalWeights', () => {
  it('sums exactly to the total with largest remainders, deterministically', () => {
    expect(proportionalWeights([['a', 1], ['b', 1], ['c', 1]])).toEqual({ a: 34, b: 33, c: 33 });
    expect(proportionalWeights([['a', 70], ['b', 20]])).toEqual({ a: 78, b: 22 });
    expect(proportionalWeights([['a', 0]])).toBeUndefined();
    const w = proportionalWeights([['a', 3], ['b', 3], ['c', 1]], 50)!;
    expect(Object.values(w).reduce((x, y) => x + y, 0)).toBe(50);
  });
});

describe('planIsolation', () => {
  const versions = [v('v1', 'stable', T), v('v2', 'stable', T + 1), v('v3', 'live', T + 2), v('v4', 'live', T + 3)];

  it('renormalises the isolated share onto the versions already serving', () => {
    const p = planIsolation({ weights: { v2: 60, v3: 30, v4: 10 }, mode: 'serving' }, versions, 'v3');
    expect(p.outcome).toBe('renormalized');
    expect(p.weights).toEqual({ v2: 86, v3: 0, v4: 14 });
    expect(p.versionStates).toEqual({ v3: 'faulty' });
    expect(p.mode).toBe('serving');
  });

  it('moves everything to the last known stable version when nothing else serves', () => {
    const p = planIsolation({ weights: { v3: 100 }, mode: 'serving' }, versions, 'v3');
    expect(p).toMatchObject({ outcome: 'stable', weights: { v3: 0, v2: 100 }, serving: ['v2'] });
  });

  it('never moves traffic to a version that is not serving or stable: fallback mode instead', () => {
    const only = [v('v3', 'live', T), v('v5', 'validated', T + 1), v('v6', 'candidate', T + 2)];
    const p = planIsolation({ weights: { v3: 100 }, mode: 'serving' }, only, 'v3');
    expect(p).toMatchObject({ outcome: 'fallback', mode: 'fallback', weights: { v3: 0 }, serving: [] });
  });

  it('does not count faulty arms as healthy, isolates a stable version too, and is idempotent', () => {
    const withFaulty = [v('v1', 'stable', T), v('v2', 'faulty', T + 1), v('v3', 'live', T + 2)];
    expect(planIsolation({ weights: { v2: 0, v3: 100 }, mode: 'serving' }, withFaulty, 'v3').weights).toEqual({ v2: 0, v3: 0, v1: 100 });
    expect(planIsolation({ weights: { v1: 100 }, mode: 'serving' }, versions, 'v1').weights).toEqual({ v1: 0, v2: 100 });
    expect(planIsolation({ weights: { v3: 0, v2: 100 }, mode: 'serving' }, [...versions.slice(0, 2), v('v3', 'faulty', T)], 'v3').outcome).toBe('noop');
    expect(planIsolation({ weights: { v2: 100 }, mode: 'serving' }, versions, 'v4')).toMatchObject({ outcome: 'marked', weights: { v2: 100 }, versionStates: { v4: 'faulty' } });
  });

  it('refuses unknown and retired versions', () => {
    expect(() => planIsolation(undefined, versions, 'nope')).toThrow(expect.objectContaining({ code: 'VERSION_NOT_FOUND' }));
    expect(() => planIsolation(undefined, [v('v9', 'retired', T)], 'v9')).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});

describe('rollbackCandidates', () => {
  const versions = [v('v1', 'stable', T), v('v2', 'stable', T + 10), v('v0', 'stable', T - 10), v('v3', 'live', T + 20), v('v4', 'faulty', T + 30), v('v5', 'retired', T + 40)];

  it('tries M-1, then M-2, up to the depth, newest stable first, never the source', () => {
    expect(rollbackCandidates('m', { versions, from: 'v3', depth: 2 }).map((x) => x.version)).toEqual(['v2', 'v1']);
    expect(rollbackCandidates('m', { versions, from: 'v2', depth: 5 }).map((x) => x.version)).toEqual(['v1', 'v0']);
  });

  it('takes an explicit target alone, and refuses unknown, faulty, retired or same targets', () => {
    expect(rollbackCandidates('m', { versions, from: 'v2', to: 'v3', depth: 2 }).map((x) => x.version)).toEqual(['v3']);
    expect(() => rollbackCandidates('m', { versions, to: 'v9', depth: 2 })).toThrow(expect.objectContaining({ code: 'VERSION_NOT_FOUND' }));
    expect(() => rollbackCandidates('m', { versions, to: 'v4', depth: 2 })).toThrow(/v4 is faulty/);
    expect(() => rollbackCandidates('m', { versions, to: 'v5', depth: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => rollbackCandidates('m', { versions, from: 'v1', to: 'v1', depth: 2 })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('says NO_STABLE_VERSION when nothing stable is left', () => {
    expect(() => rollbackCandidates('m', { versions: [v('v3', 'live', T), v('v1', 'stable', T)], from: 'v1', depth: 2 })).toThrow(
      expect.objectContaining({ code: 'NO_STABLE_VERSION' }),
    );
  });
});

describe('switchWeights', () => {
  it('is one atomic change by default, with the source at 0', () => {
    expect(switchWeights({ v3: 100 }, 'v3', 'v2')).toEqual([{ v3: 0, v2: 100 }]);
    expect(switchWeights({ v3: 0, v1: 100 }, 'v3', 'v2')).toEqual([{ v3: 0, v1: 0, v2: 100 }]);
  });

  it('steps through configured percentages keeping the rest on the versions that serve now', () => {
    expect(switchWeights({ v3: 0, v1: 100 }, 'v3', 'v2', [100, 50, 25])).toEqual([
      { v3: 0, v1: 75, v2: 25 },
      { v3: 0, v1: 50, v2: 50 },
      { v3: 0, v1: 0, v2: 100 },
    ]);
    // With only the faulty version serving, steps would keep traffic on it: one change instead.
    expect(switchWeights({ v3: 100 }, 'v3', 'v2', [25, 50])).toEqual([{ v3: 0, v2: 100 }]);
  });
});

describe('rollbackSource', () => {
  const versions = [v('v1', 'stable', T), v('v2', 'stable', T + 10), v('v3', 'live', T + 20)];
  it('prefers the incident version, then a non-stable primary, then the latest faulty version', () => {
    expect(rollbackSource({ weights: { v3: 100 } }, versions, 'v1')).toBe('v1');
    expect(rollbackSource({ weights: { v2: 10, v3: 90 } }, versions)).toBe('v3');
    const contained = [v('v1', 'stable', T), v('v2', 'stable', T + 10), v('v3', 'faulty', T + 20, { stateChangedAt: T + 99 })];
    expect(rollbackSource({ weights: { v3: 0, v2: 100 } }, contained)).toBe('v3');
    expect(rollbackSource({ weights: { v2: 100 } }, versions.slice(0, 2))).toBe('v2');
  });
});

describe('hasSoaked / underRateLimit', () => {
  it('counts the soak from the later of serving start and last breach, and never with an active incident', () => {
    const base = { servingSince: T, now: T + 600_000, soakMs: 600_000, activeIncident: false };
    expect(hasSoaked(base)).toBe(true);
    expect(hasSoaked({ ...base, now: T + 599_999 })).toBe(false);
    expect(hasSoaked({ ...base, lastBreachAt: T + 1 })).toBe(false);
    expect(hasSoaked({ ...base, activeIncident: true })).toBe(false);
    expect(hasSoaked({ ...base, servingSince: undefined })).toBe(false);
  });

  it('limits actions per window', () => {
    expect(underRateLimit([], T, 1, 600_000)).toBe(true);
    expect(underRateLimit([T - 599_999], T, 1, 600_000)).toBe(false);
    expect(underRateLimit([T - 600_000], T, 1, 600_000)).toBe(true);
    expect(underRateLimit([T - 1, T - 2], T, 3, 600_000)).toBe(true);
  });
});
