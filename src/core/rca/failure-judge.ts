// What counts as a failed request during RCA. Incidents come from different signal families,
// but a root cause shows up in every bad outcome we can observe, so the judge is the union of
// them (plus "slow" for latency incidents, which would otherwise see no failures at all).
import { FIRST_UPSTREAM_HOST_TAG, type Feedback, type Trace } from '../types.ts';
import { quantile } from './rca-stats.ts';

export interface FailureJudge {
  isFailure(trace: Trace): boolean;
  /** What went wrong with a failed request, in one line (for error clustering). */
  reason(trace: Trace): string;
  /** Plain-language definition, shown with the result. */
  definition: string;
  /** Latency above which a request counts as slow (latency incidents only). */
  slowThresholdMs?: number;
}

/**
 * Upstream failure classes: the provider or the network between us and it. Not `circuit_open`:
 * a call the breaker skipped still failed its version (it stands for the failures that opened the
 * breaker), but it never reached the upstream, so it says nothing about the host.
 */
export const upstreamErrorClasses = new Set(['upstream_5xx', 'timeout', 'connection', 'upstream_429', 'rate_limited']);

/** The version a request was first sent to: a retry on the stable version does not hide the failing one. */
export const armOf = (trace: Trace): string => trace.firstVersion ?? trace.version ?? '(none)';

/**
 * The upstream host of a request's first attempt, the one its failure belongs to. After a retry
 * `upstreamHost` names the host that answered (the stable version's); the gateway tags the first
 * host, and older traces get it from the first version's upstream URL (`hostOfVersion`).
 * Undefined when a retried request's first host cannot be known.
 */
export function firstAttemptHost(trace: Trace, hostOfVersion?: (version: string) => string | undefined): string | undefined {
  const tagged = trace.tags?.[FIRST_UPSTREAM_HOST_TAG];
  if (tagged) return tagged;
  if (trace.firstVersion !== undefined && trace.firstVersion !== trace.version) return hostOfVersion?.(trace.firstVersion);
  return trace.upstreamHost ?? (trace.version !== undefined ? hostOfVersion?.(trace.version) : undefined);
}

/**
 * Outcomes that say nothing about the model: the client hung up, an input validator refused the
 * client's input, or Failsafe itself had paused the model (containment) — counting them would
 * make containment look like part of the fault.
 */
export const notModelFailureClasses = new Set(['client_disconnected', 'input_validator', 'paused', 'fallback_unavailable']);

/** Request failed in the data plane: error, blocked, fallback, or its first attempt failed and was retried. */
export const isOperationalFailure = (trace: Trace): boolean =>
  (trace.status !== 'ok' || trace.retried) && !(trace.errorClass !== undefined && notModelFailureClasses.has(trace.errorClass));

export const failedValidator = (trace: Trace): boolean => trace.validators?.some((v) => !v.passed) ?? false;

/** What a failed trace says went wrong, in one line. */
export function failureMessage(trace: Trace): string {
  if (trace.errorMessage) return trace.errorMessage;
  const validator = trace.validators?.find((v) => !v.passed);
  if (validator) return `validator ${validator.validator} failed${validator.message ? `: ${validator.message}` : ''}`;
  if (trace.errorClass) return trace.errorClass;
  if (trace.retried) return `first attempt on ${trace.firstVersion ?? 'the chosen version'} failed (retried)`;
  return `${trace.status} (HTTP ${trace.httpStatus})`;
}

export interface FeedbackIndex {
  /** Latest label per request id. */
  labels: Map<string, string>;
  /** Requests with at least one negative rating. */
  negative: Set<string>;
}

export function indexFeedback(feedback: readonly Feedback[]): FeedbackIndex {
  const labels = new Map<string, string>();
  const latestAt = new Map<string, number>();
  const negative = new Set<string>();
  for (const f of feedback) {
    if (f.rating === -1) negative.add(f.requestId);
    if (f.label !== undefined && f.label !== '' && f.receivedAt >= (latestAt.get(f.requestId) ?? -Infinity)) {
      labels.set(f.requestId, f.label);
      latestAt.set(f.requestId, f.receivedAt);
    }
  }
  return { labels, negative };
}

export function failureJudge(family: string, baseline: readonly Trace[], feedback: FeedbackIndex): FailureJudge {
  let slowThresholdMs: number | undefined;
  if (family === 'latency') {
    const ok = baseline.filter((t) => t.status === 'ok').map((t) => t.latencyMs).sort((x, y) => x - y);
    // Baseline p99, but at least twice the median: a tight baseline must not turn jitter into failures.
    if (ok.length >= 20) slowThresholdMs = Math.max(quantile(ok, 0.99), 2 * quantile(ok, 0.5));
  }
  const isFailure = (t: Trace): boolean => {
    if (isOperationalFailure(t) || failedValidator(t) || feedback.negative.has(t.requestId)) return true;
    const label = feedback.labels.get(t.requestId);
    if (label !== undefined && t.prediction !== undefined && label !== t.prediction) return true;
    return slowThresholdMs !== undefined && t.latencyMs > slowThresholdMs;
  };
  const reason = (t: Trace): string => {
    if (isOperationalFailure(t) || failedValidator(t)) return failureMessage(t);
    const label = feedback.labels.get(t.requestId);
    if (label !== undefined && t.prediction !== undefined && label !== t.prediction) return `predicted ${t.prediction}, labelled ${label}`;
    if (feedback.negative.has(t.requestId)) return 'negative user rating';
    if (slowThresholdMs !== undefined && t.latencyMs > slowThresholdMs) return `slow response (over ${Math.round(slowThresholdMs)} ms)`;
    return failureMessage(t);
  };
  const parts = ['error, blocked or fallback answer (not client disconnects, refused input or a paused model)', 'retried first attempt', 'failed validator', 'negative rating', 'label disagreeing with the prediction'];
  if (slowThresholdMs !== undefined) parts.push(`latency above ${Math.round(slowThresholdMs)} ms (baseline p99)`);
  return { isFailure, reason, definition: parts.join('; '), ...(slowThresholdMs !== undefined ? { slowThresholdMs } : {}) };
}
