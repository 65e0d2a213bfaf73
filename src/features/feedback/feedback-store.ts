import type { EpochMs, Feedback } from '../../core/types.ts';

export interface FeedbackStore {
  insert(feedback: Omit<Feedback, 'id'>): Promise<Feedback>;
  forRequest(requestId: string): Promise<Feedback[]>;
  /** Feedback whose request happened in [from, to) — a late label counts at its request's time. */
  query(q: { model?: string; version?: string; from?: EpochMs; to?: EpochMs; limit?: number }): Promise<Feedback[]>;
}
