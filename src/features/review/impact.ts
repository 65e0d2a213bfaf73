// Impact figures counted from recorded traces: what happened to each request, per scope (the
// faulty version's arm, the whole model). Pure. The definitions follow the RCA engine's failure
// judge (src/core/rca/failure-judge.ts) so the postmortem and the RCA count the same things.
import { armOf, failedValidator, isOperationalFailure, notModelFailureClasses } from '../../core/rca/failure-judge.ts';
import type { Feedback, Trace } from '../../core/types.ts';
import type { ImpactFigures } from './postmortem-types.ts';

/** How one request went, from the client's point of view and the version's. */
export interface RequestOutcome {
  firstAttemptFailed: boolean;
  clientError: boolean;
  fallback: boolean;
  retriedOnStable: boolean;
  qualityFailure: boolean;
  refusedWhilePaused: boolean;
  affected: boolean;
}

export interface FeedbackFacts {
  negative: Set<string>;
  /** Latest ground-truth label per request. */
  labels: Map<string, string>;
}

export function feedbackFacts(feedback: readonly Feedback[] = []): FeedbackFacts {
  const negative = new Set<string>();
  const labels = new Map<string, string>();
  const latest = new Map<string, number>();
  for (const f of feedback) {
    if (f.rating === -1 || (f.rating === undefined && f.score !== undefined && f.score < 0)) negative.add(f.requestId);
    if (f.label !== undefined && f.label !== '' && f.receivedAt >= (latest.get(f.requestId) ?? -Infinity)) {
      labels.set(f.requestId, f.label);
      latest.set(f.requestId, f.receivedAt);
    }
  }
  return { negative, labels };
}

export function outcomeOf(t: Trace, facts: FeedbackFacts): RequestOutcome {
  const notModel = t.errorClass !== undefined && notModelFailureClasses.has(t.errorClass);
  const refusedWhilePaused = t.errorClass === 'paused';
  // A fallback answer served while the model was contained (no version chosen) is not a failed attempt.
  const firstAttemptFailed = isOperationalFailure(t) && !(t.status === 'fallback' && t.firstVersion === undefined && !t.retried);
  const clientError = (t.status === 'error' || t.status === 'blocked') && !notModel;
  const fallback = t.status === 'fallback';
  const retriedOnStable = t.retried && t.status === 'ok';
  const label = facts.labels.get(t.requestId);
  const qualityFailure =
    !clientError && (failedValidator(t) || facts.negative.has(t.requestId) || (label !== undefined && t.prediction !== undefined && label !== t.prediction));
  return {
    firstAttemptFailed,
    clientError,
    fallback,
    retriedOnStable,
    qualityFailure,
    refusedWhilePaused,
    affected: firstAttemptFailed || clientError || fallback || qualityFailure,
  };
}

/** Nearest-rank quantile of sorted values. */
const quantile = (sorted: readonly number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function impactFigures(traces: readonly Trace[], facts: FeedbackFacts): ImpactFigures {
  const out: ImpactFigures = {
    requests: traces.length,
    affectedRequests: 0,
    failedFirstAttempts: 0,
    clientErrors: 0,
    fallbackAnswers: 0,
    fallbackByKind: {},
    retriedOnStable: 0,
    qualityFailures: 0,
    refusedWhilePaused: 0,
    errorClasses: {},
    clientsAffected: null,
    clients: null,
    errorRate: null,
    latencyMs: { p50: null, p95: null },
  };
  const clients = new Set<string>();
  const affectedClients = new Set<string>();
  const latencies: number[] = [];
  for (const t of traces) {
    const o = outcomeOf(t, facts);
    latencies.push(t.latencyMs);
    if (t.client !== undefined) clients.add(t.client);
    if (o.affected) {
      out.affectedRequests++;
      if (t.client !== undefined) affectedClients.add(t.client);
    }
    if (o.firstAttemptFailed) out.failedFirstAttempts++;
    if (o.clientError) out.clientErrors++;
    if (o.fallback) {
      out.fallbackAnswers++;
      const kind = t.fallback ?? 'unknown';
      out.fallbackByKind[kind] = (out.fallbackByKind[kind] ?? 0) + 1;
    }
    if (o.retriedOnStable) out.retriedOnStable++;
    if (o.qualityFailure) out.qualityFailures++;
    if (o.refusedWhilePaused) out.refusedWhilePaused++;
    if (t.errorClass !== undefined) out.errorClasses[t.errorClass] = (out.errorClasses[t.errorClass] ?? 0) + 1;
  }
  if (clients.size > 0) {
    out.clients = clients.size;
    out.clientsAffected = affectedClients.size;
  }
  if (traces.length > 0) out.errorRate = round2((out.failedFirstAttempts / traces.length) * 100) / 100;
  latencies.sort((a, b) => a - b);
  out.latencyMs = { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) };
  return out;
}

/** Traces whose first attempt went to `version` (a retry on the stable version stays with it). */
export const onVersion = (traces: readonly Trace[], version: string): Trace[] => traces.filter((t) => armOf(t) === version);

export interface FallbackEffect {
  failedFirstAttempts: number;
  retriedOnStable: number;
  fallbackAnswers: number;
  /** Fallback answers that came back 2xx and passed every validator. */
  goodFallbackAnswers: number;
  clientErrors: number;
  uncaughtQualityFailures: number;
}

/**
 * How the automated safety nets did for the requests of the faulty version: a failed first
 * attempt is rescued by a successful retry on the stable version or a good fallback answer.
 */
export function fallbackEffect(traces: readonly Trace[], facts: FeedbackFacts): FallbackEffect {
  const out: FallbackEffect = { failedFirstAttempts: 0, retriedOnStable: 0, fallbackAnswers: 0, goodFallbackAnswers: 0, clientErrors: 0, uncaughtQualityFailures: 0 };
  for (const t of traces) {
    const o = outcomeOf(t, facts);
    if (o.qualityFailure && !o.fallback) out.uncaughtQualityFailures++;
    if (!o.firstAttemptFailed) continue;
    out.failedFirstAttempts++;
    if (o.retriedOnStable) out.retriedOnStable++;
    if (o.fallback) {
      out.fallbackAnswers++;
      if (t.httpStatus < 300 && !failedValidator(t)) out.goodFallbackAnswers++;
    }
    if (o.clientError) out.clientErrors++;
  }
  return out;
}
