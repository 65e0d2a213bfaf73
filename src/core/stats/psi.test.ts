import { describe, expect, it } from 'vitest';
import { PSI_THRESHOLDS, psiCategorical, psiFromCounts, psiLevel, psiNumeric } from './psi.ts';
import { alignCategories, histogram, quantileEdges } from './binning.ts';

// Reference values: python3 + numpy 2 (np.quantile linear, np.searchsorted side='left' for bin
// assignment, zero shares replaced by 1e-4, PSI = Σ (c − r)·ln(c/r)) on exactly the data below.
const ref = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 10);
const shifted = Array.from({ length: 800 }, (_, j) => (((j * 104729) % 1000) / 10) * 1.1 + 5);
const same = Array.from({ length: 800 }, (_, j) => ((j * 104729) % 1000) / 10);
const discRef = Array.from({ length: 100 }, (_, i) => (i * 7) % 5);
const discCur = Array.from({ length: 60 }, (_, i) => (i * 3) % 4);

describe('binning', () => {
  it('quantile edges match numpy.quantile and drop duplicates', () => {
    const e = quantileEdges(ref, 10);
    expect(e).toHaveLength(9);
    expect(e[0]).toBeCloseTo(9.99, 12);
    expect(e[6]).toBeCloseTo(69.93, 12);
    expect(quantileEdges(discRef, 10)).toEqual([0, 0.8000000000000007, 1, 1.6000000000000014, 2, 2.3999999999999986, 3, 3.200000000000003, 4]);
    expect(quantileEdges([5, 5, 5, 5], 10)).toEqual([5]);
    expect(() => quantileEdges([], 10)).toThrow(RangeError);
    expect(() => quantileEdges([1], 1)).toThrow(RangeError);
  });

  it('histogram uses right-closed bins', () => {
    expect(histogram([0, 1, 1.5, 2, 3], [1, 2])).toEqual([2, 2, 1]);
  });

  it('aligns categories on the sorted union', () => {
    expect(alignCategories({ b: 1, a: 2 }, { c: 3 })).toEqual({ categories: ['a', 'b', 'c'], reference: [2, 1, 0], current: [0, 0, 3] });
  });
});

describe('PSI', () => {
  it('hand-computed example: uniform quarters vs 10/20/30/40%', () => {
    // Σ (c − 0.25)·ln(c/0.25) for c = 0.1, 0.2, 0.3, 0.4 (computed with numpy).
    const r = psiFromCounts([25, 25, 25, 25], [10, 20, 30, 40], ['q1', 'q2', 'q3', 'q4']);
    expect(r.value).toBeCloseTo(0.22821740957339182, 14);
    expect(r.level).toBe('significant');
    expect(r.bins[0].contribution).toBeGreaterThan(0);
  });

  it('numeric PSI matches the numpy reference', () => {
    const shift = psiNumeric(ref, shifted);
    expect(shift.value).toBeCloseTo(0.1494011743527615, 12);
    expect(shift.level).toBe('moderate');
    expect(shift.bins).toHaveLength(10);
    expect(shift.referenceSize).toBe(1000);
    const stable = psiNumeric(ref, same);
    expect(stable.value).toBeCloseTo(9.375488327031453e-5, 14);
    expect(stable.level).toBe('stable');
    const disc = psiNumeric(discRef, discCur);
    expect(disc.value).toBeCloseTo(1.5640491119253044, 12);
  });

  it('categorical PSI with an unseen category matches the numpy reference', () => {
    const r = psiCategorical({ a: 50, b: 30, c: 20 }, { a: 30, b: 30, c: 30, d: 10 });
    expect(r.value).toBeCloseTo(0.8327963879343301, 12);
    expect(r.bins.map((b) => b.label)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.bins[3].referenceShare).toBe(1e-4);
  });

  it('levels follow the 0.1 / 0.2 thresholds; empty input is refused', () => {
    expect(PSI_THRESHOLDS).toEqual({ moderate: 0.1, significant: 0.2 });
    expect(psiLevel(0.09)).toBe('stable');
    expect(psiLevel(0.1)).toBe('moderate');
    expect(psiLevel(0.25)).toBe('significant');
    expect(() => psiNumeric([], [1])).toThrow(RangeError);
    expect(() => psiFromCounts([1], [1, 2], [])).toThrow(RangeError);
  });
});
