import { describe, expect, it } from 'vitest';
import type { Trace } from '../types.ts';
import { clusterErrors, failureMessage, normalizeMessage } from './cluster-errors.ts';

const trace = (i: number, over: Partial<Trace>): Trace => ({
  requestId: `r${i}`,
  model: 'm',
  version: 'v1',
  kind: 'chat',
  startedAt: 1000 + i,
  latencyMs: 10,
  httpStatus: 500,
  status: 'error',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 0,
  ...over,
});

describe('normalizeMessage', () => {
  it('replaces numbers, ids, hex, uuids, quoted strings, urls and addresses with tokens', () => {
    expect(normalizeMessage('request 550e8400-e29b-41d4-a716-446655440000 failed after 1200ms')).toBe('request <uuid> failed after <num>');
    expect(normalizeMessage('upstream http://127.0.0.1:9001/v1/chat returned 503')).toBe('upstream <url> returned <num>');
    expect(normalizeMessage("invalid JSON at position 17: unexpected token 'x'")).toBe('invalid JSON at position <num>: unexpected token <str>');
    expect(normalizeMessage('connect ECONNRESET 10.0.0.12:443')).toBe('connect ECONNRESET <ip>');
    expect(normalizeMessage('hash a3f9c2e81b07 mismatch, accepted')).toBe('hash <hex> mismatch, accepted');
    expect(normalizeMessage('notify ops@example.com   now')).toBe('notify <email> now');
  });

  it('describes failures without a message from validators, classes and retries', () => {
    expect(failureMessage(trace(1, { validators: [{ validator: 'json', passed: false, action: 'flag', message: 'not JSON' }] }))).toBe(
      'validator json failed: not JSON',
    );
    expect(failureMessage(trace(2, { errorClass: 'timeout' }))).toBe('timeout');
    expect(failureMessage(trace(3, { status: 'ok', httpStatus: 200, retried: true, firstVersion: 'v2' }))).toBe('first attempt on v2 failed (retried)');
  });
});

describe('clusterErrors', () => {
  it('groups messages by template, merges near-duplicates and counts versions and hosts', () => {
    const traces: Trace[] = [];
    for (let i = 0; i < 30; i++) {
      traces.push(trace(i, { errorClass: 'upstream_5xx', upstreamHost: 'h1', errorMessage: `upstream returned ${500 + (i % 4)} for request req-${i}` }));
    }
    for (let i = 30; i < 40; i++) {
      traces.push(trace(i, { version: 'v2', errorClass: 'malformed_output', errorMessage: `output is not JSON: "${'abc'.repeat(i % 3)}" at offset ${i}` }));
    }
    // Same template as the malformed output ones apart from one extra word: merged by Jaccard.
    traces.push(trace(40, { version: 'v2', errorClass: 'malformed_output', errorMessage: 'output is not valid JSON: "x" at offset 3' }));
    traces.push(trace(41, { status: 'ok', httpStatus: 200 })); // success: not clustered
    const clusters = clusterErrors(traces, { mergeSimilarity: 0.7 });
    expect(clusters).toHaveLength(2);
    expect(clusters[0]).toMatchObject({
      template: 'upstream returned <num> for request req-<num>',
      errorClass: 'upstream_5xx',
      count: 30,
      versions: { v1: 30 },
      upstreamHosts: { h1: 30 },
      firstAt: 1000,
      lastAt: 1029,
      sampleTraceIds: ['r0', 'r1', 'r2', 'r3', 'r4'],
    });
    expect(clusters[0].share).toBeCloseTo(30 / 41, 12);
    expect(clusters[1]).toMatchObject({ template: 'output is not JSON: <str> at offset <num>', count: 11, versions: { v2: 11 } });
  });

  it('keeps different error classes apart even with the same message', () => {
    const clusters = clusterErrors([trace(1, { errorClass: 'a', errorMessage: 'boom' }), trace(2, { errorClass: 'b', errorMessage: 'boom' })]);
    expect(clusters.map((c) => c.errorClass).sort()).toEqual(['a', 'b']);
    expect(clusterErrors([])).toEqual([]);
  });
});
