// Two-sample Kolmogorov–Smirnov test, asymptotic p-value, matching
// scipy.stats.ks_2samp(x, y, alternative, method='asymp').
import { kolmogorovSf } from './kolmogorov.ts';

export type KsAlternative = 'two-sided' | 'greater' | 'less';

export interface KsResult {
  /** D: sup |F_x − F_y| (two-sided), sup (F_x − F_y) ('greater'), sup (F_y − F_x) ('less'). */
  statistic: number;
  pValue: number;
  /** Value at which the supremum is reached (first such value in sort order). */
  location: number;
  n1: number;
  n2: number;
  alternative: KsAlternative;
}

/** Round half to even, as numpy.round does (scipy rounds the effective n this way). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sample KS. Both samples non-empty, no NaN. Sorts copies; O((n1+n2) log(n1+n2)).
 * Two-sided p-value: kstwo.sf(D, round(n1·n2/(n1+n2))) (Smirnov's asymptotic via the exact
 * one-sample distribution, as scipy does). One-sided: Hodges' approximation, eq. 5.3.
 */
export function ksTwoSample(
  x: readonly number[],
  y: readonly number[],
  options: { alternative?: KsAlternative } = {},
): KsResult {
  const alternative = options.alternative ?? 'two-sided';
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ksTwoSample needs two non-empty samples');
  const a = Float64Array.from(x).sort();
  const b = Float64Array.from(y).sort();
  if (Number.isNaN(a[n1 - 1]) || Number.isNaN(b[n2 - 1])) throw new RangeError('ksTwoSample samples must not contain NaN');

  // Walk the merged order; after consuming every copy of a value, compare the two ECDFs there.
  let i = 0;
  let j = 0;
  let maxPlus = -Infinity; // sup F_x − F_y
  let maxMinus = -Infinity; // sup F_y − F_x
  let locPlus = a[0];
  let locMinus = a[0];
  while (i < n1 || j < n2) {
    const value = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] === value) i++;
    while (j < n2 && b[j] === value) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxPlus) {
      maxPlus = diff;
      locPlus = value;
    }
    if (-diff > maxMinus) {
      maxMinus = -diff;
      locMinus = value;
    }
  }
  const dPlus = Math.max(0, maxPlus);
  const dMinus = Math.min(1, Math.max(0, maxMinus));
  let statistic: number;
  let location: number;
  if (alternative === 'greater') {
    statistic = dPlus;
    location = locPlus;
  } else if (alternative === 'less') {
    statistic = dMinus;
    location = locMinus;
  } else if (dMinus > dPlus) {
    statistic = dMinus;
    location = locMinus;
  } else {
    statistic = dPlus;
    location = locPlus;
  }

  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  let pValue: number;
  if (alternative === 'two-sided') {
    pValue = kolmogorovSf(Math.max(1, roundHalfEven(en)), statistic);
  } else {
    const z = Math.sqrt(en) * statistic;
    pValue = Math.exp(-2 * z * z - (2 * z * (m + 2 * n)) / Math.sqrt(m * n * (m + n)) / 3);
  }
  return { statistic, pValue: Math.min(1, Math.max(0, pValue)), location, n1, n2, alternative };
}
