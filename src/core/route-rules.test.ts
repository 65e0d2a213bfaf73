import { describe, expect, it } from 'vitest';
import { assertServable, validateShadow, validateStickyKey, validateWeights } from './route-rules.ts';
import type { ModelVersion, VersionState } from './types.ts';

const v = (version: string, state: VersionState): ModelVersion => ({
  model: 'm',
  version,
  state,
  upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
  contentHash: version,
  createdAt: 1,
  stateChangedAt: 1,
});
const versions = [v('v1', 'stable'), v('v2', 'candidate'), v('v3', 'faulty'), v('v4', 'retired')];
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return [(e as { code: string }).code, (e as Error).message];
  }
  return undefined;
};

describe('route rules', () => {
  it('accepts integer weights summing to 100 over serving versions', () => {
    expect(validateWeights('m', { v1: 90, v2: 10 }, versions)).toEqual({ v1: 90, v2: 10 });
  });

  it('allows a faulty or retired version to stay visible at weight 0', () => {
    expect(validateWeights('m', { v1: 100, v3: 0, v4: 0 }, versions)).toEqual({ v1: 100, v3: 0, v4: 0 });
  });

  it('refuses sums other than 100, fractions, negatives, unknown and unservable versions', () => {
    expect(code(() => validateWeights('m', { v1: 90 }, versions))).toEqual(['INVALID_ROUTE', 'weights must sum to 100, got 90']);
    expect(code(() => validateWeights('m', { v1: 99.5, v2: 0.5 }, versions))?.[1]).toContain('weights.v1: expected an integer');
    expect(code(() => validateWeights('m', { v1: 110, v2: -10 }, versions))?.[0]).toBe('INVALID_ROUTE');
    expect(code(() => validateWeights('m', { v9: 100 }, versions))?.[1]).toContain('no version "v9" (registered: v1, v2, v3, v4)');
    expect(code(() => validateWeights('m', { v1: 50, v3: 50 }, versions))?.[1]).toContain('v3 is faulty and cannot take traffic');
    expect(code(() => validateWeights('m', { v4: 100 }, versions))?.[1]).toContain('retired');
    expect(code(() => validateWeights('m', [100], versions))?.[0]).toBe('INVALID_ROUTE');
    expect(code(() => validateWeights('m', { v1: '100' }, versions))?.[0]).toBe('INVALID_ROUTE');
  });

  it('checks shadow and sticky key', () => {
    expect(validateShadow('m', { version: 'v2', percent: 20 }, versions)).toEqual({ version: 'v2', percent: 20 });
    expect(validateShadow('m', { version: 'v2' }, versions)).toEqual({ version: 'v2', percent: 100 });
    expect(code(() => validateShadow('m', { version: 'v3', percent: 5 }, versions))?.[0]).toBe('INVALID_ROUTE');
    expect(code(() => validateShadow('m', { version: 'v2', percent: 101 }, versions))?.[0]).toBe('INVALID_ROUTE');
    expect(validateStickyKey('user')).toBe('user');
    expect(validateStickyKey('header:x-client-id')).toBe('header:x-client-id');
    expect(validateStickyKey('body:user')).toBe('body:user');
    expect(code(() => validateStickyKey('header:'))?.[0]).toBe('INVALID_ROUTE');
  });

  it('refuses a serving route with nowhere to send traffic, but allows a paused one', () => {
    expect(code(() => assertServable('m', { mode: 'serving', weights: {} }))?.[0]).toBe('INVALID_ROUTE');
    expect(() => assertServable('m', { mode: 'paused', weights: {} })).not.toThrow();
  });
});
