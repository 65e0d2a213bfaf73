import { describe, expect, it } from 'vitest';
import { createRandom } from '../stats/random.ts';
import { inputLengthBucket, segmentFailures } from './segment-failures.ts';
import { generateTraces } from './synthetic-traces.ts';

const base = {
  model: 'support-bot',
  from: 0,
  to: 3_600_000,
  ratePerMinute: 60,
  weightsAt: () => ({ v1: 50, v2: 50 }),
  hosts: { v1: 'h1:9001', v2: 'h1:9001' },
  inputChars: (rng: ReturnType<typeof createRandom>) => rng.lognormal(Math.log(600), 0.5),
  clients: ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'],
};

describe('inputLengthBucket', () => {
  it('buckets by powers of four', () => {
    expect(inputLengthBucket(10)).toBe('<64');
    expect(inputLengthBucket(64)).toBe('64-256');
    expect(inputLengthBucket(1023)).toBe('256-1k');
    expect(inputLengthBucket(20000)).toBe('16k-64k');
    expect(inputLengthBucket(1e6)).toBe('>=64k');
  });
});

describe('segmentFailures', () => {
  it('finds the client and the tag where failures concentrate, with lift, share and corrected p-value', () => {
    const rng = createRandom(7);
    const traces = generateTraces(
      {
        ...base,
        tags: (r) => ({ region: r.pick(['eu', 'us', 'ap']), plan: r.pick(['free', 'pro']) }),
        outcome: (r, req) => (r.bernoulli(req.client === 'globex' ? 0.3 : 0.01) ? { status: 'error', httpStatus: 500, errorClass: 'internal' } : undefined),
      },
      rng,
    );
    const findings = segmentFailures(traces);
    const top = findings[0];
    expect(top.dimension).toBe('client');
    expect(top.value).toBe('globex');
    expect(top.significant).toBe(true);
    expect(top.lift).toBeGreaterThan(3);
    expect(top.shareOfFailures).toBeGreaterThan(0.7);
    expect(top.adjustedPValue).toBeLessThan(1e-10);
    expect(top.adjustedPValue).toBeGreaterThanOrEqual(top.pValue);
    const ids = new Set(traces.map((t) => t.requestId));
    for (const id of top.sampleTraceIds) expect(ids.has(id)).toBe(true);
    expect(top.sampleTraceIds.length).toBe(5);
    // No other dimension is significant: region, plan and version are independent of the client.
    expect(findings.filter((f) => f.significant && f.dimension !== 'client')).toEqual([]);
  });

  it('reports nothing significant for uniform noise, even across many segments', () => {
    let falsePositives = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const rng = createRandom(seed);
      const traces = generateTraces(
        {
          ...base,
          tags: (r) => ({ region: r.pick(['eu', 'us', 'ap', 'sa', 'af']), tier: r.pick(['a', 'b', 'c', 'd']) }),
          outcome: (r) => (r.bernoulli(0.03) ? { status: 'error', httpStatus: 500 } : undefined),
        },
        rng,
      );
      falsePositives += segmentFailures(traces).filter((f) => f.significant).length;
    }
    expect(falsePositives).toBeLessThanOrEqual(1);
  });

  it('concentrates on the top input length bucket and skips dimensions with one value', () => {
    const rng = createRandom(3);
    const traces = generateTraces(
      {
        ...base,
        inputChars: (r) => (r.bernoulli(0.1) ? r.uniform(20000, 40000) : r.uniform(100, 3000)),
        outcome: (_r, req) => (req.inputChars > 20000 ? { status: 'error', httpStatus: 400, errorClass: 'context_length_exceeded' } : undefined),
      },
      rng,
    );
    const findings = segmentFailures(traces, ['inputLength', 'upstreamHost']);
    expect(findings[0]).toMatchObject({ dimension: 'inputLength', value: '16k-64k', failureRate: 1, restFailureRate: 0, shareOfFailures: 1 });
    expect(findings.some((f) => f.dimension === 'upstreamHost')).toBe(false);
    expect(segmentFailures([], ['client'])).toEqual([]);
  });
});
