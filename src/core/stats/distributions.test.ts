import { describe, expect, it } from 'vitest';
import {
  betaCdf,
  chiSquareCdf,
  chiSquareQuantile,
  chiSquareSf,
  logBeta,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  studentTCdf,
  studentTQuantile,
  wilsonBounds,
  betaQuantile,
  clopperPearsonBounds,
} from './distributions.ts';

// Reference values computed with python3 + scipy 1.17.1:
//   scipy.stats.norm.sf / norm.ppf, chi2.cdf / chi2.sf / chi2.ppf, t.cdf / t.ppf, beta.cdf,
//   scipy.special.gammaln / betaln; Wilson bounds with the textbook formula and norm.ppf.

function expectRel(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
}

describe('normal distribution', () => {
  const sf: Array<[number, number]> = [
    [-2.5, 0.9937903346742238],
    [0, 0.5],
    [1, 0.15865525393145707],
    [1.96, 0.024997895148220435],
    [3, 0.0013498980316300933],
    [4.5, 3.3976731247300535e-6],
    [8, 6.22096057427174e-16],
    [10, 7.61985302416047e-24],
    [20, 2.7536241186061556e-89],
    [37, 5.7255712225239266e-300],
  ];
  it.each(sf)('normalSf(%d) matches scipy norm.sf to 1e-12 relative, tails included', (z, expected) => {
    expectRel(normalSf(z), expected, 1e-12);
    expectRel(normalCdf(-z), expected, 1e-12);
  });

  it('quantile matches scipy norm.ppf', () => {
    const ppf: Array<[number, number]> = [
      [1e-10, -6.361340902404056],
      [0.001, -3.090232306167813],
      [0.025, -1.9599639845400545],
      [0.9, 1.2815515655446004],
      [0.999, 3.090232306167813],
    ];
    for (const [p, q] of ppf) expectRel(normalQuantile(p), q, 1e-9);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
  });

  it('cdf honours mean and sd', () => {
    expect(normalCdf(12, 10, 2)).toBeCloseTo(1 - 0.15865525393145707, 14);
  });
});

describe('chi-square, t, beta, gamma', () => {
  it('chi-square matches scipy', () => {
    expectRel(chiSquareCdf(3.84, 1), 0.9499564787512949, 1e-10);
    expectRel(chiSquareCdf(10, 5), 0.9247647538534878, 1e-10);
    expectRel(chiSquareSf(20, 3), 0.00016974243555282632, 1e-6);
    expectRel(chiSquareQuantile(0.95, 3), 7.814727903251179, 1e-9);
    expect(chiSquareCdf(-1, 3)).toBe(0);
  });

  it('Student t matches scipy', () => {
    // jstat evaluates t through the incomplete beta continued fraction: ~1e-8 relative.
    expectRel(studentTCdf(2, 10), 0.9633059826146299, 1e-8);
    expectRel(studentTCdf(-1.5, 3), 0.11529193262241147, 1e-8);
    // jstat's t inverse is a numerical search: 1e-8 relative is what it delivers.
    expectRel(studentTQuantile(0.975, 10), 2.228138851986274, 1e-8);
    expectRel(studentTQuantile(0.9, 2.5), 1.7302509288071766, 1e-8);
  });

  it('log gamma / log beta / beta cdf match scipy', () => {
    expectRel(logGamma(0.5), 0.5723649429247, 1e-12);
    expectRel(logGamma(100.5), 361.43554046777757, 1e-12);
    expectRel(logBeta(2.5, 7), -4.825399338314249, 1e-12);
    expectRel(betaCdf(0.3, 2, 5), 0.5798250000000003, 1e-10);
    expectRel(betaCdf(0.95, 50, 3), 0.5145695221630197, 1e-9);
  });
});

describe('wilsonBounds', () => {
  it('matches the textbook Wilson score formula', () => {
    const a = wilsonBounds(5, 100, 0.99);
    expectRel(a.lower, 0.01858321165293164, 1e-9);
    expectRel(a.upper, 0.12762319621249799, 1e-9);
    const b = wilsonBounds(0, 50, 0.95);
    expect(b.lower).toBeCloseTo(0, 12);
    expectRel(b.upper, 0.051333185786270115, 1e-9);
    const c = wilsonBounds(100, 200, 0.99);
    expectRel(c.lower, 0.41884190049537734, 1e-9);
  });

  it('confidence 0.5 collapses to the observed rate; no trials means no information', () => {
    const a = wilsonBounds(7, 100, 0.5);
    expect(a.lower).toBeCloseTo(0.07, 12);
    expect(a.upper).toBeCloseTo(0.07, 12);
    expect(wilsonBounds(0, 0, 0.99)).toEqual({ lower: 0, upper: 1 });
  });
});

describe('clopperPearsonBounds', () => {
  // python: lower = beta.ppf(1 - c, k, n - k + 1), upper = beta.ppf(c, k + 1, n - k) (scipy 1.17.1)
  it.each([
    [3, 40, 0.999, 0.004874673420453539, 0.28808494031193604],
    [10, 20, 0.999, 0.17746058040636142, 0.8225394195936386],
    [60, 7000, 0.999, 0.005561946509388428, 0.012547291312193816],
    [0, 50, 0.99, 0, 0.08798916064409025],
    [20, 20, 0.999, 0.7079457843841379, 1],
    [320, 400, 0.999, 0.7321385915046451, 0.8576175317971728],
  ])('%d/%d at %d', (k, n, c, lower, upper) => {
    const b = clopperPearsonBounds(k, n, c);
    expect(Math.abs(b.lower - lower)).toBeLessThanOrEqual(1e-8 * lower);
    expect(Math.abs(b.upper - upper)).toBeLessThanOrEqual(1e-8 * upper);
  });

  it('is stricter than Wilson for few events; edge cases', () => {
    expect(clopperPearsonBounds(3, 40, 0.999).lower).toBeLessThan(wilsonBounds(3, 40, 0.999).lower);
    expect(clopperPearsonBounds(0, 0, 0.99)).toEqual({ lower: 0, upper: 1 });
    expect(() => clopperPearsonBounds(5, 4, 0.99)).toThrow(RangeError);
    expect(betaQuantile(0, 2, 3)).toBe(0);
    expect(betaQuantile(1, 2, 3)).toBe(1);
  });
});
