// Contract for TraceStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

const trace = (requestId: string, startedAt: number, extra: Partial<Trace> = {}): Trace => ({
  requestId,
  model: 'm',
  version: 'v1',
  kind: 'chat',
  startedAt,
  latencyMs: 12.5,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 20,
  ...extra,
});

const ids = (traces: Trace[]) => traces.map((t) => t.requestId);

export function traceStoreContract(getStores: () => Stores): void {
  describe('TraceStore', () => {
    it('round-trips every field, optional ones included', async () => {
      const s = getStores();
      const full: Trace = {
        requestId: 'req-full',
        model: 'support-bot',
        version: 'v1',
        firstVersion: 'v2',
        kind: 'predict',
        startedAt: 1_717_000_000_123,
        latencyMs: 123.456,
        ttfbMs: 7.25,
        httpStatus: 502,
        status: 'fallback',
        errorClass: 'upstream_5xx',
        errorMessage: 'upstream said 503: "overloaded"',
        upstreamHost: '127.0.0.1:9002',
        stream: true,
        retried: true,
        fallback: 'cache',
        promptTokens: 1_234,
        completionTokens: 56,
        inputChars: 4_321,
        outputChars: 99,
        input: '{"messages":[{"role":"user","content":"héllo ✓"}]}',
        output: 'line 1\nline 2',
        client: 'client-42',
        tags: { arm: 'canary', region: 'eu' },
        features: [0.5, -1.25, 3, 1e-9],
        prediction: 'fraud',
        validators: [
          { validator: 'json', passed: false, action: 'fallback', message: 'not JSON', checkpoint: 'output' },
          { validator: 'pii', passed: true, action: 'flag' },
        ],
        shadow: true,
      };
      const minimal = trace('req-min', 1_000);
      await s.traces.insertMany([full, minimal]);
      expect(await s.traces.get('req-full')).toStrictEqual(full);
      // Read back, `shadow` is always a boolean and absent optional fields stay absent.
      expect(await s.traces.get('req-min')).toStrictEqual({ ...minimal, shadow: false });
      expect(await s.traces.get('req-none')).toBeUndefined();
    });

    it('ignores a request id it has already (idempotent replays), within a batch too', async () => {
      const s = getStores();
      await s.traces.insertMany([trace('a', 1_000, { latencyMs: 1 })]);
      await s.traces.insertMany([
        trace('a', 1_000, { latencyMs: 999 }),
        trace('b', 2_000, { latencyMs: 2 }),
        trace('b', 2_000, { latencyMs: 888 }),
      ]);
      await s.traces.insertMany([]);
      const all = await s.traces.query({ order: 'asc' });
      expect(all.map((t) => [t.requestId, t.latencyMs])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
    });

    it('stores a batch larger than one statement can carry', async () => {
      const s = getStores();
      const batch = Array.from({ length: 3_000 }, (_, i) => trace(`big-${String(i).padStart(5, '0')}`, 10_000 + i));
      await s.traces.insertMany(batch);
      const all = await s.traces.query({ order: 'asc' });
      expect(all).toHaveLength(3_000);
      expect(all[0].requestId).toBe('big-00000');
      expect(all[2_999].requestId).toBe('big-02999');
    });

    it('filters by model, version, time range [from, to), status and error class', async () => {
      const s = getStores();
      await s.traces.insertMany([
        trace('t1', 1_000, { model: 'm', version: 'v1' }),
        trace('t2', 2_000, { model: 'm', version: 'v2', status: 'error', errorClass: 'timeout', httpStatus: 504 }),
        trace('t3', 3_000, { model: 'm', version: 'v2', status: 'error', errorClass: 'upstream_5xx', httpStatus: 502 }),
        trace('t4', 4_000, { model: 'other', version: 'v1' }),
        trace('t5', 5_000, { model: 'm', version: 'v1', status: 'fallback', fallback: 'static' }),
        trace('t6', 6_000, { model: 'm', version: undefined, status: 'blocked', httpStatus: 400 }),
      ]);
      expect(ids(await s.traces.query({ model: 'm', order: 'asc' }))).toEqual(['t1', 't2', 't3', 't5', 't6']);
      expect(ids(await s.traces.query({ model: 'm', version: 'v2', order: 'asc' }))).toEqual(['t2', 't3']);
      expect(ids(await s.traces.query({ from: 2_000, to: 4_000, order: 'asc' }))).toEqual(['t2', 't3']);
      expect(ids(await s.traces.query({ from: 4_000, order: 'asc' }))).toEqual(['t4', 't5', 't6']);
      expect(ids(await s.traces.query({ to: 2_000, order: 'asc' }))).toEqual(['t1']);
      expect(ids(await s.traces.query({ status: 'error', order: 'asc' }))).toEqual(['t2', 't3']);
      expect(ids(await s.traces.query({ errorClass: 'timeout' }))).toEqual(['t2']);
      expect(ids(await s.traces.query({ model: 'm', version: 'v1', from: 1_001 }))).toEqual(['t5']);
      expect(ids(await s.traces.query({ status: 'blocked' }))).toEqual(['t6']);
      expect(await s.traces.query({ model: 'nobody' })).toEqual([]);
    });

    it('orders newest first by default, then by request id on equal times, and limits', async () => {
      const s = getStores();
      await s.traces.insertMany([trace('b', 2_000), trace('a', 1_000), trace('d', 2_000), trace('c', 2_000), trace('e', 3_000)]);
      expect(ids(await s.traces.query({}))).toEqual(['e', 'd', 'c', 'b', 'a']);
      expect(ids(await s.traces.query({ order: 'desc', limit: 2 }))).toEqual(['e', 'd']);
      expect(ids(await s.traces.query({ order: 'asc' }))).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(ids(await s.traces.query({ order: 'asc', limit: 3 }))).toEqual(['a', 'b', 'c']);
    });

    it('reads more rows than one page of a blocking engine, each once and in order, ties included', async () => {
      const s = getStores();
      // Three traces per start time, ids out of insertion order, so a page edge falls inside a tie.
      const batch = Array.from({ length: 1_234 }, (_, i) => trace(`p-${String((i * 7) % 1_234).padStart(4, '0')}`, 50_000 + Math.floor(i / 3), { model: i % 2 ? 'm' : 'n' }));
      await s.traces.insertMany(batch);
      const key = (t: Trace) => `${String(t.startedAt).padStart(8, '0')} ${t.requestId}`;
      const asc = [...batch].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      expect(ids(await s.traces.query({ order: 'asc' }))).toEqual(ids(asc));
      expect(ids(await s.traces.query({ order: 'desc' }))).toEqual(ids([...asc].reverse()));
      expect(ids(await s.traces.query({ order: 'asc', limit: 1_001 }))).toEqual(ids(asc.slice(0, 1_001)));
      expect(ids(await s.traces.query({ order: 'desc', limit: 600 }))).toEqual(ids([...asc].reverse().slice(0, 600)));
      const m = asc.filter((t) => t.model === 'm' && t.startedAt >= 50_100);
      expect(ids(await s.traces.query({ model: 'm', from: 50_100, order: 'asc' }))).toEqual(ids(m));
    });

    it('leaves the captured text out when asked (bodies: false), every other field kept', async () => {
      const s = getStores();
      const full = trace('with-text', 1_000, { input: 'the prompt', output: 'the answer', errorMessage: 'kept', tags: { team: 'a' }, features: [1, 2] });
      await s.traces.insertMany([full]);
      const [bare] = await s.traces.query({ bodies: false });
      const [stored] = await s.traces.query({});
      expect(stored).toMatchObject(full);
      const { input: _input, output: _output, ...rest } = stored;
      expect(bare).toEqual(rest);
    });

    it('leaves shadow traces out unless asked for', async () => {
      const s = getStores();
      await s.traces.insertMany([trace('live', 1_000), trace('shadow', 1_001, { shadow: true, version: 'v2' })]);
      expect(ids(await s.traces.query({}))).toEqual(['live']);
      expect(ids(await s.traces.query({ shadow: false }))).toEqual(['live']);
      expect(ids(await s.traces.query({ shadow: true }))).toEqual(['shadow', 'live']);
      expect(ids(await s.traces.query({ shadow: true, version: 'v2' }))).toEqual(['shadow']);
      // get finds a shadow trace by id whatever the filter.
      expect((await s.traces.get('shadow'))?.shadow).toBe(true);
    });

    it('prunes by age: strictly older than `before`', async () => {
      const s = getStores();
      await s.traces.insertMany([trace('old1', 1_000), trace('old2', 1_999), trace('edge', 2_000), trace('new', 3_000)]);
      expect(await s.traces.prune({ before: 2_000 })).toBe(2);
      expect(ids(await s.traces.query({ order: 'asc' }))).toEqual(['edge', 'new']);
      expect(await s.traces.prune({ before: 2_000 })).toBe(0);
      expect(await s.traces.prune({})).toBe(0);
    });

    it('prunes by count: keeps the newest maxCount (ties by request id), shadow traces counted', async () => {
      const s = getStores();
      await s.traces.insertMany([
        trace('a', 1_000),
        trace('b', 2_000),
        trace('c', 2_000, { shadow: true }),
        trace('d', 2_000),
        trace('e', 3_000, { model: 'other' }),
      ]);
      expect(await s.traces.prune({ maxCount: 3 })).toBe(2);
      expect(ids(await s.traces.query({ shadow: true, order: 'asc' }))).toEqual(['c', 'd', 'e']);
      expect(await s.traces.prune({ maxCount: 3 })).toBe(0);
      expect(await s.traces.prune({ maxCount: 0 })).toBe(3);
      expect(await s.traces.query({ shadow: true })).toEqual([]);
    });

    it('prunes by age, then by count, in one call', async () => {
      const s = getStores();
      await s.traces.insertMany([trace('a', 1_000), trace('b', 2_000), trace('c', 3_000), trace('d', 4_000), trace('e', 5_000)]);
      expect(await s.traces.prune({ before: 2_000, maxCount: 2 })).toBe(3);
      expect(ids(await s.traces.query({ order: 'asc' }))).toEqual(['d', 'e']);
    });

    it('prunes more rows than one delete batch', async () => {
      const s = getStores();
      const batch = Array.from({ length: 6_500 }, (_, i) => trace(`p-${String(i).padStart(5, '0')}`, 100_000 + i));
      await s.traces.insertMany(batch);
      expect(await s.traces.prune({ before: 100_000 + 6_000 })).toBe(6_000);
      expect(await s.traces.prune({ maxCount: 100 })).toBe(400);
      const left = await s.traces.query({ order: 'asc' });
      expect(left).toHaveLength(100);
      expect(left[0].requestId).toBe('p-06400');
    });
  });
}
