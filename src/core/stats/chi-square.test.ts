import { describe, expect, it } from 'vitest';
import { chiSquareHomogeneity } from './chi-square.ts';

// Reference values: python3 + scipy 1.17.1, scipy.stats.chi2_contingency([a, b], correction=False)
// after dropping all-zero columns.
describe('chiSquareHomogeneity', () => {
  it.each([
    [[10, 20, 30, 40], [15, 25, 25, 35], 2.3434343434343434, 3, 0.5042511431936056],
    [[50, 30, 20, 0], [30, 30, 30, 10], 17.0, 3, 0.0007067423923370282],
    [[100, 0, 5], [80, 0, 30], 19.973888545317113, 1, 7.85069483793314e-6],
  ])('%j vs %j', (a, b, statistic, dof, p) => {
    const r = chiSquareHomogeneity(a, b);
    expect(r.statistic).toBeCloseTo(statistic, 10);
    expect(r.degreesOfFreedom).toBe(dof);
    expect(Math.abs(r.pValue - p)).toBeLessThanOrEqual(1e-8 * p + 1e-14);
  });

  it('degenerate and bad input', () => {
    expect(chiSquareHomogeneity([5, 0], [7, 0]).pValue).toBe(1);
    expect(() => chiSquareHomogeneity([1], [1, 2])).toThrow(RangeError);
    expect(() => chiSquareHomogeneity([0], [1])).toThrow(RangeError);
  });
});
