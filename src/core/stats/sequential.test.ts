import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ODDS_RATIOS,
  gridMixtureLogLr,
  labelsForPower,
  labelsNeededForPower,
  msprtOneSample,
  msprtTwoSample,
  normalMixtureLogLr,
  runningPValue,
  simulateDetectionTimes,
  waldSprt,
  type RateCounts,
} from './sequential.ts';
import { createRandom, deriveSeed } from './random.ts';

describe('mixture likelihood ratios (reference values: python3 + scipy 1.17.1)', () => {
  it('normal mixture: ½·ln(V/(V+τ²)) + τ²Δ²/(2V(V+τ²))', () => {
    // python: 0.5*log(V/(V+t*t)) + t*t*d*d/(2*V*(V+t*t)) with d=-0.1, V=0.09/100, t=0.1
    expect(normalMixtureLogLr(-0.1, 0.0009, 0.1)).toBeCloseTo(3.8497783067788194, 12);
    expect(normalMixtureLogLr(0.3, 0, 0.1)).toBe(0);
  });

  it('grid mixture: logsumexp of Bernoulli log-LRs at odds ratios 1.5…1000, minus log K', () => {
    // python: scipy.special.logsumexp([S*log(p/p0) + (n-S)*log((1-p)/(1-p0)) for p at each
    // odds ratio on the chosen side]) - log(K)
    expect(gridMixtureLogLr(80, 100, 0.9, 'decrease')).toBeCloseTo(2.8883692383614865, 12);
    expect(gridMixtureLogLr(10, 20, 0.005, 'increase')).toBeCloseTo(35.9395627585867, 12);
    expect(gridMixtureLogLr(3, 100, 0.005, 'two-sided')).toBeCloseTo(1.0900758321606268, 12);
    expect(gridMixtureLogLr(1, 100, 0.005, 'increase')).toBeCloseTo(-0.6196543048786824, 12);
    expect(DEFAULT_ODDS_RATIOS).toEqual([1.5, 2, 3, 5, 10, 30, 100, 1000]);
  });
});

describe('msprt results', () => {
  it('one-sample: p-value is 1/Λ, decision at α, running minimum', () => {
    const r = msprtOneSample({ events: 10, trials: 20 }, 0.005, { alpha: 0.01, direction: 'increase' });
    expect(r.test).toBe('msprt-grid');
    expect(r.pValue).toBeCloseTo(Math.exp(-35.9395627585867), 20);
    expect(r.reject).toBe(true);
    expect(r.decision).toBe('reject');
    expect(r.estimate).toBeCloseTo(0.495, 12);
    expect(r.bound).toBe(100);
    const calm = msprtOneSample({ events: 1, trials: 100 }, 0.005, { alpha: 0.01, direction: 'increase' });
    expect(calm.pValue).toBe(1);
    expect(calm.reject).toBe(false);
    const carried = msprtOneSample({ events: 1, trials: 100 }, 0.005, { previousPValue: 0.2 });
    expect(carried.pValue).toBe(0.2);
    expect(runningPValue(undefined, 0.3)).toBe(0.3);
    expect(runningPValue(0.1, 0.3)).toBe(0.1);
    const normal = msprtOneSample({ events: 80, trials: 100 }, 0.9, { mixture: 'normal' });
    expect(normal.test).toBe('msprt-normal');
    expect(normal.logLikelihoodRatio).toBeCloseTo(3.8497783067788194, 10);
  });

  it('two-sample: a hard fault is decisive, equal rates are not', () => {
    const fault = msprtTwoSample({ events: 100, trials: 200 }, { events: 60, trials: 12_000 }, { alpha: 0.01 });
    expect(fault.reject).toBe(true);
    expect(fault.pValue).toBeLessThan(1e-20);
    expect(fault.estimate).toBeCloseTo(0.495, 12);
    const same = msprtTwoSample({ events: 1, trials: 200 }, { events: 60, trials: 12_000 });
    expect(same.reject).toBe(false);
    expect(same.pValue).toBe(1);
  });

  it('no data is no evidence; bad input throws', () => {
    expect(msprtOneSample({ events: 0, trials: 0 }, 0.1).pValue).toBe(1);
    expect(msprtTwoSample({ events: 0, trials: 0 }, { events: 1, trials: 10 }).pValue).toBe(1);
    expect(() => msprtOneSample({ events: 3, trials: 2 }, 0.1)).toThrow(RangeError);
    expect(() => msprtOneSample({ events: 1, trials: 2 }, 0)).toThrow(RangeError);
    expect(() => waldSprt({ events: 1, trials: 2 }, 0.5, 0.5)).toThrow(RangeError);
  });
});

describe('waldSprt', () => {
  it('computes the log-likelihood ratio and Wald bounds', () => {
    // python: 80*log(0.8/0.9) + 20*log(0.2/0.1); bounds ±log(0.95/0.05)
    const r = waldSprt({ events: 80, trials: 100 }, 0.9, 0.8);
    expect(r.logLikelihoodRatio).toBeCloseTo(4.440300758688235, 12);
    expect(r.upper).toBeCloseTo(2.9444389791664403, 12);
    expect(r.lower).toBeCloseTo(-2.9444389791664403, 12);
    expect(r.decision).toBe('accept_h1');
    expect(waldSprt({ events: 95, trials: 100 }, 0.9, 0.8).decision).toBe('accept_h0');
    expect(waldSprt({ events: 9, trials: 10 }, 0.9, 0.8).decision).toBe('continue');
    const open = waldSprt({ events: 95, trials: 100 }, 0.9, 0.8, { openEnded: true, alpha: 0.05 });
    expect(open.lower).toBe(-Infinity);
    expect(open.upper).toBeCloseTo(Math.log(20), 12);
    expect(open.decision).toBe('continue');
  });
});

describe('type-I error under continuous peeking (H0 true, test after every observation)', () => {
  // Monitors alarm in one direction only (errors up, accuracy down), so a rejection counts when
  // the test rejects AND the estimate points the alarming way — exactly what rateDetector does
  // (direction 0: any rejection counts).
  const alpha = 0.05;
  const looks = 1000;
  const seeds = 1000;

  type Test = (c: RateCounts, growingBaseline: RateCounts, fixedBaseline: RateCounts) => { reject: boolean; estimate: number };

  function rejectionRate(p: number, direction: 1 | -1 | 0, test: Test): number {
    let rejected = 0;
    for (let s = 0; s < seeds; s++) {
      const random = createRandom(deriveSeed(2024, s));
      const fixed = { events: random.binomial(5000, p), trials: 5000 };
      let events = 0;
      let baselineEvents = 0;
      for (let n = 1; n <= looks; n++) {
        if (random.next() < p) events++;
        if (random.next() < p) baselineEvents++;
        const r = test({ events, trials: n }, { events: baselineEvents, trials: n }, fixed);
        if (r.reject && (direction === 0 || Math.sign(r.estimate) === direction)) {
          rejected++;
          break;
        }
      }
    }
    return rejected / seeds;
  }

  const sprtAsTest = (c: RateCounts): { reject: boolean; estimate: number } => {
    const r = waldSprt(c, 0.9, 0.8, { alpha, openEnded: true });
    return { reject: r.decision === 'accept_h1', estimate: r.rate - 0.9 };
  };

  const cases: Array<[string, number, 1 | -1 | 0, Test]> = [
    ['one-sample grid mSPRT, errors up from 0.5%', 0.005, 1, (c) => msprtOneSample(c, 0.005, { alpha, direction: 'increase' })],
    ['one-sample grid mSPRT, accuracy down from 90%', 0.9, -1, (c) => msprtOneSample(c, 0.9, { alpha, direction: 'decrease' })],
    ['one-sample grid mSPRT, two-sided at 50% (either direction counts)', 0.5, 0, (c) => msprtOneSample(c, 0.5, { alpha })],
    ['two-sample mSPRT, both arms growing, 5%, up', 0.05, 1, (c, b) => msprtTwoSample(c, b, { alpha })],
    ['two-sample mSPRT, fixed 5000-trial baseline, 90%, down', 0.9, -1, (c, _b, f) => msprtTwoSample(c, f, { alpha })],
    ['two-sample mSPRT, fixed 5000-trial baseline, 0.5%, up', 0.005, 1, (c, _b, f) => msprtTwoSample(c, f, { alpha })],
    ['open-ended SPRT 90% vs 80%', 0.9, -1, sprtAsTest],
  ];

  it.each(cases)('%s stays ≤ α', (name, p, direction, test) => {
    const rate = rejectionRate(p, direction, test);
    console.log(`type-I ${name}: ${rate.toFixed(4)} over ${seeds} seeds × ${looks} looks (α = ${alpha})`);
    expect(rate).toBeLessThanOrEqual(alpha);
  });

  it('why the exact grid mixture is the one-sample default: the normal approximation is not valid for rare events', () => {
    const normal = rejectionRate(0.005, 1, (c) => msprtOneSample(c, 0.005, { alpha, mixture: 'normal' }));
    const grid = rejectionRate(0.005, 1, (c) => msprtOneSample(c, 0.005, { alpha, direction: 'increase' }));
    console.log(`type-I (errors up) at p0 = 0.5%: normal mixture ${normal.toFixed(4)}, grid mixture ${grid.toFixed(4)}`);
    expect(normal).toBeGreaterThan(alpha);
    expect(grid).toBeLessThanOrEqual(alpha);
  });
});

describe('power: labels needed to detect accuracy 90% → 80%', () => {
  it('one-sample mSPRT (the rateDetector default) needs ≤ 400 labels at 95% power, α = 0.05', () => {
    const labels = labelsNeededForPower(0.9, 0.8, 0.05, 0.95, 1000);
    const sprt = labelsNeededForPower(0.9, 0.8, 0.05, 0.95, 1000, { method: 'sprt' });
    console.log(`labels for 90%→80% at 95% power (1000 seeds): mSPRT(grid) ${labels}, open-ended SPRT(p1=0.8) ${sprt}`);
    expect(labels).toBeLessThanOrEqual(400);
    expect(sprt).toBeLessThanOrEqual(labels);
  });

  it('more power or a smaller effect needs more labels; detection times are per seed', () => {
    const sim = simulateDetectionTimes(0.9, 0.8, 0.05, 200);
    expect(sim.detectionTimes).toHaveLength(200);
    expect(labelsForPower(sim.detectionTimes, 0.5)).toBeLessThan(labelsForPower(sim.detectionTimes, 0.95));
    expect(labelsNeededForPower(0.9, 0.85, 0.05, 0.8, 200)).toBeGreaterThan(labelsNeededForPower(0.9, 0.8, 0.05, 0.8, 200));
    expect(labelsNeededForPower(0.9, 0.8, 0.05, 0.95, 50, { maxLabels: 10 })).toBe(Infinity);
  });
});
