// Mann–Whitney U (Wilcoxon rank-sum) with the normal approximation, tie correction and
// continuity correction — the same computation as scipy.stats.mannwhitneyu(method='asymptotic').
// The grouped form (`mannWhitneyUFromCounts`) exists because latency arrives as histogram
// sketches: ranking bins instead of raw values costs O(bins) instead of O(n log n), and
// values sharing a bin are simply ties, which the tie correction already handles.
import { normalSf } from './distributions.ts';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyOptions {
  /** 'greater': x tends to be larger than y. Default 'two-sided'. */
  alternative?: Alternative;
  /** Subtract 0.5 from |U − μ| (scipy's use_continuity). Default true. */
  continuity?: boolean;
}

export interface MannWhitneyResult {
  /** U statistic of the first sample (scipy's `statistic`). */
  u1: number;
  /** U statistic of the second sample, n1·n2 − u1. */
  u2: number;
  /** Standardised statistic used for the p-value. */
  z: number;
  pValue: number;
  n1: number;
  n2: number;
  alternative: Alternative;
  /** u1 / (n1·n2) = P(X > Y) + ½·P(X = Y): 0.5 means no shift. */
  probabilityOfSuperiority: number;
}

/** Mann–Whitney U on raw samples x and y (both non-empty, no NaN). */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyResult {
  if (x.length === 0 || y.length === 0) throw new RangeError('mannWhitneyU needs two non-empty samples');
  const tagged: Array<[number, number]> = new Array(x.length + y.length);
  for (let i = 0; i < x.length; i++) tagged[i] = [x[i], 0];
  for (let j = 0; j < y.length; j++) tagged[x.length + j] = [y[j], 1];
  tagged.sort((a, b) => a[0] - b[0]);
  if (Number.isNaN(tagged[0][0]) || tagged.some((t) => Number.isNaN(t[0]))) {
    throw new RangeError('mannWhitneyU samples must not contain NaN');
  }
  // Collapse equal values into groups, then reuse the grouped computation.
  const countsX: number[] = [];
  const countsY: number[] = [];
  let previous = NaN;
  for (const [value, group] of tagged) {
    if (value !== previous) {
      countsX.push(0);
      countsY.push(0);
      previous = value;
    }
    if (group === 0) countsX[countsX.length - 1]++;
    else countsY[countsY.length - 1]++;
  }
  return mannWhitneyUFromCounts(countsX, countsY, options);
}

/**
 * Mann–Whitney U on grouped data: `countsX[i]` and `countsY[i]` are how many values of each
 * sample fall in group i, groups in ascending value order, values within a group tied.
 * Counts may be non-integer weights.
 */
export function mannWhitneyUFromCounts(
  countsX: readonly number[],
  countsY: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyResult {
  if (countsX.length !== countsY.length) throw new RangeError('countsX and countsY must have the same length');
  const alternative = options.alternative ?? 'two-sided';
  const continuity = options.continuity ?? true;
  let n1 = 0;
  let n2 = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  let below = 0;
  for (let i = 0; i < countsX.length; i++) {
    const cx = countsX[i];
    const cy = countsY[i];
    const t = cx + cy;
    if (t === 0) continue;
    // Average rank of the tied block occupying ranks below+1 … below+t.
    rankSumX += cx * (below + (t + 1) / 2);
    tieTerm += t * t * t - t;
    below += t;
    n1 += cx;
    n2 += cy;
  }
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU needs two non-empty samples');
  const n = n1 + n2;
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
  const factor = alternative === 'two-sided' ? 2 : 1;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const numerator = u - mu - (continuity ? 0.5 : 0);
  // All values tied: sigma is 0 and there is no evidence either way.
  const z = sigma > 0 ? numerator / sigma : numerator > 0 ? Infinity : numerator < 0 ? -Infinity : 0;
  const pValue = Math.min(1, Math.max(0, factor * normalSf(z)));
  return { u1, u2, z, pValue, n1, n2, alternative, probabilityOfSuperiority: u1 / (n1 * n2) };
}
