// Population Stability Index, with Evidently's conventions: 10 quantile bins taken from the
// reference, zero shares smoothed with a small epsilon, 0.1 = moderate shift, 0.2 = significant.
import { alignCategories, binLabel, histogram, quantileEdges } from './binning.ts';

export const PSI_DEFAULT_BINS = 10;
/** Share substituted for an empty bin; without it one empty bin makes PSI infinite. */
export const PSI_DEFAULT_EPSILON = 1e-4;
export const PSI_THRESHOLDS = { moderate: 0.1, significant: 0.2 } as const;

export type PsiLevel = 'stable' | 'moderate' | 'significant';

export interface BinShare {
  label: string;
  referenceShare: number;
  currentShare: number;
  /** This bin's term of the sum; the largest terms say where the distribution moved. */
  contribution: number;
}

export interface PsiResult {
  value: number;
  level: PsiLevel;
  bins: BinShare[];
  referenceSize: number;
  currentSize: number;
}

export interface PsiOptions {
  bins?: number;
  epsilon?: number;
}

export function psiLevel(value: number): PsiLevel {
  if (value >= PSI_THRESHOLDS.significant) return 'significant';
  if (value >= PSI_THRESHOLDS.moderate) return 'moderate';
  return 'stable';
}

/** PSI = Σ (cur − ref)·ln(cur / ref) over bins, from raw counts per bin. */
export function psiFromCounts(
  referenceCounts: readonly number[],
  currentCounts: readonly number[],
  labels: readonly string[],
  epsilon = PSI_DEFAULT_EPSILON,
): PsiResult {
  if (referenceCounts.length !== currentCounts.length) throw new RangeError('count arrays must have the same length');
  const refTotal = referenceCounts.reduce((a, b) => a + b, 0);
  const curTotal = currentCounts.reduce((a, b) => a + b, 0);
  if (refTotal <= 0 || curTotal <= 0) throw new RangeError('psi needs non-empty reference and current');
  const bins: BinShare[] = [];
  let value = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const ref = referenceCounts[i] > 0 ? referenceCounts[i] / refTotal : epsilon;
    const cur = currentCounts[i] > 0 ? currentCounts[i] / curTotal : epsilon;
    const contribution = (cur - ref) * Math.log(cur / ref);
    value += contribution;
    bins.push({ label: labels[i] ?? String(i), referenceShare: ref, currentShare: cur, contribution });
  }
  return { value, level: psiLevel(value), bins, referenceSize: refTotal, currentSize: curTotal };
}

/** PSI of a numeric feature: bins at reference quantiles. */
export function psiNumeric(reference: readonly number[], current: readonly number[], options: PsiOptions = {}): PsiResult {
  if (reference.length === 0 || current.length === 0) throw new RangeError('psi needs non-empty reference and current');
  const edges = quantileEdges(reference, options.bins ?? PSI_DEFAULT_BINS);
  const labels = Array.from({ length: edges.length + 1 }, (_, i) => binLabel(edges, i));
  return psiFromCounts(histogram(reference, edges), histogram(current, edges), labels, options.epsilon);
}

/** PSI of a categorical feature from category→count maps. */
export function psiCategorical(
  reference: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
  options: Pick<PsiOptions, 'epsilon'> = {},
): PsiResult {
  const aligned = alignCategories(reference, current);
  return psiFromCounts(aligned.reference, aligned.current, aligned.categories, options.epsilon);
}
