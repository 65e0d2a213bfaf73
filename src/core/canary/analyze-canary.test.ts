import { describe, expect, it } from 'vitest';
import { createSketch, type LatencySketch } from '../stats/latency-sketch.ts';
import { createRandom, type Random } from '../stats/random.ts';
import { analyzeCanary, type ArmCounts, type ArmSample } from './analyze-canary.ts';
import { canarySettings } from './canary-settings.ts';

const zero = (): ArmCounts => ({ requests: 0, errors: 0, malformed: 0, invalid: 0, feedbackPositive: 0, feedbackNegative: 0, labelsCorrect: 0, labelsTotal: 0 });

/** Healthy-ish traffic: errors, invalid answers and latency drawn per request. */
class Arm {
  counts = zero();
  latency: LatencySketch = createSketch();
  constructor(
    private readonly r: Random,
    private readonly p: { errorRate: number; invalidRate: number; latencyMs: number },
  ) {}
  serve(n: number): this {
    for (let i = 0; i < n; i++) {
      this.counts.requests++;
      if (this.r.bernoulli(this.p.errorRate)) this.counts.errors++;
      else if (this.r.bernoulli(this.p.invalidRate)) this.counts.invalid++;
      this.latency.add(this.r.lognormal(Math.log(this.p.latencyMs), 0.25));
    }
    return this;
  }
  sample(): ArmSample {
    return { counts: { ...this.counts }, latency: this.latency.clone() };
  }
}

describe('analyzeCanary', () => {
  const s = canarySettings();

  it('says why it waits: insufficient data with the sample size', () => {
    const r = createRandom(1);
    const a = analyzeCanary({
      candidate: new Arm(r, { errorRate: 0, invalidRate: 0, latencyMs: 20 }).serve(12).sample(),
      stable: new Arm(r, { errorRate: 0, invalidRate: 0, latencyMs: 20 }).serve(400).sample(),
      settings: s,
    });
    expect(a.decision).toBe('insufficient_data');
    expect(a.reason).toContain('insufficient data: error-rate n=12 < 200');
    // Feedback and labels are absent on both arms: skipped, not waited for.
    expect(a.monitors.find((m) => m.monitor === 'accuracy')?.status).toBe('skipped');
    expect(a.monitors.every((m) => typeof m.nCandidate === 'number' && typeof m.nStable === 'number')).toBe(true);
  });

  it('passes a healthy candidate with enough data, and aborts one that is 40% slower', () => {
    const r = createRandom(2);
    const stable = new Arm(r, { errorRate: 0.002, invalidRate: 0.001, latencyMs: 20 }).serve(6000).sample();
    const good = analyzeCanary({ candidate: new Arm(r, { errorRate: 0.002, invalidRate: 0.001, latencyMs: 20 }).serve(400).sample(), stable, settings: s });
    expect(good.decision).toBe('pass');
    expect(good.reason).toMatch(/^all required monitors ok \(candidate n=400, stable n=6000\)/);
    const slow = analyzeCanary({ candidate: new Arm(r, { errorRate: 0.002, invalidRate: 0.001, latencyMs: 28 }).serve(150).sample(), stable, settings: s });
    expect(slow.decision).toBe('breach');
    expect(slow.reason).toMatch(/^latency breach: p50/);
  });

  /** Healthy windows on both arms; per-bucket counts with the candidate failing `longFailed` long inputs. */
  function healthyArmsWithLongInputs(seed: number, c: { short: number; long: number; longFailed: number }, b: { short: number; long: number }) {
    const r = createRandom(seed);
    const cand = new Arm(r, { errorRate: 0, invalidRate: 0, latencyMs: 20 }).serve(c.short + c.long).sample();
    const stab = new Arm(r, { errorRate: 0, invalidRate: 0, latencyMs: 20 }).serve(b.short + b.long).sample();
    cand.segments = { '0-255': { requests: c.short, failures: 0 }, '1024-4095': { requests: c.long, failures: c.longFailed } };
    stab.segments = { '0-255': { requests: b.short, failures: 0 }, '1024-4095': { requests: b.long, failures: 0 } };
    return { cand, stab };
  }

  it('folds segment breaches in and returns p-values to carry to the next look', () => {
    const { cand, stab } = healthyArmsWithLongInputs(3, { short: 95, long: 5, longFailed: 5 }, { short: 1900, long: 100 });
    const a = analyzeCanary({ candidate: cand, stable: stab, settings: s });
    expect(a.decision).toBe('breach');
    expect(a.reason).toContain('segment:input-length breach: inputs of 1024-4095 chars');
    expect(Object.keys(a.pValues)).toEqual(expect.arrayContaining(['error-rate', 'output-validity', 'latency#0.5', 'segment#1024-4095']));
  });

  it('does not pass while a segment is suspect: all failed on long inputs, too little stable traffic there to abort', () => {
    const { cand, stab } = healthyArmsWithLongInputs(4, { short: 396, long: 4, longFailed: 4 }, { short: 1990, long: 10 });
    const held = analyzeCanary({ candidate: cand, stable: stab, settings: s });
    expect(held.decision).toBe('insufficient_data');
    expect(held.reason).toBe('insufficient data: segment:input-length inputs of 1024-4095 chars: 100% (4/4) failed vs 0% (0/10), too few to judge yet');
    // Two failures prove little once the candidate has answered some long inputs: 2 of 4 passes.
    cand.segments!['1024-4095'] = { requests: 4, failures: 2 };
    expect(analyzeCanary({ candidate: cand, stable: stab, settings: s }).decision).toBe('pass');
    // But not while it has answered none of them, however few.
    cand.segments!['1024-4095'] = { requests: 2, failures: 2 };
    expect(analyzeCanary({ candidate: cand, stable: stab, settings: s }).decision).toBe('insufficient_data');
  });

  // The false-abort budget and detection speed, by simulation: a canary looked at every second.
  function runStep(seed: number, candidate: { errorRate: number; invalidRate: number; latencyMs: number }, rps: { c: number; s: number }, seconds: number) {
    const r = createRandom(seed);
    const c = new Arm(r, candidate);
    const b = new Arm(r, { errorRate: 0.005, invalidRate: 0.002, latencyMs: 20 });
    let prev: Record<string, number> | undefined;
    for (let t = 1; t <= seconds; t++) {
      c.serve(r.poisson(rps.c));
      b.serve(r.poisson(rps.s));
      const a = analyzeCanary({ candidate: c.sample(), stable: b.sample(), settings: s, previousPValues: prev });
      prev = a.pValues;
      if (a.decision === 'breach') return { decision: 'breach' as const, second: t, n: c.counts.requests, reason: a.reason };
      if (a.decision === 'pass') return { decision: 'pass' as const, second: t, n: c.counts.requests, reason: a.reason };
    }
    return { decision: 'insufficient_data' as const, second: seconds, n: c.counts.requests, reason: '' };
  }

  it('does not abort healthy candidates (60 seeded steps, looked at every second)', () => {
    const outcomes = Array.from({ length: 60 }, (_, i) => runStep(100 + i, { errorRate: 0.005, invalidRate: 0.002, latencyMs: 20 }, { c: 10, s: 190 }, 120));
    expect(outcomes.filter((o) => o.decision === 'breach')).toEqual([]);
    expect(outcomes.filter((o) => o.decision === 'pass').length).toBeGreaterThanOrEqual(55);
  });

  it('aborts a 3%-invalid candidate and never passes it', () => {
    const outcomes = Array.from({ length: 20 }, (_, i) => runStep(200 + i, { errorRate: 0.005, invalidRate: 0.032, latencyMs: 20 }, { c: 25, s: 475 }, 120));
    expect(outcomes.filter((o) => o.decision === 'pass')).toEqual([]);
    expect(outcomes.filter((o) => o.decision === 'breach').length).toBeGreaterThanOrEqual(18);
    for (const o of outcomes.filter((x) => x.decision === 'breach')) expect(o.reason).toMatch(/^output-validity breach/);
  });
});
