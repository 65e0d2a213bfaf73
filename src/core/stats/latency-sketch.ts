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

  constructor(relativeAccuracy = DEFAULT_RELATIVE_ACCURACY) {
    this.relativeAccuracy = relativeAccuracy;
    this.inner = new DDSketch({ relativeAccuracy });
  }

  /** Record one latency (ms, ≥ 0). Negative or non-finite values are refused. */
  add(ms: number, weight = 1): void {
    if (!(ms >= 0) || ms === Infinity) throw new RangeError(`latency must be a finite non-negative number, got ${ms}`);
    this.inner.accept(ms, weight);
  }

  /** Merge another sketch into this one (same relative accuracy required). */
  merge(other: LatencySketch): this {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new RangeError('cannot merge sketches with different relative accuracy');
    }
    this.inner.merge(other.inner);
    return this;
  }

  /** Value at quantile q ∈ [0, 1] (NaN when empty). */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0,1], got ${q}`);
    return this.inner.getValueAtQuantile(q);
  }

  get count(): number {
    return this.inner.count;
  }

  get sum(): number {
    return this.inner.sum;
  }

  get min(): number {
    return this.inner.count > 0 ? this.inner.min : NaN;
  }

  get max(): number {
    return this.inner.count > 0 ? this.inner.max : NaN;
  }

  get mean(): number {
    return this.inner.count > 0 ? this.inner.sum / this.inner.count : NaN;
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
 * Bucket counts of two sketches aligned on the union of their bucket keys, in ascending order —
 * the grouped input mannWhitneyUFromCounts expects.
 */
export function alignSketches(a: LatencySketch, b: LatencySketch): { values: number[]; countsA: number[]; countsB: number[] } {
  if (a.relativeAccuracy !== b.relativeAccuracy) throw new RangeError('sketches must share relative accuracy');
  const map = new Map<number, { value: number; a: number; b: number }>();
  for (const x of a.buckets()) map.set(x.key, { value: x.value, a: x.count, b: 0 });
  for (const y of b.buckets()) {
    const slot = map.get(y.key);
    if (slot) slot.b = y.count;
    else map.set(y.key, { value: y.value, a: 0, b: y.count });
  }
  const keys = [...map.keys()].sort((x, y) => x - y);
  return {
    values: keys.map((k) => map.get(k)!.value),
    countsA: keys.map((k) => map.get(k)!.a),
    countsB: keys.map((k) => map.get(k)!.b),
  };
}
