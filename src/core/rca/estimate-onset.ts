// Onset estimate when the detector gave none: the single change point in the failure series
// that best splits it into "before" and "after" Bernoulli segments (maximum likelihood ratio,
// as in binary segmentation). O(n) with prefix counts.
import type { EpochMs } from '../types.ts';

export interface OnsetEstimate {
  at: EpochMs;
  /** Log-likelihood ratio of the two-segment model over one segment. */
  logLikelihoodRatio: number;
  rateBefore: number;
  rateAfter: number;
}

const xlogy = (x: number, y: number) => (x === 0 ? 0 : x * Math.log(y));
const bernoulliLogLik = (failures: number, n: number) =>
  n === 0 ? 0 : xlogy(failures, failures / n) + xlogy(n - failures, (n - failures) / n);

/**
 * `series` sorted by time. Returns undefined unless the failure rate rises at some point with a
 * log-likelihood ratio of at least `minLogLikelihoodRatio` (default 8: the maximum over all split
 * points of a stationary series stays below that in the vast majority of cases).
 */
export function estimateOnset(
  series: ReadonlyArray<{ at: EpochMs; failed: boolean }>,
  options: { minSegment?: number; minLogLikelihoodRatio?: number } = {},
): OnsetEstimate | undefined {
  const minSegment = options.minSegment ?? 10;
  const threshold = options.minLogLikelihoodRatio ?? 8;
  const n = series.length;
  if (n < 2 * minSegment) return undefined;
  const prefix = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + (series[i].failed ? 1 : 0);
  const total = prefix[n];
  const whole = bernoulliLogLik(total, n);
  let best: OnsetEstimate | undefined;
  for (let k = minSegment; k <= n - minSegment; k++) {
    // Only split between distinct times, so the onset is a real trace time.
    if (series[k].at === series[k - 1].at) continue;
    const f1 = prefix[k];
    const f2 = total - f1;
    const rateBefore = f1 / k;
    const rateAfter = f2 / (n - k);
    if (rateAfter <= rateBefore) continue;
    const llr = bernoulliLogLik(f1, k) + bernoulliLogLik(f2, n - k) - whole;
    if (!best || llr > best.logLikelihoodRatio) best = { at: series[k].at, logLikelihoodRatio: llr, rateBefore, rateAfter };
  }
  return best && best.logLikelihoodRatio >= threshold ? best : undefined;
}
