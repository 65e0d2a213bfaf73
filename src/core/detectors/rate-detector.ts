// Rate detector: error rate, invalid-output rate, negative-feedback rate (alarm when they go
// up) and accuracy (alarm when it goes down). Two independent checks, either can breach:
//
//  1. Baseline comparison with an always-valid sequential test (stats/sequential.ts):
//     - baseline `{ rate }` (a known stable rate) → one-sample, one-sided grid mSPRT (exact);
//     - baseline `{ events, trials }` (e.g. the last stable version's window) → two-sample
//       normal-mixture mSPRT.
//     Significance alone is not enough: at thousands of requests a 0.1-point wobble is
//     "significant" and nobody should be paged for it, so a minimum practical effect is also
//     required: the exact (Clopper–Pearson) bound of the current rate at `confidence` must clear
//     the baseline by 2 points, and the rate must be 1.5× the baseline's on the bad side.
//  2. Absolute threshold (optional): breach when the rate is beyond the threshold with
//     confidence — the same exact bound, not the raw rate, so 1 error in the first 3 requests
//     is not "33% errors". Set confidence 0.5 to compare (nearly) the raw rate.
//
// Why α = 0.001 and confidence 0.999 by default: a monitor evaluates sliding windows every
// second. The sequential test's guarantee covers one growing sample; a 1-second window is a new
// sample every second, ~3600 an hour, so per-window error rates must be small. With these
// defaults the simulated healthy hours (simulate-traffic.test.ts) raise no false alarm, and hard
// faults still breach within 1–2 s. For a cumulative window (all labels since the version went
// live) α = 0.05 is valid as it stands: that is the setting labelsNeededForPower reports.
//
// Statuses: `insufficient_data` when the window has fewer than minSamples trials, or when a
// configured check cannot run (baseline too small) and nothing breached; `ok` only when every
// configured check ran and none breached.
import type { Evidence } from '../types.ts';
import { clopperPearsonLower, clopperPearsonUpper } from '../stats/distributions.ts';
import {
  DEFAULT_TAU,
  msprtOneSample,
  msprtTwoSample,
  type MsprtResult,
  type RateCounts,
} from '../stats/sequential.ts';
import { formatStat, insufficientData, type DetectorResult, type SignalFamily, type TimeWindow } from './detector-result.ts';
import { severityFor, type SeverityRules } from './severity.ts';

export type RateBaseline = RateCounts | { rate: number };

export interface RateDetectorInput {
  /** Signal family for the finding and the severity rules. Default 'errors'. */
  family?: SignalFamily;
  current: RateCounts;
  baseline?: RateBaseline;
  /** 'increase' for bad-event rates (default), 'decrease' for accuracy / success rates. */
  direction?: 'increase' | 'decrease';
  /** Minimum trials in the current window before anything is concluded. Default 10 (one second at 20 req/s can be 14). */
  minSamples?: number;
  /** Minimum trials in a counts baseline. Default 100. */
  minBaselineSamples?: number;
  /** Level of the sequential test. Default 0.001 (sliding windows; see above). */
  alpha?: number;
  /** Normal-mixture spread for the two-sample test. Default DEFAULT_TAU (0.1). */
  tau?: number;
  /**
   * Practical effect the baseline comparison must also show: `absolute` on the confidence bound,
   * `relative` on the estimate. Defaults { absolute: 0.02, relative: 1.5 }. Why 2 points: real
   * traffic is over-dispersed (the error rate itself jitters second to second), which a test
   * against a fixed rate reads as signal; with 1 point, 40 simulated healthy hours against a
   * fixed 0.5% baseline produced one false alarm (7 errors in 96 requests in one second).
   */
  minEffect?: { absolute?: number; relative?: number };
  /** Rate beyond which the window breaches on its own (e.g. 0.05 errors, 0.7 accuracy). */
  absoluteThreshold?: number;
  /** Confidence of the exact bound used by the effect gate and the absolute threshold. Default 0.999. */
  confidence?: number;
  /** Cumulative windows only: previous always-valid p-value of the same sequence. */
  previousPValue?: number;
  window?: TimeWindow;
  severityRules?: Partial<SeverityRules>;
}

/**
 * Settings for a cumulative window — e.g. every label since the version went live, looked at
 * after each new label. The sequential test is always valid there, so α = 0.05 means what it
 * says over the whole life of the window; the sliding-window defaults would only slow it down
 * (90% → 80% accuracy at 95% power: ~243 labels with these, ~427 with the defaults).
 */
export const CUMULATIVE_WINDOW_SETTINGS = { alpha: 0.05, confidence: 0.95 } as const;

const isRate = (b: RateBaseline): b is { rate: number } => typeof (b as { rate?: unknown }).rate === 'number';

// Module-level helpers rather than per-call closures: detectors run every second per window.
function breachResult(
  input: RateDetectorInput,
  family: SignalFamily,
  evidence: Evidence,
  rate: number,
  reference: number | undefined,
  pValue: number | undefined,
): DetectorResult {
  // Severity magnitude: the bad rate itself for increases; the drop in points for decreases.
  const raw = (input.direction ?? 'increase') === 'increase' ? rate : reference !== undefined ? reference - rate : 0;
  // 0.9 − 0.8 is 0.09999999999999998 in floating point; rule boundaries are human numbers.
  const magnitude = Math.round(raw * 1e12) / 1e12;
  const result: DetectorResult = {
    status: 'breach',
    family,
    evidence,
    magnitude,
    severity: severityFor(family, magnitude, input.severityRules),
  };
  if (pValue !== undefined) result.pValue = pValue;
  return result;
}

export function rateDetector(input: RateDetectorInput): DetectorResult {
  const family = input.family ?? 'errors';
  const direction = input.direction ?? 'increase';
  const sign = direction === 'increase' ? 1 : -1;
  const minSamples = input.minSamples ?? 10;
  const minBaselineSamples = input.minBaselineSamples ?? 100;
  const alpha = input.alpha ?? 0.001;
  const confidence = input.confidence ?? 0.999;
  const minAbsolute = input.minEffect?.absolute ?? 0.02;
  const minRelative = input.minEffect?.relative ?? 1.5;
  const { events, trials } = input.current;
  if (!(trials >= 0 && events >= 0 && events <= trials)) {
    throw new RangeError(`current: need 0 ≤ events ≤ trials, got ${events}/${trials}`);
  }
  const rate = trials > 0 ? events / trials : NaN;
  const base: Evidence = { test: 'rate', sampleSize: trials, observed: rate };
  if (input.window) base.window = input.window;

  if (trials < minSamples) {
    return insufficientData(family, { ...base, threshold: input.absoluteThreshold, detail: `${trials} trials in window, need ≥ ${minSamples}` });
  }
  if (!input.baseline && input.absoluteThreshold === undefined) {
    return insufficientData(family, { ...base, detail: 'no baseline and no absolute threshold to compare with' });
  }

  // The bound on the bad side: how high an error rate / how low an accuracy we are sure of.
  const bound =
    direction === 'increase' ? clopperPearsonLower(events, trials, confidence) : clopperPearsonUpper(events, trials, confidence);

  // 1. Baseline comparison.
  let comparison: { evidence: Evidence; test: MsprtResult; reference: number } | undefined;
  let baselineNote: string | undefined;
  if (input.baseline) {
    const b = input.baseline;
    const baselineUsable = isRate(b) ? b.rate > 0 && b.rate < 1 : b.trials >= minBaselineSamples;
    if (!baselineUsable) {
      baselineNote = isRate(b)
        ? `baseline rate ${b.rate} is 0 or 1: nothing to test against`
        : `baseline has ${b.trials} trials, need ≥ ${minBaselineSamples}`;
    } else {
      const test = isRate(b)
        ? msprtOneSample(input.current, b.rate, { alpha, direction, previousPValue: input.previousPValue })
        : msprtTwoSample(input.current, b, { alpha, tau: input.tau ?? DEFAULT_TAU, previousPValue: input.previousPValue });
      const reference = test.baselineRate;
      const delta = rate - reference;
      // Absolute part of the gate on the bound (what we are sure of), relative part on the
      // estimate: near 90% accuracy a sure 1.5× rise of the error side needs far more labels
      // than the drop deserves, while near 0.5% errors the absolute part is the binding one.
      const badNow = direction === 'increase' ? rate : 1 - rate;
      const badBefore = direction === 'increase' ? reference : 1 - reference;
      const relative = badBefore > 0 ? badNow / badBefore : Infinity;
      const effectOk = sign * (bound - reference) >= minAbsolute && relative >= minRelative;
      const evidence: Evidence = {
        ...base,
        test: test.test === 'msprt-two-sample' ? 'msprt-two-sample' : 'msprt-one-sample',
        statistic: test.logLikelihoodRatio,
        pValue: test.pValue,
        threshold: alpha,
        bound,
        baseline: reference,
        detail:
          `rate ${formatStat(rate)} vs baseline ${formatStat(reference)} (${direction}); always-valid p ${formatStat(test.pValue)} vs α ${alpha}; ` +
          `effect at the ${confidence * 100}% bound ${formatStat(bound)}: ${formatStat(bound - reference)} (need ${direction === 'increase' ? '≥' : '≤'} ${sign * minAbsolute}), ` +
          `bad-side ratio ${formatStat(relative)} (need ≥ ${minRelative})`,
      };
      if (!isRate(b)) evidence.baselineSampleSize = b.trials;
      if (test.reject && sign * delta > 0 && effectOk) return breachResult(input, family, evidence, rate, reference, test.pValue);
      comparison = { evidence, test, reference };
    }
  }

  // 2. Absolute threshold, judged on the confidence bound.
  let thresholdEvidence: Evidence | undefined;
  if (input.absoluteThreshold !== undefined) {
    const beyond = direction === 'increase' ? bound >= input.absoluteThreshold : bound <= input.absoluteThreshold;
    thresholdEvidence = {
      ...base,
      test: 'rate-threshold',
      statistic: rate,
      threshold: input.absoluteThreshold,
      bound,
      detail:
        `rate ${formatStat(rate)} over ${trials}; ${confidence * 100}% exact ${direction === 'increase' ? 'lower' : 'upper'} bound ` +
        `${formatStat(bound)} ${beyond ? (direction === 'increase' ? '≥' : '≤') : 'not beyond'} threshold ${input.absoluteThreshold}`,
    };
    if (comparison) thresholdEvidence.baseline = comparison.reference;
    if (beyond) {
      return breachResult(input, family, thresholdEvidence, rate, comparison?.reference ?? input.absoluteThreshold, comparison?.test.pValue);
    }
  }

  if (baselineNote) {
    return insufficientData(family, { ...(thresholdEvidence ?? base), detail: `${baselineNote}${thresholdEvidence ? `; ${thresholdEvidence.detail}` : ''}` });
  }
  const evidence = comparison?.evidence ?? thresholdEvidence!;
  const result: DetectorResult = { status: 'ok', family, evidence };
  if (comparison) result.pValue = comparison.test.pValue;
  return result;
}
