import { describe, expect, it } from 'vitest';
import { CompactSketch, MetricWindows, deserializeSketch, newSketch, serializeSketch, sketchQuantile, type Observation } from './metric-windows.ts';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const obs = (o: Partial<Observation>): Observation => ({ model: 'bot', version: 'v1', at: T0, ok: true, latencyMs: 10, ...o });

describe('MetricWindows', () => {
  it('counts per model+version per second and merges a window', () => {
    const w = new MetricWindows();
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 10; i++) {
        const n = s * 10 + i;
        w.record(
          obs({
            at: T0 + s * 1000 + i * 50,
            ok: n % 10 !== 0,
            errorClass: n % 10 === 0 ? (n % 20 === 0 ? 'timeout' : 'upstream_5xx') : undefined,
            latencyMs: 10 + i,
            promptTokens: 3,
            completionTokens: 7,
            outputChars: 20,
            inputChars: 100 + n,
            prediction: n % 3 === 0 ? 'positive' : 'negative',
          }),
        );
      }
    }
    w.record(obs({ version: 'v2', at: T0 + 500 }));
    const win = w.snapshot('bot', 'v1', T0, T0 + 10_000);
    expect(win.requests).toBe(100);
    expect(win.errors).toBe(10);
    expect(win.timeouts).toBe(5);
    expect(win.errorClasses).toEqual({ timeout: 5, upstream_5xx: 5 });
    expect(win.promptTokens).toBe(300);
    expect(win.completionTokens).toBe(700);
    expect(win.outputChars).toBe(2000);
    expect(win.activeSeconds).toBe(10);
    expect(win.predictions.positive + win.predictions.negative).toBe(100);
    expect(win.predictions.positive).toBe(34);
    expect(win.latency.count).toBe(100);
    expect(sketchQuantile(win.latency, 0.5)).toBeGreaterThan(13.5);
    expect(sketchQuantile(win.latency, 0.5)).toBeLessThan(15.5);
    expect(win.inputLengths.length).toBe(100); // each second's reservoir holds its 10
    // Half-open window [from, to): seconds 2..4.
    expect(w.snapshot('bot', 'v1', T0 + 2000, T0 + 5000).requests).toBe(30);
    expect(w.snapshot('bot', 'v2', T0, T0 + 10_000).requests).toBe(1);
    expect(w.snapshot('bot', 'v3', T0, T0 + 10_000).requests).toBe(0);
    expect(
      w
        .versions()
        .map((v) => `${v.model}/${v.version}`)
        .sort(),
    ).toEqual(['bot/v1', 'bot/v2']);
  });

  it('keeps only the retention span and never lets late data overwrite a newer second', () => {
    const w = new MetricWindows({ retentionSeconds: 60 });
    w.record(obs({ at: T0 }));
    w.record(obs({ at: T0 + 59_000 }));
    expect(w.snapshot('bot', 'v1', T0, T0 + 60_000).requests).toBe(2);
    w.record(obs({ at: T0 + 60_000 })); // reuses T0's slot
    expect(w.snapshot('bot', 'v1', T0, T0 + 61_000).requests).toBe(2);
    expect(w.snapshot('bot', 'v1', T0, T0 + 1000).requests).toBe(0);
    w.record(obs({ at: T0 })); // too old now: dropped, does not clobber the slot
    expect(w.snapshot('bot', 'v1', T0 + 60_000, T0 + 61_000).requests).toBe(1);
    // A gap longer than the ring: old seconds are gone, not mistaken for new ones.
    w.record(obs({ at: T0 + 500_000 }));
    expect(w.snapshot('bot', 'v1', T0, T0 + 600_000).requests).toBe(1);
  });

  it('counts feedback and late labels in the bucket of the request time', () => {
    const w = new MetricWindows();
    w.record(obs({ at: T0 }));
    w.record(obs({ at: T0 + 5000 }));
    expect(w.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0, rating: 1 })).toBe(true);
    w.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0 + 5000, rating: -1, correct: false });
    w.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0 + 5000, correct: true });
    const first = w.snapshot('bot', 'v1', T0, T0 + 1000);
    expect(first.feedbackPositive).toBe(1);
    expect(first.labelsTotal).toBe(0);
    const later = w.snapshot('bot', 'v1', T0 + 5000, T0 + 6000);
    expect(later).toMatchObject({ feedbackNegative: 1, labelsTotal: 2, labelsCorrect: 1 });
    expect(w.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0 - 10 * 3600_000, rating: 1 })).toBe(false);
  });

  it('keeps the rate counters of the last few seconds per tenth of a second', () => {
    const w = new MetricWindows();
    w.record(obs({ at: T0 + 50 }));
    w.record(obs({ at: T0 + 720, ok: false, errorClass: 'upstream_5xx' }));
    w.record(obs({ at: T0 + 799, ok: false, errorClass: 'timeout' }));
    w.record(obs({ at: T0 + 730, ok: false, errorClass: 'malformed_output' }));
    w.record(obs({ at: T0 + 1_950, invalid: true }));
    w.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0 + 720, rating: -1, correct: false });
    const tenths = w.tenths('bot', 'v1', T0, T0 + 2_000);
    expect(tenths.map((t) => t.at - T0)).toEqual(Array.from({ length: 20 }, (_, i) => i * 100));
    expect(tenths[0]).toMatchObject({ requests: 1, errors: 0 });
    expect(tenths[7]).toMatchObject({ requests: 3, errors: 3, timeouts: 1, invalid: 1, errorClasses: { malformed_output: 1 }, feedbackNegative: 1, labelsTotal: 1, labelsCorrect: 0 });
    expect(tenths[19]).toMatchObject({ requests: 1, errors: 0, invalid: 1, errorClasses: {} });
    // They add up to the seconds' buckets.
    const sum = tenths.reduce((n, t) => n + t.requests, 0);
    expect(sum).toBe(w.snapshot('bot', 'v1', T0, T0 + 2_000).requests);
    // A range starting inside a tenth starts at the next one; other series are apart.
    expect(w.tenths('bot', 'v1', T0 + 701, T0 + 900).map((t) => t.at - T0)).toEqual([800]);
    expect(w.tenths('bot', 'v2', T0, T0 + 2_000)).toEqual([]);
    // Four seconds later the first second is no longer kept per tenth (its bucket still is).
    w.record(obs({ at: T0 + 4_000 }));
    expect(w.tenths('bot', 'v1', T0, T0 + 1_000)).toEqual([]);
    expect(w.tenths('bot', 'v1', T0 + 1_000, T0 + 2_000)).toHaveLength(10);
    expect(w.snapshot('bot', 'v1', T0, T0 + 1_000).requests).toBe(4);
    // A late request of a second no longer kept changes no newer tenth.
    w.record(obs({ at: T0 + 10 }));
    expect(w.tenths('bot', 'v1', T0 + 4_000, T0 + 4_100)[0].requests).toBe(1);
  });

  it('serializes buckets so two replicas merge into what one would have seen', () => {
    const a = new MetricWindows();
    const b = new MetricWindows();
    const single = new MetricWindows();
    for (let i = 0; i < 400; i++) {
      const o = obs({
        at: T0 + (i % 7) * 1000 + i,
        latencyMs: 1 + (i % 50) * 3.7,
        ttfbMs: i % 4 === 0 ? 0.5 + i / 100 : undefined,
        ok: i % 11 !== 0,
        errorClass: i % 11 === 0 ? 'upstream_5xx' : undefined,
        inputChars: i,
        prediction: i % 2 ? 'a' : 'b',
        features: [i, i * 2],
      });
      (i % 2 ? a : b).record(o);
      single.record(o);
    }
    const merged = new MetricWindows();
    merged.importBuckets(JSON.parse(JSON.stringify(a.exportBuckets(T0, T0 + 10_000))));
    merged.importBuckets(JSON.parse(JSON.stringify(b.exportBuckets(T0, T0 + 10_000))));
    const m = merged.snapshot('bot', 'v1', T0, T0 + 10_000);
    const s = single.snapshot('bot', 'v1', T0, T0 + 10_000);
    expect(m.requests).toBe(s.requests);
    expect(m.errors).toBe(s.errors);
    expect(m.predictions).toEqual(s.predictions);
    expect(m.latency.count).toBe(s.latency.count);
    expect(m.ttfb.count).toBe(s.ttfb.count);
    for (const q of [0.5, 0.9, 0.99]) expect(sketchQuantile(m.latency, q)).toBeCloseTo(sketchQuantile(s.latency, q)!, 6);
    expect(m.latency.min).toBe(s.latency.min);
    expect(m.latency.max).toBe(s.latency.max);
    // Reservoirs stay bounded after merging.
    expect(m.inputLengths.length).toBeLessThanOrEqual(7 * 32);
    expect(m.features.length).toBeLessThanOrEqual(7 * 8);
  });

  it('keeps a bucket\'s sketch compact yet bin for bin the same as a DDSketch', () => {
    const dd = newSketch();
    const c = new CompactSketch();
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const v = i % 500 === 0 ? 0 : Math.exp((x / 2147483648) * 8 - 3); // 0.05 ms .. 150 ms, a few zeros
      dd.accept(v);
      c.accept(v);
    }
    c.trim();
    const merged = newSketch();
    c.mergeInto(merged);
    expect(merged.count).toBe(dd.count);
    expect(merged.zeroCount).toBe(dd.zeroCount);
    expect(merged.min).toBe(dd.min);
    expect(merged.max).toBe(dd.max);
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1]) expect(merged.getValueAtQuantile(q)).toBe(dd.getValueAtQuantile(q));
    const back = new CompactSketch();
    back.addSerialized(JSON.parse(JSON.stringify(c.toSerialized())));
    const again = newSketch();
    back.mergeInto(again);
    expect(again.getValueAtQuantile(0.99)).toBe(dd.getValueAtQuantile(0.99));
    expect(serializeSketch(again)).toEqual(serializeSketch(merged));
  });

  it('holds an hour of busy buckets in a few megabytes', () => {
    const w = new MetricWindows();
    const before = process.memoryUsage().heapUsed;
    for (let sec = 0; sec < 3600; sec++) {
      for (let i = 0; i < 50; i++) w.record(obs({ at: T0 + sec * 1000 + i, latencyMs: 0.5 + ((sec * 7 + i * 13) % 400) / 10, ttfbMs: 1 + (i % 30), inputChars: i }));
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(15 * 1024 * 1024);
    expect(w.snapshot('bot', 'v1', T0, T0 + 3_600_000).requests).toBe(180_000);
  });

  it('round-trips a sketch with its summary statistics', () => {
    const sk = newSketch();
    for (let i = 1; i <= 1000; i++) sk.accept(i / 10);
    const back = deserializeSketch(JSON.parse(JSON.stringify(serializeSketch(sk))));
    expect(back.count).toBe(1000);
    expect(back.sum).toBeCloseTo(sk.sum, 6);
    expect(back.min).toBe(0.1);
    expect(back.max).toBe(100);
    expect(back.getValueAtQuantile(0.99)).toBeCloseTo(sk.getValueAtQuantile(0.99), 6);
    expect(Math.abs(back.getValueAtQuantile(0.5) - 50) / 50).toBeLessThan(0.02);
  });

  it('keeps shadow traffic apart from the version it shadows', () => {
    const w = new MetricWindows();
    w.record(obs({ version: 'v2', shadow: true, ok: false, errorClass: 'timeout' }));
    w.record(obs({ version: 'v2' }));
    expect(w.snapshot('bot', 'v2', T0, T0 + 1000).errors).toBe(0);
    expect(w.snapshot('bot', 'v2', T0, T0 + 1000, { shadow: true }).errors).toBe(1);
    expect(w.versions().filter((v) => v.shadow)).toHaveLength(1);
  });
});
