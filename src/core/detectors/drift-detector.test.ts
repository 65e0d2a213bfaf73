import { describe, expect, it } from 'vitest';
import { DRIFT_DEFAULT_THRESHOLDS, driftDetector } from './drift-detector.ts';
import { createRandom } from '../stats/random.ts';

const normals = (seed: number, n: number, mean = 0, sd = 1): number[] => {
  const r = createRandom(seed);
  return Array.from({ length: n }, () => r.normal(mean, sd));
};
const reference = normals(1, 5_000);

describe('driftDetector — numeric', () => {
  it('PSI flags a half-sd shift and names the bins that moved', () => {
    const r = driftDetector({ kind: 'numeric', reference, current: normals(2, 1_000, 0.5), feature: 'input_length' });
    expect(r.status).toBe('breach');
    expect(r.family).toBe('drift');
    expect(r.evidence.test).toBe('psi');
    expect(r.evidence.statistic).toBeGreaterThan(0.1);
    expect(r.evidence.pValue).toBeLessThan(0.01);
    expect(r.evidence.threshold).toBe(0.1);
    expect(r.evidence.sampleSize).toBe(1_000);
    expect(r.evidence.baselineSampleSize).toBe(5_000);
    expect(r.evidence.detail).toMatch(/^input_length: PSI .*largest shifts/);
    expect(r.severity).toBeDefined();
  });

  it('KS and JS flag the same shift; no shift is ok for all three', () => {
    for (const test of ['ks', 'js'] as const) {
      const drifted = driftDetector({ kind: 'numeric', reference, current: normals(3, 1_000, 0.5), test });
      expect(drifted.status).toBe('breach');
      expect(drifted.evidence.pValue).toBeLessThan(0.01);
    }
    for (const test of ['psi', 'ks', 'js'] as const) {
      expect(driftDetector({ kind: 'numeric', reference, current: normals(4, 1_000), test }).status).toBe('ok');
    }
  });

  it('a small sample from the same distribution is not drift, although PSI alone would say so', () => {
    // Two samples of 100 from one distribution: PSI is biased upwards (~0.1 on average).
    let psiOverThreshold = 0;
    let breaches = 0;
    for (let seed = 0; seed < 200; seed++) {
      const r = driftDetector({ kind: 'numeric', reference: normals(1000 + seed, 100), current: normals(2000 + seed, 100) });
      if ((r.evidence.statistic ?? 0) >= 0.1) psiOverThreshold++;
      if (r.status === 'breach') breaches++;
    }
    console.log(`same-distribution n=100: PSI ≥ 0.1 in ${psiOverThreshold}/200, breaches ${breaches}/200`);
    expect(psiOverThreshold).toBeGreaterThan(40);
    expect(breaches).toBeLessThanOrEqual(4);
  });

  it('KS needs a meaningful D as well as a small p at large n', () => {
    const big = normals(5, 50_000, 0.05);
    const r = driftDetector({ kind: 'numeric', reference: normals(6, 50_000), current: big, test: 'ks' });
    expect(r.evidence.pValue).toBeLessThan(0.01);
    expect(r.status).toBe('ok');
    expect(DRIFT_DEFAULT_THRESHOLDS.ks).toBe(0.01);
  });

  it('insufficient data below the minimum sizes', () => {
    const r = driftDetector({ kind: 'numeric', reference, current: normals(7, 50) });
    expect(r.status).toBe('insufficient_data');
    expect(r.evidence.detail).toContain('need ≥ 100');
    expect(driftDetector({ kind: 'numeric', reference: normals(8, 20), current: normals(9, 500) }).status).toBe('insufficient_data');
  });
});

describe('driftDetector — categorical', () => {
  const ref = { billing: 500, shipping: 300, returns: 200 };
  it('flags a new dominant category with PSI and JS', () => {
    const current = { billing: 200, shipping: 150, returns: 100, refunds: 550 };
    for (const test of ['psi', 'js'] as const) {
      const r = driftDetector({ kind: 'categorical', reference: ref, current, test, feature: 'intent' });
      expect(r.status).toBe('breach');
      expect(r.evidence.sampleSize).toBe(1_000);
    }
    const psi = driftDetector({ kind: 'categorical', reference: ref, current });
    expect(psi.evidence.detail).toContain('refunds');
  });

  it('same mix is ok; KS is refused for categories', () => {
    expect(driftDetector({ kind: 'categorical', reference: ref, current: { billing: 480, shipping: 310, returns: 210 } }).status).toBe('ok');
    expect(() => driftDetector({ kind: 'categorical', reference: ref, current: ref, test: 'ks' })).toThrow(RangeError);
  });
});
