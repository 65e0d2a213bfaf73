// Contract for FeedbackStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Feedback } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

type NewFeedback = Omit<Feedback, 'id'>;

const fb = (requestId: string, requestAt: number, extra: Partial<NewFeedback> = {}): NewFeedback => ({
  requestId,
  model: 'm',
  version: 'v1',
  requestAt,
  receivedAt: requestAt + 10,
  ...extra,
});

export function feedbackStoreContract(getStores: () => Stores): void {
  describe('FeedbackStore', () => {
    it('returns the stored feedback with an id and round-trips every field, optional ones included', async () => {
      const s = getStores();
      const full: NewFeedback = {
        requestId: 'req-1',
        model: 'support-bot',
        version: 'v2',
        requestAt: 1_717_000_000_000,
        receivedAt: 1_717_003_600_000,
        rating: -1,
        score: 0.375,
        label: 'fraud',
        comment: 'wrong answer — “quoted”',
      };
      const stored = await s.feedback.insert(full);
      expect(typeof stored.id).toBe('number');
      expect(stored).toStrictEqual({ ...full, id: stored.id });
      expect(await s.feedback.forRequest('req-1')).toStrictEqual([stored]);

      const minimal: NewFeedback = { requestId: 'req-2', model: 'm', requestAt: 5, receivedAt: 6 };
      const m = await s.feedback.insert(minimal);
      expect(m).toStrictEqual({ ...minimal, id: m.id });
      expect(await s.feedback.forRequest('req-2')).toStrictEqual([m]);
      expect(await s.feedback.forRequest('req-none')).toEqual([]);
    });

    it('gives increasing ids and lists a request’s feedback in arrival order', async () => {
      const s = getStores();
      const a = await s.feedback.insert(fb('r', 1_000, { rating: 1, receivedAt: 9_000 }));
      const b = await s.feedback.insert(fb('other', 1_000, { rating: -1 }));
      const c = await s.feedback.insert(fb('r', 1_000, { label: 'late', receivedAt: 2_000 }));
      expect(b.id).toBeGreaterThan(a.id);
      expect(c.id).toBeGreaterThan(b.id);
      expect((await s.feedback.forRequest('r')).map((f) => f.id)).toEqual([a.id, c.id]);
    });

    it('reads more rows than one page of a blocking engine, each once and in order, ties included', async () => {
      const s = getStores();
      const stored: Feedback[] = [];
      // Requests out of time order, two per request time, so a page edge falls inside a tie.
      for (let i = 0; i < 1_050; i++) stored.push(await s.feedback.insert(fb(`r${i}`, 10_000 + ((i * 37) % 525), { rating: i % 2 ? 1 : -1 })));
      const expected = [...stored].sort((a, b) => a.requestAt - b.requestAt || a.id - b.id).map((f) => f.id);
      expect((await s.feedback.query({})).map((f) => f.id)).toEqual(expected);
      expect((await s.feedback.query({ limit: 777 })).map((f) => f.id)).toEqual(expected.slice(0, 777));
    });

    it('queries by the request’s time [from, to), not by arrival, with model/version filters and limit', async () => {
      const s = getStores();
      // A late label: the request was at 1_500, its label came much later.
      const late = await s.feedback.insert(fb('late', 1_500, { label: 'spam', receivedAt: 90_000 }));
      const early = await s.feedback.insert(fb('early', 1_000, { rating: 1, receivedAt: 1_600 }));
      const atTo = await s.feedback.insert(fb('at-to', 2_000, { rating: -1, receivedAt: 2_001 }));
      const otherVersion = await s.feedback.insert(fb('v2', 1_200, { version: 'v2', score: 0.1 }));
      const otherModel = await s.feedback.insert(fb('om', 1_300, { model: 'other', rating: 1 }));
      const sameTime = await s.feedback.insert(fb('same', 1_000, { rating: -1 }));

      const inWindow = await s.feedback.query({ from: 1_000, to: 2_000 });
      expect(inWindow.map((f) => f.id)).toEqual([early.id, sameTime.id, otherVersion.id, otherModel.id, late.id]);
      expect((await s.feedback.query({ model: 'm', from: 1_000, to: 2_000 })).map((f) => f.id)).toEqual([
        early.id,
        sameTime.id,
        otherVersion.id,
        late.id,
      ]);
      expect((await s.feedback.query({ model: 'm', version: 'v1', from: 1_001 })).map((f) => f.id)).toEqual([late.id, atTo.id]);
      expect((await s.feedback.query({ to: 1_200 })).map((f) => f.id)).toEqual([early.id, sameTime.id]);
      expect((await s.feedback.query({ limit: 2 })).map((f) => f.id)).toEqual([early.id, sameTime.id]);
      // Arrival time does not count: nothing was requested in [80_000, 100_000).
      expect(await s.feedback.query({ from: 80_000, to: 100_000 })).toEqual([]);
      expect(await s.feedback.query({ model: 'nobody' })).toEqual([]);
    });
  });
}
