// Mergeable latency quantile sketch for 1-second buckets, wrapping Datadog's DDSketch
// (relative accuracy 1%: any reported quantile is within ±1% of a true sample value).
// Mergeable is the point: gateway replicas each keep per-second sketches, ship them serialised,
// and the monitoring replica merges them into one window — quantiles of merged sketches are as
// accurate as if one sketch had seen every request.
//
// Serialisation is our own compact JSON, not DDSketch.toProto: that needs protobufjs (not a
// dependency here) and drops min/max/sum on the way back.
import { DDSketch } from '@datadog/sketches-js';

export const DEFAULT_RELATIVE_ACCURACY = 0.01;

/** JSON-safe form of a sketch: contiguous bucket counts starting at bucket key `offset`. */
export interface SerializedSketch {
  v: 1;
  relativeAccuracy: number;
  count: number;
  sum: number;
  /** null when empty (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  /** Values too close to 0 for a log bucket (≈ 0 ms). */
  zeroCount: number;
  offset: number;
  counts: number[];
}

export interface SketchBucket {
  /** Bucket index; −Infinity for the zero bucket. Equal keys mean the same range in any sketch. */
  key: number;
  /** Representative value of the bucket (ms). */
  value: number;
  count: number;
}

export class LatencySketch {
  readonly relativeAccuracy: number;
  /** Exposed for advanced use; prefer the methods. */
  readonly inner: DDSketch;
  private minMaxUnknown = false;
  // Detectors ask for the same quantiles of the same (baseline) sketch every second; each
  // DDSketch lookup scans the buckets, so answers are cached until the sketch changes.
  private quantileCache = new Map<number, number>();

  constructor(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY) {
    this.relativeAccuracy = relativeAccuracy;
    this.inner = new DDSketch({ relativeAccuracy });
  }

  /** Record one latency (ms, ≥ 0). Negative or non-finite values are refused. */
  add(ms: number, weight = 1): void {
    if (!(ms >= 0) || ms === Infinity) throw new RangeError(`latency must be a finite non-negative number, got ${ms}`);
    this.inner.accept(ms, weight);
    if (this.quantileCache.size > 0) this.quantileCache.clear();
  }

  /** Merge another sketch into this one (same relative accuracy required). */
  merge(other: LatencySketch): this {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new RangeError('cannot merge sketches with different relative accuracy');
    }
    const wasEmpty = this.inner.count === 0;
    this.inner.merge(other.inner);
    this.quantileCache.clear();
    this.minMaxUnknown = (this.minMaxUnknown && !wasEmpty) || other.minMaxUnknown;
    return this;
  }

  /** Value at quantile q ∈ [0, 1] (NaN when empty). */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0,1], got ${q}`);
    let value = this.quantileCache.get(q);
    if (value === undefined) {
      value = this.inner.getValueAtQuantile(q);
      this.quantileCache.set(q, value);
    }
    return value;
  }

  get count(): number {
    return this.inner.count;
  }

  get sum(): number {
    return this.inner.sum;
  }

  /** Smallest value seen (NaN when empty, or unknown after subtract). */
  get min(): number {
    return this.inner.count > 0 && !this.minMaxUnknown ? this.inner.min : NaN;
  }

  /** Largest value seen (NaN when empty, or unknown after subtract). */
  get max(): number {
    return this.inner.count > 0 && !this.minMaxUnknown ? this.inner.max : NaN;
  }

  get mean(): number {
    return this.inner.count > 0 ? this.inner.sum / this.inner.count : NaN;
  }

  /**
   * How many recorded values exceed `ms` (bucket resolution: values within the sketch's
   * relative accuracy of `ms` may be counted either way). "p95 > T" ⟺ countAbove(T)/count > 5%,
   * which turns quantile thresholds into binomial proportions with proper confidence bounds.
   */
  countAbove(ms: number): number {
    const inner = this.inner;
    let total = ms < 0 ? inner.zeroCount : 0;
    const store = inner.store;
    if (store.count === 0) return total;
    // Bucket values increase with the key: everything above the key of `ms` counts, and the
    // bucket of `ms` itself counts when its representative value is above `ms`.
    const pivot = ms > inner.mapping.minPossible ? inner.mapping.key(ms) : -Infinity;
    const from = Math.max(store.minKey, pivot === -Infinity ? store.minKey : pivot);
    for (let key = from; key <= store.maxKey; key++) {
      const c = store.bins[key - store.offset];
      if (c > 0 && (key > pivot || inner.mapping.value(key) > ms)) total += c;
    }
    return total;
  }

  /**
   * Remove the counts of a sketch that was merged into this one earlier — for sliding windows
   * (add the newest second, subtract the one leaving) without re-merging the whole window.
   * min and max cannot be un-merged and become NaN; quantiles, count and sum stay exact.
   */
  subtract(other: LatencySketch): this {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new RangeError('cannot subtract sketches with different relative accuracy');
    }
    const inner = this.inner;
    const own = inner.store;
    const store = other.inner.store;
    // Check everything first so a refused subtraction leaves this sketch untouched.
    let fits = other.inner.zeroCount <= inner.zeroCount && other.inner.count <= inner.count;
    for (let key = store.minKey; fits && store.count > 0 && key <= store.maxKey; key++) {
      const c = store.bins[key - store.offset];
      if (c > 0) fits = key >= own.minKey && key <= own.maxKey && own.bins[key - own.offset] >= c;
    }
    if (!fits) throw new RangeError('cannot subtract a sketch that was not merged into this one');
    this.quantileCache.clear();
    if (store.count > 0) {
      for (let key = store.minKey; key <= store.maxKey; key++) {
        const c = store.bins[key - store.offset];
        if (c > 0) own.add(key, -c);
      }
    }
    inner.zeroCount -= other.inner.zeroCount;
    inner.count -= other.inner.count;
    inner.sum -= other.inner.sum;
    this.minMaxUnknown = inner.count > 0;
    if (inner.count === 0) {
      inner.min = Infinity;
      inner.max = -Infinity;
    }
    return this;
  }

  /** Non-empty buckets in ascending value order (for rank tests on sketches). */
  buckets(): SketchBucket[] {
    const out: SketchBucket[] = [];
    if (this.inner.zeroCount > 0) out.push({ key: -Infinity, value: 0, count: this.inner.zeroCount });
    const store = this.inner.store;
    if (store.count > 0) {
      for (let key = store.minKey; key <= store.maxKey; key++) {
        const count = store.bins[key - store.offset];
        if (count > 0) out.push({ key, value: this.inner.mapping.value(key), count });
      }
    }
    return out;
  }

  clone(): LatencySketch {
    return new LatencySketch(this.relativeAccuracy).merge(this);
  }

  toJSON(): SerializedSketch {
    return serializeSketch(this);
  }
}

export function createSketch(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY): LatencySketch {
  return new LatencySketch(relativeAccuracy);
}

/** A new sketch holding the union of the inputs (inputs are not modified). */
export function mergeSketches(...sketches: LatencySketch[]): LatencySketch {
  const accuracy = sketches[0]?.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
  const out = new LatencySketch(accuracy);
  for (const s of sketches) out.merge(s);
  return out;
}

export function serializeSketch(sketch: LatencySketch): SerializedSketch {
  const buckets = sketch.buckets().filter((b) => b.key !== -Infinity);
  const offset = buckets.length > 0 ? buckets[0].key : 0;
  const counts = buckets.length > 0 ? new Array<number>(buckets[buckets.length - 1].key - offset + 1).fill(0) : [];
  for (const b of buckets) counts[b.key - offset] = b.count;
  const empty = sketch.count === 0;
  return {
    v: 1,
    relativeAccuracy: sketch.relativeAccuracy,
    count: sketch.count,
    sum: sketch.sum,
    min: empty ? null : sketch.min,
    max: empty ? null : sketch.max,
    zeroCount: sketch.inner.zeroCount,
    offset,
    counts,
  };
}

/** Inverse of serializeSketch; validates the shape since it usually comes from another process. */
export function deserializeSketch(data: SerializedSketch): LatencySketch {
  const finiteNonNegative = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (
    !data ||
    data.v !== 1 ||
    !(data.relativeAccuracy > 0 && data.relativeAccuracy < 1) ||
    !Number.isInteger(data.offset) ||
    !Array.isArray(data.counts) ||
    !data.counts.every(finiteNonNegative) ||
    !finiteNonNegative(data.zeroCount) ||
    typeof data.sum !== 'number'
  ) {
    throw new RangeError('malformed serialized sketch');
  }
  const sketch = new LatencySketch(data.relativeAccuracy);
  const inner = sketch.inner;
  let total = data.zeroCount;
  data.counts.forEach((count, i) => {
    if (count > 0) {
      inner.store.add(data.offset + i, count);
      total += count;
    }
  });
  if (Math.abs(total - data.count) > 1e-9 * Math.max(1, total)) throw new RangeError('malformed serialized sketch: count mismatch');
  inner.zeroCount = data.zeroCount;
  inner.count = total;
  inner.sum = data.sum;
  inner.min = data.min ?? Infinity;
  inner.max = data.max ?? -Infinity;
  return sketch;
}

/**
 * Bucket counts of two sketches aligned on the union of their bucket keys, in ascending value
 * order (zero bucket first, key −Infinity) — the grouped input mannWhitneyUFromCounts expects.
 * Buckets empty in both sketches are left out.
 */
export function alignSketches(a: LatencySketch, b: LatencySketch): { keys: number[]; countsA: number[]; countsB: number[] } {
  if (a.relativeAccuracy !== b.relativeAccuracy) throw new RangeError('sketches must share relative accuracy');
  const keys: number[] = [];
  const countsA: number[] = [];
  const countsB: number[] = [];
  const za = a.inner.zeroCount;
  const zb = b.inner.zeroCount;
  if (za > 0 || zb > 0) {
    keys.push(-Infinity);
    countsA.push(za);
    countsB.push(zb);
  }
  const sa = a.inner.store;
  const sb = b.inner.store;
  const lo = Math.min(sa.count > 0 ? sa.minKey : Infinity, sb.count > 0 ? sb.minKey : Infinity);
  const hi = Math.max(sa.count > 0 ? sa.maxKey : -Infinity, sb.count > 0 ? sb.maxKey : -Infinity);
  for (let key = lo; key <= hi; key++) {
    const ca = sa.count > 0 && key >= sa.minKey && key <= sa.maxKey ? sa.bins[key - sa.offset] : 0;
    const cb = sb.count > 0 && key >= sb.minKey && key <= sb.maxKey ? sb.bins[key - sb.offset] : 0;
    if (ca > 0 || cb > 0) {
      keys.push(key);
      countsA.push(ca);
      countsB.push(cb);
    }
  }
  return { keys, countsA, countsB };
}
