import type { Selectable } from 'kysely';
import type { EpochMs, Feedback } from '../../core/types.ts';
import type { FeedbackStore } from '../../features/feedback/feedback-store.ts';
import { orUndefined } from '../json.ts';
import type { FeedbackTable } from '../schema.ts';
import { orNull, readPaged, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

const feedbackFromRow = (row: Selectable<FeedbackTable>): Feedback =>
  compact({
    id: Number(row.id),
    requestId: row.request_id,
    model: row.model,
    version: orUndefined(row.version),
    requestAt: row.request_at,
    receivedAt: row.received_at,
    rating: orUndefined(row.rating) as Feedback['rating'],
    score: orUndefined(row.score),
    label: orUndefined(row.label),
    comment: orUndefined(row.comment),
  });

export class KyselyFeedbackStore implements FeedbackStore {
  constructor(private readonly ctx: StoreContext) {}

  async insert(f: Omit<Feedback, 'id'>): Promise<Feedback> {
    const { id } = await this.ctx.db
      .insertInto('feedback')
      .values({
        request_id: f.requestId,
        model: f.model,
        version: orNull(f.version),
        request_at: f.requestAt,
        received_at: f.receivedAt,
        rating: orNull(f.rating),
        score: orNull(f.score),
        label: orNull(f.label),
        comment: orNull(f.comment),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return compact({ ...f, id: Number(id) });
  }

  async forRequest(requestId: string): Promise<Feedback[]> {
    const rows = await this.ctx.db
      .selectFrom('feedback')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('id')
      .execute();
    return rows.map(feedbackFromRow);
  }

  async query(q: { model?: string; version?: string; from?: EpochMs; to?: EpochMs; limit?: number }): Promise<Feedback[]> {
    const rows = await readPaged<Selectable<FeedbackTable>>(this.ctx, q.limit, (last, n) => {
      let s = this.ctx.db.selectFrom('feedback').selectAll();
      if (q.model !== undefined) s = s.where('model', '=', q.model);
      if (q.version !== undefined) s = s.where('version', '=', q.version);
      if (q.from !== undefined) s = s.where('request_at', '>=', q.from);
      if (q.to !== undefined) s = s.where('request_at', '<', q.to);
      if (last) s = s.where((eb) => eb.or([eb('request_at', '>', last.request_at), eb.and([eb('request_at', '=', last.request_at), eb('id', '>', last.id)])]));
      s = s.orderBy('request_at').orderBy('id');
      if (n !== undefined) s = s.limit(n);
      return s.execute();
    });
    return rows.map(feedbackFromRow);
  }
}
