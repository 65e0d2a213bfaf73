// How confidence is scored, so that 0.8 from one detector means about what 0.8 means from another.
//
// Every detector's confidence is a product of factors in 0..1, each answering one question:
//   1. Is the pattern real?         significanceStrength(p): 0 at p ≥ 0.01, 0.5 at 1e-4, 1 at ≤ 1e-6
//                                   (p-values Bonferroni-corrected where several things were tried).
//   2. Is it big enough to matter?  effect size ramps (PSI 0.05→0.25, total variation, lift).
//   3. Does it explain the incident? coverage = share of the incident's failed requests the
//                                   mechanism accounts for, entering as (0.3 + 0.7·coverage)
//                                   or (0.4 + 0.6·coverage) so a real but partial cause still shows.
//   4. Is the story consistent?     corroboration factors specific to the category (a deploy just
//                                   before the onset, the stable version unaffected, a non-empty diff,
//                                   every version on a host failing alike). Missing corroboration
//                                   lowers the score (×0.15–0.8) rather than zeroing it.
// A factor that cannot be computed for lack of data takes a neutral-pessimistic value (≈0.8),
// never 1, so a hypothesis with less evidence never outranks one with more.
// Deterministic facts (a content hash that differs from the validated one, conflicting route
// changes seconds apart) start from a high prior (0.9–0.93) instead of a p-value.
// Everything is capped at 0.95: production RCA is never certain, and the cap keeps the ranking
// honest when two strong hypotheses coexist.
// Explaining away (analyze.ts): when a more specific mechanism accounts for the same failures, the
// generic one is discounted — a length shift that overflows the context window is reported as
// overflow first and drift second; a version that got traffic through conflicting pipelines is
// reported as a pipeline conflict first and a version change second.
import type { EpochMs } from '../types.ts';
import { clamp01 } from './rca-stats.ts';

export const MAX_CONFIDENCE = 0.95;

export const finalConfidence = (x: number): number => Math.round(Math.min(MAX_CONFIDENCE, clamp01(x)) * 1000) / 1000;

/** Confidence that at least one of several independent pieces of evidence holds. */
export const noisyOr = (...scores: number[]): number => 1 - scores.reduce((acc, s) => acc * (1 - clamp01(s)), 1);

/**
 * How strongly a change at `changeAt` can explain a fault starting at `onsetAt`: 1 within 10 min
 * before (or up to the slack after) the onset, falling linearly to 0.5 at the edge of the
 * lookback window, 0 outside it.
 */
export function changeProximity(changeAt: EpochMs, onsetAt: EpochMs, lookbackMs: number, slackMs: number): number {
  const gap = onsetAt - changeAt;
  if (gap < -slackMs || gap > lookbackMs) return 0;
  const near = 10 * 60_000;
  if (gap <= near) return 1;
  return 1 - (0.5 * (gap - near)) / Math.max(1, lookbackMs - near);
}

/** How a summary should phrase a hypothesis of this confidence: assert it, hedge it, or rule it out. */
export function confidenceTier(confidence: number): 'strong' | 'weak' | 'none' {
  if (confidence >= 0.5) return 'strong';
  return confidence >= 0.05 ? 'weak' : 'none';
}

/** Factor for the absence of any change near the onset (a version that was fine for hours rarely breaks alone). */
export const NO_CHANGE_FACTOR = 0.15;
