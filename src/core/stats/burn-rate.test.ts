import { describe, expect, it } from 'vitest';
import { SRE_WORKBOOK_RULES, burnRate, burnRateFactor, evaluateBurnRate } from './burn-rate.ts';

// Reference numbers: Google SRE Workbook, "Alerting on SLOs" — a 99.9% SLO over 30 days; burn
// rate 14.4 spends 2% of the budget in 1 hour, 6 spends 5% in 6 hours, 1 spends 10% in 3 days.
describe('burn rate', () => {
  it('is the error rate over the error budget', () => {
    expect(burnRate({ events: 1, trials: 1000 }, 0.999)).toBeCloseTo(1, 10);
    expect(burnRate({ events: 144, trials: 10_000 }, 0.999)).toBeCloseTo(14.4, 8);
    expect(burnRate({ events: 0, trials: 0 }, 0.999)).toBeNaN();
    expect(() => burnRate({ events: 0, trials: 1 }, 1)).toThrow(RangeError);
  });

  it('reproduces the workbook factors from budget share and window', () => {
    expect(burnRateFactor(0.02, 3_600_000)).toBeCloseTo(14.4, 10);
    expect(burnRateFactor(0.05, 6 * 3_600_000)).toBeCloseTo(6, 10);
    expect(burnRateFactor(0.1, 3 * 86_400_000)).toBeCloseTo(1, 10);
    for (const rule of SRE_WORKBOOK_RULES) {
      expect(burnRateFactor(rule.budgetConsumed, rule.longWindowMs)).toBeCloseTo(rule.factor, 10);
    }
  });

  it('breaches only when both windows exceed the factor', () => {
    const both = evaluateBurnRate({ short: { events: 30, trials: 1000 }, long: { events: 200, trials: 10_000 }, slo: 0.999, factor: 14.4 });
    expect(both.shortBurnRate).toBeCloseTo(30, 8);
    expect(both.longBurnRate).toBeCloseTo(20, 8);
    expect(both.errorBudget).toBeCloseTo(0.001, 12);
    expect(both.breach).toBe(true);
    // Recovered: the long window still remembers the fault, the short one does not.
    const recovered = evaluateBurnRate({ short: { events: 1, trials: 1000 }, long: { events: 200, trials: 10_000 }, slo: 0.999, factor: 14.4 });
    expect(recovered.breach).toBe(false);
    const blip = evaluateBurnRate({ short: { events: 30, trials: 1000 }, long: { events: 40, trials: 10_000 }, slo: 0.999, factor: 14.4 });
    expect(blip.breach).toBe(false);
    const idle = evaluateBurnRate({ short: { events: 0, trials: 0 }, long: { events: 0, trials: 0 }, slo: 0.999, factor: 14.4 });
    expect(idle.breach).toBe(false);
  });
});
