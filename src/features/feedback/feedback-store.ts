import type { EpochMs, Feedback } from '../../core/types.ts';

export interface FeedbackStore {
  /** Returns the stored feedback with its new id (ids increase). */
  insert(feedback: Omit<Feedback, 'id'>): Promise<Feedback>;
  /** In arrival order. */
  forRequest(requestId: string): Promise<Feedback[]>;
  /**
   * Feedback whose request happened in [from, to) — a late label counts at its request's time.
   * Ordered by requestAt, then id.
   */
  query(q: { model?: string; version?: string; from?: EpochMs; to?: EpochMs; limit?: number }): Promise<Feedback[]>;
}
