import { describe, expect, it } from 'vitest';
import { mannWhitneyU, mannWhitneyUFromCounts, type Alternative } from './mann-whitney.ts';

// Reference values: python3 + scipy 1.17.1,
//   scipy.stats.mannwhitneyu(x, y, alternative=alt, method='asymptotic', use_continuity=True|False)
// on exactly the data below (script: for each set and alternative, print statistic and pvalue).
const hw = {
  x: [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3],
  y: [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29],
};
const ties = { x: [3, 5, 5, 6, 7, 7, 7, 9, 10, 2], y: [1, 2, 2, 3, 3, 5, 6, 6, 4, 4, 8] };
const repeatCounts = (counts: number[]): number[] => counts.flatMap((c, i) => Array<number>(c).fill(i + 1));
const grouped = { cx: [0, 3, 10, 5, 2], cy: [4, 6, 5, 1, 0] };
const big = {
  x: Array.from({ length: 300 }, (_, i) => ((i * 7919) % 113) + 50),
  y: Array.from({ length: 400 }, (_, j) => ((j * 104729) % 97) + 40),
};

type Row = [string, { x: number[]; y: number[] }, Alternative | 'nocc', number, number];
const rows: Row[] = [
  ['hw', hw, 'two-sided', 58, 0.13291945818531892],
  ['hw', hw, 'greater', 58, 0.06645972909265946],
  ['hw', hw, 'less', 58, 0.9442044002897128],
  ['hw', hw, 'nocc', 58, 0.12189099149676101],
  ['ties', ties, 'two-sided', 82, 0.06025423694020918],
  ['ties', ties, 'greater', 82, 0.03012711847010459],
  ['ties', ties, 'less', 82, 0.9744019038404045],
  ['ties', ties, 'nocc', 82, 0.055571602694628186],
  ['big', big, 'two-sided', 78620, 2.024639572898514e-12],
  ['big', big, 'greater', 78620, 1.012319786449257e-12],
  ['big', big, 'less', 78620, 0.9999999999989904],
  ['big', big, 'nocc', 78620, 2.0218999507115067e-12],
];

describe('mannWhitneyU vs scipy asymptotic', () => {
  it.each(rows)('%s %s', (_name, data, alt, u1, p) => {
    const r =
      alt === 'nocc'
        ? mannWhitneyU(data.x, data.y, { continuity: false })
        : mannWhitneyU(data.x, data.y, { alternative: alt });
    expect(r.u1).toBe(u1);
    expect(r.u1 + r.u2).toBe(data.x.length * data.y.length);
    expect(Math.abs(r.pValue - p)).toBeLessThanOrEqual(1e-10 * p);
  });

  it('grouped counts give the same answer as the expanded samples (and as scipy)', () => {
    const expected: Array<[Alternative, number]> = [
      ['two-sided', 0.0014910005415340764],
      ['greater', 0.0007455002707670382],
      ['less', 0.9993360146227079],
    ];
    for (const [alternative, p] of expected) {
      const fromCounts = mannWhitneyUFromCounts(grouped.cx, grouped.cy, { alternative });
      const fromRaw = mannWhitneyU(repeatCounts(grouped.cx), repeatCounts(grouped.cy), { alternative });
      expect(fromCounts.u1).toBe(255.5);
      expect(fromRaw.u1).toBe(255.5);
      expect(Math.abs(fromCounts.pValue - p)).toBeLessThanOrEqual(1e-10 * p);
      expect(fromRaw.pValue).toBeCloseTo(fromCounts.pValue, 14);
    }
    const nocc = mannWhitneyUFromCounts(grouped.cx, grouped.cy, { continuity: false });
    expect(Math.abs(nocc.pValue - 0.0014073104523818828)).toBeLessThanOrEqual(1e-10);
  });

  it('reports the probability of superiority and handles degenerate input', () => {
    const shifted = mannWhitneyU([10, 11, 12], [1, 2, 3], { alternative: 'greater' });
    expect(shifted.probabilityOfSuperiority).toBe(1);
    const allTied = mannWhitneyU([5, 5, 5], [5, 5]);
    expect(allTied.pValue).toBe(1);
    expect(allTied.probabilityOfSuperiority).toBe(0.5);
    expect(() => mannWhitneyU([], [1])).toThrow(RangeError);
    expect(() => mannWhitneyU([1, NaN], [1])).toThrow(RangeError);
    expect(() => mannWhitneyUFromCounts([1], [1, 2])).toThrow(RangeError);
  });
});
