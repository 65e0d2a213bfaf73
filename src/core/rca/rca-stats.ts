// The small tests the RCA detectors share. Distributions come from src/core/stats; what is
// here is the RCA-specific glue: an exact one-sided Fisher test (segments are often small,
// where the normal approximation to two proportions lies), a chi-square test of homogeneity
// for label/prediction distributions, and the mapping of p-values to a 0..1 strength.
import { chiSquareSf, logChoose } from '../stats/distributions.ts';

/**
 * One-sided Fisher exact test: is a group of `groupSize` requests with `groupEvents` failures
 * worse than chance, given `totalEvents` failures among `total` requests?
 * P(X ≥ groupEvents) for X ~ Hypergeometric(total, totalEvents, groupSize), summed in log space
 * so that p-values of 1e-300 stay exact instead of underflowing to a misleading 0 too early.
 */
export function fisherGreater(groupEvents: number, groupSize: number, totalEvents: number, total: number): number {
  if (groupSize <= 0 || totalEvents <= 0 || groupEvents <= 0) return 1;
  if (groupSize > total || totalEvents > total || groupEvents > Math.min(groupSize, totalEvents)) {
    throw new RangeError(`fisherGreater: inconsistent table (${groupEvents}/${groupSize} of ${totalEvents}/${total})`);
  }
  const xMax = Math.min(totalEvents, groupSize);
  const xMin = Math.max(0, groupSize - (total - totalEvents));
  if (groupEvents <= xMin) return 1;
  const logDenominator = logChoose(total, groupSize);
  const logPmf = (x: number) => logChoose(totalEvents, x) + logChoose(total - totalEvents, groupSize - x) - logDenominator;
  // Mode of the hypergeometric; past it the terms only shrink, so we can stop once negligible.
  const mode = Math.floor(((groupSize + 1) * (totalEvents + 1)) / (total + 2));
  let maxLog = -Infinity;
  let scaled = 0;
  for (let x = groupEvents; x <= xMax; x++) {
    const l = logPmf(x);
    if (l > maxLog) {
      scaled = scaled * Math.exp(maxLog - l) + 1;
      maxLog = l;
    } else {
      const rel = l - maxLog;
      if (x > mode && rel < -40) break;
      scaled += Math.exp(rel);
    }
  }
  return Math.min(1, Math.exp(maxLog) * scaled);
}

/** Two groups' event rates compared one-sidedly (group A worse than group B) by Fisher's exact test. */
export function compareRates(
  aEvents: number,
  aTotal: number,
  bEvents: number,
  bTotal: number,
): { aRate: number; bRate: number; lift: number; pValue: number } {
  const aRate = aTotal > 0 ? aEvents / aTotal : 0;
  const bRate = bTotal > 0 ? bEvents / bTotal : 0;
  const pValue = aTotal > 0 && bTotal > 0 ? fisherGreater(aEvents, aTotal, aEvents + bEvents, aTotal + bTotal) : 1;
  return { aRate, bRate, lift: liftOf(aRate, bRate), pValue };
}

/** Ratio of rates, finite even when the reference rate is 0 (half an event of smoothing). */
export function liftOf(rate: number, reference: number, referenceTotal = 0): number {
  if (reference > 0) return rate / reference;
  if (rate === 0) return 1;
  // No event in the reference: bound it by half an event rather than reporting Infinity.
  const floor = referenceTotal > 0 ? 0.5 / referenceTotal : 0.001;
  return rate / floor;
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
  /** Total variation distance between the two normalised distributions (0..1): the effect size. */
  totalVariation: number;
  /** Categories after pooling sparse ones into `(other)`. */
  categories: string[];
}

/**
 * Chi-square test of homogeneity of two categorical samples (2 × k table). Categories whose
 * expected count is below 5 in either row are pooled into `(other)` so the chi-square
 * approximation holds. Undefined (p = 1) when fewer than two categories remain.
 */
export function chiSquareHomogeneity(a: Record<string, number>, b: Record<string, number>): ChiSquareResult {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const na = keys.reduce((s, k) => s + (a[k] ?? 0), 0);
  const nb = keys.reduce((s, k) => s + (b[k] ?? 0), 0);
  const n = na + nb;
  let totalVariation = 0;
  if (na > 0 && nb > 0) for (const k of keys) totalVariation += Math.abs((a[k] ?? 0) / na - (b[k] ?? 0) / nb) / 2;
  if (na === 0 || nb === 0) return { statistic: 0, df: 0, pValue: 1, totalVariation, categories: keys };

  const pooledA: Record<string, number> = {};
  const pooledB: Record<string, number> = {};
  for (const k of keys) {
    const colTotal = (a[k] ?? 0) + (b[k] ?? 0);
    const sparse = (colTotal * Math.min(na, nb)) / n < 5;
    const key = sparse ? '(other)' : k;
    pooledA[key] = (pooledA[key] ?? 0) + (a[k] ?? 0);
    pooledB[key] = (pooledB[key] ?? 0) + (b[k] ?? 0);
  }
  const categories = Object.keys(pooledA);
  if (categories.length < 2) return { statistic: 0, df: 0, pValue: 1, totalVariation, categories };
  let statistic = 0;
  for (const k of categories) {
    const colTotal = pooledA[k] + pooledB[k];
    const ea = (colTotal * na) / n;
    const eb = (colTotal * nb) / n;
    if (ea > 0) statistic += (pooledA[k] - ea) ** 2 / ea;
    if (eb > 0) statistic += (pooledB[k] - eb) ** 2 / eb;
  }
  const df = categories.length - 1;
  return { statistic, df, pValue: chiSquareSf(statistic, df), totalVariation, categories };
}

/**
 * Population Stability Index of `current` against `baseline`, over the baseline's deciles
 * (fewer bins when values repeat). Conventional reading: < 0.1 stable, 0.1–0.25 moderate,
 * > 0.25 major shift. Empty bins get half a count so the log stays finite.
 */
export function populationStabilityIndex(baseline: readonly number[], current: readonly number[], bins = 10): number {
  if (baseline.length === 0 || current.length === 0) return 0;
  const sorted = Float64Array.from(baseline).sort();
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / bins))];
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  const countInto = (values: readonly number[]) => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) {
      // Bin i holds values in [edges[i-1], edges[i]); binary search for the first edge > v.
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] <= v) lo = mid + 1;
        else hi = mid;
      }
      counts[lo]++;
    }
    return counts;
  };
  const b = countInto(baseline);
  const c = countInto(current);
  let psi = 0;
  for (let i = 0; i < b.length; i++) {
    const pb = (b[i] || 0.5) / baseline.length;
    const pc = (c[i] || 0.5) / current.length;
    psi += (pc - pb) * Math.log(pc / pb);
  }
  return psi;
}

/**
 * Strength of statistical evidence in 0..1 from a (corrected) p-value: 0 at p ≥ 0.01, 0.5 at
 * p = 1e-4, 1 at p ≤ 1e-6. Log scale because p-values shrink exponentially with sample size;
 * the 0.01 floor keeps chance patterns (which one of six detectors will find) at zero.
 */
export function significanceStrength(pValue: number): number {
  if (!(pValue < 0.01)) return 0;
  if (pValue <= 0) return 1;
  return clamp01((-Math.log10(pValue) - 2) / 4);
}

export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Linear ramp: 0 at or below `lo`, 1 at or above `hi`. */
export const ramp = (x: number, lo: number, hi: number): number => clamp01((x - lo) / (hi - lo));

/** Four significant digits: enough to read, no false precision in evidence. */
export function roundFigure(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(4));
}

export function quantile(sortedValues: ArrayLike<number>, q: number): number {
  const n = sortedValues.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sortedValues[lo] + (sortedValues[hi] - sortedValues[lo]) * (pos - lo);
}
