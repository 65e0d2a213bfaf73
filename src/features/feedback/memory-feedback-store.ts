import type { EpochMs, Feedback } from '../../core/types.ts';
import { copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { FeedbackStore } from './feedback-store.ts';

interface FeedbackData {
  rows: Feedback[];
  /** Like a database sequence, ids are not reused after a rollback. */
  nextId: number;
}

export class MemoryFeedbackStore implements FeedbackStore {
  constructor(
    private readonly data: FeedbackData = { rows: [], nextId: 1 },
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryFeedbackStore {
    return new MemoryFeedbackStore(this.data, undo);
  }

  async insert(feedback: Omit<Feedback, 'id'>): Promise<Feedback> {
    const row = compact({ ...copy(feedback), id: this.data.nextId++ });
    this.data.rows.push(row);
    this.undo.push(() => {
      const i = this.data.rows.indexOf(row);
      if (i >= 0) this.data.rows.splice(i, 1);
    });
    return copy(row);
  }

  async forRequest(requestId: string): Promise<Feedback[]> {
    return this.data.rows.filter((f) => f.requestId === requestId).map(copy);
  }

  async query(q: { model?: string; version?: string; from?: EpochMs; to?: EpochMs; limit?: number }): Promise<Feedback[]> {
    const out = this.data.rows.filter(
      (f) =>
        (q.model === undefined || f.model === q.model) &&
        (q.version === undefined || f.version === q.version) &&
        (q.from === undefined || f.requestAt >= q.from) &&
        (q.to === undefined || f.requestAt < q.to),
    );
    out.sort((a, b) => a.requestAt - b.requestAt || a.id - b.id);
    return (q.limit !== undefined ? out.slice(0, q.limit) : out).map(copy);
  }
}
