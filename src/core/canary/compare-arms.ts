// Candidate vs stable arm, one monitor at a time, over the same time span (the current step).
// Each comparison returns breach / ok / insufficient_data with its numbers (see canary-settings.ts
// for what each verdict requires).
//
// Breaches come from the two-sample mSPRT of the detection core (stats/sequential.ts): its
// p-value is always valid, so the runner may look every second, and the running minimum is
// carried from look to look within one step (the same growing sample). Verdicts of "ok" come from
// exact Clopper–Pearson bounds: a non-inferiority statement, never the mere absence of a breach.
//
// The mixture is itself mixed over several spreads τ with equal weights: each normal mixture is a
// martingale under H0, so their average is one too and Ville's inequality still bounds the type-I
// error by α at every look; the price is at most ln(#τ) on the log scale. One τ alone is slow
// either for small effects (3% invalid vs 0%: τ = 0.1 needs ~30% more data than τ = 0.02) or
// for large ones (6 of 6 long inputs failing: τ = 0.05 misses α/5 where τ = 0.1 is far past it).
import { clopperPearsonLower, clopperPearsonUpper } from '../stats/distributions.ts';
import type { LatencySketch } from '../stats/latency-sketch.ts';
import { normalMixtureLogLr, type RateCounts } from '../stats/sequential.ts';
import { formatStat as fmt } from '../detectors/detector-result.ts';
import { slowLimitMs } from '../detectors/latency-detector.ts';
import type { CanaryMonitorId, CanarySettings } from './canary-settings.ts';

export type CanaryMonitorStatus = 'ok' | 'breach' | 'insufficient_data' | 'skipped';

export interface SegmentResult {
  segment: string;
  candidate: { requests: number; failures: number };
  stable: { requests: number; failures: number };
  status: CanaryMonitorStatus;
  pValue?: number;
  /** Worse than stable, but no worse than the candidate's other inputs: not a breach of this monitor. */
  spread?: boolean;
  /** Worse there than on stable and on its other inputs, not yet enough data to abort: holds the step. */
  suspect?: boolean;
}

export interface QuantileResult {
  quantile: number;
  candidateMs: number;
  stableMs: number;
  /** Latency a candidate request must exceed to count as slow: max(minRatio × stable, stable + minDeltaMs). */
  thresholdMs: number;
  candidateSlow: number;
  stableSlow: number;
  pValue?: number;
}

/** One monitor's verdict with every number it was made from. */
export interface CanaryMonitorResult {
  monitor: CanaryMonitorId;
  family: string;
  status: CanaryMonitorStatus;
  /** Whether a step needs this monitor's "ok". */
  required: boolean;
  test: string;
  statistic?: number;
  threshold?: number;
  /** Always-valid p-value of the sequential test (running minimum over this step's looks). */
  pValue?: number;
  alpha?: number;
  nCandidate: number;
  nStable: number;
  /** The candidate's rate (or latency in ms) and the stable arm's. */
  observed?: number;
  baseline?: number;
  /** The exact bound the verdict used (effect gate or non-inferiority). */
  bound?: number;
  margin?: number;
  /** A few words for a status line: "n=12 < 200", "12% vs 0.4%". */
  summary: string;
  detail: string;
  segments?: SegmentResult[];
  quantiles?: QuantileResult[];
  /**
   * Not required, yet holding the step: the monitor has seen something that needs a verdict
   * (a bucket where the candidate fails far more, but too little traffic to abort on yet).
   */
  holds?: boolean;
}

export interface SegmentCounts {
  requests: number;
  failures: number;
}

export interface MixtureTest {
  logLikelihoodRatio: number;
  /** Always-valid p-value: min(previous, 1/Λ). */
  pValue: number;
  reject: boolean;
}

/**
 * Two-sample mSPRT of the candidate's rate against the stable arm's, the normal mixture averaged
 * over `taus`. Variance as msprtTwoSample: the larger of the two (½-count smoothed) Bernoulli
 * variances, which keeps small candidate samples at 0% or 100% from looking certain.
 */
export function mixtureTwoSample(candidate: RateCounts, stable: RateCounts, options: { alpha: number; taus: readonly number[]; previousPValue?: number }): MixtureTest {
  const prev = options.previousPValue ?? 1;
  if (candidate.trials <= 0 || stable.trials <= 0) return { logLikelihoodRatio: 0, pValue: prev, reject: prev <= options.alpha };
  const pc = (candidate.events + 0.5) / (candidate.trials + 1);
  const pb = (stable.events + 0.5) / (stable.trials + 1);
  const variance = Math.max(pc * (1 - pc), pb * (1 - pb)) * (1 / candidate.trials + 1 / stable.trials);
  const delta = candidate.events / candidate.trials - stable.events / stable.trials;
  const logs = options.taus.map((tau) => normalMixtureLogLr(delta, variance, tau));
  const max = Math.max(...logs);
  const logLr = max + Math.log(logs.reduce((acc, l) => acc + Math.exp(l - max), 0) / logs.length);
  const pValue = Math.min(prev, Math.min(1, Math.exp(-logLr)));
  return { logLikelihoodRatio: logLr, pValue, reject: pValue <= options.alpha };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${fmt(x * 100)}%` : 'n/a');
const ratio = (e: number, n: number): string => `${pct(n > 0 ? e / n : NaN)} (${e}/${n})`;

export interface RateComparisonInput {
  monitor: CanaryMonitorId;
  family: string;
  /** 'increase': events are bad (errors); 'decrease': events are good (correct labels). */
  direction: 'increase' | 'decrease';
  /** What the events are, for the detail text ("failed calls per request"). */
  describe: string;
  candidate: RateCounts;
  stable: RateCounts;
  settings: CanarySettings;
  margin: number;
  required: boolean;
  /** Overrides settings.alpha (segments split it). */
  alpha?: number;
  previousPValue?: number;
  /** Breach test only: no non-inferiority verdict (segments). */
  breachOnly?: boolean;
}

export function compareRates(input: RateComparisonInput): CanaryMonitorResult {
  const s = input.settings;
  const alpha = input.alpha ?? s.alpha;
  const increase = input.direction === 'increase';
  const sign = increase ? 1 : -1;
  const { events: eC, trials: nC } = input.candidate;
  const { events: eS, trials: nS } = input.stable;
  const rateC = nC > 0 ? eC / nC : NaN;
  const rateS = nS > 0 ? eS / nS : NaN;
  const base: CanaryMonitorResult = {
    monitor: input.monitor,
    family: input.family,
    status: 'insufficient_data',
    required: input.required,
    test: 'msprt-two-sample',
    alpha,
    nCandidate: nC,
    nStable: nS,
    summary: '',
    detail: '',
  };
  if (nC > 0) base.observed = rateC;
  if (nS > 0) base.baseline = rateS;
  const versus = `candidate ${ratio(eC, nC)} vs stable ${ratio(eS, nS)} ${input.describe}`;

  // 1. Breach: the sequential test rejects, on the bad side, with a practically large effect.
  let testNote = `breach test waits for ≥ ${s.minBreachBaseline} stable samples`;
  if (nC > 0 && nS >= s.minBreachBaseline) {
    const test = mixtureTwoSample(input.candidate, input.stable, { alpha, taus: s.taus, previousPValue: input.previousPValue });
    const bound = increase ? clopperPearsonLower(eC, nC, s.confidence) : clopperPearsonUpper(eC, nC, s.confidence);
    const badNow = increase ? rateC : 1 - rateC;
    const badBefore = increase ? rateS : 1 - rateS;
    const relative = badBefore > 0 ? badNow / badBefore : Infinity;
    const effect = sign * (bound - rateS);
    base.pValue = test.pValue;
    base.statistic = test.logLikelihoodRatio;
    base.threshold = alpha;
    const effectOk = effect >= s.minEffect.absolute && relative >= s.minEffect.relative;
    testNote =
      `always-valid p ${fmt(test.pValue)} ${test.reject ? '≤' : '>'} α ${fmt(alpha)}; ` +
      `${s.confidence * 100}% ${increase ? 'lower' : 'upper'} bound ${pct(bound)}, ${effect >= 0 ? '' : '-'}${fmt(Math.abs(effect) * 100)} pt ${increase ? 'above' : 'below'} stable (breach needs ≥ ${fmt(s.minEffect.absolute * 100)} pt and ×${s.minEffect.relative} on the bad side, got ×${fmt(relative)})`;
    if (test.reject && sign * (rateC - rateS) > 0 && effectOk) {
      return {
        ...base,
        status: 'breach',
        bound,
        summary: `${pct(rateC)} vs ${pct(rateS)}, p ${fmt(test.pValue)}`,
        detail: `${versus}; ${testNote}`,
      };
    }
  }

  if (input.breachOnly) {
    return { ...base, status: nC >= s.minSamples ? 'ok' : 'insufficient_data', summary: `${pct(rateC)} vs ${pct(rateS)}`, detail: `${versus}; ${testNote}` };
  }
  // 2. Ok: enough data, and confidently no worse than stable + margin.
  if (nC < s.minSamples) {
    return { ...base, summary: `n=${nC} < ${s.minSamples}`, detail: `${versus}; ${nC} candidate samples, need ≥ ${s.minSamples}; ${testNote}` };
  }
  if (nS < s.minBaselineSamples) {
    return { ...base, summary: `stable n=${nS} < ${s.minBaselineSamples}`, detail: `${versus}; ${nS} stable samples, need ≥ ${s.minBaselineSamples}; ${testNote}` };
  }
  const bound = increase ? clopperPearsonUpper(eC, nC, s.confidence) : clopperPearsonLower(eC, nC, s.confidence);
  const worseBy = sign * (bound - rateS);
  const ok = worseBy <= input.margin;
  const niNote =
    `non-inferiority: ${s.confidence * 100}% ${increase ? 'upper' : 'lower'} bound ${pct(bound)} is ${fmt(worseBy * 100)} pt ${increase ? 'above' : 'below'} stable, ` +
    `margin ${fmt(input.margin * 100)} pt`;
  return {
    ...base,
    status: ok ? 'ok' : 'insufficient_data',
    bound,
    margin: input.margin,
    summary: ok ? `${pct(rateC)} vs ${pct(rateS)}` : `inconclusive: bound ${pct(bound)} vs stable ${pct(rateS)} + ${fmt(input.margin * 100)} pt`,
    detail: `${versus}; ${testNote}; ${niNote}${ok ? '' : ' (not yet shown)'}`,
  };
}

export interface LatencyComparisonInput {
  candidate: LatencySketch;
  stable: LatencySketch;
  settings: CanarySettings;
  required: boolean;
  /** Running minimum p-value per quantile (key: the quantile as a string). */
  previousPValues?: Record<string, number>;
}

const TAIL_MARGIN = 0.05;

/**
 * Latency as proportions: "the candidate's q-quantile is ≥ T" is the same statement as "more
 * than 1−q of its requests are slower than T", with T = max(minRatio × stable's q-quantile,
 * stable's + minDeltaMs). Breach: the share of candidate requests slower than T beats the
 * stable arm's share (two-sample mSPRT at α / #quantiles) and its exact lower bound exceeds 1−q.
 * Ok: for every quantile the exact upper bound of that share stays below 1−q (tail quantiles:
 * or below the stable arm's own share + 5 points).
 */
export function compareLatency(input: LatencyComparisonInput): CanaryMonitorResult {
  const s = input.settings;
  const c = input.candidate;
  const b = input.stable;
  const nC = c.count;
  const nS = b.count;
  const qs = s.latency.quantiles;
  const alpha = s.alpha / Math.max(1, qs.length);
  const base: CanaryMonitorResult = {
    monitor: 'latency',
    family: 'latency',
    status: 'insufficient_data',
    required: input.required,
    test: 'msprt-two-sample (share slower than threshold)',
    alpha,
    nCandidate: nC,
    nStable: nS,
    summary: '',
    detail: '',
  };
  if (nC === 0 || nS === 0) {
    return { ...base, summary: `n=${nC} < ${s.minSamples}`, detail: `${nC} candidate and ${nS} stable latencies: nothing to compare` };
  }
  base.observed = c.quantile(0.5);
  base.baseline = b.quantile(0.5);
  const quantiles: QuantileResult[] = [];
  let breach: QuantileResult | undefined;
  let breachBound = 0;
  let allOk = true;
  let worstOk: { q: number; upper: number; limit: number } | undefined;
  for (const q of qs) {
    const ref = b.quantile(q);
    const cur = c.quantile(q);
    const t = slowLimitMs(ref, s.latency.minRatio, s.latency.minDeltaMs);
    const eC = c.countAbove(t);
    const eS = b.countAbove(t);
    const qr: QuantileResult = { quantile: q, candidateMs: cur, stableMs: ref, thresholdMs: t, candidateSlow: eC, stableSlow: eS };
    if (nS >= s.minBreachBaseline) {
      const test = mixtureTwoSample({ events: eC, trials: nC }, { events: eS, trials: nS }, { alpha, taus: s.taus, previousPValue: input.previousPValues?.[String(q)] });
      qr.pValue = test.pValue;
      const lower = clopperPearsonLower(eC, nC, s.confidence);
      if (!breach && test.reject && eC / nC > eS / nS && lower > 1 - q) {
        breach = qr;
        breachBound = lower;
      }
    }
    // "No slower": the candidate's q-quantile is confidently below T. In the tail, what the stable
    // arm itself does counts too: a tail as heavy as the stable's (+ 5 points) is no worse — under
    // load (event-loop stalls) 8% of the stable's own requests can sit above 1.2 × its p90.
    const upper = clopperPearsonUpper(eC, nC, s.confidence);
    const limit = q >= 0.5 + 1e-9 ? Math.max(1 - q, eS / nS + TAIL_MARGIN) : 1 - q;
    if (!(upper < limit)) allOk = false;
    if (!worstOk || upper - limit > worstOk.upper - worstOk.limit) worstOk = { q, upper, limit };
    quantiles.push(qr);
  }
  const line = quantiles
    .map(
      (r) =>
        `p${fmt(r.quantile * 100)} ${fmt(r.candidateMs)} ms vs ${fmt(r.stableMs)} ms (×${fmt(r.candidateMs / r.stableMs)}); ` +
        `slower than ${fmt(r.thresholdMs)} ms: candidate ${r.candidateSlow}/${nC}, stable ${r.stableSlow}/${nS}` +
        (r.pValue !== undefined ? `, p ${fmt(r.pValue)}` : ''),
    )
    .join('; ');
  const pMin = Math.min(...quantiles.map((r) => r.pValue ?? 1));
  if (quantiles.some((r) => r.pValue !== undefined)) base.pValue = pMin;
  if (breach) {
    return {
      ...base,
      status: 'breach',
      statistic: breach.candidateMs / breach.stableMs,
      threshold: s.latency.minRatio,
      pValue: breach.pValue,
      bound: breachBound,
      observed: breach.candidateMs,
      baseline: breach.stableMs,
      quantiles,
      summary: `p${fmt(breach.quantile * 100)} ${fmt(breach.candidateMs)} ms vs ${fmt(breach.stableMs)} ms (×${fmt(breach.candidateMs / breach.stableMs)})`,
      detail:
        `${line}; p${fmt(breach.quantile * 100)}: the share of candidate requests slower than ${fmt(breach.thresholdMs)} ms has ` +
        `${s.confidence * 100}% lower bound ${pct(breachBound)} > ${pct(1 - breach.quantile)}, always-valid p ${fmt(breach.pValue!)} ≤ α ${fmt(alpha)}`,
    };
  }
  const stat = { statistic: (base.observed ?? NaN) / (base.baseline ?? NaN), threshold: s.latency.minRatio, quantiles };
  if (nC < s.minSamples) return { ...base, ...stat, summary: `n=${nC} < ${s.minSamples}`, detail: `${line}; ${nC} candidate requests, need ≥ ${s.minSamples}` };
  if (nS < s.minBaselineSamples) {
    return { ...base, ...stat, summary: `stable n=${nS} < ${s.minBaselineSamples}`, detail: `${line}; ${nS} stable requests, need ≥ ${s.minBaselineSamples}` };
  }
  const niNote = `non-inferiority: at every quantile q the ${s.confidence * 100}% upper bound of the slow share must stay below 1−q (in the tail: or the stable arm's own share + ${TAIL_MARGIN * 100} pt) (worst: p${fmt(worstOk!.q * 100)} ${pct(worstOk!.upper)} vs ${pct(worstOk!.limit)})`;
  return {
    ...base,
    ...stat,
    status: allOk ? 'ok' : 'insufficient_data',
    bound: worstOk!.upper,
    summary: allOk ? `p50 ${fmt(base.observed!)} ms vs ${fmt(base.baseline!)} ms` : `inconclusive: p${fmt(worstOk!.q * 100)} slow share bound ${pct(worstOk!.upper)} ≥ ${pct(worstOk!.limit)}`,
    detail: `${line}; ${niNote}`,
  };
}

/** Label of the input-length bucket a request falls in: "0-255", "256-1023", …, "16384+". */
export function inputLengthBucket(chars: number, edges: readonly number[]): string {
  let lo = 0;
  for (const e of edges) {
    if (chars < e) return `${lo}-${e - 1}`;
    lo = e;
  }
  return `${lo}+`;
}

export interface SegmentComparisonInput {
  /** Failures per input-length bucket (a request fails when its attempt on that arm failed or was invalid). */
  candidate: Record<string, SegmentCounts>;
  stable: Record<string, SegmentCounts>;
  settings: CanarySettings;
  required: boolean;
  previousPValues?: Record<string, number>;
}

/**
 * A candidate that fails only on some inputs (long ones) hides in the overall rate when those
 * inputs are rare. Each bucket is compared on its own (α split across the buckets that have
 * candidate traffic). This check is never required (a bucket with little traffic would hold every
 * step for data it may never get), but a suspect bucket holds the step: the candidate failed there
 * at least SUSPECT_FAILURES times, or every time so far, concentrated, and worse than stable by the breach's effect rule (a
 * bucket stable has no traffic in counts as 0%), and only the sample size stands between it and an
 * abort. A step does not pass over that; it waits for the data (or its deadline, and then what
 * onInsufficientData says).
 */
export function compareSegments(input: SegmentComparisonInput): CanaryMonitorResult {
  const s = input.settings;
  const keys = [...new Set([...Object.keys(input.candidate), ...Object.keys(input.stable)])].sort(segmentOrder);
  const active = keys.filter((k) => (input.candidate[k]?.requests ?? 0) > 0);
  const alpha = s.alpha / Math.max(1, active.length);
  // A bucket breaches only when the candidate fails there more than on its other inputs. Failures
  // spread over every input length (or all traffic in one bucket) are the overall monitors' to
  // judge, error-rate and output-validity with their margins: a segment test of the same data
  // would only race them and name the wrong cause.
  let allRequests = 0;
  let allFailures = 0;
  for (const k of active) {
    allRequests += input.candidate[k].requests;
    allFailures += input.candidate[k].failures;
  }
  const concentrated = (c: SegmentCounts): boolean => {
    const restRequests = allRequests - c.requests;
    if (restRequests <= 0) return false;
    return exceeds(c.failures / c.requests, (allFailures - c.failures) / restRequests, s);
  };
  const segments: SegmentResult[] = [];
  let nC = 0;
  let nS = 0;
  let breach: { seg: SegmentResult; r: CanaryMonitorResult } | undefined;
  for (const k of keys) {
    const c = input.candidate[k] ?? { requests: 0, failures: 0 };
    const b = input.stable[k] ?? { requests: 0, failures: 0 };
    nC += c.requests;
    nS += b.requests;
    const seg: SegmentResult = { segment: k, candidate: { ...c }, stable: { ...b }, status: 'skipped' };
    if (c.requests > 0) {
      const r = compareRates({
        monitor: 'segment:input-length',
        family: 'errors',
        direction: 'increase',
        describe: 'failed',
        candidate: { events: c.failures, trials: c.requests },
        stable: { events: b.failures, trials: b.requests },
        settings: { ...s, minBreachBaseline: Math.min(s.minBreachBaseline, 20) },
        margin: s.margins.errors,
        required: false,
        alpha,
        previousPValue: input.previousPValues?.[k],
        breachOnly: true,
      });
      const onlyHere = concentrated(c);
      const worse = r.status === 'breach' && onlyHere;
      seg.status = worse ? 'breach' : 'ok';
      if (r.status === 'breach' && !worse) seg.spread = true;
      else if (!worse && onlyHere && (c.failures >= SUSPECT_FAILURES || c.failures === c.requests) && exceeds(c.failures / c.requests, b.requests > 0 ? b.failures / b.requests : 0, s)) {
        seg.status = 'insufficient_data';
        seg.suspect = true;
      }
      if (r.pValue !== undefined) seg.pValue = r.pValue;
      if (worse && !breach) breach = { seg, r };
    }
    segments.push(seg);
  }
  const line = segments
    .map((g) => `${g.segment} chars: candidate ${g.candidate.failures}/${g.candidate.requests} failed, stable ${g.stable.failures}/${g.stable.requests}${g.status === 'breach' ? ' (breach)' : g.spread ? ' (worse, as on other inputs)' : g.suspect ? ' (suspect)' : ''}`)
    .join('; ');
  const base: CanaryMonitorResult = {
    monitor: 'segment:input-length',
    family: 'errors',
    status: 'insufficient_data',
    required: input.required,
    test: 'msprt-two-sample per input-length bucket',
    alpha,
    nCandidate: nC,
    nStable: nS,
    segments,
    summary: '',
    detail: line || 'no traces yet',
  };
  if (breach) {
    const g = breach.seg;
    return {
      ...breach.r,
      ...base,
      status: 'breach',
      pValue: breach.r.pValue,
      statistic: breach.r.statistic,
      threshold: alpha,
      observed: g.candidate.failures / g.candidate.requests,
      baseline: g.stable.requests > 0 ? g.stable.failures / g.stable.requests : undefined,
      bound: breach.r.bound,
      summary: `inputs of ${g.segment} chars: ${ratio(g.candidate.failures, g.candidate.requests)} failed vs ${ratio(g.stable.failures, g.stable.requests)}`,
      detail: `${line}; ${breach.r.detail}`,
    };
  }
  const g = segments.find((x) => x.suspect);
  if (g) {
    return { ...base, holds: true, summary: `inputs of ${g.segment} chars: ${ratio(g.candidate.failures, g.candidate.requests)} failed vs ${ratio(g.stable.failures, g.stable.requests)}, too few to judge yet` };
  }
  if (nC < s.minSamples) return { ...base, summary: `n=${nC} < ${s.minSamples}` };
  return { ...base, status: 'ok', summary: `${active.length} buckets, none worse` };
}

/**
 * Candidate failures in one bucket before a worse-looking bucket holds the step (one or two prove
 * little), unless every candidate request there failed: a step must not pass while the candidate
 * has answered none of a bucket's inputs (a clean-clone run passed step 25 with long inputs at 1/1
 * failed and 0/16 on stable, and aborted only at 50). That hold lasts until one succeeds there.
 */
const SUSPECT_FAILURES = 3;

/** The breach's effect rule on two point estimates: ≥ minEffect.absolute higher and ×minEffect.relative. */
function exceeds(rate: number, other: number, s: CanarySettings): boolean {
  return rate - other >= s.minEffect.absolute && rate >= other * s.minEffect.relative;
}

function segmentOrder(a: string, b: string): number {
  return parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0);
}

export interface AgreementInput {
  /** Requests both arms answered (the shadow copy and the answer the client got). */
  pairs: number;
  /** Pairs whose answers agree (same text after whitespace normalisation, or the same prediction). */
  agreements: number;
  /** False when traces keep no outputs (traces.captureOutput: false): nothing to compare. */
  captured: boolean;
  settings: CanarySettings;
}

/** Shadow phase: how often the candidate answers what the stable version answered. */
export function compareAgreement(input: AgreementInput): CanaryMonitorResult {
  const s = input.settings;
  const min = s.minShadowAgreement;
  const { pairs: n, agreements: k } = input;
  const base: CanaryMonitorResult = {
    monitor: 'shadow-agreement',
    family: 'consistency',
    status: 'skipped',
    required: min !== undefined,
    test: 'agreement rate (Clopper–Pearson)',
    nCandidate: n,
    nStable: n,
    summary: '',
    detail: '',
  };
  if (!input.captured) return { ...base, summary: 'outputs not captured', detail: 'traces keep no outputs (traces.captureOutput is false): agreement cannot be measured' };
  if (n > 0) base.observed = k / n;
  const line = `${ratio(k, n)} of shadow answers agree with the stable answer`;
  if (min === undefined) return { ...base, summary: n > 0 ? `${pct(k / n)} agree` : 'no pairs yet', detail: `${line}; not gated (set minShadowAgreement to gate on it)` };
  base.threshold = min;
  // The breach bound is taken at 1 − α: aborting is the costly verdict.
  const upper = clopperPearsonUpper(k, n, 1 - s.alpha);
  if (n > 0 && upper < min) {
    return { ...base, status: 'breach', bound: upper, summary: `${pct(k / n)} agree < ${pct(min)}`, detail: `${line}; ${fmt((1 - s.alpha) * 100)}% upper bound ${pct(upper)} < required ${pct(min)}` };
  }
  if (n < s.minSamples) return { ...base, status: 'insufficient_data', summary: `n=${n} < ${s.minSamples}`, detail: `${line}; ${n} pairs, need ≥ ${s.minSamples}` };
  const lower = clopperPearsonLower(k, n, s.confidence);
  const ok = lower >= min;
  return {
    ...base,
    status: ok ? 'ok' : 'insufficient_data',
    bound: lower,
    summary: ok ? `${pct(k / n)} agree` : `inconclusive: bound ${pct(lower)} < ${pct(min)}`,
    detail: `${line}; ${s.confidence * 100}% lower bound ${pct(lower)} ${ok ? '≥' : '<'} required ${pct(min)}`,
  };
}
