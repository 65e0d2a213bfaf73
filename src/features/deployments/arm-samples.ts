// What the canary reads for each arm: the gateway's metric windows (counts, latency sketch,
// feedback and labels at their request time) over the current phase, and — from traces, which
// know which request failed on which input — failures per input-length bucket and, in the shadow
// phase, whether the shadow answer agreed with the answer the client got.
import type { ArmSample } from '../../core/canary/analyze-canary.ts';
import type { SegmentCounts } from '../../core/canary/compare-arms.ts';
import { inputLengthBucket } from '../../core/canary/compare-arms.ts';
import { createSketch } from '../../core/stats/latency-sketch.ts';
import type { EpochMs, Trace } from '../../core/types.ts';
import { SKETCH_RELATIVE_ACCURACY, type MetricWindow } from '../telemetry/metric-windows.ts';
import type { TraceStore } from '../telemetry/trace-store.ts';

/** The part of MetricWindows the canary reads. */
export interface WindowSource {
  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs, options?: { shadow?: boolean }): MetricWindow;
}

export const MALFORMED = 'malformed_output';

export function armSample(w: MetricWindow): ArmSample {
  const latency = createSketch(SKETCH_RELATIVE_ACCURACY);
  // A copy: the window's sketch belongs to the window.
  if (w.latency.count > 0) latency.inner.merge(w.latency);
  return {
    counts: {
      requests: w.requests,
      errors: w.errors,
      malformed: w.errorClasses[MALFORMED] ?? 0,
      invalid: w.invalid,
      feedbackPositive: w.feedbackPositive,
      feedbackNegative: w.feedbackNegative,
      labelsCorrect: w.labelsCorrect,
      labelsTotal: w.labelsTotal,
    },
    latency,
  };
}

/** Errors that are not the version's doing (the client left). */
const NOT_A_FAILURE = new Set(['client_disconnected']);

/** Whether the request failed on the version it was first sent to (even if a retry rescued it). */
export function failedOnFirstVersion(t: Trace): boolean {
  const first = t.firstVersion ?? t.version;
  if (first !== t.version) return true; // retried elsewhere, or answered by a fallback
  if (t.status === 'error') return !NOT_A_FAILURE.has(t.errorClass ?? '');
  if (t.status === 'blocked' || t.status === 'fallback') return true;
  return t.validators?.some((v) => !v.passed) ?? false;
}

const normalise = (text: string): string => text.trim().replace(/\s+/g, ' ');
const answerOf = (t: Trace): string | undefined => t.prediction ?? (t.output === undefined ? undefined : normalise(t.output));

export interface TraceSegmentsOptions {
  traces: Pick<TraceStore, 'query'>;
  model: string;
  candidate: string;
  baseline: string;
  /** Shadow phase: the candidate arm is the shadow copies. */
  shadow: boolean;
  /** Start of the phase. */
  from: EpochMs;
  edges: readonly number[];
  /** Traces reach the store in batches; only [cursor, now − lag) is read. */
  lagMs: number;
  pageSize?: number;
}

/** The furthest back a late trace is looked for: requests longer than this are not counted. */
const MAX_LATE_MS = 120_000;

/**
 * Per-bucket counts for one phase, kept up to date incrementally.
 *
 * A trace reaches the store when its request ends, but is filed under the time it started. So the
 * counts go by end time: each update counts the requests that ended in [cursor, now − lagMs), and
 * finds them among the traces that started up to a late band before the cursor. The band is the
 * longest a finished request has taken (the caller reads it off the metric windows), so a slow
 * request is counted once it has ended, however long before the cursor it started, and never
 * twice. With 20 ms requests the band is tens of ms; with 30 s LLM calls, 30 s of traces are read
 * at each update.
 */
export class TraceSegments {
  readonly candidate: Record<string, SegmentCounts> = {};
  readonly stable: Record<string, SegmentCounts> = {};
  pairs = 0;
  agreements = 0;
  /** False once an answered trace is seen without its output (traces.captureOutput: false). */
  captured = true;
  /** End time up to which requests are counted. */
  private cursor: EpochMs;
  private lateMs = 0;
  /** Shadow phase: answers of primary requests, by request id, until their shadow copy is seen. */
  private readonly primaries = new Map<string, string>();
  private readonly early = new Map<string, string>();

  constructor(private readonly o: TraceSegmentsOptions) {
    this.cursor = o.from;
  }

  /** Every request of the phase that ended before this has been counted. */
  get coveredUntil(): EpochMs {
    return this.cursor;
  }

  /** `longestRequestMs`: the longest a finished request of this model has taken in the phase. */
  async update(now: EpochMs, longestRequestMs = 0): Promise<void> {
    const to = now - this.o.lagMs;
    if (to <= this.cursor) return;
    if (Number.isFinite(longestRequestMs)) this.lateMs = Math.min(MAX_LATE_MS, Math.max(this.lateMs, Math.ceil(longestRequestMs)));
    const pageSize = this.o.pageSize ?? 5000;
    let from = Math.max(this.o.from, this.cursor - this.lateMs);
    // Pages overlap at the start time where the last one ended: those ids are skipped.
    let seenAtFrom = new Set<string>();
    for (;;) {
      const page = await this.o.traces.query({ model: this.o.model, from, to, order: 'asc', limit: pageSize, shadow: this.o.shadow });
      const last = page.at(-1)?.startedAt;
      const seenAtLast = new Set<string>();
      for (const t of page) {
        if (t.startedAt === last) seenAtLast.add(t.requestId);
        if (t.startedAt === from && seenAtFrom.has(t.requestId)) continue;
        const end = t.startedAt + t.latencyMs;
        if (end >= this.cursor && end < to) this.add(t);
      }
      if (page.length < pageSize || last === undefined) break;
      // A whole page at one millisecond: step past it rather than loop (a few traces may be missed).
      if (last === from) {
        from = last + 1;
        seenAtFrom = new Set();
      } else {
        from = last;
        seenAtFrom = seenAtLast;
      }
    }
    this.cursor = to;
  }

  private count(into: Record<string, SegmentCounts>, t: Trace, failed: boolean): void {
    const key = inputLengthBucket(t.inputChars, this.o.edges);
    const c = (into[key] ??= { requests: 0, failures: 0 });
    c.requests++;
    if (failed) c.failures++;
  }

  private add(t: Trace): void {
    const { candidate, baseline } = this.o;
    if (t.shadow) {
      if (!this.o.shadow || t.version !== candidate) return;
      this.count(this.candidate, t, t.status === 'error');
      if (t.status !== 'ok') return;
      const answer = answerOf(t);
      if (answer === undefined) return;
      const primaryId = t.requestId.endsWith('.shadow') ? t.requestId.slice(0, -'.shadow'.length) : t.requestId;
      const primary = this.primaries.get(primaryId);
      if (primary === undefined) {
        this.remember(this.early, primaryId, answer);
        return;
      }
      this.primaries.delete(primaryId);
      this.pair(primary, answer);
      return;
    }
    const arm = t.firstVersion ?? t.version;
    if (arm === candidate && !this.o.shadow) this.count(this.candidate, t, failedOnFirstVersion(t));
    else if (arm === baseline) {
      this.count(this.stable, t, failedOnFirstVersion(t));
      if (this.o.shadow && t.status === 'ok' && t.version === baseline) {
        const answer = answerOf(t);
        if (answer === undefined) {
          if (t.outputChars > 0) this.captured = false;
          return;
        }
        const shadowAnswer = this.early.get(t.requestId);
        if (shadowAnswer !== undefined) {
          this.early.delete(t.requestId);
          this.pair(answer, shadowAnswer);
        } else this.remember(this.primaries, t.requestId, answer);
      }
    }
  }

  private pair(primary: string, shadow: string): void {
    this.pairs++;
    if (primary === shadow) this.agreements++;
  }

  /** Bounded: a shadow copy that never comes must not grow the map forever. */
  private remember(map: Map<string, string>, id: string, answer: string): void {
    if (map.size >= 20_000) map.delete(map.keys().next().value as string);
    map.set(id, answer);
  }
}
