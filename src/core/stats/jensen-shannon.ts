// Jensen–Shannon distance (square root of the JS divergence), base 2 so it lies in [0, 1].
// Same definition as scipy.spatial.distance.jensenshannon(p, q, base=2). Evidently flags drift
// at 0.1. Unlike PSI it needs no smoothing: the mixture m is never zero where p or q is not.
import { alignCategories, binLabel, histogram, quantileEdges } from './binning.ts';

export const JS_DEFAULT_THRESHOLD = 0.1;
export const JS_DEFAULT_BINS = 10;

export interface JensenShannonResult {
  distance: number;
  categories: string[];
  referenceShares: number[];
  currentShares: number[];
  referenceSize: number;
  currentSize: number;
}

/** JS distance between two non-negative weight vectors (normalised here), base 2. */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError('p and q must have the same length');
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  if (!(sp > 0) || !(sq > 0)) throw new RangeError('p and q must each have positive total weight');
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log(pi / m);
    if (qi > 0) divergence += qi * Math.log(qi / m);
  }
  // Rounding can leave a tiny negative where p ≈ q.
  return Math.sqrt(Math.max(0, divergence / Math.LN2 / 2));
}

function result(categories: string[], ref: number[], cur: number[]): JensenShannonResult {
  const rt = ref.reduce((a, b) => a + b, 0);
  const ct = cur.reduce((a, b) => a + b, 0);
  return {
    distance: jensenShannonDistance(ref, cur),
    categories,
    referenceShares: ref.map((c) => c / rt),
    currentShares: cur.map((c) => c / ct),
    referenceSize: rt,
    currentSize: ct,
  };
}

/** JS distance of a numeric feature, binned at reference quantiles (10 bins by default). */
export function jensenShannonNumeric(
  reference: readonly number[],
  current: readonly number[],
  options: { bins?: number } = {},
): JensenShannonResult {
  if (reference.length === 0 || current.length === 0) throw new RangeError('needs non-empty reference and current');
  const edges = quantileEdges(reference, options.bins ?? JS_DEFAULT_BINS);
  const labels = Array.from({ length: edges.length + 1 }, (_, i) => binLabel(edges, i));
  return result(labels, histogram(reference, edges), histogram(current, edges));
}

/** JS distance of a categorical feature from category→count maps. */
export function jensenShannonCategorical(
  reference: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
): JensenShannonResult {
  const aligned = alignCategories(reference, current);
  return result(aligned.categories, aligned.reference, aligned.current);
}
