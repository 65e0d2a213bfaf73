import { describe, expect, it } from 'vitest';
import { createRandom, deriveSeed, mulberry32 } from './random.ts';

describe('mulberry32', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('is roughly uniform (mean 1/2, variance 1/12 over 1e5 draws)', () => {
    const r = mulberry32(7);
    let sum = 0;
    let sumSq = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = r();
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });
});

describe('deriveSeed', () => {
  it('gives different streams for different names and is stable', () => {
    expect(deriveSeed(1, 'traffic')).toBe(deriveSeed(1, 'traffic'));
    expect(deriveSeed(1, 'traffic')).not.toBe(deriveSeed(1, 'latency'));
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(2, 0));
  });
});

describe('createRandom samplers', () => {
  const n = 50_000;
  const moments = (draw: () => number): { mean: number; variance: number } => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = draw();
      s += x;
      s2 += x * x;
    }
    return { mean: s / n, variance: s2 / n - (s / n) ** 2 };
  };

  it('normal has the requested mean and sd', () => {
    const r = createRandom(1);
    const m = moments(() => r.normal(3, 2));
    expect(Math.abs(m.mean - 3)).toBeLessThan(0.05);
    expect(Math.abs(m.variance - 4)).toBeLessThan(0.1);
  });

  it('lognormal median is e^mu', () => {
    const r = createRandom(2);
    const xs = Array.from({ length: 20_001 }, () => r.lognormal(Math.log(100), 0.5)).sort((a, b) => a - b);
    expect(Math.abs(xs[10_000] - 100)).toBeLessThan(2);
  });

  it('binomial matches n·p and n·p·(1-p), for small and large p', () => {
    const r = createRandom(3);
    for (const [trials, p] of [
      [200, 0.005],
      [200, 0.5],
      [50, 0.9],
    ] as const) {
      const m = moments(() => r.binomial(trials, p));
      expect(Math.abs(m.mean - trials * p)).toBeLessThan(0.05 * Math.max(1, trials * p));
      expect(Math.abs(m.variance - trials * p * (1 - p))).toBeLessThan(0.08 * trials * p * (1 - p) + 0.01);
    }
    expect(r.binomial(10, 0)).toBe(0);
    expect(r.binomial(10, 1)).toBe(10);
    expect(() => r.binomial(-1, 0.5)).toThrow(RangeError);
  });

  it('poisson mean and variance equal lambda (small and chunked large)', () => {
    const r = createRandom(4);
    for (const lambda of [0.5, 7, 120]) {
      const m = moments(() => r.poisson(lambda));
      expect(Math.abs(m.mean - lambda)).toBeLessThan(0.03 * lambda + 0.01);
      expect(Math.abs(m.variance - lambda)).toBeLessThan(0.06 * lambda + 0.02);
    }
  });

  it('int, uniform, bernoulli, pick stay in range', () => {
    const r = createRandom(5);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = r.int(3, 5);
      expect(k >= 3 && k <= 5 && Number.isInteger(k)).toBe(true);
      const u = r.uniform(-1, 1);
      expect(u >= -1 && u < 1).toBe(true);
      if (r.bernoulli(0.3)) hits++;
      expect(['a', 'b']).toContain(r.pick(['a', 'b']));
    }
    expect(Math.abs(hits / 10_000 - 0.3)).toBeLessThan(0.02);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});
