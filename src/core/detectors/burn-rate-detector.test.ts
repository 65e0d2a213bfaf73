import { describe, expect, it } from 'vitest';
import { burnRateDetector } from './burn-rate-detector.ts';

describe('burnRateDetector', () => {
  it('breaches when both windows burn faster than 14.4× (99.9% SLO)', () => {
    const r = burnRateDetector({ short: { events: 30, trials: 1_000 }, long: { events: 200, trials: 10_000 }, slo: 0.999 });
    expect(r.status).toBe('breach');
    expect(r.evidence).toMatchObject({ test: 'slo-burn-rate', threshold: 14.4, sampleSize: 10_000 });
    expect(r.evidence.statistic).toBeCloseTo(20, 8);
    expect(r.evidence.baseline).toBeCloseTo(0.001, 12);
    expect(r.severity).toBe('SEV2');
  });

  it('is ok after recovery (short window clean) and for a short blip (long window clean)', () => {
    expect(burnRateDetector({ short: { events: 0, trials: 1_000 }, long: { events: 200, trials: 10_000 }, slo: 0.999 }).status).toBe('ok');
    expect(burnRateDetector({ short: { events: 30, trials: 1_000 }, long: { events: 40, trials: 10_000 }, slo: 0.999 }).status).toBe('ok');
  });

  it('uses a custom factor, and needs traffic', () => {
    expect(burnRateDetector({ short: { events: 8, trials: 1_000 }, long: { events: 70, trials: 10_000 }, slo: 0.999, factor: 6 }).severity).toBe('SEV3');
    expect(burnRateDetector({ short: { events: 0, trials: 0 }, long: { events: 200, trials: 10_000 }, slo: 0.999 }).status).toBe('insufficient_data');
    expect(burnRateDetector({ short: { events: 5, trials: 10 }, long: { events: 5, trials: 50 }, slo: 0.999 }).status).toBe('insufficient_data');
  });
});
