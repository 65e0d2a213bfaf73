import { describe, expect, it } from 'vitest';
import {
  simulateFaultDetection,
  simulateHealthyHour,
  summarizeHealthyRuns,
  type HealthySimulationResult,
} from './simulate-traffic.ts';

// Quality bar: "No false incident in an hour of simulated healthy, noisy traffic."
// Each seed is one hour: 20–200 req/s wandering, 0.5% errors with per-second jitter, log-normal
// latency (median 120 ms, σ 0.5) with a jittering median. Every second, the rate and latency
// detectors judge the last 1 s, 5 s and 60 s against a fixed baseline (10 healthy minutes):
// 3600 × 3 × 2 = 21,600 evaluations per hour.
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

describe('false alarms over simulated healthy hours', () => {
  const results: HealthySimulationResult[] = [];

  it.each(SEEDS)('seed %d: a healthy hour raises no breach', (seed) => {
    const r = simulateHealthyHour(seed);
    results.push(r);
    expect(r.evaluations).toBe(3600 * 3 * 2);
    expect(r.requests).toBeGreaterThan(3600 * 20);
    expect(r.breaches, JSON.stringify(r.firstBreaches)).toBe(0);
  });

  it('measured false-alarm rate over all seeds is 0', () => {
    const summary = summarizeHealthyRuns(results);
    console.log(
      `false alarms: ${summary.breaches} breaches in ${summary.evaluations} evaluations over ${summary.hours} simulated hours ` +
        `(rate ${summary.falseAlarmRate}, hours with a false alarm ${summary.hoursWithFalseAlarm}/${summary.seeds})`,
    );
    expect(summary.seeds).toBe(SEEDS.length);
    expect(summary.falseAlarmRate).toBe(0);
    expect(summary.hoursWithFalseAlarm).toBe(0);
  });

  it('also with a fixed baseline rate (one-sample test) instead of baseline counts', () => {
    for (const seed of [101, 102, 103]) {
      const r = simulateHealthyHour(seed, { rateBaseline: 'rate' });
      expect(r.breaches, JSON.stringify(r.firstBreaches)).toBe(0);
    }
  });

  it('the simulation can fail: an overly sensitive configuration does raise false alarms', () => {
    const r = simulateHealthyHour(1, { rate: { absoluteThreshold: 0.01, confidence: 0.5 } }, 600);
    expect(r.breaches).toBeGreaterThan(0);
    expect(r.firstBreaches[0].detector).toBe('rate');
  });
});

describe('hard faults are detected within 2 seconds of faulty data', () => {
  const cases = [
    { kind: 'errors', rps: 200 },
    { kind: 'errors', rps: 20 },
    { kind: 'latency', rps: 200 },
    { kind: 'latency', rps: 20 },
  ] as const;

  it.each(cases)('$kind fault at $rps req/s', (fault) => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const r = simulateFaultDetection(seed, { ...fault, startSecond: 120 });
      expect(r.breachesBeforeFault).toBe(0);
      expect(r.detected).toBe(true);
      delays.push(r.detectionSeconds!);
      if (fault.kind === 'errors') expect(Math.abs(r.onsetErrorSeconds!)).toBeLessThanOrEqual(1);
    }
    console.log(`${fault.kind} ×${fault.kind === 'errors' ? '50% errors' : '10 latency'} at ${fault.rps} req/s: detected after ${delays.join(', ')} s`);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2);
  });
});
