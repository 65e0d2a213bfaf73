// Latency detector over quantile sketches. Two independent checks, either can breach:
//
//  1. Absolute quantile thresholds (e.g. p99 ≤ 1000 ms). "p99 > T" is the same statement as
//     "more than 1% of requests are slower than T", so it is judged as a binomial proportion
//     with an exact (Clopper–Pearson) lower bound at `confidence` — one slow request among the
//     first 20 does not make "p99 = 5 s".
//  2. Relative to a baseline sketch: Mann–Whitney U, one-sided 'greater', computed on the
//     sketches' aligned buckets (ties = same 1% bucket), AND a minimum effect: for some
//     quantile q in `quantiles`, the share of current requests slower than minRatio × the
//     baseline's q-quantile must confidently exceed 1 − q (i.e. the current q-quantile is at
//     least minRatio × the baseline's). At large n the rank test flags 3% shifts nobody cares
//     about; the ratio gate keeps alerts to real regressions. With `minDeltaMs`, a request is
//     only "slower" when it is also that many ms above the baseline's quantile: at a few ms, ×1.5
//     is machine noise (a 1.2 → 1.9 ms p50 on a loaded host), not a model regression.
import type { Evidence } from '../types.ts';
import { clopperPearsonLower } from '../stats/distributions.ts';
import { mannWhitneyUFromCounts } from '../stats/mann-whitney.ts';
import { alignSketches, createSketch, LatencySketch } from '../stats/latency-sketch.ts';
import { formatStat, insufficientData, type DetectorResult, type SignalFamily, type TimeWindow } from './detector-result.ts';
import { severityFor, type SeverityRules } from './severity.ts';

export type QuantileName = 'p50' | 'p90' | 'p95' | 'p99' | 'p999';

const QUANTILE_OF: Record<QuantileName, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 };

export interface LatencyDetectorInput {
  family?: SignalFamily;
  /** Window latencies: a sketch (what the gateway ships) or raw milliseconds. */
  current: LatencySketch | readonly number[];
  baseline?: LatencySketch | readonly number[];
  /** Absolute limits in ms, e.g. { p99: 1000 }. */
  thresholdsMs?: Partial<Record<QuantileName, number>>;
  /** Minimum requests in the current window. Default 10. */
  minSamples?: number;
  /** Minimum requests in the baseline sketch. Default 100. */
  minBaselineSamples?: number;
  /** Level of the Mann–Whitney test. Default 0.001 (monitors judge sliding windows every second). */
  alpha?: number;
  /** Minimum slowdown factor at some quantile. Default 1.5. */
  minRatio?: number;
  /** Minimum slowdown in ms at that quantile, on top of the ratio. Default 0. */
  minDeltaMs?: number;
  /** Quantiles the ratio gate looks at. Default [0.5, 0.95, 0.99]. */
  quantiles?: readonly number[];
  /**
   * Confidence of the exact bounds used by both checks. Default 0.999: in simulation, 0.99 let
   * 3 slow requests out of 40 in one jittery second pass the p99 gate about once in 6 hours.
   */
  confidence?: number;
  window?: TimeWindow;
  severityRules?: Partial<SeverityRules>;
}

function asSketch(x: LatencySketch | readonly number[]): LatencySketch {
  if (x instanceof LatencySketch) return x;
  const s = createSketch();
  for (const ms of x) s.add(ms);
  return s;
}

function label(q: number): string {
  return `p${formatStat(q * 100)}`;
}

/** The latency a request must exceed to count as slower than a reference quantile: max(minRatio × ref, ref + minDeltaMs). */
export function slowLimitMs(referenceMs: number, minRatio: number, minDeltaMs = 0): number {
  return Math.max(referenceMs * minRatio, referenceMs + minDeltaMs);
}

function breachResult(input: LatencyDetectorInput, family: SignalFamily, evidence: Evidence, magnitude: number): DetectorResult {
  return { status: 'breach', family, evidence, magnitude, severity: severityFor(family, magnitude, input.severityRules) };
}

export function latencyDetector(input: LatencyDetectorInput): DetectorResult {
  const family = input.family ?? 'latency';
  const minSamples = input.minSamples ?? 10;
  const minBaselineSamples = input.minBaselineSamples ?? 100;
  const alpha = input.alpha ?? 0.001;
  const minRatio = input.minRatio ?? 1.5;
  const minDeltaMs = input.minDeltaMs ?? 0;
  const need = `≥ ×${minRatio}${minDeltaMs > 0 ? ` and +${minDeltaMs} ms` : ''}`;
  const quantiles = input.quantiles ?? [0.5, 0.95, 0.99];
  const confidence = input.confidence ?? 0.999;
  const current = asSketch(input.current);
  const n = current.count;
  const base: Evidence = { test: 'latency', sampleSize: n, observed: n > 0 ? current.quantile(0.5) : undefined };
  if (input.window) base.window = input.window;
  const thresholds = Object.entries(input.thresholdsMs ?? {}) as Array<[QuantileName, number]>;

  if (n < minSamples) return insufficientData(family, { ...base, detail: `${n} requests in window, need ≥ ${minSamples}` });
  if (!input.baseline && thresholds.length === 0) {
    return insufficientData(family, { ...base, detail: 'no baseline and no latency thresholds to compare with' });
  }
  const givenBaseline = input.baseline === undefined ? undefined : asSketch(input.baseline);
  const baseline = givenBaseline && givenBaseline.count >= minBaselineSamples ? givenBaseline : undefined;

  // 1. Absolute thresholds.
  const thresholdNotes: string[] = [];
  for (const [name, limitMs] of thresholds) {
    const q = QUANTILE_OF[name];
    if (q === undefined) throw new RangeError(`unknown quantile ${name}`);
    const slower = current.countAbove(limitMs);
    const lower = clopperPearsonLower(slower, n, confidence);
    const observed = current.quantile(q);
    if (lower > 1 - q) {
      const evidence: Evidence = {
        ...base,
        test: 'latency-quantile-threshold',
        statistic: observed,
        threshold: limitMs,
        bound: lower,
        observed,
        detail:
          `${name} ${formatStat(observed)} ms > ${limitMs} ms: ${slower}/${n} requests slower than the limit, ` +
          `${confidence * 100}% lower bound ${formatStat(lower)} > ${formatStat(1 - q)}`,
      };
      if (baseline) {
        evidence.baseline = baseline.quantile(q);
        evidence.baselineSampleSize = baseline.count;
      }
      return breachResult(input, family, evidence, baseline ? observed / baseline.quantile(q) : observed / limitMs);
    }
    thresholdNotes.push(`${name} ${formatStat(observed)} ms within ${limitMs} ms`);
  }

  // 2. Relative to the baseline.
  if (givenBaseline && !baseline) {
    return insufficientData(family, {
      ...base,
      baselineSampleSize: givenBaseline.count,
      detail: `baseline has ${givenBaseline.count} requests, need ≥ ${minBaselineSamples}${thresholdNotes.length ? `; ${thresholdNotes.join('; ')}` : ''}`,
    });
  }
  if (!baseline) {
    return { status: 'ok', family, evidence: { ...base, test: 'latency-quantile-threshold', detail: thresholdNotes.join('; ') } };
  }
  // Effect gate first: when no quantile is ≥ minRatio × baseline, the rank test cannot lead to a
  // breach and is skipped (detectors run every second per window; this halves their cost).
  let worst: { q: number; ratio: number; lower: number; cur: number; ref: number; limit: number } | undefined;
  for (const q of quantiles) {
    const ref = baseline.quantile(q);
    const cur = current.quantile(q);
    const limit = slowLimitMs(ref, minRatio, minDeltaMs);
    const lower = clopperPearsonLower(current.countAbove(limit), n, confidence);
    if (lower > 1 - q && (!worst || cur / ref > worst.ratio)) worst = { q, ratio: cur / ref, lower, cur, ref, limit };
  }
  const notes = thresholdNotes.length ? `; ${thresholdNotes.join('; ')}` : '';
  if (!worst) {
    const cur = current.quantile(0.5);
    const ref = baseline.quantile(0.5);
    return {
      status: 'ok',
      family,
      evidence: {
        ...base,
        test: 'mann-whitney',
        statistic: cur / ref,
        threshold: minRatio,
        observed: cur,
        baseline: ref,
        baselineSampleSize: baseline.count,
        detail: `p50 ${formatStat(cur)} ms vs baseline ${formatStat(ref)} ms (×${formatStat(cur / ref)}); no quantile of ${quantiles.join(', ')} confidently ${need}${notes}`,
      },
    };
  }
  const aligned = alignSketches(current, baseline);
  const mw = mannWhitneyUFromCounts(aligned.countsA, aligned.countsB, { alternative: 'greater' });
  const evidence: Evidence = {
    ...base,
    test: 'mann-whitney',
    statistic: worst.ratio,
    threshold: minRatio,
    pValue: mw.pValue,
    observed: worst.cur,
    baseline: worst.ref,
    baselineSampleSize: baseline.count,
    detail:
      `${label(worst.q)} ${formatStat(worst.cur)} ms vs baseline ${formatStat(worst.ref)} ms (×${formatStat(worst.ratio)}, need ${need}, ` +
      `confidently: share slower than ${formatStat(worst.limit)} ms has lower bound ${formatStat(worst.lower)} > ${formatStat(1 - worst.q)}); ` +
      `Mann–Whitney greater p ${formatStat(mw.pValue)} vs α ${alpha}, P(current > baseline) ${formatStat(mw.probabilityOfSuperiority)}${notes}`,
  };
  if (mw.pValue <= alpha) return breachResult(input, family, evidence, worst.ratio);
  return { status: 'ok', family, evidence };
}
