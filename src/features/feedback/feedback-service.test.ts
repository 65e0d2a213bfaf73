import { describe, expect, it } from 'vitest';
import type { Feedback, Trace } from '../../core/types.ts';
import { createFoundation } from '../../../test/helpers/foundation.ts';
import { createSqliteStorage } from '../../../test/helpers/storage.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';

const trace = (requestId: string, startedAt: number, extra: Partial<Trace> = {}): Trace => ({
  requestId,
  model: 'support-bot',
  version: 'v2',
  kind: 'chat',
  startedAt,
  latencyMs: 12,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 20,
  ...extra,
});

describe('FeedbackService', () => {
  it('accepts feedback for a request the gateway just answered, before its trace is written', async () => {
    const seen: Feedback[] = [];
    const recent = new Map([['req-fresh', { model: 'support-bot', version: 'v2', startedAt: 1_000 }]]);
    const f = createFoundation({ recentRequests: (id) => recent.get(id), onFeedback: (fb) => void seen.push(fb) });
    const events: string[] = [];
    f.bus.on('feedback.received', (e) => void events.push(`${e.requestId}:${e.model}:${e.version}`));
    f.clock.t = 5_000;
    const stored = await f.feedback.submit({ requestId: 'req-fresh', rating: -1, comment: 'wrong answer' });
    expect(stored).toMatchObject({ requestId: 'req-fresh', model: 'support-bot', version: 'v2', requestAt: 1_000, receivedAt: 5_000, rating: -1 });
    expect(events).toEqual(['req-fresh:support-bot:v2']);
    expect(seen).toEqual([stored]);
  });

  it('finds older requests in the trace store; a late label counts at the request time', async () => {
    const f = createFoundation();
    await f.stores.traces.insertMany([trace('req-old', 42_000)]);
    f.clock.t = 42_000 + 3 * 3600_000;
    const stored = await f.feedback.submit({ requestId: 'req-old', label: 'fraud' });
    expect(stored).toMatchObject({ requestAt: 42_000, label: 'fraud' });
    expect(await f.feedback.query({ model: 'support-bot', from: 40_000, to: 50_000 })).toHaveLength(1);
    expect(await f.feedback.query({ requestId: 'req-old' })).toHaveLength(1);
  });

  it('rejects unknown ids with REQUEST_NOT_FOUND and empty feedback with VALIDATION_FAILED', async () => {
    const f = createFoundation({ recentRequests: () => undefined });
    await f.stores.traces.insertMany([trace('req-shadow', 1, { shadow: true })]);
    await expect(f.feedback.submit({ requestId: 'never-issued', rating: 1 })).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' });
    await expect(f.feedback.submit({ requestId: 'req-shadow', rating: 1 })).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' });
    await f.stores.traces.insertMany([trace('req-1', 1)]);
    await expect(f.feedback.submit({ requestId: 'req-1' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(f.feedback.submit({ requestId: 'req-1', rating: 2 as never })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(f.feedback.submit({ requestId: 'req-1', score: Number.NaN })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('keeps working when the onFeedback hook throws', async () => {
    const f = createFoundation({ onFeedback: () => { throw new Error('metrics down'); } });
    await f.stores.traces.insertMany([trace('req-1', 1)]);
    await expect(f.feedback.submit({ requestId: 'req-1', score: 0.4 })).resolves.toMatchObject({ score: 0.4 });
    expect(f.errors).toHaveLength(1);
  });

  it('stores feedback in a real SQLite file', async () => {
    const storage = await createSqliteStorage();
    try {
      const f = createFoundation({ stores: createKyselyStores(storage.handle) });
      await f.stores.traces.insertMany([trace('req-9', 7)]);
      await f.feedback.submit({ requestId: 'req-9', rating: 1 });
      await f.feedback.submit({ requestId: 'req-9', label: 'correct', score: 1 });
      expect((await f.feedback.forRequest('req-9')).map((x) => [x.rating, x.label])).toEqual([
        [1, undefined],
        [undefined, 'correct'],
      ]);
    } finally {
      await storage.cleanup();
    }
  });
});
