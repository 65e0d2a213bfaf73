// Shared binning for the distribution-distance statistics (PSI, Jensen–Shannon): numeric samples
// are cut at quantiles of the reference, categorical counts are aligned on the union of keys.

/**
 * Interior cut points at the k/bins quantiles of `reference` (numpy.quantile's default linear
 * interpolation), with duplicates removed so discrete data yields fewer, non-empty bins.
 * Quantile bins put ~equal reference mass in each bin, so PSI is not dominated by empty tails.
 */
export function quantileEdges(reference: readonly number[], bins: number): number[] {
  if (!(bins >= 2) || !Number.isInteger(bins)) throw new RangeError(`bins must be an integer >= 2, got ${bins}`);
  if (reference.length === 0) throw new RangeError('quantileEdges needs a non-empty reference');
  const sorted = Float64Array.from(reference).sort();
  const n = sorted.length;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    // Same arithmetic as numpy (including its two-sided lerp) so cut points agree to the ulp.
    const h = (k / bins) * (n - 1);
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, n - 1);
    const t = h - lo;
    const diff = sorted[hi] - sorted[lo];
    const edge = t >= 0.5 ? sorted[hi] - diff * (1 - t) : sorted[lo] + diff * t;
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/**
 * Counts per bin for interior cut points `edges` (ascending): bin 0 is (−∞, e0], bin i is
 * (e[i−1], e[i]], the last bin is (e_last, +∞). Returns edges.length + 1 counts.
 */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    // Binary search for the number of edges strictly below v.
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]++;
  }
  return counts;
}

export interface AlignedCounts {
  categories: string[];
  reference: number[];
  current: number[];
}

/** Align two category→count maps on the sorted union of their keys (missing keys count 0). */
export function alignCategories(
  reference: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
): AlignedCounts {
  const categories = [...new Set([...Object.keys(reference), ...Object.keys(current)])].sort();
  return {
    categories,
    reference: categories.map((c) => reference[c] ?? 0),
    current: categories.map((c) => current[c] ?? 0),
  };
}

/** Human-readable label of bin i for the given cut points, e.g. "(1.5, 2.25]". */
export function binLabel(edges: readonly number[], i: number): string {
  const lo = i === 0 ? '-inf' : String(edges[i - 1]);
  const hi = i === edges.length ? '+inf' : String(edges[i]);
  return `(${lo}, ${hi}]`;
}
