import { describe, expect, it } from 'vitest';
import { createSketch, type LatencySketch } from '../stats/latency-sketch.ts';
import { createRandom } from '../stats/random.ts';
import { canarySettings } from './canary-settings.ts';
import { compareAgreement, compareLatency, compareRates, compareSegments, inputLengthBucket } from './compare-arms.ts';

const s = canarySettings();
const rate = (cE: number, cN: number, sE: number, sN: number, extra: Partial<Parameters<typeof compareRates>[0]> = {}) =>
  compareRates({
    monitor: 'error-rate',
    family: 'errors',
    direction: 'increase',
    describe: 'failed calls',
    candidate: { events: cE, trials: cN },
    stable: { events: sE, trials: sN },
    settings: s,
    margin: 0.02,
    required: true,
    ...extra,
  });

function sketchOf(values: number[]): LatencySketch {
  const k = createSketch();
  for (const v of values) k.add(v);
  return k;
}

describe('compareRates', () => {
  it('breaches on a clear rise with its numbers, even before minSamples (the test is always valid)', () => {
    const r = rate(24, 80, 4, 1000);
    expect(r.status).toBe('breach');
    expect(r.pValue).toBeLessThanOrEqual(s.alpha);
    expect(r.nCandidate).toBe(80);
    expect(r.nStable).toBe(1000);
    expect(r.observed).toBeCloseTo(0.3);
    expect(r.baseline).toBeCloseTo(0.004);
    expect(r.bound).toBeGreaterThan(0.1);
    expect(r.detail).toContain('candidate 30% (24/80) vs stable 0.4% (4/1000)');
  });

  it('never says ok below minSamples, whatever the data', () => {
    const r = rate(0, 150, 0, 5000);
    expect(r.status).toBe('insufficient_data');
    expect(r.summary).toBe('n=150 < 200');
  });

  it('says ok with enough data when the candidate is confidently within the margin', () => {
    const r = rate(1, 400, 20, 8000);
    expect(r.status).toBe('ok');
    expect(r.bound).toBeLessThan(0.0025 + 0.02);
    expect(r.margin).toBe(0.02);
  });

  it('waits on a 3-point regression until the sequential test can abort it — never ok', () => {
    // 3% invalid against 0%: at n=200 neither verdict is supported yet.
    const early = rate(6, 200, 0, 4000, { monitor: 'output-validity' });
    expect(early.status).toBe('insufficient_data');
    expect(early.summary).toMatch(/^inconclusive/);
    const later = rate(27, 900, 0, 18000, { monitor: 'output-validity' });
    expect(later.status).toBe('breach');
  });

  it('needs a practical effect: a significant but tiny rise is not a breach', () => {
    // 1.2% vs 1.0% over huge samples: significant, but 0.2 points and ×1.2.
    const r = rate(1200, 100_000, 10_000, 1_000_000);
    expect(r.pValue).toBeLessThan(s.alpha);
    expect(r.status).not.toBe('breach');
  });

  it('judges accuracy downwards', () => {
    const drop = compareRates({
      monitor: 'accuracy',
      family: 'accuracy',
      direction: 'decrease',
      describe: 'correct labels',
      candidate: { events: 140, trials: 200 },
      stable: { events: 1800, trials: 2000 },
      settings: s,
      margin: 0.05,
      required: false,
    });
    expect(drop.status).toBe('breach');
    const same = compareRates({
      monitor: 'accuracy',
      family: 'accuracy',
      direction: 'decrease',
      describe: 'correct labels',
      candidate: { events: 950, trials: 1000 },
      stable: { events: 9000, trials: 10000 },
      settings: s,
      margin: 0.05,
      required: false,
    });
    expect(same.status).toBe('ok');
  });

  it('does not breach against a stable arm that has almost no data', () => {
    expect(rate(10, 10, 0, 10).status).toBe('insufficient_data');
  });
});

describe('compareLatency', () => {
  const r = createRandom(7);
  const around = (ms: number, n: number, jitter = 0.1) => Array.from({ length: n }, () => ms * (1 + jitter * (r.next() - 0.5)));

  it('breaches on a candidate 40% slower', () => {
    const res = compareLatency({ candidate: sketchOf(around(28, 60)), stable: sketchOf(around(20, 2000)), settings: s, required: true });
    expect(res.status).toBe('breach');
    expect(res.statistic).toBeGreaterThan(1.3);
    expect(res.quantiles?.[0]?.thresholdMs).toBeGreaterThan(24);
    expect(res.detail).toMatch(/lower bound/);
  });

  it('is ok for the same latency with enough data, and never for fewer than minSamples', () => {
    const ok = compareLatency({ candidate: sketchOf(around(20, 300)), stable: sketchOf(around(20, 6000)), settings: s, required: true });
    expect(ok.status).toBe('ok');
    const few = compareLatency({ candidate: sketchOf(around(20, 50)), stable: sketchOf(around(20, 6000)), settings: s, required: true });
    expect(few.status).toBe('insufficient_data');
    expect(few.summary).toBe('n=50 < 200');
  });

  it('ignores sub-millisecond differences (minDeltaMs)', () => {
    const res = compareLatency({ candidate: sketchOf(around(1.4, 500)), stable: sketchOf(around(1, 5000)), settings: s, required: true });
    expect(res.status).toBe('ok');
  });
});

describe('compareSegments', () => {
  type Buckets = Record<string, { requests: number; failures: number }>;
  const judge = (candidate: Buckets, stable: Buckets) => compareSegments({ candidate, stable, settings: s, required: false });

  it('catches failures confined to long inputs that the overall rate hides', () => {
    const overall = rate(7, 186, 12, 3510);
    expect(overall.status).not.toBe('breach');
    const seg = judge(
      { '0-255': { requests: 180, failures: 1 }, '1024-4095': { requests: 6, failures: 6 } },
      { '0-255': { requests: 3400, failures: 12 }, '1024-4095': { requests: 110, failures: 0 } },
    );
    expect(seg.status).toBe('breach');
    expect(seg.summary).toBe('inputs of 1024-4095 chars: 100% (6/6) failed vs 0% (0/110)');
    expect(seg.segments?.find((g) => g.segment === '1024-4095')?.status).toBe('breach');
  });

  it('leaves failures spread over every input length to the overall monitors', () => {
    // Invalid answers at the same rate on every input: worse than stable in each bucket, none worse than the rest.
    const oneBucket = judge({ '0-255': { requests: 1305, failures: 38 } }, { '0-255': { requests: 1214, failures: 0 } });
    expect(oneBucket.status).toBe('ok');
    expect(oneBucket.segments?.[0]).toMatchObject({ segment: '0-255', status: 'ok', spread: true });
    expect(oneBucket.detail).toContain('(worse, as on other inputs)');
    const stable = { '0-255': { requests: 1200, failures: 0 }, '256-1023': { requests: 1100, failures: 0 } };
    expect(judge({ '0-255': { requests: 1000, failures: 40 }, '256-1023': { requests: 900, failures: 36 } }, stable).status).toBe('ok');
    // The same short-input failures, now with clean long inputs beside them: concentrated, a breach.
    const confined = judge({ '0-255': { requests: 1000, failures: 40 }, '256-1023': { requests: 900, failures: 0 } }, stable);
    expect(confined.status).toBe('breach');
    expect(confined.summary).toMatch(/^inputs of 0-255 chars/);
  });

  it('holds on a suspect bucket: concentrated failures that the data cannot yet call a breach', () => {
    const clean = { requests: 400, failures: 0 };
    const held = judge({ '0-255': clean, '1024-4095': { requests: 3, failures: 3 } }, { '0-255': clean, '1024-4095': { requests: 8, failures: 0 } });
    expect(held).toMatchObject({ status: 'insufficient_data', holds: true });
    expect(held.segments?.find((g) => g.segment === '1024-4095')).toMatchObject({ status: 'insufficient_data', suspect: true });
    expect(held.detail).toContain('1024-4095 chars: candidate 3/3 failed, stable 0/8 (suspect)');
    // With no stable traffic there at all, still suspect; spread failures are not, nor are few of
    // them once the candidate has answered some of the bucket's inputs.
    expect(judge({ '0-255': clean, '1024-4095': { requests: 3, failures: 3 } }, { '0-255': clean }).holds).toBe(true);
    expect(judge({ '0-255': clean, '1024-4095': { requests: 3, failures: 2 } }, { '0-255': clean }).holds).toBeUndefined();
    // Every request of the bucket failed, even one: the step waits for the next one there.
    expect(judge({ '0-255': clean, '1024-4095': { requests: 1, failures: 1 } }, { '0-255': clean, '1024-4095': { requests: 16, failures: 0 } }).holds).toBe(true);
    expect(judge({ '0-255': clean, '1024-4095': { requests: 2, failures: 2 } }, { '0-255': clean }).holds).toBe(true);
    expect(judge({ '0-255': { requests: 400, failures: 12 }, '1024-4095': { requests: 100, failures: 3 } }, { '0-255': clean }).holds).toBeUndefined();
  });

  it('is ok when no bucket is worse', () => {
    expect(judge({ '0-255': { requests: 300, failures: 1 } }, { '0-255': { requests: 6000, failures: 20 } }).status).toBe('ok');
  });

  it('buckets input lengths by the edges', () => {
    expect(inputLengthBucket(10, s.inputLengthEdges)).toBe('0-255');
    expect(inputLengthBucket(256, s.inputLengthEdges)).toBe('256-1023');
    expect(inputLengthBucket(1500, s.inputLengthEdges)).toBe('1024-4095');
    expect(inputLengthBucket(20000, s.inputLengthEdges)).toBe('16384+');
  });
});

describe('compareAgreement', () => {
  it('reports without gating unless a minimum is set', () => {
    expect(compareAgreement({ pairs: 100, agreements: 50, captured: true, settings: s }).status).toBe('skipped');
    const gated = canarySettings({ minShadowAgreement: 0.9 });
    expect(compareAgreement({ pairs: 100, agreements: 50, captured: true, settings: gated }).status).toBe('breach');
    expect(compareAgreement({ pairs: 400, agreements: 398, captured: true, settings: gated }).status).toBe('ok');
    expect(compareAgreement({ pairs: 20, agreements: 20, captured: true, settings: gated }).status).toBe('insufficient_data');
    expect(compareAgreement({ pairs: 0, agreements: 0, captured: false, settings: gated }).summary).toBe('outputs not captured');
  });
});
