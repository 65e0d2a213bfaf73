import { describe, expect, it } from 'vitest';
import { rateDetector } from './rate-detector.ts';
import { toFinding } from './detector-result.ts';

const window = { from: 1_700_000_000_000, to: 1_700_000_001_000 };
const stableBaseline = { events: 60, trials: 12_000 }; // 0.5% over 12k requests

describe('rateDetector', () => {
  it('hard fault: 50% errors in one second at 200 req/s against a 0.5% baseline breaches as SEV1', () => {
    const r = rateDetector({ current: { events: 100, trials: 200 }, baseline: stableBaseline, window });
    expect(r.status).toBe('breach');
    expect(r.severity).toBe('SEV1');
    expect(r.family).toBe('errors');
    expect(r.evidence).toMatchObject({
      test: 'msprt-two-sample',
      threshold: 0.001,
      window,
      sampleSize: 200,
      baselineSampleSize: 12_000,
      observed: 0.5,
      baseline: 0.005,
    });
    expect(r.evidence.pValue).toBeLessThan(1e-20);
    expect(r.evidence.detail).toContain('always-valid p');
  });

  it('hard fault at 20 req/s: one second of 10/20 errors breaches through the absolute threshold', () => {
    const r = rateDetector({ current: { events: 10, trials: 20 }, baseline: stableBaseline, absoluteThreshold: 0.05 });
    expect(r.status).toBe('breach');
    expect(r.evidence.test).toBe('rate-threshold');
    expect(r.evidence.bound).toBeGreaterThan(0.15);
    expect(r.severity).toBe('SEV1');
  });

  it('a fixed baseline rate uses the exact one-sample test', () => {
    const r = rateDetector({ current: { events: 30, trials: 400 }, baseline: { rate: 0.005 } });
    expect(r.status).toBe('breach');
    expect(r.evidence.test).toBe('msprt-one-sample');
    expect(r.evidence.baselineSampleSize).toBeUndefined();
    expect(r.severity).toBe('SEV3'); // 7.5% errors
    // 5% over 400 is significant, but not surely 2 points above 0.5%: the effect gate holds it.
    const marginal = rateDetector({ current: { events: 20, trials: 400 }, baseline: { rate: 0.005 } });
    expect(marginal.evidence.pValue).toBeLessThan(0.001);
    expect(marginal.status).toBe('ok');
  });

  it('absolute threshold alone (no baseline) works, judged on the exact confidence bound', () => {
    expect(rateDetector({ current: { events: 30, trials: 200 }, absoluteThreshold: 0.05 }).status).toBe('breach');
    // 2 errors in 25 requests is 8% but could well be a 1% process: not a confident breach.
    const early = rateDetector({ current: { events: 2, trials: 25 }, absoluteThreshold: 0.05 });
    expect(early.status).toBe('ok');
    expect(early.evidence.bound).toBeLessThan(0.05);
    // With confidence 0.5 the bound is (close to) the raw rate.
    expect(rateDetector({ current: { events: 2, trials: 25 }, absoluteThreshold: 0.05, confidence: 0.5 }).status).toBe('breach');
  });

  it('significant but tiny shifts at large n are not incidents (minimum effect)', () => {
    const r = rateDetector({ current: { events: 6_000, trials: 1_000_000 }, baseline: { events: 5_000, trials: 1_000_000 } });
    expect(r.status).toBe('ok');
    expect(r.evidence.pValue).toBeLessThan(0.01); // the test alone would fire
    expect(r.evidence.detail).toContain('need ≥ 1.5');
  });

  it('accuracy drop (direction decrease) from 90% to 80% breaches as SEV2', () => {
    const r = rateDetector({
      family: 'accuracy',
      direction: 'decrease',
      current: { events: 320, trials: 400 },
      baseline: { rate: 0.9 },
      alpha: 0.05,
    });
    expect(r.status).toBe('breach');
    expect(r.magnitude).toBeCloseTo(0.1, 10);
    expect(r.severity).toBe('SEV2');
    // Accuracy going UP is not an incident.
    expect(rateDetector({ family: 'accuracy', direction: 'decrease', current: { events: 395, trials: 400 }, baseline: { rate: 0.9 } }).status).toBe('ok');
    // Absolute floor for accuracy.
    const floor = rateDetector({ family: 'accuracy', direction: 'decrease', current: { events: 110, trials: 200 }, absoluteThreshold: 0.7 });
    expect(floor.status).toBe('breach');
    expect(floor.magnitude).toBeCloseTo(0.15, 10);
    // 60% over 200 labels: the 99.9% upper bound (0.705) is not confidently under 70%.
    expect(rateDetector({ family: 'accuracy', direction: 'decrease', current: { events: 120, trials: 200 }, absoluteThreshold: 0.7 }).status).toBe('ok');
  });

  it('healthy traffic is ok and shows its numbers', () => {
    const r = rateDetector({ current: { events: 1, trials: 200 }, baseline: stableBaseline, absoluteThreshold: 0.05, window });
    expect(r.status).toBe('ok');
    expect(r.evidence.test).toBe('msprt-two-sample');
    expect(r.evidence.pValue).toBe(1);
    expect(r.pValue).toBe(1);
    expect(r.evidence.window).toEqual(window);
  });

  it('never says ok without enough data', () => {
    const few = rateDetector({ current: { events: 0, trials: 5 }, baseline: stableBaseline });
    expect(few.status).toBe('insufficient_data');
    expect(few.evidence.detail).toContain('need ≥ 10');
    expect(rateDetector({ current: { events: 0, trials: 500 } }).status).toBe('insufficient_data');
    const smallBaseline = rateDetector({ current: { events: 1, trials: 500 }, baseline: { events: 0, trials: 10 }, absoluteThreshold: 0.05 });
    expect(smallBaseline.status).toBe('insufficient_data');
    expect(smallBaseline.evidence.detail).toContain('baseline has 10 trials');
    // ...but a breach is still a breach when the baseline is too small.
    expect(rateDetector({ current: { events: 200, trials: 500 }, baseline: { events: 0, trials: 10 }, absoluteThreshold: 0.05 }).status).toBe('breach');
    expect(rateDetector({ current: { events: 0, trials: 500 }, baseline: { rate: 0 } }).status).toBe('insufficient_data');
    expect(() => rateDetector({ current: { events: 5, trials: 2 } })).toThrow(RangeError);
  });

  it('carries the running always-valid p-value on cumulative windows', () => {
    const r = rateDetector({ current: { events: 1, trials: 200 }, baseline: { rate: 0.005 }, previousPValue: 0.004 });
    expect(r.evidence.pValue).toBe(0.004);
  });

  it('toFinding adds identity and time', () => {
    const r = rateDetector({ current: { events: 100, trials: 200 }, baseline: stableBaseline, window });
    const f = toFinding(r, { monitor: 'error-rate', model: 'support-bot', version: 'v2', at: window.to, onsetAt: window.from });
    expect(f).toMatchObject({ monitor: 'error-rate', family: 'errors', model: 'support-bot', version: 'v2', status: 'breach', severity: 'SEV1', at: window.to, onsetAt: window.from });
    expect(f.evidence).toBe(r.evidence);
  });
});
