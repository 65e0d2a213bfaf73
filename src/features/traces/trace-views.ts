// JSON answers for traces: camelCase, times as ISO 8601 UTC. A listing carries the outcome and a
// short preview of input and output; the detail carries everything recorded.
import { isoTime } from '../../core/iso-time.ts';
import type { Feedback, Trace } from '../../core/types.ts';
import type { FeedbackSummary, TraceDetail, TraceHit } from './trace-explorer.ts';

const PREVIEW = 200;
const preview = (s: string | undefined): string | undefined => (s === undefined ? undefined : s.length > PREVIEW ? `${s.slice(0, PREVIEW - 1)}…` : s);

/** The fields every listing shows. */
export function traceSummaryView(t: Trace, feedback?: FeedbackSummary) {
  const failedValidators = (t.validators ?? []).filter((v) => !v.passed).map((v) => v.validator);
  return {
    requestId: t.requestId,
    model: t.model,
    version: t.version ?? null,
    firstVersion: t.firstVersion ?? null,
    kind: t.kind,
    startedAt: isoTime(t.startedAt),
    latencyMs: t.latencyMs,
    httpStatus: t.httpStatus,
    status: t.status,
    errorClass: t.errorClass ?? null,
    retried: t.retried,
    fallback: t.fallback ?? null,
    stream: t.stream,
    shadow: Boolean(t.shadow),
    client: t.client ?? null,
    failedValidators,
    inputPreview: preview(t.input) ?? null,
    outputPreview: preview(t.output) ?? null,
    feedback: feedback ?? null,
  };
}

export const traceHitView = (h: TraceHit) => traceSummaryView(h.trace, h.feedback);

export function feedbackView(f: Feedback) {
  return {
    id: f.id,
    requestId: f.requestId,
    model: f.model,
    version: f.version ?? null,
    requestAt: isoTime(f.requestAt),
    receivedAt: isoTime(f.receivedAt),
    ...(f.rating !== undefined ? { rating: f.rating } : {}),
    ...(f.score !== undefined ? { score: f.score } : {}),
    ...(f.label !== undefined ? { label: f.label } : {}),
    ...(f.comment !== undefined ? { comment: f.comment } : {}),
  };
}

/** One request with everything recorded about it: input, output, timings, version, fallback, validators, feedback. */
export function traceDetailView(d: TraceDetail) {
  const t = d.trace;
  return {
    requestId: t.requestId,
    model: t.model,
    kind: t.kind,
    version: t.version ?? null,
    firstVersion: t.firstVersion ?? null,
    startedAt: isoTime(t.startedAt),
    timings: { latencyMs: t.latencyMs, ttfbMs: t.ttfbMs ?? null },
    httpStatus: t.httpStatus,
    status: t.status,
    errorClass: t.errorClass ?? null,
    errorMessage: t.errorMessage ?? null,
    upstreamHost: t.upstreamHost ?? null,
    stream: t.stream,
    retried: t.retried,
    fallback: t.fallback ?? null,
    shadow: Boolean(t.shadow),
    client: t.client ?? null,
    tokens: { prompt: t.promptTokens ?? null, completion: t.completionTokens ?? null },
    inputChars: t.inputChars,
    outputChars: t.outputChars,
    input: t.input ?? null,
    output: t.output ?? null,
    prediction: t.prediction ?? null,
    features: t.features ?? null,
    tags: t.tags ?? {},
    validators: t.validators ?? [],
    feedback: d.feedback.map(feedbackView),
  };
}
