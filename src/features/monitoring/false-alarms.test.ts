// Quality bar: "no false incident in an hour of simulated healthy, noisy traffic". Each seed is one
// simulated hour through the real monitor runner (fake clock, real metric windows, real incident
// service): a chat model in a 50/50 split (v2 judged against the stable arm, v1 against its own
// past) and a predict model on its stable version alone — every built-in monitor on every live
// version, every second. Traffic wanders between 20 and 200 req/s per model, error-like rates and
// the latency median jitter every second, inputs and outputs vary in length, a tenth of the answers
// are rated and a fifth of predictions get a label up to two minutes late.
//
// An hour costs ~15 s of CPU; FAILSAFE_FALSE_ALARM_SEEDS raises the number of seeds (bench/detect.ts
// runs more).
import { describe, expect, it } from 'vitest';
import { simulateMonitoredTraffic, SIMULATED_MODELS, type MonitorSimulationResult } from './monitor-simulation.ts';

const SEEDS = Array.from({ length: Number(process.env.FAILSAFE_FALSE_ALARM_SEEDS ?? 3) }, (_, i) => 1001 + i);

describe('false alarms over simulated healthy hours', () => {
  const results: MonitorSimulationResult[] = [];

  it.each(SEEDS)('seed %d: a healthy, noisy hour opens no incident', async (seed) => {
    const r = await simulateMonitoredTraffic({ seed, seconds: 3600, models: SIMULATED_MODELS });
    results.push(r);
    // 3 live versions × 10 monitors, every second.
    expect(r.evaluations).toBe(3600 * 30);
    expect(r.requests).toBeGreaterThan(3600 * 40);
    expect(r.incidents, JSON.stringify(r.firstBreaches.map((f) => f.evidence.detail))).toEqual([]);
    expect(r.breaches, JSON.stringify(r.firstBreaches.map((f) => f.evidence.detail))).toBe(0);
    // The monitors did judge: most evaluations had enough data.
    expect(r.insufficientData).toBeLessThan(r.evaluations / 2);
  }, 600_000);

  it('measured false-alarm rate over all seeds', () => {
    const evaluations = results.reduce((a, r) => a + r.evaluations, 0);
    const breaches = results.reduce((a, r) => a + r.breaches, 0);
    const incidents = results.reduce((a, r) => a + r.incidents.length, 0);
    const rate = evaluations > 0 ? breaches / evaluations : NaN;
    console.log(
      `false alarms: ${breaches} breaching evaluations in ${evaluations} (rate ${rate}), ${incidents} incidents over ${results.length} simulated hours ` +
        `(${results.reduce((a, r) => a + r.requests, 0)} requests)`,
    );
    expect(results).toHaveLength(SEEDS.length);
    expect(rate).toBe(0);
    expect(incidents).toBe(0);
  });

  it('the simulation can fail: an over-sensitive setting does raise false incidents', async () => {
    const r = await simulateMonitoredTraffic({
      seed: 1,
      seconds: 300,
      models: SIMULATED_MODELS,
      monitors: { 'error-rate': { absoluteThreshold: 0.004, confidence: 0.5, baseline: 'none' } },
    });
    expect(r.breachesByMonitor['error-rate']).toBeGreaterThan(0);
    expect(r.incidents.length).toBeGreaterThan(0);
  });
});
