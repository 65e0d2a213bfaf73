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

/**
 * Per-bucket counts for one phase, kept up to date incrementally: each update reads only the
 * traces that arrived since the last one (a cursor on startedAt, `lagMs` behind now).
 */
export class TraceSegments {
  readonly candidate: Record<string, SegmentCounts> = {};
  readonly stable: Record<string, SegmentCounts> = {};
  pairs = 0;
  agreements = 0;
  /** False once an answered trace is seen without its output (traces.captureOutput: false). */
  captured = true;
  private cursor: EpochMs;
  private readonly seenAtCursor = new Set<string>();
  /** Shadow phase: answers of primary requests, by request id, until their shadow copy is seen. */
  private readonly primaries = new Map<string, string>();
  private readonly early = new Map<string, string>();

  constructor(private readonly o: TraceSegmentsOptions) {
    this.cursor = o.from;
  }

  /** Every trace that started before this has been counted. */
  get coveredUntil(): EpochMs {
    return this.cursor;
  }

  async update(now: EpochMs): Promise<void> {
    const to = now - this.o.lagMs;
    const pageSize = this.o.pageSize ?? 5000;
    while (this.cursor < to) {
      const page = await this.o.traces.query({ model: this.o.model, from: this.cursor, to, order: 'asc', limit: pageSize, shadow: this.o.shadow });
      let last = this.cursor;
      for (const t of page) {
        if (t.startedAt === this.cursor && this.seenAtCursor.has(t.requestId)) continue;
        this.add(t);
        if (t.startedAt !== last) {
          last = t.startedAt;
          this.seenAtCursor.clear();
        }
        this.seenAtCursor.add(t.requestId);
      }
      if (page.length < pageSize) {
        this.cursor = to;
        this.seenAtCursor.clear();
        break;
      }
      if (last === this.cursor) {
        // A whole page at one millisecond: step past it rather than loop (a few traces may be missed).
        this.cursor = last + 1;
        this.seenAtCursor.clear();
      } else this.cursor = last;
    }
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
