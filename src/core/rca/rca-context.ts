// Everything the detectors share, computed once: the two windows (baseline before the onset,
// incident from onset to now), the failure judge, the suspect version, route changes with what
// each one gave to which version.
import type { EpochMs, Feedback, ModelVersion, RouteChange, Trace } from '../types.ts';
import { estimateOnset } from './estimate-onset.ts';
import { armOf, type FailureJudge, type FeedbackIndex, failureJudge, firstAttemptHost, indexFeedback } from './failure-judge.ts';
import type { Hypothesis, HypothesisEvidence, RcaCategory, RcaInput, RcaOptions } from './rca-types.ts';
import { compareRates, significanceStrength } from './rca-stats.ts';

export type ResolvedOptions = Required<RcaOptions>;

export const defaultRcaOptions: ResolvedOptions = {
  changeLookbackMs: 60 * 60_000,
  changeSlackMs: 2 * 60_000,
  conflictWindowMs: 5 * 60_000,
  alpha: 0.01,
  minSegmentRequests: 20,
  maxSamples: 5,
};

/** A route change, with the versions whose weight (or shadow share) it raised. */
export interface TrafficChange {
  change: RouteChange;
  previous?: RouteChange;
  /** version -> [weight before, weight after], for versions whose weight went up. */
  gains: Record<string, [number, number]>;
}

export interface RcaContext {
  input: RcaInput;
  options: ResolvedOptions;
  model: string;
  family: string;
  now: EpochMs;
  detectedAt: EpochMs;
  onset: EpochMs;
  onsetEstimated: boolean;
  /** Non-shadow traces of the model before the onset, oldest first. */
  baseline: Trace[];
  /** Non-shadow traces of the model from the onset to now, oldest first. */
  incident: Trace[];
  judge: FailureJudge;
  failed: (t: Trace) => boolean;
  /** Upstream host of a request's first attempt (where its failure happened); undefined when unknown. */
  hostOf: (t: Trace) => string | undefined;
  incidentFailures: number;
  baselineFailures: number;
  feedback: Feedback[];
  feedbackIndex: FeedbackIndex;
  versions: Map<string, ModelVersion>;
  /** Oldest first, this model only. */
  routeHistory: RouteChange[];
  trafficChanges: TrafficChange[];
  /** The version under suspicion: the incident's, else the one whose failures stand out most. */
  suspect?: string;
  lastStable?: ModelVersion;
}

export interface DetectorOutcome {
  category: RcaCategory;
  hypothesis?: Hypothesis;
  /** Why the category could not be evaluated (not enough data), when hypothesis is absent. */
  notEvaluated?: string;
  /** Facts analyze.ts uses to explain hypotheses away against each other. */
  facts?: Record<string, unknown>;
}

/** A detector's evaluated outcome: its hypothesis, filed under the same category. */
export function hypothesisOutcome(category: RcaCategory, confidence: number, summary: string, evidence: HypothesisEvidence): DetectorOutcome {
  return { category, hypothesis: { category, confidence, summary, evidence } };
}

export const iso = (ms: EpochMs): string => new Date(ms).toISOString();

/** Up to n request ids of traces matching `pred`, oldest first (real ids from the input only). */
export function sampleIds(traces: readonly Trace[], pred: (t: Trace) => boolean, n: number): string[] {
  const out: string[] = [];
  for (const t of traces) {
    if (out.length >= n) break;
    if (pred(t)) out.push(t.requestId);
  }
  return out;
}

/** host:port of an upstream URL, the same form the gateway records in `trace.upstreamHost`. */
export function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function weightChanges(history: readonly RouteChange[]): TrafficChange[] {
  const out: TrafficChange[] = [];
  for (let i = 0; i < history.length; i++) {
    const change = history[i];
    const previous = i > 0 ? history[i - 1] : undefined;
    const gains: Record<string, [number, number]> = {};
    const versions = new Set([...Object.keys(change.weights), ...Object.keys(previous?.weights ?? {})]);
    for (const v of versions) {
      const before = previous?.weights[v] ?? 0;
      const after = change.weights[v] ?? 0;
      if (after > before) gains[v] = [before, after];
    }
    if (change.shadow && change.shadow.version !== previous?.shadow?.version) {
      gains[change.shadow.version] ??= [previous?.weights[change.shadow.version] ?? 0, change.weights[change.shadow.version] ?? 0];
    }
    out.push({ change, ...(previous ? { previous } : {}), gains });
  }
  return out;
}

export function buildContext(input: RcaInput): RcaContext {
  const options = { ...defaultRcaOptions, ...(input.options ?? {}) };
  const { incident, now } = input;
  const model = incident.model;
  const traces = input.traces
    .filter((t) => t.model === model && !t.shadow && t.startedAt <= now)
    .sort((a, b) => a.startedAt - b.startedAt || (a.requestId < b.requestId ? -1 : 1));
  const feedback = input.feedback.filter((f) => f.model === model);
  const feedbackIndex = indexFeedback(feedback);

  let onset = incident.onsetAt;
  let onsetEstimated = false;
  if (onset === undefined) {
    const before = traces.filter((t) => t.startedAt <= incident.detectedAt);
    // The latency threshold needs a baseline; the first half of the history stands in for it.
    const provisional = failureJudge(incident.family, before.slice(0, Math.floor(before.length / 2)), feedbackIndex);
    const estimate = estimateOnset(before.map((t) => ({ at: t.startedAt, failed: provisional.isFailure(t) })));
    onset = estimate?.at ?? Math.max(traces[0]?.startedAt ?? incident.detectedAt, incident.detectedAt - 10 * 60_000);
    onsetEstimated = true;
  }
  const baseline = traces.filter((t) => t.startedAt < onset);
  const incidentTraces = traces.filter((t) => t.startedAt >= onset);
  const judge = failureJudge(incident.family, baseline, feedbackIndex);
  // Judged once: every detector asks again and again. A Set of the (few) failures is cheaper
  // than a WeakMap over every trace, which burdens the garbage collector.
  const failedSet = new Set<Trace>();
  for (const t of traces) if (judge.isFailure(t)) failedSet.add(t);
  const failed = (t: Trace): boolean => failedSet.has(t);

  const versions = new Map(input.versions.filter((v) => v.model === model).map((v) => [v.version, v]));
  const versionHost = (v: string) => {
    const url = versions.get(v)?.upstream.url;
    return url === undefined ? undefined : hostOfUrl(url);
  };
  const hostOf = (t: Trace) => firstAttemptHost(t, versionHost);
  const routeHistory = input.routeHistory.filter((c) => c.model === model).sort((a, b) => a.at - b.at || a.revision - b.revision);
  let incidentFailures = 0;
  for (const t of incidentTraces) if (failedSet.has(t)) incidentFailures++;
  const baselineFailures = failedSet.size - incidentFailures;

  const ctx: RcaContext = {
    input,
    options,
    model,
    family: incident.family,
    now,
    detectedAt: incident.detectedAt,
    onset,
    onsetEstimated,
    baseline,
    incident: incidentTraces,
    judge,
    failed,
    hostOf,
    incidentFailures,
    baselineFailures,
    feedback,
    feedbackIndex,
    versions,
    routeHistory,
    trafficChanges: weightChanges(routeHistory),
    ...(input.lastStable ? { lastStable: input.lastStable } : {}),
  };
  const suspect = incident.version ?? inferSuspect(ctx);
  if (suspect) ctx.suspect = suspect;
  return ctx;
}

/** The arm whose incident-window failure rate stands out most against the other arms. */
function inferSuspect(ctx: RcaContext): string | undefined {
  const byArm = new Map<string, { n: number; f: number }>();
  for (const t of ctx.incident) {
    const arm = armOf(t);
    const s = byArm.get(arm) ?? { n: 0, f: 0 };
    s.n++;
    if (ctx.failed(t)) s.f++;
    byArm.set(arm, s);
  }
  if (byArm.size === 1) return [...byArm.keys()][0];
  let best: { arm: string; p: number } | undefined;
  for (const [arm, s] of byArm) {
    if (s.n < 10 || s.f === 0) continue;
    const p = compareRates(s.f, s.n, ctx.incidentFailures - s.f, ctx.incident.length - s.n).pValue;
    if (!best || p < best.p) best = { arm, p };
  }
  return best?.arm;
}

export interface ArmConcentration {
  requests: number;
  failures: number;
  comparisonRequests: number;
  comparisonFailures: number;
  /** Other arms in the same window, or the whole model before the onset when they are too few. */
  comparedWith: string;
  usedOtherArms: boolean;
  aRate: number;
  bRate: number;
  lift: number;
  pValue: number;
  significance: number;
  traces: Trace[];
}

const MIN_COMPARISON_REQUESTS = 30;

/**
 * Does `version` fail more than the rest? Compared with the other arms in the same window when
 * they carried enough traffic (same inputs, same time), otherwise with the model before the onset.
 * Undefined when there is nothing to compare with.
 */
export function armConcentration(ctx: RcaContext, version: string): ArmConcentration | undefined {
  const onArm = ctx.incident.filter((t) => armOf(t) === version);
  const others = ctx.incident.filter((t) => armOf(t) !== version);
  const usedOtherArms = others.length >= MIN_COMPARISON_REQUESTS;
  const comparison = usedOtherArms ? others : ctx.baseline;
  if (comparison.length < MIN_COMPARISON_REQUESTS || onArm.length === 0) return undefined;
  const failures = onArm.filter(ctx.failed).length;
  const comparisonFailures = comparison.filter(ctx.failed).length;
  const test = compareRates(failures, onArm.length, comparisonFailures, comparison.length);
  return {
    requests: onArm.length,
    failures,
    comparisonRequests: comparison.length,
    comparisonFailures,
    comparedWith: usedOtherArms ? [...new Set(others.map(armOf))].sort().join(', ') : 'all versions before the onset',
    usedOtherArms,
    ...test,
    significance: significanceStrength(test.pValue),
    traces: onArm,
  };
}

/** Traffic changes that raised `version`'s weight within the lookback window before the onset. */
export function gainsNearOnset(ctx: RcaContext, version?: string): TrafficChange[] {
  const { changeLookbackMs, changeSlackMs } = ctx.options;
  return ctx.trafficChanges.filter(
    (c) =>
      c.change.at >= ctx.onset - changeLookbackMs &&
      c.change.at <= Math.min(ctx.onset + changeSlackMs, ctx.detectedAt) &&
      (version === undefined ? Object.keys(c.gains).length > 0 : c.gains[version] !== undefined),
  );
}
