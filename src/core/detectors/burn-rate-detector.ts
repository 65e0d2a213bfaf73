// SLO burn-rate detector (multi-window, Google SRE Workbook). Family 'errors' by default: it is
// an error-rate signal judged against an SLO rather than against a baseline version.
import type { Evidence } from '../types.ts';
import { evaluateBurnRate } from '../stats/burn-rate.ts';
import type { RateCounts } from '../stats/sequential.ts';
import { formatStat, insufficientData, type DetectorResult, type SignalFamily, type TimeWindow } from './detector-result.ts';
import { severityFor, type SeverityRules } from './severity.ts';

export interface BurnRateDetectorInput {
  family?: SignalFamily;
  /** Bad events / total in the short window (e.g. 5 minutes). */
  short: RateCounts;
  /** Bad events / total in the long window (e.g. 1 hour). */
  long: RateCounts;
  /** SLO target, e.g. 0.999. */
  slo: number;
  /** Burn-rate factor both windows must reach. Default 14.4 (2% of a 30-day budget in 1 h). */
  factor?: number;
  /** Minimum requests in the long window. Default 100. */
  minSamples?: number;
  /** The long window's bounds, for the evidence. */
  window?: TimeWindow;
  severityRules?: Partial<SeverityRules>;
}

export function burnRateDetector(input: BurnRateDetectorInput): DetectorResult {
  const family = input.family ?? 'errors';
  const factor = input.factor ?? 14.4;
  const minSamples = input.minSamples ?? 100;
  const base: Evidence = { test: 'slo-burn-rate', threshold: factor, sampleSize: input.long.trials, baseline: 1 - input.slo };
  if (input.window) base.window = input.window;
  if (input.long.trials < minSamples || input.short.trials === 0) {
    return insufficientData(family, {
      ...base,
      detail: `long window ${input.long.trials} requests (need ≥ ${minSamples}), short window ${input.short.trials}`,
    });
  }
  const r = evaluateBurnRate({ short: input.short, long: input.long, slo: input.slo, factor });
  const burn = Math.min(r.shortBurnRate, r.longBurnRate);
  const evidence: Evidence = {
    ...base,
    statistic: burn,
    observed: input.long.events / input.long.trials,
    detail: `burn rate short ${formatStat(r.shortBurnRate)}, long ${formatStat(r.longBurnRate)} vs ×${factor} (SLO ${input.slo}, budget ${formatStat(r.errorBudget)})`,
  };
  if (!r.breach) return { status: 'ok', family, evidence };
  return { status: 'breach', family, evidence, magnitude: burn, severity: severityFor('burn_rate', burn, input.severityRules) };
}
