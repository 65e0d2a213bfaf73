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
