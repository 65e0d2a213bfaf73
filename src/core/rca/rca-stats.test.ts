import { describe, expect, it } from 'vitest';
import {
  chiSquareHomogeneity,
  compareRates,
  fisherGreater,
  liftOf,
  populationStabilityIndex,
  roundFigure,
  significanceStrength,
} from './rca-stats.ts';

describe('fisherGreater', () => {
  // Reference values: scipy.stats.fisher_exact(table, alternative='greater') (scipy 1.17).
  it('matches scipy on small and large tables', () => {
    expect(fisherGreater(3, 4, 4, 8)).toBeCloseTo(0.24285714285714283, 12);
    expect(fisherGreater(8, 10, 9, 16)).toBeCloseTo(0.024475524475524483, 12);
    const p1 = fisherGreater(30, 200, 40, 2000);
    expect(p1 / 4.45580868348549e-23).toBeCloseTo(1, 6);
    const p2 = fisherGreater(300, 1000, 310, 2000);
    expect(p2 / 1.4607032236955742e-86).toBeCloseTo(1, 6);
  });

  it('is 1 when the group is no worse than chance and rejects inconsistent tables', () => {
    expect(fisherGreater(0, 10, 5, 100)).toBe(1);
    expect(fisherGreater(1, 0, 5, 100)).toBe(1);
    expect(() => fisherGreater(6, 10, 5, 100)).toThrow(RangeError);
  });

  it('compareRates reports both rates, the lift and the one-sided p-value', () => {
    const r = compareRates(30, 200, 10, 1800);
    expect(r.aRate).toBeCloseTo(0.15, 12);
    expect(r.bRate).toBeCloseTo(10 / 1800, 12);
    expect(r.lift).toBeCloseTo(27, 6);
    expect(r.pValue / 4.45580868348549e-23).toBeCloseTo(1, 6);
  });

  it('liftOf stays finite when the reference rate is zero', () => {
    expect(liftOf(0.2, 0, 100)).toBeCloseTo(40, 9);
    expect(liftOf(0, 0)).toBe(1);
  });
});

describe('chiSquareHomogeneity', () => {
  it('matches scipy chi2_contingency without continuity correction', () => {
    const r = chiSquareHomogeneity({ a: 50, b: 30, c: 20 }, { a: 30, b: 30, c: 40 });
    expect(r.statistic).toBeCloseTo(11.666666666666668, 10);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(0.0029282996948181853, 10);
    expect(r.totalVariation).toBeCloseTo(0.2, 12);
  });

  it('pools sparse categories and returns p = 1 when nothing is left to compare', () => {
    const r = chiSquareHomogeneity({ a: 100, b: 1 }, { a: 100, c: 1 });
    expect([...r.categories].sort()).toEqual(['(other)', 'a']);
    expect(chiSquareHomogeneity({ a: 10 }, { a: 20 }).pValue).toBe(1);
    expect(chiSquareHomogeneity({}, { a: 20 }).pValue).toBe(1);
  });
});

describe('populationStabilityIndex', () => {
  const base = Array.from({ length: 100 }, (_, i) => i);
  it('is 0 for the same sample', () => {
    expect(populationStabilityIndex(base, base)).toBeCloseTo(0, 12);
  });
  it('matches the hand computation for a sample collapsed into one decile', () => {
    const current = Array.from({ length: 100 }, (_, i) => i % 10);
    // bin 0: (1 − 0.1)·ln 10; nine empty bins with half a count each: (0.005 − 0.1)·ln 0.05
    const expected = 0.9 * Math.log(10) + 9 * (0.005 - 0.1) * Math.log(0.05);
    expect(populationStabilityIndex(base, current)).toBeCloseTo(expected, 10);
  });
});

describe('significanceStrength', () => {
  it('maps p-values onto 0..1 on a log scale', () => {
    expect(significanceStrength(0.5)).toBe(0);
    expect(significanceStrength(0.01)).toBe(0);
    expect(significanceStrength(1e-4)).toBeCloseTo(0.5, 12);
    expect(significanceStrength(1e-6)).toBe(1);
    expect(significanceStrength(0)).toBe(1);
    expect(significanceStrength(NaN)).toBe(0);
  });
  it('roundFigure keeps four significant digits', () => {
    expect(roundFigure(0.123456)).toBe(0.1235);
    expect(roundFigure(123456)).toBe(123500);
    expect(roundFigure(0)).toBe(0);
  });
});
