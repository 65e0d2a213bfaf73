// Shift of a mean (output length per answer) between a current window and a baseline, when the
// windows keep only sums: each window is cut into equal sub-windows ("batches") and the batch means
// are compared with a two-sided Mann–Whitney test — the batch-means method, which gives honest
// variance for a per-request quantity whose individual values are not kept. A breach also needs a
// practical effect: the overall means must differ by at least ×minRatio either way, because at
// thousands of requests a 3% change is "significant" and nobody should be paged for it.
import type { Evidence } from '../../core/types.ts';
import { mannWhitneyU } from '../../core/stats/mann-whitney.ts';
import { insufficientData, type DetectorResult, type SignalFamily, type TimeWindow } from '../../core/detectors/detector-result.ts';
import { fmt } from './format.ts';
import { severityFor, type SeverityRules } from '../../core/detectors/severity.ts';

export interface MeanShiftInput {
  family?: SignalFamily;
  /** Batch means of the current window (NaN batches, with no data, are ignored). */
  currentBatches: readonly number[];
  referenceBatches: readonly number[];
  /** Overall means and the number of values behind them. */
  current: { mean: number; n: number };
  reference: { mean: number; n: number };
  minSamples: number;
  minReferenceSamples: number;
  alpha: number;
  minRatio: number;
  feature: string;
  window?: TimeWindow;
  severityRules?: Partial<SeverityRules>;
}

export function meanShiftDetector(input: MeanShiftInput): DetectorResult {
  const family = input.family ?? 'drift';
  const cur = input.currentBatches.filter(Number.isFinite);
  const ref = input.referenceBatches.filter(Number.isFinite);
  const base: Evidence = {
    test: 'mean-shift',
    sampleSize: input.current.n,
    baselineSampleSize: input.reference.n,
    observed: input.current.mean,
    baseline: input.reference.mean,
    threshold: input.minRatio,
  };
  if (input.window) base.window = input.window;
  if (input.current.n < input.minSamples || input.reference.n < input.minReferenceSamples || cur.length < 4 || ref.length < 4) {
    return insufficientData(family, {
      ...base,
      detail: `${input.feature}: ${input.current.n} current / ${input.reference.n} baseline values in ${cur.length} / ${ref.length} batches, need ≥ ${input.minSamples} / ${input.minReferenceSamples} in ≥ 4 batches each`,
    });
  }
  const ratio = input.reference.mean > 0 ? input.current.mean / input.reference.mean : input.current.mean > 0 ? Infinity : 1;
  const fold = ratio >= 1 ? ratio : 1 / ratio;
  const mw = mannWhitneyU(cur, ref, { alternative: 'two-sided' });
  const evidence: Evidence = {
    ...base,
    statistic: ratio,
    pValue: mw.pValue,
    detail:
      `${input.feature}: mean ${fmt(input.current.mean)} vs baseline ${fmt(input.reference.mean)} (×${fmt(ratio)}, need ×${input.minRatio} either way); ` +
      `Mann–Whitney on ${cur.length} vs ${ref.length} batch means p ${fmt(mw.pValue)} vs α ${input.alpha}`,
  };
  if (fold >= input.minRatio && mw.pValue < input.alpha) {
    const magnitude = fold / input.minRatio;
    return { status: 'breach', family, evidence, magnitude, severity: severityFor(family, magnitude, input.severityRules) };
  }
  return { status: 'ok', family, evidence };
}
