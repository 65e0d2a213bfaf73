import { afterEach, describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import { MemoryTraceStore } from './memory-trace-store.ts';
import { REDACTED, TraceRecorder, type TraceRecorderOptions } from './trace-recorder.ts';
import { T0, testTrace } from './trace-test-kit.ts';

/** A store whose writes fail while `down` is set, counting calls. */
class FlakyStore extends MemoryTraceStore {
  down = false;
  calls = 0;
  pruned: Array<{ before?: number; maxCount?: number }> = [];
  override async insertMany(traces: Trace[]): Promise<void> {
    this.calls++;
    if (this.down) throw new Error('database is locked');
    return super.insertMany(traces);
  }
  override async prune(options: { before?: number; maxCount?: number }): Promise<number> {
    this.pruned.push(options);
    return super.prune(options);
  }
}

const recorders: TraceRecorder[] = [];
afterEach(async () => {
  for (const r of recorders.splice(0)) await r.close();
});

function make(store: FlakyStore, options: Partial<TraceRecorderOptions> = {}, clock = { now: () => T0 }) {
  const warnings: unknown[] = [];
  const r = new TraceRecorder({
    store,
    clock,
    logger: { warn: (o) => warnings.push(o), error: (o) => warnings.push(o) },
    flushIntervalMs: 60_000,
    captureInput: true,
    captureOutput: true,
    maxChars: 4000,
    redact: [],
    ...options,
  });
  recorders.push(r);
  return { r, warnings };
}

describe('TraceRecorder', () => {
  it('queues without writing, then writes everything on flush', async () => {
    const store = new FlakyStore();
    const { r } = make(store);
    for (let i = 0; i < 10; i++) r.record(testTrace(i));
    expect(store.calls).toBe(0);
    expect(r.queued).toBe(10);
    await r.flush();
    expect(r.queued).toBe(0);
    expect((await store.query({})).length).toBe(10);
    expect(r.written).toBe(10);
  });

  it('writes by itself when a batch is full and on its interval', async () => {
    const store = new FlakyStore();
    const { r } = make(store, { flushAt: 50, batchSize: 50 });
    for (let i = 0; i < 120; i++) r.record(testTrace(i));
    await new Promise((res) => setTimeout(res, 20));
    // A full batch starts a write without waiting for the interval.
    expect((await store.query({})).length).toBeGreaterThanOrEqual(100);
    await r.flush();
    expect((await store.query({})).length).toBe(120);

    const timed = new FlakyStore();
    const { r: r2 } = make(timed, { flushIntervalMs: 20 });
    r2.record(testTrace(1));
    await new Promise((res) => setTimeout(res, 100));
    expect(await timed.get('req_1')).toBeDefined();
  });

  it('splits a long queue into even batches of at most batchSize', async () => {
    const store = new FlakyStore();
    const sizes: number[] = [];
    const insert = store.insertMany.bind(store);
    store.insertMany = (traces) => {
      sizes.push(traces.length);
      return insert(traces);
    };
    const { r } = make(store, { batchSize: 256, flushAt: 10_000 });
    for (let i = 0; i < 300; i++) r.record(testTrace(i));
    await r.flush();
    expect(sizes).toEqual([150, 150]);
    for (let i = 300; i < 814; i++) r.record(testTrace(i));
    await r.flush();
    expect(sizes.slice(2)).toEqual([172, 172, 170]);
    expect((await store.query({ limit: 10_000 })).length).toBe(814);
  });

  it('under steady traffic, writes one batch per interval, not a write per trace or two', async () => {
    const store = new FlakyStore();
    const insert = store.insertMany.bind(store);
    // Each write takes 5 ms, as a real store's round trip does; a trace arrives every millisecond.
    store.insertMany = async (traces) => {
      await new Promise((res) => setTimeout(res, 5));
      return insert(traces);
    };
    const { r } = make(store, { flushIntervalMs: 25 });
    const start = performance.now();
    for (let i = 0; i < 200; i++) {
      r.record(testTrace(i));
      await new Promise((res) => setTimeout(res, 1));
    }
    const elapsed = performance.now() - start;
    await r.flush();
    expect((await store.query({ limit: 1000 })).length).toBe(200);
    // At most one write per interval (plus the final flush). Writing what arrived during each
    // write at once would make about one write per 5 ms, five times as many.
    expect(store.calls).toBeLessThanOrEqual(Math.ceil(elapsed / 25) + 2);
    expect(store.calls).toBeGreaterThanOrEqual(3);
  });

  it('after a failed write, retries by itself once the backoff has passed, without being asked to flush', async () => {
    const store = new FlakyStore();
    // flushAt 1: every trace asks for an immediate write, so no interval timer is armed by record().
    const { r, warnings } = make(store, { flushIntervalMs: 10, flushAt: 1 }, { now: () => Date.now() });
    store.down = true;
    for (let i = 0; i < 10; i++) r.record(testTrace(i));
    await new Promise((res) => setTimeout(res, 50));
    expect(warnings.length).toBe(1);
    expect(r.queued).toBe(10);
    store.down = false;
    // The first retry waits 500 ms whatever the interval.
    await new Promise((res) => setTimeout(res, 200));
    expect(r.queued).toBe(10);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.queued).toBe(0);
    expect((await store.query({})).length).toBe(10);
  });

  it('once a flush gets through after an outage, new traces are written on the interval again, not after the backoff', async () => {
    const store = new FlakyStore();
    const { r } = make(store, { flushIntervalMs: 10 }, { now: () => Date.now() });
    store.down = true;
    r.record(testTrace(1));
    await r.flush();
    expect(r.queued).toBe(1);
    // By now the timer waits out the 500 ms backoff.
    await new Promise((res) => setTimeout(res, 50));
    store.down = false;
    await r.flush(); // an explicit flush goes through at once, backoff or not
    expect(r.queued).toBe(0);
    r.record(testTrace(2));
    await new Promise((res) => setTimeout(res, 150));
    expect(await store.get('req_2')).toBeDefined();
  });

  it('caps texts and applies redaction before storing (a secret straddling the cap is still redacted)', async () => {
    const store = new FlakyStore();
    const { r } = make(store, { maxChars: 40, redact: ['sk-[A-Za-z0-9]{10,}', '\\b\\d{3}-\\d{2}-\\d{4}\\b'] });
    r.record(testTrace(1, { input: 'user: my key is sk-ABCDEFGHIJKLMNOP and ssn 123-45-6789', output: 'noted 123-45-6789', inputChars: 55 }));
    r.record(testTrace(2, { input: `${'x'.repeat(30)} sk-ABCDEFGHIJKLMNOPQRS`, output: 'y'.repeat(100) }));
    await r.flush();
    const t1 = (await store.get('req_1'))!;
    expect(t1.input).toBe(`user: my key is ${REDACTED} and ssn ${REDACTED}`.slice(0, 40));
    expect(t1.input).not.toContain('sk-');
    expect(t1.output).toBe(`noted ${REDACTED}`);
    expect(t1.inputChars).toBe(55);
    const t2 = (await store.get('req_2'))!;
    expect(t2.input).toBe(`${'x'.repeat(30)} ${REDACTED}`.slice(0, 40));
    expect(t2.input).not.toMatch(/sk-A/);
    expect(t2.output).toHaveLength(40);
  });

  it('drops texts when capture is off', async () => {
    const store = new FlakyStore();
    const { r } = make(store, { captureInput: false, captureOutput: false });
    r.record(testTrace(1));
    await r.flush();
    const t = (await store.get('req_1'))!;
    expect(t.input).toBeUndefined();
    expect(t.output).toBeUndefined();
    expect(t.inputChars).toBe(5);
  });

  it('keeps traces through a store outage, retries with backoff, never throws', async () => {
    const store = new FlakyStore();
    let now = T0;
    const { r, warnings } = make(store, {}, { now: () => now });
    store.down = true;
    for (let i = 0; i < 5; i++) r.record(testTrace(i));
    await r.flush();
    expect(r.queued).toBe(5);
    expect(warnings.length).toBe(1);
    store.down = false;
    // Before the backoff passes, the interval does not retry; a later flush does.
    now += 60_000;
    await r.flush();
    expect(r.queued).toBe(0);
    expect((await store.query({})).map((t) => t.requestId).sort()).toEqual(['req_0', 'req_1', 'req_2', 'req_3', 'req_4']);
  });

  it('keeps order and loses nothing when a write fails half-way through a drain', async () => {
    const store = new FlakyStore();
    let now = T0;
    const { r } = make(store, { batchSize: 2 }, { now: () => now });
    for (let i = 0; i < 7; i++) r.record(testTrace(i));
    const insert = store.insertMany.bind(store);
    let calls = 0;
    store.insertMany = async (traces) => {
      if (++calls === 2) throw new Error('disk I/O error');
      return insert(traces);
    };
    await r.flush();
    expect(r.written).toBe(2);
    expect(r.queued).toBe(5);
    now += 60_000;
    await r.flush();
    expect(r.written).toBe(7);
    expect((await store.query({ order: 'asc' })).map((t) => t.requestId)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `req_${i}`));
  });

  it('bounds the queue while the store is down, dropping the oldest', async () => {
    const store = new FlakyStore();
    store.down = true;
    const { r } = make(store, { maxQueue: 100, flushAt: 1000 });
    for (let i = 0; i < 250; i++) r.record(testTrace(i));
    expect(r.queued).toBeLessThanOrEqual(100);
    expect(r.dropped).toBeGreaterThanOrEqual(150);
    store.down = false;
    await r.flush();
    const ids = (await store.query({ order: 'asc' })).map((t) => t.requestId);
    expect(ids[ids.length - 1]).toBe('req_249');
    expect(ids).not.toContain('req_0');
  });

  it('bounds the queued text too, so big traces cannot exhaust memory during an outage', async () => {
    const store = new FlakyStore();
    store.down = true;
    const { r } = make(store, { maxQueueChars: 100_000, flushAt: 100_000 });
    for (let i = 0; i < 100; i++) r.record(testTrace(i, { input: 'x'.repeat(10_000) }));
    expect(r.queued).toBeLessThanOrEqual(11);
    expect(r.dropped).toBeGreaterThanOrEqual(89);
  });

  it('answers lookupRecent until the trace is stored, also while a write is under way', async () => {
    const store = new FlakyStore();
    const { r } = make(store, { batchSize: 2 });
    r.record(testTrace(1, { prediction: 'positive' }));
    expect(r.lookupRecent('req_1')).toEqual({ model: 'bot', version: 'v1', startedAt: T0 + 1, prediction: 'positive' });
    expect(await store.get('req_1')).toBeUndefined();
    for (let i = 2; i <= 6; i++) r.record(testTrace(i));
    // A slow store: every queued trace stays known while the batches go out.
    const insert = store.insertMany.bind(store);
    const seen: Array<string | undefined> = [];
    store.insertMany = async (traces) => {
      seen.push(r.lookupRecent('req_6')?.model);
      await new Promise((res) => setTimeout(res, 5));
      return insert(traces);
    };
    await r.flush();
    expect(seen).toEqual(['bot', 'bot', 'bot']);
    // Stored: the trace store answers from now on.
    expect(r.lookupRecent('req_1')).toBeUndefined();
    expect(await store.get('req_1')).toBeDefined();
    r.record(testTrace(7, { shadow: true, requestId: 'req_7.shadow' }));
    expect(r.lookupRecent('req_7.shadow')).toBeUndefined();
  });

  it('runs retention by age and count', async () => {
    const store = new FlakyStore();
    const now = T0 + 48 * 3_600_000;
    const { r } = make(store, { retention: { maxAgeHours: 24, maxCount: 2 } }, { now: () => now });
    r.record(testTrace(1, { startedAt: T0 }));
    r.record(testTrace(2, { startedAt: now - 3000 }));
    r.record(testTrace(3, { startedAt: now - 2000 }));
    r.record(testTrace(4, { startedAt: now - 1000 }));
    await r.flush();
    expect(await r.prune()).toBe(2);
    expect(store.pruned).toEqual([{ before: now - 24 * 3_600_000, maxCount: 2 }]);
    expect((await store.query({})).map((t) => t.requestId).sort()).toEqual(['req_3', 'req_4']);
  });

  it('writes what is queued on close', async () => {
    const store = new FlakyStore();
    const { r } = make(store);
    r.record(testTrace(1));
    await r.close();
    expect(await store.get('req_1')).toBeDefined();
  });

  it('writes nothing more after close, even when the store was down', async () => {
    const store = new FlakyStore();
    const { r, warnings } = make(store, { flushIntervalMs: 5, flushAt: 2 });
    store.down = true;
    for (let i = 0; i < 5; i++) r.record(testTrace(i));
    await r.close();
    const calls = store.calls;
    expect(warnings.some((w) => (w as { lost?: number }).lost === 5)).toBe(true);
    await new Promise((res) => setTimeout(res, 50));
    r.record(testTrace(9));
    await new Promise((res) => setTimeout(res, 50));
    expect(store.calls).toBe(calls);
  });
});
