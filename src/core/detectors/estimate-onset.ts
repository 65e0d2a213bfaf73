// When did it start? Maximum-likelihood change point of a Bernoulli rate (Hinkley 1970 — CUSUM
// with the post-change rate estimated rather than assumed): for every candidate second τ, the
// log-likelihood ratio of "rate p̂ from τ on" against "baseline rate p0 throughout",
//   LLR(τ) = E·ln(p̂/p0) + (N−E)·ln((1−p̂)/(1−p0)),  p̂ = E/N over seconds τ…end,
// and the onset is the τ with the largest LLR. Healthy seconds before the onset pull p̂ toward
// p0 and lower the LLR, seconds after it raise it, so the maximum sits at the change.
// Works for any per-second count series: errors, invalid outputs, slow requests (count of
// requests above a latency limit), wrong labels.
import type { EpochMs } from '../types.ts';

export interface SecondCounts {
  at: EpochMs;
  events: number;
  trials: number;
}

export interface OnsetEstimate {
  /** Index into the series of the first faulty second. */
  index: number;
  at: EpochMs;
  logLikelihoodRatio: number;
  rateBefore: number;
  rateAfter: number;
}

export interface OnsetOptions {
  /** Which way the rate moved. Default 'increase'. */
  direction?: 'increase' | 'decrease';
  /** Minimum LLR to report a change at all. Default ln(1000) ≈ 6.9. */
  minLogLikelihoodRatio?: number;
}

function bernoulliLlr(events: number, trials: number, p0: number): number {
  const p = events / trials;
  const term = (k: number, q: number, q0: number): number => (k === 0 ? 0 : k * Math.log(q / q0));
  return term(events, p, p0) + term(trials - events, 1 - p, 1 - p0);
}

export function estimateOnset(
  series: readonly SecondCounts[],
  baselineRate: number,
  options: OnsetOptions = {},
): OnsetEstimate | undefined {
  if (!(baselineRate > 0 && baselineRate < 1)) throw new RangeError(`baselineRate must be in (0,1), got ${baselineRate}`);
  const sign = (options.direction ?? 'increase') === 'increase' ? 1 : -1;
  const minLlr = options.minLogLikelihoodRatio ?? Math.log(1000);
  let best: OnsetEstimate | undefined;
  let events = 0;
  let trials = 0;
  // Walk backwards so each suffix total is O(1).
  for (let i = series.length - 1; i >= 0; i--) {
    events += series[i].events;
    trials += series[i].trials;
    if (series[i].trials === 0 || trials === 0) continue;
    if (sign * (events / trials - baselineRate) <= 0) continue;
    const llr = bernoulliLlr(events, trials, baselineRate);
    // ≥: among equal LLRs the earliest second wins.
    if (!best || llr >= best.logLikelihoodRatio) {
      best = { index: i, at: series[i].at, logLikelihoodRatio: llr, rateBefore: NaN, rateAfter: events / trials };
    }
  }
  if (!best || best.logLikelihoodRatio < minLlr) return undefined;
  let beforeEvents = 0;
  let beforeTrials = 0;
  for (let i = 0; i < best.index; i++) {
    beforeEvents += series[i].events;
    beforeTrials += series[i].trials;
  }
  best.rateBefore = beforeTrials > 0 ? beforeEvents / beforeTrials : NaN;
  return best;
}
