import type { EpochMs, Trace, TraceStatus } from '../../core/types.ts';

export interface TraceQuery {
  model?: string;
  version?: string;
  from?: EpochMs;
  to?: EpochMs;
  status?: TraceStatus;
  errorClass?: string;
  /** Include shadow traces (default false). */
  shadow?: boolean;
  limit?: number;
  /** Newest first by default. */
  order?: 'asc' | 'desc';
}

export interface TraceStore {
  /** Batched insert; a trace whose request id exists already is ignored (idempotent replays). */
  insertMany(traces: Trace[]): Promise<void>;
  get(requestId: string): Promise<Trace | undefined>;
  query(q: TraceQuery): Promise<Trace[]>;
  /** Retention: delete traces older than `before`, then keep at most `maxCount` newest. Returns deleted count. */
  prune(options: { before?: EpochMs; maxCount?: number }): Promise<number>;
}
