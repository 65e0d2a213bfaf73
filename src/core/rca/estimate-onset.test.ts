import { describe, expect, it } from 'vitest';
import { createRandom } from '../stats/random.ts';
import { estimateOnset } from './estimate-onset.ts';

describe('estimateOnset', () => {
  it('finds the step in a failure series within a few requests', () => {
    const rng = createRandom(11);
    const series = Array.from({ length: 2000 }, (_, i) => ({ at: i * 1000, failed: rng.bernoulli(i < 1400 ? 0.01 : 0.2) }));
    const onset = estimateOnset(series)!;
    expect(onset).toBeDefined();
    expect(Math.abs(onset.at - 1400 * 1000)).toBeLessThanOrEqual(30_000);
    expect(onset.rateBefore).toBeLessThan(0.02);
    expect(onset.rateAfter).toBeGreaterThan(0.15);
  });

  it('returns undefined for a stationary series (no invented onset)', () => {
    let found = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rng = createRandom(seed);
      const series = Array.from({ length: 1000 }, (_, i) => ({ at: i * 1000, failed: rng.bernoulli(0.02) }));
      if (estimateOnset(series)) found++;
    }
    expect(found).toBeLessThanOrEqual(1);
  });

  it('needs enough points and ignores improvements', () => {
    expect(estimateOnset([{ at: 1, failed: true }])).toBeUndefined();
    const better = Array.from({ length: 200 }, (_, i) => ({ at: i, failed: i < 100 }));
    expect(estimateOnset(better)).toBeUndefined();
  });
});
