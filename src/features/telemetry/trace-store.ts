import type { EpochMs, Trace, TraceStatus } from '../../core/types.ts';

export interface TraceQuery {
  model?: string;
  version?: string;
  /** startedAt >= from. */
  from?: EpochMs;
  /** startedAt < to. */
  to?: EpochMs;
  status?: TraceStatus;
  errorClass?: string;
  /** Include shadow traces (default false). */
  shadow?: boolean;
  limit?: number;
  /** By startedAt (then request id), newest first by default. */
  order?: 'asc' | 'desc';
  /**
   * Include the captured input and output text (default true). Analyses that read thousands of
   * traces and never their text (RCA, impact, replays) pass false: at a 4,000-character cap the
   * text is most of a trace's memory.
   */
  bodies?: boolean;
}

export interface TraceStore {
  /**
   * Batched insert; a trace whose request id exists already is ignored (idempotent replays).
   * Read back, `shadow` is always a boolean and absent optional fields are omitted.
   */
  insertMany(traces: Trace[]): Promise<void>;
  get(requestId: string): Promise<Trace | undefined>;
  query(q: TraceQuery): Promise<Trace[]>;
  /**
   * Retention: delete traces that started before `before`, then keep at most `maxCount` newest
   * (by startedAt, then request id). Returns the number deleted.
   */
  prune(options: { before?: EpochMs; maxCount?: number }): Promise<number>;
}
