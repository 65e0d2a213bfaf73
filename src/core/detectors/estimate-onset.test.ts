import { describe, expect, it } from 'vitest';
import { estimateOnset, type SecondCounts } from './estimate-onset.ts';
import { createRandom } from '../stats/random.ts';

function series(seed: number, seconds: number, onset: number, before: number, after: number, rps = 100): SecondCounts[] {
  const r = createRandom(seed);
  return Array.from({ length: seconds }, (_, i) => {
    const trials = r.poisson(rps);
    return { at: 1_000_000 + i * 1000, trials, events: r.binomial(trials, i < onset ? before : after) };
  });
}

describe('estimateOnset', () => {
  it('finds the onset of an error spike within a second', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = series(seed, 300, 240, 0.005, 0.2);
      const est = estimateOnset(s, 0.005)!;
      expect(Math.abs(est.index - 240)).toBeLessThanOrEqual(1);
      expect(est.at).toBe(s[est.index].at);
      expect(est.rateAfter).toBeGreaterThan(0.15);
      expect(est.rateBefore).toBeLessThan(0.01);
    }
  });

  it('locates a subtle change (0.5% → 2%) within ~15 seconds', () => {
    const errors: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const est = estimateOnset(series(seed, 600, 400, 0.005, 0.02), 0.005);
      expect(est).toBeDefined();
      errors.push(Math.abs(est!.index - 400));
    }
    errors.sort((a, b) => a - b);
    expect(errors[10]).toBeLessThanOrEqual(15); // median
  });

  it('accuracy drops (direction decrease) and no change at all', () => {
    const acc = estimateOnset(series(3, 200, 120, 0.9, 0.7, 20), 0.9, { direction: 'decrease' })!;
    expect(Math.abs(acc.index - 120)).toBeLessThanOrEqual(3);
    expect(estimateOnset(series(4, 300, 300, 0.005, 0.005), 0.005)).toBeUndefined();
    expect(estimateOnset([], 0.005)).toBeUndefined();
    expect(() => estimateOnset([], 0)).toThrow(RangeError);
  });

  it('skips empty seconds', () => {
    const s: SecondCounts[] = [
      { at: 0, events: 0, trials: 100 },
      { at: 1000, events: 0, trials: 0 },
      { at: 2000, events: 50, trials: 100 },
      { at: 3000, events: 50, trials: 100 },
    ];
    expect(estimateOnset(s, 0.005)!.index).toBe(2);
  });
});
