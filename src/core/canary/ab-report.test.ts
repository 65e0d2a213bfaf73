import { describe, expect, it } from 'vitest';
import { createSketch } from '../stats/latency-sketch.ts';
import { createRandom } from '../stats/random.ts';
import { abReport, bootstrapMedianDifference, twoProportionTest, type AbArm } from './ab-report.ts';

describe('twoProportionTest', () => {
  it('matches R prop.test(c(30,45), c(1000,1000), correct=FALSE)', () => {
    // R: X-squared = 3.1169, p-value = 0.07748; 95% CI of p1 - p2: -0.031640 0.001640 (Wald)
    const t = twoProportionTest({ events: 30, trials: 1000 }, { events: 45, trials: 1000 });
    expect(t.z * t.z).toBeCloseTo(3.1169, 3);
    expect(t.pValue).toBeCloseTo(0.07748, 4);
    expect(t.effect).toBeCloseTo(0.015, 10);
    expect(t.ci[0]).toBeCloseTo(-0.00164, 5);
    expect(t.ci[1]).toBeCloseTo(0.03164, 5);
  });
});

describe('bootstrapMedianDifference', () => {
  const r = createRandom(11);
  const sketch = (median: number, n: number) => {
    const s = createSketch();
    for (let i = 0; i < n; i++) s.add(r.lognormal(Math.log(median), 0.3));
    return s;
  };

  it('covers the true shift and zero for equal arms; reproducible from its seed', () => {
    const a = sketch(100, 3000);
    const b = sketch(120, 3000);
    const d = bootstrapMedianDifference(a, b, { seed: 5 });
    expect(d.ci[0]).toBeLessThan(20);
    expect(d.ci[1]).toBeGreaterThan(20);
    expect(d.ci[0]).toBeGreaterThan(10);
    expect(bootstrapMedianDifference(a, b, { seed: 5 })).toEqual(d);
    const same = bootstrapMedianDifference(a, sketch(100, 3000), { seed: 5 });
    expect(same.ci[0]).toBeLessThan(0);
    expect(same.ci[1]).toBeGreaterThan(0);
  });

  it('reports every metric of every treatment against the control', () => {
    const arm = (version: string, errors: number, median: number): AbArm => ({
      version,
      requests: 2000,
      errors,
      answered: 2000 - errors,
      invalid: 0,
      ratings: { positive: 0, negative: 0 },
      labels: { correct: 0, total: 0 },
      latency: sketch(median, 2000),
    });
    const [cmp] = abReport([arm('v1', 10, 100), arm('v2', 60, 130)], 'v1', { seed: 1 });
    expect(cmp.treatment).toBe('v2');
    const errors = cmp.metrics.find((m) => m.metric === 'error-rate')!;
    expect(errors).toMatchObject({ verdict: 'worse', significant: true, nControl: 2000, nTreatment: 2000 });
    expect(errors.effect).toBeCloseTo(0.025, 10);
    const latency = cmp.metrics.find((m) => m.metric === 'latency-p50')!;
    expect(latency.verdict).toBe('worse');
    expect(latency.pValue).toBeLessThan(1e-6);
    expect(cmp.metrics.find((m) => m.metric === 'accuracy')!.verdict).toBe('no data');
  });
});
