import { describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import { MemoryTraceStore } from '../telemetry/memory-trace-store.ts';
import { TraceSegments } from './arm-samples.ts';

const trace = (id: string, version: string, startedAt: number, latencyMs: number, inputChars: number, failed = false): Trace => ({
  requestId: id,
  model: 'm',
  version: failed ? 'v1' : version,
  ...(failed ? { firstVersion: version } : {}),
  kind: 'chat',
  startedAt,
  latencyMs,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: failed,
  inputChars,
  outputChars: 5,
});

describe('TraceSegments', () => {
  it('counts a slow request by when it ended, however long before the cursor it started, and once', async () => {
    const traces = new MemoryTraceStore();
    const segments = new TraceSegments({ traces, model: 'm', candidate: 'v2', baseline: 'v1', shadow: false, from: 0, edges: [256, 1024], lagMs: 1000 });
    // Fast requests land at once; a 4 s long-input request that failed on v2 starts at 500 ms.
    await traces.insertMany([trace('a', 'v2', 100, 20, 10), trace('b', 'v1', 200, 20, 10)]);
    await segments.update(3000, 40);
    expect(segments.coveredUntil).toBe(2000);
    expect(segments.candidate).toEqual({ '0-255': { requests: 1, failures: 0 } });
    // It lands at 4.5 s, long after the cursor passed 500 ms; the windows now know a 4 s request.
    await traces.insertMany([trace('slow', 'v2', 500, 4000, 1500, true), trace('c', 'v2', 2500, 20, 10)]);
    await segments.update(5000, 4000);
    expect(segments.candidate).toEqual({ '0-255': { requests: 2, failures: 0 } });
    await segments.update(6000, 4000);
    expect(segments.candidate).toEqual({ '0-255': { requests: 2, failures: 0 }, '1024+': { requests: 1, failures: 1 } });
    expect(segments.stable).toEqual({ '0-255': { requests: 1, failures: 0 } });
    // Read again within the band on later updates: still counted once.
    await segments.update(7000, 4000);
    await segments.update(7000, 4000);
    expect(segments.candidate).toEqual({ '0-255': { requests: 2, failures: 0 }, '1024+': { requests: 1, failures: 1 } });
    expect(segments.coveredUntil).toBe(6000);
  });

  it('pages through many traces at one start time without counting any twice', async () => {
    const traces = new MemoryTraceStore();
    const segments = new TraceSegments({ traces, model: 'm', candidate: 'v2', baseline: 'v1', shadow: false, from: 0, edges: [256], lagMs: 0, pageSize: 4 });
    const starts = [100, 100, 100, 101, 101, 101, 102, 102, 103, 103];
    await traces.insertMany(starts.map((at, i) => trace(`t${i}`, 'v2', at, 5, 10)));
    await segments.update(1000, 10);
    expect(segments.candidate).toEqual({ '0-255': { requests: 10, failures: 0 } });
  });

  it('without the band (a request longer than any the windows saw) the late trace is not counted', async () => {
    const traces = new MemoryTraceStore();
    const segments = new TraceSegments({ traces, model: 'm', candidate: 'v2', baseline: 'v1', shadow: false, from: 0, edges: [256, 1024], lagMs: 1000 });
    await segments.update(3000, 40);
    await traces.insertMany([trace('slow', 'v2', 500, 4000, 1500, true)]);
    await segments.update(6000, 40);
    expect(segments.candidate).toEqual({});
  });
});
