// Ties the data plane's telemetry together: every answered request goes to the trace recorder
// (batched to the store), the 1-second metric windows (what monitors read) and Prometheus.
// observe() is on the request path and does no I/O.
import type { Clock, EpochMs, Feedback, Trace } from '../../core/types.ts';
import type { AttemptRecord } from './attempt.ts';
import { MetricWindows, MODEL_LEVEL, type MetricWindowsOptions } from './metric-windows.ts';
import { GatewayMetrics, type FeedbackKind } from './metrics.ts';
import { TraceRecorder, type RecentRequest, type RecorderLogger } from './trace-recorder.ts';
import type { TraceStore } from './trace-store.ts';

export type { AttemptRecord } from './attempt.ts';

export interface TracesSettings {
  captureInput: boolean;
  captureOutput: boolean;
  maxChars: number;
  redact: string[];
  retention: { maxAgeHours: number; maxCount: number };
  flushIntervalMs: number;
}

export interface TelemetryOptions {
  store: Pick<TraceStore, 'insertMany' | 'prune'>;
  clock: Clock;
  logger?: RecorderLogger;
  traces: TracesSettings;
  windows?: MetricWindowsOptions;
  /** Register prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
  /** How often retention runs (default 10 minutes). */
  retentionIntervalMs?: number;
  /** Traces per store write (default 256). */
  batchSize?: number;
}

export interface FeedbackSignal {
  model: string;
  version?: string;
  requestAt: EpochMs;
  rating?: 1 | -1;
  score?: number;
  label?: string;
  comment?: string;
  /** Whether a ground-truth label agrees with the prediction; derived from `prediction` when absent. */
  correct?: boolean;
  prediction?: string;
}

/** A label and a prediction agree when they are equal ignoring case and surrounding blanks. */
export function labelMatches(label: string, prediction: string): boolean {
  return label.trim().toLowerCase() === prediction.trim().toLowerCase();
}

export class TelemetryService {
  readonly recorder: TraceRecorder;
  readonly windows: MetricWindows;
  readonly metrics: GatewayMetrics;

  constructor(options: TelemetryOptions) {
    const t = options.traces;
    this.recorder = new TraceRecorder({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      flushIntervalMs: t.flushIntervalMs,
      captureInput: t.captureInput,
      captureOutput: t.captureOutput,
      maxChars: t.maxChars,
      redact: t.redact,
      retention: { ...t.retention, intervalMs: options.retentionIntervalMs },
      batchSize: options.batchSize,
    });
    this.windows = new MetricWindows(options.windows);
    this.metrics = new GatewayMetrics({ defaultMetrics: options.defaultMetrics });
  }

  /**
   * One request through the gateway. `attempts` lists its upstream calls in order; when omitted,
   * a trace with a version and no fallback counts as one attempt of that version.
   */
  observe(trace: Trace, attempts?: ReadonlyArray<AttemptRecord>): void {
    this.recorder.record(trace);
    const list = attempts ?? defaultAttempts(trace);
    this.recordWindows(trace, list);
    if (!trace.shadow) this.metrics.observe(trace, list);
  }

  private recordWindows(trace: Trace, attempts: ReadonlyArray<AttemptRecord>): void {
    const n = attempts.length;
    const shadow = trace.shadow === true;
    if (n === 0) {
      if (trace.status === 'ok') return;
      this.windows.record({
        model: trace.model,
        version: MODEL_LEVEL,
        at: trace.startedAt,
        latencyMs: trace.latencyMs,
        ok: trace.status !== 'error',
        errorClass: trace.errorClass,
        fallback: trace.fallback !== undefined,
        inputChars: trace.inputChars,
        shadow,
      });
      return;
    }
    const answered = trace.status === 'ok' || trace.status === 'blocked';
    for (let i = 0; i < n; i++) {
      const a = attempts[i];
      const last = i === n - 1;
      const served = last && a.ok && answered && trace.version === a.version;
      const validatorFailed = served && trace.validators !== undefined && trace.validators.some((v) => !v.passed);
      this.windows.record({
        model: trace.model,
        version: a.version,
        at: trace.startedAt,
        // A call the circuit breaker skipped counts as a failure of its version (the monitors keep
        // seeing the fault while the breaker hides it from users), but it has no latency.
        latencyMs: a.errorClass === 'circuit_open' ? undefined : a.latencyMs,
        ttfbMs: a.ttfbMs,
        ok: a.ok,
        errorClass: a.errorClass,
        retried: !a.ok && !last,
        fallback: last && trace.fallback !== undefined,
        blocked: served && trace.status === 'blocked',
        // Empty answers and validator failures are invalid outputs; malformed ones count via errorClass.
        invalid: (served && trace.outputChars === 0 && trace.kind === 'chat') || validatorFailed || (a.ok && last && trace.status === 'blocked'),
        promptTokens: served ? trace.promptTokens : undefined,
        completionTokens: served ? trace.completionTokens : undefined,
        outputChars: served ? trace.outputChars : undefined,
        prediction: served ? trace.prediction : undefined,
        // The input belongs to the traffic the router sent to the first version.
        inputChars: i === 0 ? trace.inputChars : undefined,
        features: i === 0 ? trace.features : undefined,
        shadow,
      });
    }
  }

  recordFeedback(f: FeedbackSignal): void {
    let correct = f.correct;
    if (correct === undefined && f.label !== undefined && f.prediction !== undefined) correct = labelMatches(f.label, f.prediction);
    this.windows.recordFeedback({ model: f.model, version: f.version, requestAt: f.requestAt, rating: f.rating, correct });
    const kinds: FeedbackKind[] = [];
    if (f.rating === 1) kinds.push('positive');
    else if (f.rating === -1) kinds.push('negative');
    if (correct !== undefined) kinds.push(correct ? 'label_correct' : 'label_incorrect');
    if (f.score !== undefined) kinds.push('score');
    if (f.comment) kinds.push('comment');
    for (const k of kinds) this.metrics.observeFeedback(f.model, f.version, k);
  }

  /**
   * Wiring for FeedbackService's `onFeedback`: counts a stored feedback. A label is compared with
   * the prediction the gateway remembers for the request (recent requests only).
   */
  onFeedback(feedback: Feedback): void {
    const recent = this.recorder.lookupRecent(feedback.requestId);
    this.recordFeedback({
      model: feedback.model,
      version: feedback.version,
      requestAt: feedback.requestAt,
      rating: feedback.rating,
      score: feedback.score,
      label: feedback.label,
      comment: feedback.comment,
      prediction: recent?.prediction,
    });
  }

  /** A request the gateway answered recently, even if its trace is not written yet. */
  lookupRecent(requestId: string): RecentRequest | undefined {
    return this.recorder.lookupRecent(requestId);
  }

  flush(): Promise<void> {
    return this.recorder.flush();
  }

  close(): Promise<void> {
    return this.recorder.close();
  }
}

function defaultAttempts(trace: Trace): AttemptRecord[] {
  if (!trace.version || trace.fallback) return [];
  return [
    {
      version: trace.version,
      ok: trace.status !== 'error',
      errorClass: trace.status === 'error' ? trace.errorClass : undefined,
      latencyMs: trace.latencyMs,
      ttfbMs: trace.ttfbMs,
    },
  ];
}
