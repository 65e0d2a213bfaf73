import { describe, expect, it } from 'vitest';
import { latencyDetector } from './latency-detector.ts';
import { createSketch, type LatencySketch } from '../stats/latency-sketch.ts';
import { createRandom } from '../stats/random.ts';

function sketchOf(seed: number, n: number, medianMs: number, sigma = 0.5): LatencySketch {
  const r = createRandom(seed);
  const s = createSketch();
  for (let i = 0; i < n; i++) s.add(r.lognormal(Math.log(medianMs), sigma));
  return s;
}

const baseline = sketchOf(1, 50_000, 120);

describe('latencyDetector', () => {
  it('hard fault: latency ×20 breaches on 20 requests, with the ratio as magnitude (SEV2)', () => {
    const r = latencyDetector({ current: sketchOf(2, 20, 2400), baseline });
    expect(r.status).toBe('breach');
    expect(r.evidence.test).toBe('mann-whitney');
    expect(r.evidence.pValue).toBeLessThan(1e-6);
    expect(r.evidence.statistic).toBeGreaterThan(10);
    expect(r.evidence.threshold).toBe(1.5);
    expect(r.evidence.baselineSampleSize).toBe(50_000);
    expect(r.severity).toBe('SEV2');
  });

  it('a real 2× regression breaches; a 1.2× shift at large n is significant but below the minimum effect', () => {
    const twice = latencyDetector({ current: sketchOf(3, 2_000, 240), baseline });
    expect(twice.status).toBe('breach');
    expect(twice.magnitude).toBeGreaterThan(1.5);
    const slight = latencyDetector({ current: sketchOf(4, 20_000, 144), baseline });
    expect(slight.status).toBe('ok');
    expect(slight.evidence.detail).toContain('no quantile');
  });

  it('minDeltaMs: a ×1.6 shift of a few milliseconds is not a regression; the same shift at LLM latencies is', () => {
    const fastBaseline = sketchOf(21, 50_000, 1.2, 0.3);
    const fastNow = sketchOf(22, 1_500, 1.9, 0.3);
    expect(latencyDetector({ current: fastNow, baseline: fastBaseline }).status).toBe('breach');
    const floored = latencyDetector({ current: fastNow, baseline: fastBaseline, minDeltaMs: 10 });
    expect(floored.status).toBe('ok');
    expect(floored.evidence.detail).toContain('confidently ≥ ×1.5 and +10 ms');
    const slowNow = latencyDetector({ current: sketchOf(23, 1_500, 190, 0.5), baseline, minDeltaMs: 10 });
    expect(slowNow.status).toBe('breach');
    expect(slowNow.evidence.detail).toContain('need ≥ ×1.5 and +10 ms');
  });

  it('a tail-only regression is caught at p99', () => {
    const r = createRandom(5);
    const current = createSketch();
    for (let i = 0; i < 5_000; i++) current.add(i % 20 === 0 ? 3_000 + r.uniform(0, 500) : r.lognormal(Math.log(120), 0.5));
    const result = latencyDetector({ current, baseline });
    expect(result.status).toBe('breach');
    expect(result.evidence.detail).toMatch(/^p99 /);
  });

  it('accepts raw millisecond arrays as well as sketches', () => {
    const r = createRandom(9);
    const slow = Array.from({ length: 50 }, () => r.lognormal(Math.log(1200), 0.5));
    const result = latencyDetector({ current: slow, baseline: Array.from({ length: 2000 }, () => r.lognormal(Math.log(120), 0.5)) });
    expect(result.status).toBe('breach');
    expect(result.evidence.sampleSize).toBe(50);
  });

  it('healthy traffic is ok', () => {
    for (let seed = 10; seed < 20; seed++) {
      expect(latencyDetector({ current: sketchOf(seed, 200, 120), baseline, thresholdsMs: { p99: 2000 } }).status).toBe('ok');
    }
  });

  it('absolute quantile thresholds are judged on a confidence bound', () => {
    const slow = latencyDetector({ current: sketchOf(6, 100, 5_000), thresholdsMs: { p99: 1_000 } });
    expect(slow.status).toBe('breach');
    expect(slow.evidence.test).toBe('latency-quantile-threshold');
    expect(slow.evidence.threshold).toBe(1_000);
    // One slow request among 20 (5%): over the p99 limit for 1% of requests, but no evidence yet.
    const one = createSketch();
    for (let i = 0; i < 19; i++) one.add(100);
    one.add(5_000);
    const early = latencyDetector({ current: one, thresholdsMs: { p99: 1_000 } });
    expect(early.status).toBe('ok');
    expect(one.quantile(1)).toBeGreaterThan(1_000);
    expect(early.evidence.detail).toContain('p99');
  });

  it('never says ok without enough data', () => {
    expect(latencyDetector({ current: sketchOf(7, 5, 120), baseline }).status).toBe('insufficient_data');
    expect(latencyDetector({ current: sketchOf(7, 500, 120) }).status).toBe('insufficient_data');
    const small = latencyDetector({ current: sketchOf(7, 500, 120), baseline: sketchOf(8, 50, 120) });
    expect(small.status).toBe('insufficient_data');
    expect(small.evidence.detail).toContain('baseline has 50 requests');
    expect(() => latencyDetector({ current: sketchOf(7, 500, 120), thresholdsMs: { p42: 1 } as never })).toThrow(RangeError);
  });
});
