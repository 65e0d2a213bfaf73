// Input/output drift: PSI, two-sample KS or Jensen–Shannon distance between a reference window
// (e.g. the stable version's traffic, or training data) and the current window, for numeric
// samples or categorical counts. Thresholds: PSI ≥ 0.1 and JS distance ≥ 0.1 (Evidently's),
// KS p < 0.01.
//
// Like the other detectors, a breach needs both a large effect and statistical evidence:
// - PSI / JS have no sampling distribution and are biased upwards at small n (two samples of
//   200 from the same distribution: mean PSI 0.09, PSI ≥ 0.1 in 37% of draws, JS ≥ 0.1 in 79%),
//   so the same binned counts must also differ by a chi-square test of homogeneity (p < alpha);
// - KS rejects tiny differences at large n, so D must also reach minStatistic.
import type { Evidence } from '../types.ts';
import { ksTwoSample } from '../stats/ks.ts';
import { PSI_DEFAULT_BINS, psiFromCounts, psiLevel, type PsiResult } from '../stats/psi.ts';
import { JS_DEFAULT_THRESHOLD, jensenShannonDistance } from '../stats/jensen-shannon.ts';
import { alignCategories, binLabel, histogram, quantileEdges } from '../stats/binning.ts';
import { chiSquareHomogeneity } from '../stats/chi-square.ts';
import { formatStat, insufficientData, type DetectorResult, type SignalFamily, type TimeWindow } from './detector-result.ts';
import { severityFor, type SeverityRules } from './severity.ts';

export type DriftTest = 'psi' | 'ks' | 'js';

interface DriftCommon {
  family?: SignalFamily;
  /** Default 'psi'. KS is numeric only. */
  test?: DriftTest;
  /** PSI value / JS distance at or above which drift is declared; for KS the p-value level. */
  threshold?: number;
  /** KS only: minimum D statistic as well as p < threshold. Default 0.1. */
  minStatistic?: number;
  /** PSI / JS: level of the chi-square significance gate on the binned counts. Default 0.01. */
  alpha?: number;
  /** Bins for numeric PSI / JS (reference quantiles). Default 10. */
  bins?: number;
  /** Minimum current sample size. Default 100. */
  minSamples?: number;
  /** Minimum reference sample size. Default 100. */
  minReferenceSamples?: number;
  /** Feature or output name, for the evidence text. */
  feature?: string;
  window?: TimeWindow;
  severityRules?: Partial<SeverityRules>;
}

export interface NumericDriftInput extends DriftCommon {
  kind: 'numeric';
  reference: readonly number[];
  current: readonly number[];
}

export interface CategoricalDriftInput extends DriftCommon {
  kind: 'categorical';
  reference: Readonly<Record<string, number>>;
  current: Readonly<Record<string, number>>;
}

export type DriftDetectorInput = NumericDriftInput | CategoricalDriftInput;

/**
 * PSI and JS as in Evidently. KS: Evidently flags p < 0.05; monitors re-evaluate drift over and
 * over, so we use 0.01 like the other significance gates (in simulation, p < 0.05 fires on 5%
 * of same-distribution windows of 100).
 */
export const DRIFT_DEFAULT_THRESHOLDS: Record<DriftTest, number> = { psi: 0.1, js: JS_DEFAULT_THRESHOLD, ks: 0.01 };

// magnitude = statistic relative to its threshold (for KS: D relative to minStatistic).
function finish(input: DriftDetectorInput, family: SignalFamily, breached: boolean, evidence: Evidence, magnitude: number): DetectorResult {
  return breached
    ? { status: 'breach', family, evidence, magnitude, severity: severityFor(family, magnitude, input.severityRules) }
    : { status: 'ok', family, evidence };
}

const total = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function topBins(psi: PsiResult, k = 3): string {
  return [...psi.bins]
    .sort((a, b) => b.contribution - a.contribution)
    .slice(0, k)
    .map((b) => `${b.label}: ${formatStat(b.referenceShare * 100)}% → ${formatStat(b.currentShare * 100)}%`)
    .join(', ');
}

export function driftDetector(input: DriftDetectorInput): DetectorResult {
  const family = input.family ?? 'drift';
  const test = input.test ?? 'psi';
  const threshold = input.threshold ?? DRIFT_DEFAULT_THRESHOLDS[test];
  const minSamples = input.minSamples ?? 100;
  const minReference = input.minReferenceSamples ?? 100;
  const n = input.kind === 'numeric' ? input.current.length : total(input.current);
  const m = input.kind === 'numeric' ? input.reference.length : total(input.reference);
  const what = input.feature ? `${input.feature}: ` : '';
  const base: Evidence = { test, sampleSize: n, baselineSampleSize: m, threshold };
  if (input.window) base.window = input.window;

  if (n < minSamples || m < minReference) {
    return insufficientData(family, { ...base, detail: `${what}${n} current / ${m} reference values, need ≥ ${minSamples} / ${minReference}` });
  }
  if (test === 'ks' && input.kind !== 'numeric') throw new RangeError('the KS test needs numeric samples');

  if (test === 'psi' || test === 'js') {
    let labels: string[];
    let refCounts: number[];
    let curCounts: number[];
    if (input.kind === 'numeric') {
      const edges = quantileEdges(input.reference, input.bins ?? PSI_DEFAULT_BINS);
      labels = Array.from({ length: edges.length + 1 }, (_, i) => binLabel(edges, i));
      refCounts = histogram(input.reference, edges);
      curCounts = histogram(input.current, edges);
    } else {
      const aligned = alignCategories(input.reference, input.current);
      labels = aligned.categories;
      refCounts = aligned.reference;
      curCounts = aligned.current;
    }
    const alpha = input.alpha ?? 0.01;
    const chi = chiSquareHomogeneity(curCounts, refCounts);
    const significance = `chi-square p ${formatStat(chi.pValue)} (df ${chi.degreesOfFreedom}) vs α ${alpha}`;
    if (test === 'psi') {
      const psi = psiFromCounts(refCounts, curCounts, labels);
      const evidence: Evidence = {
        ...base,
        test: 'psi',
        statistic: psi.value,
        pValue: chi.pValue,
        detail: `${what}PSI ${formatStat(psi.value)} (${psiLevel(psi.value)}) vs threshold ${threshold}; ${significance}; largest shifts ${topBins(psi)}`,
      };
      return finish(input, family, psi.value >= threshold && chi.pValue < alpha, evidence, psi.value / threshold);
    }
    const distance = jensenShannonDistance(refCounts, curCounts);
    const evidence: Evidence = {
      ...base,
      test: 'jensen-shannon',
      statistic: distance,
      pValue: chi.pValue,
      detail: `${what}Jensen–Shannon distance ${formatStat(distance)} (base 2) vs threshold ${threshold}; ${significance}`,
    };
    return finish(input, family, distance >= threshold && chi.pValue < alpha, evidence, distance / threshold);
  }
  const minStatistic = input.minStatistic ?? 0.1;
  const ks = ksTwoSample(input.current as readonly number[], input.reference as readonly number[]);
  const evidence: Evidence = {
    ...base,
    test: 'ks',
    statistic: ks.statistic,
    pValue: ks.pValue,
    detail: `${what}KS D ${formatStat(ks.statistic)} at ${formatStat(ks.location)} (need ≥ ${minStatistic}), p ${formatStat(ks.pValue)} vs ${threshold}`,
  };
  return finish(input, family, ks.pValue < threshold && ks.statistic >= minStatistic, evidence, ks.statistic / minStatistic);
}
