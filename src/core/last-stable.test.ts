import { describe, expect, it } from 'vitest';
import { lastKnownStable } from './last-stable.ts';
import type { ModelVersion, VersionState } from './types.ts';

const v = (version: string, state: VersionState, createdAt: number, stableSince?: number): ModelVersion => ({
  model: 'm',
  version,
  state,
  upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
  contentHash: version,
  createdAt,
  stateChangedAt: stableSince ?? createdAt,
  stableSince,
});

describe('lastKnownStable', () => {
  it('is undefined without a stable version', () => {
    expect(lastKnownStable([v('v1', 'candidate', 1), v('v2', 'live', 2)])).toBeUndefined();
  });

  it('picks the version that earned stable most recently', () => {
    const versions = [v('v1', 'stable', 1, 10), v('v2', 'stable', 2, 30), v('v3', 'live', 3)];
    expect(lastKnownStable(versions)?.version).toBe('v2');
  });

  it('skips a stable version that went faulty or was retired (M-1 becomes the one before)', () => {
    const versions = [v('v1', 'stable', 1, 10), v('v2', 'faulty', 2, 30), v('v3', 'retired', 3, 40)];
    expect(lastKnownStable(versions)?.version).toBe('v1');
  });

  it('honours exclusions', () => {
    const versions = [v('v1', 'stable', 1, 10), v('v2', 'stable', 2, 30)];
    expect(lastKnownStable(versions, { exclude: ['v2'] })?.version).toBe('v1');
    expect(lastKnownStable(versions, { exclude: ['v1', 'v2'] })).toBeUndefined();
  });

  it('breaks ties on stableSince by creation time, then by list order', () => {
    expect(lastKnownStable([v('v1', 'stable', 1, 10), v('v2', 'stable', 2, 10)])?.version).toBe('v2');
    expect(lastKnownStable([v('a', 'stable', 5, 10), v('b', 'stable', 5, 10)])?.version).toBe('b');
  });
});
