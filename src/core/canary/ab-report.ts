// A/B report: each version against the control, metric by metric — the effect, its confidence
// interval and a p-value. Fixed-horizon tests (the report is read once, at the end of the test):
//  - rates (errors, invalid answers, negative ratings, accuracy): two-proportion z-test, pooled
//    standard error for the p-value, unpooled (Wald) for the interval — as R's prop.test without
//    continuity correction and statsmodels' proportions_ztest;
//  - latency: Mann–Whitney U on the two latency sketches (bucketed ranks), and a bootstrap
//    interval for the difference of medians. The bootstrap needs no resampling loop: the median
//    of a resample of n values is the k-th order statistic of n uniform ranks, whose rank
//    fraction is Beta(k, n+1−k) distributed, so each replicate is one Beta draw per arm read
//    through the sketch's quantile function. Seeded, so a report is reproducible.
import { betaQuantile, normalQuantile, normalSf } from '../stats/distributions.ts';
import { alignSketches, type LatencySketch } from '../stats/latency-sketch.ts';
import { mannWhitneyUFromCounts } from '../stats/mann-whitney.ts';
import { mulberry32 } from '../stats/random.ts';
import type { RateCounts } from '../stats/sequential.ts';

export interface TwoProportionResult {
  /** Treatment rate − control rate. */
  effect: number;
  ci: [number, number];
  z: number;
  pValue: number;
}

/** Two-sided two-proportion z-test of b against a (control). */
export function twoProportionTest(a: RateCounts, b: RateCounts, confidence = 0.95): TwoProportionResult {
  if (a.trials <= 0 || b.trials <= 0) return { effect: NaN, ci: [NaN, NaN], z: NaN, pValue: NaN };
  const pa = a.events / a.trials;
  const pb = b.events / b.trials;
  const effect = pb - pa;
  const pooled = (a.events + b.events) / (a.trials + b.trials);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  const z = sePooled > 0 ? effect / sePooled : 0;
  const pValue = sePooled > 0 ? Math.min(1, 2 * normalSf(Math.abs(z))) : 1;
  const se = Math.sqrt((pa * (1 - pa)) / a.trials + (pb * (1 - pb)) / b.trials);
  const zc = normalQuantile(1 - (1 - confidence) / 2);
  return { effect, ci: [effect - zc * se, effect + zc * se], z, pValue };
}

/** Rank fraction of the median of a resample of n values: Beta(k, n+1−k) with k = ⌈n/2⌉. */
function medianRankDraw(n: number, u: number, v: number): number {
  const k = Math.ceil(n / 2);
  const a = k;
  const b = n + 1 - k;
  if (n <= 2000) return betaQuantile(u, a, b);
  // Large n: the Beta is normal to far better than the sketch's 1% resolution.
  const mean = a / (a + b);
  const sd = Math.sqrt((a * b) / ((a + b) * (a + b) * (a + b + 1)));
  // Box–Muller from two uniforms.
  const z = Math.sqrt(-2 * Math.log(Math.max(u, 1e-300))) * Math.cos(2 * Math.PI * v);
  return Math.min(1, Math.max(0, mean + sd * z));
}

export interface MedianDifference {
  /** Treatment median − control median, in ms. */
  effect: number;
  ci: [number, number];
  controlMedian: number;
  treatmentMedian: number;
}

/** Bootstrap percentile interval for median(b) − median(a) over latency sketches. */
export function bootstrapMedianDifference(
  a: LatencySketch,
  b: LatencySketch,
  options: { confidence?: number; reps?: number; seed?: number } = {},
): MedianDifference {
  const controlMedian = a.count > 0 ? a.quantile(0.5) : NaN;
  const treatmentMedian = b.count > 0 ? b.quantile(0.5) : NaN;
  if (a.count === 0 || b.count === 0) return { effect: NaN, ci: [NaN, NaN], controlMedian, treatmentMedian };
  const reps = options.reps ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const random = mulberry32(options.seed ?? 1);
  const diffs = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    const ma = a.quantile(medianRankDraw(a.count, random(), random()));
    const mb = b.quantile(medianRankDraw(b.count, random(), random()));
    diffs[r] = mb - ma;
  }
  diffs.sort();
  const lo = diffs[Math.max(0, Math.floor(((1 - confidence) / 2) * reps))];
  const hi = diffs[Math.min(reps - 1, Math.ceil((1 - (1 - confidence) / 2) * reps) - 1)];
  return { effect: treatmentMedian - controlMedian, ci: [lo, hi], controlMedian, treatmentMedian };
}

/** What one arm of an A/B test did. */
export interface AbArm {
  version: string;
  requests: number;
  /** Requests whose call to this version failed. */
  errors: number;
  /** Answers that came back, and how many were invalid (malformed, empty, failed validators). */
  answered: number;
  invalid: number;
  ratings: { positive: number; negative: number };
  labels: { correct: number; total: number };
  latency: LatencySketch;
}

export interface AbMetric {
  metric: 'error-rate' | 'invalid-rate' | 'negative-feedback' | 'accuracy' | 'latency-p50';
  unit: 'rate' | 'ms';
  control: number;
  treatment: number;
  /** Treatment − control. */
  effect: number;
  ci: [number, number];
  pValue: number;
  test: string;
  nControl: number;
  nTreatment: number;
  /** p < 1 − confidence. */
  significant: boolean;
  /** Which way the effect goes for users: 'better', 'worse' or 'no difference' (not significant). */
  verdict: 'better' | 'worse' | 'no difference' | 'no data';
}

export interface AbComparison {
  control: string;
  treatment: string;
  metrics: AbMetric[];
}

function rateMetric(
  metric: AbMetric['metric'],
  control: RateCounts,
  treatment: RateCounts,
  confidence: number,
  higherIsBetter: boolean,
): AbMetric {
  const t = twoProportionTest(control, treatment, confidence);
  const has = control.trials > 0 && treatment.trials > 0;
  const significant = has && t.pValue < 1 - confidence;
  const verdict: AbMetric['verdict'] = !has ? 'no data' : !significant ? 'no difference' : t.effect > 0 === higherIsBetter ? 'better' : 'worse';
  return {
    metric,
    unit: 'rate',
    control: control.trials > 0 ? control.events / control.trials : NaN,
    treatment: treatment.trials > 0 ? treatment.events / treatment.trials : NaN,
    effect: t.effect,
    ci: t.ci,
    pValue: t.pValue,
    test: 'two-proportion z',
    nControl: control.trials,
    nTreatment: treatment.trials,
    significant,
    verdict,
  };
}

/** Every arm other than the control, compared with the control on every metric. */
export function abReport(arms: readonly AbArm[], control: string, options: { confidence?: number; reps?: number; seed?: number } = {}): AbComparison[] {
  const confidence = options.confidence ?? 0.95;
  const c = arms.find((a) => a.version === control);
  if (!c) throw new RangeError(`control arm ${control} is not among the arms`);
  const out: AbComparison[] = [];
  for (const t of arms) {
    if (t.version === control) continue;
    const metrics: AbMetric[] = [
      rateMetric('error-rate', { events: c.errors, trials: c.requests }, { events: t.errors, trials: t.requests }, confidence, false),
      rateMetric('invalid-rate', { events: c.invalid, trials: c.answered }, { events: t.invalid, trials: t.answered }, confidence, false),
      rateMetric(
        'negative-feedback',
        { events: c.ratings.negative, trials: c.ratings.negative + c.ratings.positive },
        { events: t.ratings.negative, trials: t.ratings.negative + t.ratings.positive },
        confidence,
        false,
      ),
      rateMetric('accuracy', { events: c.labels.correct, trials: c.labels.total }, { events: t.labels.correct, trials: t.labels.total }, confidence, true),
    ];
    const has = c.latency.count > 0 && t.latency.count > 0;
    const md = bootstrapMedianDifference(c.latency, t.latency, { confidence, reps: options.reps, seed: options.seed });
    let pValue = NaN;
    if (has) {
      const aligned = alignSketches(t.latency, c.latency);
      pValue = mannWhitneyUFromCounts(aligned.countsA, aligned.countsB, { alternative: 'two-sided' }).pValue;
    }
    const significant = has && pValue < 1 - confidence;
    metrics.push({
      metric: 'latency-p50',
      unit: 'ms',
      control: md.controlMedian,
      treatment: md.treatmentMedian,
      effect: md.effect,
      ci: md.ci,
      pValue,
      test: 'Mann–Whitney U; bootstrap CI of the median difference',
      nControl: c.latency.count,
      nTreatment: t.latency.count,
      significant,
      verdict: !has ? 'no data' : !significant ? 'no difference' : md.effect < 0 ? 'better' : 'worse',
    });
    out.push({ control, treatment: t.version, metrics });
  }
  return out;
}
