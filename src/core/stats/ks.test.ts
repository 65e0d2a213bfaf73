import { describe, expect, it } from 'vitest';
import { ksTwoSample, type KsAlternative } from './ks.ts';
import { kolmogorovLimitSf, kolmogorovSf, smirnovSf } from './kolmogorov.ts';

// Reference values: python3 + scipy 1.17.1,
//   scipy.stats.ks_2samp(x, y, alternative=alt, method='asymp'), scipy.stats.kstwo.sf(d, n),
//   scipy.special.smirnov(n, d), scipy.stats.kstwobign.sf(z), on exactly the data below.
const hw = {
  x: [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3],
  y: [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29],
};
const ties = { x: [3, 5, 5, 6, 7, 7, 7, 9, 10, 2], y: [1, 2, 2, 3, 3, 5, 6, 6, 4, 4, 8] };
const big = {
  x: Array.from({ length: 300 }, (_, i) => ((i * 7919) % 113) + 50),
  y: Array.from({ length: 400 }, (_, j) => ((j * 104729) % 97) + 40),
};
const same = {
  x: Array.from({ length: 2000 }, (_, i) => (i * 7919) % 1000),
  y: Array.from({ length: 3001 }, (_, j) => (j * 104729) % 1000),
};

const rows: Array<[string, { x: number[]; y: number[] }, KsAlternative, number, number]> = [
  ['hw', hw, 'two-sided', 0.6666666666666667, 0.02777777777777775],
  ['hw', hw, 'greater', 0.11111111111111116, 0.800737402916808],
  ['hw', hw, 'less', 0.6666666666666667, 0.009403562551495197],
  ['ties', ties, 'two-sided', 0.43636363636363634, 0.2220172541617249],
  ['ties', ties, 'greater', 0, 1],
  ['ties', ties, 'less', 0.43636363636363634, 0.08854517331628878],
  ['big', big, 'two-sided', 0.22666666666666668, 3.3413644834118384e-8],
  ['big', big, 'less', 0.22666666666666668, 1.8032122050688058e-8],
  ['same', same, 'two-sided', 0.0003328890369876708, 1],
  ['same', same, 'less', 0.0003328890369876708, 0.9994234958384137],
  // n1 = n2 = 5: effective n = 2.5 rounds half-to-even to 2, as numpy does.
  ['half', { x: [1, 2, 3, 4, 5], y: [2.5, 3.5, 4.5, 5.5, 6.5] }, 'two-sided', 0.4, 0.82],
  ['sevens', { x: [1, 2, 3, 4, 5, 6, 7], y: [2.5, 3.5, 4.5, 5.5, 6.5, 10, 11] }, 'two-sided', 0.28571428571428575, 0.8136713869221157],
];

describe('ksTwoSample vs scipy ks_2samp(method="asymp")', () => {
  it.each(rows)('%s %s', (_name, data, alternative, d, p) => {
    const r = ksTwoSample(data.x, data.y, { alternative });
    expect(r.statistic).toBeCloseTo(d, 14);
    expect(Math.abs(r.pValue - p)).toBeLessThanOrEqual(1e-9 * p + 1e-15);
    expect(r.n1).toBe(data.x.length);
  });

  it('locates the supremum and rejects bad input', () => {
    const r = ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]);
    expect(r.statistic).toBe(0.5);
    expect(r.location).toBe(2);
    expect(() => ksTwoSample([], [1])).toThrow(RangeError);
    expect(() => ksTwoSample([NaN], [1])).toThrow(RangeError);
  });
});

describe('Kolmogorov distribution vs scipy', () => {
  // [n, d, kstwo.sf(d, n), smirnov(n, d)]
  const grid: Array<[number, number, number, number]> = [
    [10, 0.3, 0.27053557479999946, 0.1354635556],
    [100, 0.1, 0.2526927570063874, 0.1265906584562817],
    [141, 0.05, 0.854845693009663, 0.47825576606563275],
    [1000, 0.03, 0.3226902143914636, 0.16203171395455085],
    [5000, 0.01, 0.6954557253913853, 0.36544317503217305],
    [100000, 0.004, 0.08130148920222469, 0.04065347569406545],
    [100000, 0.02, 3.5372711931479597e-35, 1.7686355965739799e-35],
    [50, 0.6, 9.634070456142374e-18, 4.817035228071187e-18],
  ];
  it.each(grid)('n=%d d=%d', (n, d, sf, sm) => {
    expect(Math.abs(kolmogorovSf(n, d) - sf)).toBeLessThanOrEqual(1e-9 * sf);
    expect(Math.abs(smirnovSf(n, d) - sm)).toBeLessThanOrEqual(1e-9 * sm);
  });

  it('limiting distribution matches kstwobign.sf', () => {
    expect(kolmogorovLimitSf(0.5)).toBeCloseTo(0.9639452436648751, 14);
    expect(kolmogorovLimitSf(1.36)).toBeCloseTo(0.049485876755377876, 14);
    expect(Math.abs(kolmogorovLimitSf(3) - 3.045995948942526e-8)).toBeLessThan(1e-20);
    expect(kolmogorovLimitSf(0)).toBe(1);
  });

  it('edge cases', () => {
    expect(kolmogorovSf(10, 0)).toBe(1);
    expect(kolmogorovSf(10, 1)).toBe(0);
    expect(smirnovSf(10, 0)).toBe(1);
    expect(() => kolmogorovSf(0, 0.1)).toThrow(RangeError);
  });
});
