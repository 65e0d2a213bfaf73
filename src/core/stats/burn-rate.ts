// SLO error-budget burn rates, multi-window multi-burn-rate alerting as in the Google SRE
// Workbook ("Alerting on SLOs", recommendation 6: multiwindow, multi-burn-rate alerts): page when both a long and a short window burn the
// budget faster than a factor — the long window proves it is significant, the short one that
// it is still happening (so the alert resets quickly after recovery).
import type { RateCounts } from './sequential.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;

/** SLO period the workbook factors assume. */
export const SLO_PERIOD_MS = 30 * DAY;

export interface BurnRateAlertRule {
  name: string;
  longWindowMs: number;
  shortWindowMs: number;
  /** Burn rate both windows must reach. */
  factor: number;
  /** Share of the period's error budget spent when the long window fires at `factor`. */
  budgetConsumed: number;
}

/** The workbook's recommended rules for a 30-day SLO (2% of budget in 1 h, 5% in 6 h, 10% in 3 d). */
export const SRE_WORKBOOK_RULES: readonly BurnRateAlertRule[] = [
  { name: 'page-1h', longWindowMs: HOUR, shortWindowMs: 5 * MINUTE, factor: 14.4, budgetConsumed: 0.02 },
  { name: 'page-6h', longWindowMs: 6 * HOUR, shortWindowMs: 30 * MINUTE, factor: 6, budgetConsumed: 0.05 },
  { name: 'ticket-3d', longWindowMs: 3 * DAY, shortWindowMs: 6 * HOUR, factor: 1, budgetConsumed: 0.1 },
];

/**
 * Burn rate of one window: observed bad-event rate ÷ allowed rate (1 − slo). 1 means the budget
 * lasts exactly the SLO period. NaN when the window has no traffic.
 */
export function burnRate(counts: RateCounts, slo: number): number {
  if (!(slo > 0 && slo < 1)) throw new RangeError(`slo must be in (0,1), got ${slo}`);
  if (counts.trials <= 0) return NaN;
  return counts.events / counts.trials / (1 - slo);
}

/** Burn-rate factor that spends `budgetFraction` of the budget within `windowMs` (14.4 for 2% in 1 h). */
export function burnRateFactor(budgetFraction: number, windowMs: number, periodMs = SLO_PERIOD_MS): number {
  return (budgetFraction * periodMs) / windowMs;
}

export interface BurnRateEvaluation {
  shortBurnRate: number;
  longBurnRate: number;
  factor: number;
  /** 1 − slo. */
  errorBudget: number;
  /** Both windows at or above the factor (a window without traffic never breaches). */
  breach: boolean;
}

export function evaluateBurnRate(input: {
  short: RateCounts;
  long: RateCounts;
  slo: number;
  factor: number;
}): BurnRateEvaluation {
  const shortBurnRate = burnRate(input.short, input.slo);
  const longBurnRate = burnRate(input.long, input.slo);
  return {
    shortBurnRate,
    longBurnRate,
    factor: input.factor,
    errorBudget: 1 - input.slo,
    breach: shortBurnRate >= input.factor && longBurnRate >= input.factor,
  };
}
