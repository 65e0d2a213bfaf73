import { describe, expect, it } from 'vitest';
import { MetricWindows, type MetricWindow } from '../telemetry/metric-windows.ts';
import { SyntheticTraffic } from './synthetic-traffic.ts';
import { WindowCache } from './window-cache.ts';

const T0 = Date.UTC(2025, 0, 1);

function filled(seconds: number) {
  const windows = new MetricWindows();
  const traffic = new SyntheticTraffic(windows, [{ name: 'fraud-scorer', kind: 'predict', split: { v1: 1 } }], 3);
  for (let s = 0; s < seconds; s++) traffic.second(T0 + s * 1000);
  return windows;
}

const summary = (w: MetricWindow) => ({
  requests: w.requests,
  errors: w.errors,
  invalid: w.invalid,
  outputChars: w.outputChars,
  labelsTotal: w.labelsTotal,
  feedbackNegative: w.feedbackNegative,
  activeSeconds: w.activeSeconds,
  predictions: w.predictions,
  inputLengths: w.inputLengths.length,
  features: w.features.length,
  latencyCount: w.latency.count,
  p50: w.latency.count ? w.latency.getValueAtQuantile(0.5) : 0,
  p99: w.latency.count ? w.latency.getValueAtQuantile(0.99) : 0,
});

describe('WindowCache', () => {
  it('composes the same window as a direct snapshot, for any bounds', () => {
    const windows = filled(400);
    const cache = new WindowCache(windows);
    const now = T0 + 400_000 + 300;
    cache.setNow(now);
    for (const [from, to] of [
      [now - 300_000, now],
      [now - 60_000, now],
      [now - 2_000, now],
      [T0 + 12_345, T0 + 250_500],
      [T0 + 100_000, T0 + 110_000],
      [now - 390_000, now - 20_000],
    ]) {
      expect(summary(cache.snapshot('fraud-scorer', 'v1', from, to))).toEqual(summary(windows.snapshot('fraud-scorer', 'v1', from, to)));
    }
    expect(cache.misses).toBeGreaterThan(0);
    // The second read of the same span comes from cached blocks.
    const misses = cache.misses;
    cache.snapshot('fraud-scorer', 'v1', now - 300_000, now);
    expect(cache.misses).toBe(misses);
    expect(cache.hits).toBeGreaterThan(0);
  });

  it('shows late feedback in an old block once the block is read again', () => {
    const windows = filled(200);
    const cache = new WindowCache(windows, { ttlMs: 10_000, maxTtlMs: 10_000 });
    let now = T0 + 200_000;
    cache.setNow(now);
    const before = cache.snapshot('fraud-scorer', 'v1', T0, now).feedbackNegative;
    windows.recordFeedback({ model: 'fraud-scorer', version: 'v1', requestAt: T0 + 50_500, rating: -1 });
    // Within the TTL the cached block is reused...
    expect(cache.snapshot('fraud-scorer', 'v1', T0, now).feedbackNegative).toBe(before);
    // ...and after it, the block is read again.
    now += 10_000;
    cache.setNow(now);
    expect(cache.snapshot('fraud-scorer', 'v1', T0, now).feedbackNegative).toBe(before + 1);
  });

  it('always reads the newest seconds fresh', () => {
    const windows = filled(100);
    const cache = new WindowCache(windows);
    const now = T0 + 100_000;
    cache.setNow(now);
    const before = cache.snapshot('fraud-scorer', 'v1', now - 60_000, now).requests;
    windows.record({ model: 'fraud-scorer', version: 'v1', at: now - 5_000, ok: true, latencyMs: 10 });
    expect(cache.snapshot('fraud-scorer', 'v1', now - 60_000, now).requests).toBe(before + 1);
  });
});
