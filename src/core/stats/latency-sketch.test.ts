import { describe, expect, it } from 'vitest';
import {
  alignSketches,
  createSketch,
  deserializeSketch,
  mergeSketches,
  serializeSketch,
  type SerializedSketch,
} from './latency-sketch.ts';
import { createRandom } from './random.ts';
import { mannWhitneyU, mannWhitneyUFromCounts } from './mann-whitney.ts';

function exactQuantile(sorted: number[], q: number): number {
  // DDSketch's rank convention: value of rank floor-ish q·(n−1).
  return sorted[Math.floor(q * (sorted.length - 1))];
}

describe('LatencySketch', () => {
  const random = createRandom(11);
  const values = Array.from({ length: 20_000 }, () => random.lognormal(Math.log(120), 0.6));
  const sorted = [...values].sort((a, b) => a - b);

  it('quantiles are within 1% relative of the exact sample quantile', () => {
    const s = createSketch();
    for (const v of values) s.add(v);
    expect(s.count).toBe(values.length);
    for (const q of [0, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(s.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.0101);
    }
    expect(s.min).toBe(sorted[0]);
    expect(s.max).toBe(sorted[sorted.length - 1]);
    expect(s.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
  });

  it('merging per-second sketches equals one sketch of everything', () => {
    const whole = createSketch();
    const seconds = Array.from({ length: 20 }, () => createSketch());
    values.forEach((v, i) => {
      whole.add(v);
      seconds[i % 20].add(v);
    });
    const merged = mergeSketches(...seconds);
    expect(merged.count).toBe(whole.count);
    for (const q of [0.5, 0.95, 0.99]) expect(merged.quantile(q)).toBe(whole.quantile(q));
    expect(seconds[0].count).toBe(1000); // inputs untouched
    expect(merged.sum).toBeCloseTo(whole.sum, 6);
  });

  it('serialises through JSON and back without losing quantiles, count, sum, min, max', () => {
    const s = createSketch();
    for (const v of values) s.add(v);
    s.add(0); // zero bucket
    const wire = JSON.parse(JSON.stringify(s)) as SerializedSketch;
    const back = deserializeSketch(wire);
    expect(back.count).toBe(s.count);
    expect(back.sum).toBeCloseTo(s.sum, 9);
    expect(back.min).toBe(0);
    expect(back.max).toBe(s.max);
    for (const q of [0, 0.5, 0.95, 0.99, 1]) expect(back.quantile(q)).toBe(s.quantile(q));
    // A deserialised sketch merges like any other.
    const again = mergeSketches(back, deserializeSketch(serializeSketch(s)));
    expect(again.count).toBe(2 * s.count);
    expect(again.quantile(0.5)).toBe(s.quantile(0.5));
  });

  it('counts values above a threshold to bucket accuracy', () => {
    const s = createSketch();
    for (const v of values) s.add(v);
    for (const t of [50, 120, 300, 1000]) {
      const exact = values.filter((v) => v > t).length;
      const nearT = values.filter((v) => v > t * 0.98 && v < t * 1.02).length;
      expect(Math.abs(s.countAbove(t) - exact)).toBeLessThanOrEqual(nearT);
    }
    expect(s.countAbove(-1)).toBe(s.count);
  });

  it('subtract turns merged per-second sketches into a sliding window', () => {
    const seconds = Array.from({ length: 10 }, () => createSketch());
    values.slice(0, 10_000).forEach((v, i) => seconds[i % 10].add(v));
    const window = mergeSketches(...seconds.slice(0, 5));
    window.merge(seconds[5]).subtract(seconds[0]);
    const direct = mergeSketches(...seconds.slice(1, 6));
    expect(window.count).toBe(direct.count);
    expect(window.sum).toBeCloseTo(direct.sum, 6);
    for (const q of [0, 0.5, 0.99, 1]) expect(window.quantile(q)).toBe(direct.quantile(q));
    expect(window.countAbove(200)).toBe(direct.countAbove(200));
    expect(window.min).toBeNaN(); // cannot be un-merged
    for (const s of seconds.slice(1, 6)) window.subtract(s);
    expect(window.count).toBe(0);
    expect(() => window.subtract(seconds[7])).toThrow(RangeError);
    expect(window.count).toBe(0); // refused subtraction changed nothing
  });

  it('handles empty sketches', () => {
    const empty = createSketch();
    expect(empty.count).toBe(0);
    expect(empty.quantile(0.5)).toBeNaN();
    expect(empty.min).toBeNaN();
    const wire = serializeSketch(empty);
    expect(wire.min).toBeNull();
    expect(wire.counts).toEqual([]);
    const back = deserializeSketch(JSON.parse(JSON.stringify(wire)) as SerializedSketch);
    expect(back.count).toBe(0);
    const s = createSketch();
    s.add(5);
    expect(mergeSketches(back, s).quantile(0.5)).toBeCloseTo(5, 1);
  });

  it('refuses bad input', () => {
    const s = createSketch();
    expect(() => s.add(-1)).toThrow(RangeError);
    expect(() => s.add(NaN)).toThrow(RangeError);
    expect(() => s.add(Infinity)).toThrow(RangeError);
    expect(() => s.quantile(1.5)).toThrow(RangeError);
    expect(() => s.merge(createSketch(0.02))).toThrow(RangeError);
    const good = serializeSketch(s);
    expect(() => deserializeSketch({ ...good, v: 2 } as unknown as SerializedSketch)).toThrow(RangeError);
    expect(() => deserializeSketch({ ...good, counts: [-1] })).toThrow(RangeError);
    expect(() => deserializeSketch({ ...good, count: 99 })).toThrow(RangeError);
    expect(() => deserializeSketch(null as unknown as SerializedSketch)).toThrow(RangeError);
  });

  it('adds 1e6 values well under a second', () => {
    const s = createSketch();
    const r = createRandom(3);
    const input = Array.from({ length: 1_000_000 }, () => r.lognormal(Math.log(50), 1));
    const t0 = performance.now();
    for (const v of input) s.add(v);
    const ms = performance.now() - t0;
    console.log(`latency sketch: 1e6 adds in ${ms.toFixed(1)} ms`);
    expect(s.count).toBe(1_000_000);
    expect(ms).toBeLessThan(500);
  });

  it('aligned buckets feed a Mann–Whitney test close to the raw-sample one', () => {
    const r = createRandom(5);
    const base = Array.from({ length: 3000 }, () => r.lognormal(Math.log(100), 0.5));
    const slow = Array.from({ length: 1000 }, () => r.lognormal(Math.log(110), 0.5));
    const a = createSketch();
    const b = createSketch();
    slow.forEach((v) => a.add(v));
    base.forEach((v) => b.add(v));
    const aligned = alignSketches(a, b);
    expect(aligned.countsA.reduce((x, y) => x + y, 0)).toBe(1000);
    expect(aligned.keys).toEqual([...aligned.keys].sort((x, y) => x - y));
    const grouped = mannWhitneyUFromCounts(aligned.countsA, aligned.countsB, { alternative: 'greater' });
    const raw = mannWhitneyU(slow, base, { alternative: 'greater' });
    // 1%-wide buckets only create ties between values within 2% of each other.
    expect(Math.abs(grouped.probabilityOfSuperiority - raw.probabilityOfSuperiority)).toBeLessThan(0.003);
    expect(grouped.pValue).toBeLessThan(1e-6);
    expect(raw.pValue).toBeLessThan(1e-6);
  });
});
