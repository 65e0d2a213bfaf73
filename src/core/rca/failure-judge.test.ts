import { describe, expect, it } from 'vitest';
import type { Trace } from '../types.ts';
import { armOf, failureJudge, indexFeedback, upstreamErrorClasses } from './failure-judge.ts';

const trace = (i: number, over: Partial<Trace> = {}): Trace => ({
  requestId: `r${i}`,
  model: 'm',
  version: 'v1',
  kind: 'predict',
  startedAt: i,
  latencyMs: 100 + (i % 10),
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 10,
  ...over,
});

describe('failureJudge', () => {
  const feedback = indexFeedback([
    { id: 1, requestId: 'r1', model: 'm', requestAt: 1, receivedAt: 10, label: 'fraud' },
    { id: 2, requestId: 'r1', model: 'm', requestAt: 1, receivedAt: 20, label: 'legit' }, // the later label wins
    { id: 3, requestId: 'r2', model: 'm', requestAt: 2, receivedAt: 10, rating: -1 },
    { id: 4, requestId: 'r3', model: 'm', requestAt: 3, receivedAt: 10, label: 'fraud' },
  ]);
  const baseline = Array.from({ length: 100 }, (_, i) => trace(1000 + i));

  it('counts errors, retried first attempts, failed validators, negative ratings and wrong labels', () => {
    const judge = failureJudge('errors', baseline, feedback);
    expect(judge.isFailure(trace(0))).toBe(false);
    expect(judge.isFailure(trace(0, { status: 'error', httpStatus: 502 }))).toBe(true);
    expect(judge.isFailure(trace(0, { retried: true, firstVersion: 'v2' }))).toBe(true);
    expect(judge.isFailure(trace(0, { status: 'error', httpStatus: 499, errorClass: 'client_disconnected' }))).toBe(false);
    expect(judge.isFailure(trace(0, { status: 'error', httpStatus: 503, errorClass: 'paused' }))).toBe(false);
    // Skipped by the circuit breaker, answered by stable: a failure of v2, not of v2's upstream host.
    expect(judge.isFailure(trace(0, { retried: true, firstVersion: 'v2', errorClass: 'circuit_open' }))).toBe(true);
    expect(upstreamErrorClasses.has('circuit_open')).toBe(false);
    expect(judge.isFailure(trace(0, { status: 'blocked', httpStatus: 400, errorClass: 'input_validator' }))).toBe(false);
    expect(judge.isFailure(trace(0, { validators: [{ validator: 'json', passed: false, action: 'flag' }] }))).toBe(true);
    expect(judge.isFailure(trace(1, { prediction: 'legit' }))).toBe(false);
    expect(judge.isFailure(trace(1, { prediction: 'fraud' }))).toBe(true);
    expect(judge.reason(trace(1, { prediction: 'fraud' }))).toBe('predicted fraud, labelled legit');
    expect(judge.isFailure(trace(2))).toBe(true);
    expect(judge.reason(trace(2))).toBe('negative user rating');
    // Not slow: latency only counts for latency incidents.
    expect(judge.isFailure(trace(0, { latencyMs: 99_999 }))).toBe(false);
    expect(judge.slowThresholdMs).toBeUndefined();
  });

  it('for latency incidents, counts answers slower than the baseline p99 (at least twice the median)', () => {
    const judge = failureJudge('latency', baseline, feedback);
    expect(judge.slowThresholdMs).toBe(2 * 104.5);
    expect(judge.isFailure(trace(0, { latencyMs: 209 }))).toBe(false);
    expect(judge.isFailure(trace(0, { latencyMs: 210 }))).toBe(true);
    expect(judge.reason(trace(0, { latencyMs: 210 }))).toBe('slow response (over 209 ms)');
    expect(judge.definition).toContain('latency above 209 ms');
    // Too little baseline: no threshold rather than a guessed one.
    expect(failureJudge('latency', baseline.slice(0, 5), feedback).slowThresholdMs).toBeUndefined();
  });

  it('attributes a retried request to the version first tried', () => {
    expect(armOf(trace(0, { version: 'v1', firstVersion: 'v3', retried: true }))).toBe('v3');
    expect(armOf(trace(0, { version: undefined }))).toBe('(none)');
  });
});
