// Per model+version rolling 1-second buckets of what monitors look at: counts, a mergeable latency
// sketch, input-length samples, predicted classes and feedback. One ring of buckets per series,
// reused in place, so recording is a few additions and one sketch insert. Buckets serialize to
// plain JSON and merge by addition, so the buckets of several replicas combine into the same view
// one replica would have had.
//
// Memory: an hour of buckets per series is kept, so a bucket's latency sketch is not a DDSketch
// (~5 KB each, 18 MB per series-hour) but the same bins (DDSketch's logarithmic mapping, so
// snapshots are real, mergeable DDSketches) in two small typed arrays: under 1 KB per bucket.
import { DDSketch } from '@datadog/sketches-js';
import type { EpochMs } from '../../core/types.ts';

/** Series for traces no version produced (paused model, fallback answers, no serving version). */
export const MODEL_LEVEL = '-';

/** Relative accuracy of the latency sketches; fixed so sketches of every replica stay mergeable. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
const RESERVOIR_SIZE = 16;
const FEATURE_RESERVOIR_SIZE = 8;
const MAX_FEATURES = 32;
const MAX_CLASSES = 64;
const OTHER_CLASS = '(other)';

export function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

/** DDSketch's key mapping, shared: equal keys mean the same value range in every sketch. */
const MAPPING = newSketch().mapping as unknown as { key(value: number): number; minPossible: number };
const EMPTY_KEYS = new Int32Array(0);
const EMPTY_COUNTS = new Uint32Array(0);

/**
 * The bins of a DDSketch (same mapping) as sorted parallel typed arrays of the non-empty keys.
 * Adding is a binary search over a few dozen keys; growth is by half, and trim() drops the slack
 * once a bucket's second is over.
 */
export class CompactSketch {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  zeroCount = 0;
  private keys = EMPTY_KEYS;
  private counts = EMPTY_COUNTS;
  private n = 0;

  accept(value: number, weight = 1): void {
    this.count += weight;
    this.sum += value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value > MAPPING.minPossible) this.addKey(MAPPING.key(value), weight);
    else this.zeroCount += weight;
  }

  private addKey(key: number, weight: number): void {
    const keys = this.keys;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.n && keys[lo] === key) {
      this.counts[lo] += weight;
      return;
    }
    if (this.n === keys.length) {
      const cap = this.n < 8 ? 8 : this.n + (this.n >> 1);
      const k2 = new Int32Array(cap);
      const c2 = new Uint32Array(cap);
      k2.set(keys);
      c2.set(this.counts);
      this.keys = k2;
      this.counts = c2;
    }
    this.keys.copyWithin(lo + 1, lo, this.n);
    this.counts.copyWithin(lo + 1, lo, this.n);
    this.keys[lo] = key;
    this.counts[lo] = weight;
    this.n++;
  }

  /** Drops unused capacity (a bucket whose second is over rarely grows again). */
  trim(): void {
    if (this.keys.length > this.n) {
      this.keys = this.keys.slice(0, this.n);
      this.counts = this.counts.slice(0, this.n);
    }
  }

  /** Adds this sketch's content to a DDSketch of the same relative accuracy. */
  mergeInto(dd: DDSketch): void {
    if (this.count === 0) return;
    for (let i = 0; i < this.n; i++) dd.store.add(this.keys[i], this.counts[i]);
    dd.zeroCount += this.zeroCount;
    dd.count += this.count;
    dd.sum += this.sum;
    if (this.min < dd.min) dd.min = this.min;
    if (this.max > dd.max) dd.max = this.max;
  }

  toSerialized(): SerializedSketch {
    const n = this.n;
    const k = n > 0 ? this.keys[0] : 0;
    const b: number[] = n > 0 ? new Array(this.keys[n - 1] - k + 1).fill(0) : [];
    for (let i = 0; i < n; i++) b[this.keys[i] - k] = this.counts[i];
    return { k, b, z: this.zeroCount, n: this.count, s: this.sum, min: this.min, max: this.max };
  }

  addSerialized(data: SerializedSketch): void {
    for (let i = 0; i < data.b.length; i++) if (data.b[i] > 0) this.addKey(data.k + i, data.b[i]);
    this.zeroCount += data.z;
    this.count += data.n;
    this.sum += data.s;
    if ((data.min ?? Infinity) < this.min) this.min = data.min;
    if ((data.max ?? -Infinity) > this.max) this.max = data.max;
  }
}

/** The counters of a bucket and of a merged window. */
export interface WindowCounts {
  requests: number;
  /** Requests this version failed (the client may still have got an answer through a retry or fallback). */
  errors: number;
  timeouts: number;
  /** Malformed or empty outputs and outputs that failed a validator. */
  invalid: number;
  /** Requests answered by a fallback. */
  fallbacks: number;
  /** Requests this version failed that were retried on the stable version. */
  retries: number;
  /** Answers a validator blocked. */
  blocked: number;
  promptTokens: number;
  completionTokens: number;
  outputChars: number;
  inputChars: number;
  feedbackPositive: number;
  feedbackNegative: number;
  labelsCorrect: number;
  labelsTotal: number;
}

const COUNT_KEYS: ReadonlyArray<keyof WindowCounts> = [
  'requests',
  'errors',
  'timeouts',
  'invalid',
  'fallbacks',
  'retries',
  'blocked',
  'promptTokens',
  'completionTokens',
  'outputChars',
  'inputChars',
  'feedbackPositive',
  'feedbackNegative',
  'labelsCorrect',
  'labelsTotal',
];

export const emptyCounts = (): WindowCounts => ({
  requests: 0,
  errors: 0,
  timeouts: 0,
  invalid: 0,
  fallbacks: 0,
  retries: 0,
  blocked: 0,
  promptTokens: 0,
  completionTokens: 0,
  outputChars: 0,
  inputChars: 0,
  feedbackPositive: 0,
  feedbackNegative: 0,
  labelsCorrect: 0,
  labelsTotal: 0,
});

class Bucket implements WindowCounts {
  /** Epoch second this bucket holds; -1 when unused. */
  second = -1;
  requests = 0;
  errors = 0;
  timeouts = 0;
  invalid = 0;
  fallbacks = 0;
  retries = 0;
  blocked = 0;
  promptTokens = 0;
  completionTokens = 0;
  outputChars = 0;
  inputChars = 0;
  feedbackPositive = 0;
  feedbackNegative = 0;
  labelsCorrect = 0;
  labelsTotal = 0;
  latency: CompactSketch | null = null;
  ttfb: CompactSketch | null = null;
  errorClasses: Record<string, number> | null = null;
  predictions: Map<string, number> | null = null;
  /** Reservoir of input lengths (chars) and how many were offered. */
  inputLengths: number[] | null = null;
  inputSeen = 0;
  features: number[][] | null = null;
  featuresSeen = 0;

  trim(): void {
    this.latency?.trim();
    this.ttfb?.trim();
  }

  reset(second: number): void {
    this.second = second;
    for (const k of COUNT_KEYS) this[k] = 0;
    this.latency = null;
    this.ttfb = null;
    this.errorClasses = null;
    this.predictions = null;
    this.inputLengths = null;
    this.inputSeen = 0;
    this.features = null;
    this.featuresSeen = 0;
  }
}

/**
 * Seconds whose rate counters are also kept per tenth of a second. A fault detected within its
 * first second shares that second's bucket with the healthy requests before it; the tenths let the
 * breach analysis size the fault from its own requests (MetricWindows.tenths).
 */
const TENTH_SECONDS = 4;
// Counter slots of one tenth, in this order.
const TENTH_FIELDS = ['requests', 'errors', 'timeouts', 'invalid', 'malformed', 'feedbackPositive', 'feedbackNegative', 'labelsCorrect', 'labelsTotal'] as const;
const [T_REQUESTS, T_ERRORS, T_TIMEOUTS, T_INVALID, T_MALFORMED, T_POSITIVE, T_NEGATIVE, T_CORRECT, T_LABELS] = TENTH_FIELDS.map((_, i) => i);
const TENTH_WIDTH = TENTH_FIELDS.length;

/** The counters rate signals read, over one tenth of a second starting at `at`. */
export interface TenthCounts
  extends Pick<WindowCounts, 'requests' | 'errors' | 'timeouts' | 'invalid' | 'feedbackPositive' | 'feedbackNegative' | 'labelsCorrect' | 'labelsTotal'> {
  at: EpochMs;
  /** Only `malformed_output`: the one error class rate signals read. */
  errorClasses: Record<string, number>;
}

class Series {
  readonly ring: Bucket[];
  /** Per tenth counters of the last TENTH_SECONDS seconds: second % TENTH_SECONDS picks the block. */
  readonly tenths = new Float64Array(TENTH_SECONDS * 10 * TENTH_WIDTH);
  /** Second held by each block of `tenths` (-1: none yet). */
  readonly tenthSeconds: number[] = new Array(TENTH_SECONDS).fill(-1);
  lastSecond = -1;
  constructor(
    readonly model: string,
    readonly version: string,
    readonly shadow: boolean,
    size: number,
  ) {
    this.ring = new Array(size);
  }
}

/** One request's contribution to the windows of one version. */
export interface Observation {
  model: string;
  version: string;
  at: EpochMs;
  latencyMs?: number;
  ttfbMs?: number;
  ok: boolean;
  errorClass?: string;
  invalid?: boolean;
  fallback?: boolean;
  retried?: boolean;
  blocked?: boolean;
  promptTokens?: number;
  completionTokens?: number;
  inputChars?: number;
  outputChars?: number;
  prediction?: string;
  features?: number[];
  shadow?: boolean;
}

export interface FeedbackObservation {
  model: string;
  version?: string;
  /** Time of the request: a late label counts in the bucket of its request. */
  requestAt: EpochMs;
  rating?: 1 | -1;
  /** Ground-truth label compared with the prediction: true when they agree. */
  correct?: boolean;
}

export interface MetricWindow extends WindowCounts {
  model: string;
  version: string;
  shadow: boolean;
  from: EpochMs;
  to: EpochMs;
  /** Seconds in [from, to) that had any data. */
  activeSeconds: number;
  latency: DDSketch;
  ttfb: DDSketch;
  errorClasses: Record<string, number>;
  predictions: Record<string, number>;
  /** Sample of input lengths (chars), a bounded reservoir per second. */
  inputLengths: number[];
  /** Sample of numeric features of predict requests. */
  features: number[][];
}

/** A bucket as plain JSON, for replicas to exchange (`second` is epoch seconds). */
export interface SerializedBucket extends Partial<WindowCounts> {
  model: string;
  version: string;
  shadow?: boolean;
  second: number;
  latency?: SerializedSketch;
  ttfb?: SerializedSketch;
  errorClasses?: Record<string, number>;
  predictions?: Record<string, number>;
  inputLengths?: number[];
  inputSeen?: number;
  features?: number[][];
  featuresSeen?: number;
}

/** DDSketch content: positive-store bins from key `k`, zero count, summary statistics. */
export interface SerializedSketch {
  k: number;
  b: number[];
  z: number;
  n: number;
  s: number;
  min: number;
  max: number;
}

export function serializeSketch(sketch: DDSketch): SerializedSketch {
  const store = sketch.store as unknown as { bins: number[]; minKey: number; maxKey: number; offset: number; count: number };
  const b: number[] = [];
  let k = 0;
  if (store.count > 0 && Number.isFinite(store.minKey)) {
    k = store.minKey;
    for (let key = store.minKey; key <= store.maxKey; key++) b.push(store.bins[key - store.offset] ?? 0);
  }
  return { k, b, z: sketch.zeroCount, n: sketch.count, s: sketch.sum, min: sketch.min, max: sketch.max };
}

export function deserializeSketch(data: SerializedSketch): DDSketch {
  const sketch = newSketch();
  for (let i = 0; i < data.b.length; i++) if (data.b[i] > 0) sketch.store.add(data.k + i, data.b[i]);
  sketch.zeroCount = data.z;
  sketch.count = data.n;
  sketch.sum = data.s;
  sketch.min = data.min ?? Infinity;
  sketch.max = data.max ?? -Infinity;
  return sketch;
}

function addReservoir(list: number[], seen: number, value: number, size: number): void {
  if (list.length < size) list.push(value);
  else {
    const j = Math.floor(Math.random() * seen);
    if (j < size) list[j] = value;
  }
}

export interface MetricWindowsOptions {
  /** How many 1-second buckets each series keeps (default 3600: one hour). */
  retentionSeconds?: number;
}

export class MetricWindows {
  private readonly series = new Map<string, Map<string, Series>>();
  private readonly size: number;

  constructor(options: MetricWindowsOptions = {}) {
    this.size = Math.max(2, Math.floor(options.retentionSeconds ?? 3600));
  }

  get retentionSeconds(): number {
    return this.size;
  }

  private seriesFor(model: string, version: string, shadow: boolean, create: boolean): Series | undefined {
    const key = shadow ? `${version}\u0000shadow` : version;
    let byVersion = this.series.get(model);
    if (!byVersion) {
      if (!create) return undefined;
      this.series.set(model, (byVersion = new Map()));
    }
    let s = byVersion.get(key);
    if (!s && create) byVersion.set(key, (s = new Series(model, version, shadow, this.size)));
    return s;
  }

  /** The bucket for an epoch second, or undefined when that second is older than the ring holds. */
  private bucket(s: Series, second: number): Bucket | undefined {
    if (s.lastSecond >= 0 && second <= s.lastSecond - this.size) return undefined;
    const i = second % this.size;
    let b = s.ring[i];
    if (!b) s.ring[i] = b = new Bucket();
    if (b.second !== second) {
      // A newer second takes the slot over; an older one never overwrites newer data.
      if (b.second > second) return undefined;
      b.reset(second);
    }
    if (second > s.lastSecond) {
      if (s.lastSecond >= 0) {
        const prev = s.ring[s.lastSecond % this.size];
        if (prev && prev !== b) prev.trim();
      }
      s.lastSecond = second;
    }
    return b;
  }

  /**
   * Offset in `s.tenths` of the counters of the tenth holding `atMs`; -1 when that second is no
   * longer kept per tenth, or (`write` false) not kept yet. A write claims the second's block.
   */
  private tenth(s: Series, atMs: EpochMs, write = true): number {
    const second = Math.floor(atMs / 1000);
    if (second <= s.lastSecond - TENTH_SECONDS) return -1;
    const block = second % TENTH_SECONDS;
    const start = block * 10 * TENTH_WIDTH;
    if (s.tenthSeconds[block] !== second) {
      if (!write || s.tenthSeconds[block] > second) return -1;
      s.tenthSeconds[block] = second;
      s.tenths.fill(0, start, start + 10 * TENTH_WIDTH);
    }
    return start + Math.floor((atMs - second * 1000) / 100) * TENTH_WIDTH;
  }

  record(o: Observation): void {
    const s = this.seriesFor(o.model, o.version, o.shadow === true, true)!;
    const b = this.bucket(s, Math.floor(o.at / 1000));
    if (!b) return;
    // The rate counters, for the second's bucket and its tenth alike.
    const failed = !o.ok;
    const timeout = failed && o.errorClass === 'timeout';
    const malformed = failed && o.errorClass === 'malformed_output';
    const invalid = malformed || (!failed && o.invalid === true);
    b.requests++;
    if (failed) {
      b.errors++;
      if (o.errorClass) {
        const ec = (b.errorClasses ??= {});
        ec[o.errorClass] = (ec[o.errorClass] ?? 0) + 1;
      }
    }
    if (timeout) b.timeouts++;
    if (invalid) b.invalid++;
    const at = this.tenth(s, o.at);
    if (at >= 0) {
      const t = s.tenths;
      t[at + T_REQUESTS]++;
      if (failed) t[at + T_ERRORS]++;
      if (timeout) t[at + T_TIMEOUTS]++;
      if (invalid) t[at + T_INVALID]++;
      if (malformed) t[at + T_MALFORMED]++;
    }
    if (o.fallback) b.fallbacks++;
    if (o.retried) b.retries++;
    if (o.blocked) b.blocked++;
    if (o.promptTokens) b.promptTokens += o.promptTokens;
    if (o.completionTokens) b.completionTokens += o.completionTokens;
    if (o.outputChars) b.outputChars += o.outputChars;
    if (o.latencyMs !== undefined && o.latencyMs >= 0) (b.latency ??= new CompactSketch()).accept(o.latencyMs);
    if (o.ttfbMs !== undefined && o.ttfbMs >= 0) (b.ttfb ??= new CompactSketch()).accept(o.ttfbMs);
    if (o.inputChars !== undefined) {
      b.inputChars += o.inputChars;
      b.inputSeen++;
      addReservoir((b.inputLengths ??= []), b.inputSeen, o.inputChars, RESERVOIR_SIZE);
    }
    if (o.features && o.features.length > 0) {
      b.featuresSeen++;
      const list = (b.features ??= []);
      const f = o.features.length > MAX_FEATURES ? o.features.slice(0, MAX_FEATURES) : o.features;
      if (list.length < FEATURE_RESERVOIR_SIZE) list.push(f);
      else {
        const j = Math.floor(Math.random() * b.featuresSeen);
        if (j < FEATURE_RESERVOIR_SIZE) list[j] = f;
      }
    }
    if (o.prediction !== undefined) {
      const p = (b.predictions ??= new Map());
      const key = p.has(o.prediction) || p.size < MAX_CLASSES ? o.prediction : OTHER_CLASS;
      p.set(key, (p.get(key) ?? 0) + 1);
    }
  }

  /**
   * Feedback counts in the bucket of its request's time. Returns false when that second is older
   * than the ring keeps (the feedback store still has it for longer windows).
   */
  recordFeedback(f: FeedbackObservation): boolean {
    if (f.rating === undefined && f.correct === undefined) return false;
    const s = this.seriesFor(f.model, f.version ?? MODEL_LEVEL, false, true)!;
    const b = this.bucket(s, Math.floor(f.requestAt / 1000));
    if (!b) return false;
    if (f.rating === 1) b.feedbackPositive++;
    else if (f.rating === -1) b.feedbackNegative++;
    if (f.correct !== undefined) {
      b.labelsTotal++;
      if (f.correct) b.labelsCorrect++;
    }
    const at = this.tenth(s, f.requestAt);
    if (at >= 0) {
      const slots = s.tenths;
      if (f.rating === 1) slots[at + T_POSITIVE]++;
      else if (f.rating === -1) slots[at + T_NEGATIVE]++;
      if (f.correct !== undefined) {
        slots[at + T_LABELS]++;
        if (f.correct) slots[at + T_CORRECT]++;
      }
    }
    return true;
  }

  /**
   * Rate counters per tenth of a second over [fromMs, toMs), for the last few seconds of a series
   * only (tenths no longer kept are left out). Local to this process: replicas exchange seconds.
   */
  tenths(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): TenthCounts[] {
    const out: TenthCounts[] = [];
    const s = this.seriesFor(model, version, false, false);
    if (!s) return out;
    for (let t = Math.ceil(fromMs / 100) * 100; t < toMs; t += 100) {
      const at = this.tenth(s, t, false);
      if (at < 0) continue;
      const v = s.tenths;
      out.push({
        at: t,
        requests: v[at + T_REQUESTS],
        errors: v[at + T_ERRORS],
        timeouts: v[at + T_TIMEOUTS],
        invalid: v[at + T_INVALID],
        feedbackPositive: v[at + T_POSITIVE],
        feedbackNegative: v[at + T_NEGATIVE],
        labelsCorrect: v[at + T_CORRECT],
        labelsTotal: v[at + T_LABELS],
        errorClasses: v[at + T_MALFORMED] > 0 ? { malformed_output: v[at + T_MALFORMED] } : {},
      });
    }
    return out;
  }

  /** Model/version pairs with any data in the ring (shadow series flagged; model-level series excluded). */
  versions(): Array<{ model: string; version: string; shadow: boolean; lastAt: EpochMs }> {
    const out: Array<{ model: string; version: string; shadow: boolean; lastAt: EpochMs }> = [];
    for (const byVersion of this.series.values()) {
      for (const s of byVersion.values()) {
        if (s.version === MODEL_LEVEL || s.lastSecond < 0) continue;
        out.push({ model: s.model, version: s.version, shadow: s.shadow, lastAt: s.lastSecond * 1000 });
      }
    }
    return out;
  }

  /** Merge the buckets of [fromMs, toMs) into one window (seconds the ring no longer holds are absent). */
  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs, options: { shadow?: boolean } = {}): MetricWindow {
    const shadow = options.shadow === true;
    const w = emptyWindow(model, version, fromMs, toMs, shadow);
    const s = this.seriesFor(model, version, shadow, false);
    if (!s || s.lastSecond < 0) return w;
    const first = Math.max(Math.ceil(fromMs / 1000), s.lastSecond - this.size + 1);
    const last = Math.min(Math.ceil(toMs / 1000) - 1, s.lastSecond);
    for (let sec = first; sec <= last; sec++) {
      const b = s.ring[sec % this.size];
      if (!b || b.second !== sec) continue;
      mergeBucketInto(w, b);
    }
    return w;
  }

  /** Buckets of seconds in [fromMs, toMs) as JSON (every series, or one model). */
  exportBuckets(fromMs: EpochMs, toMs: EpochMs, model?: string): SerializedBucket[] {
    const out: SerializedBucket[] = [];
    const models = model ? [this.series.get(model)].filter((m) => m !== undefined) : [...this.series.values()];
    for (const byVersion of models) {
      for (const s of byVersion.values()) {
        if (s.lastSecond < 0) continue;
        const first = Math.max(Math.ceil(fromMs / 1000), s.lastSecond - this.size + 1);
        const last = Math.min(Math.ceil(toMs / 1000) - 1, s.lastSecond);
        for (let sec = first; sec <= last; sec++) {
          const b = s.ring[sec % this.size];
          if (b && b.second === sec) out.push(serializeBucket(s, b));
        }
      }
    }
    return out;
  }

  /** Add buckets from another replica (or a previous export) into this one's rings. */
  importBuckets(buckets: SerializedBucket[]): void {
    for (const sb of buckets) {
      const s = this.seriesFor(sb.model, sb.version, sb.shadow === true, true)!;
      const b = this.bucket(s, sb.second);
      if (b) mergeSerializedInto(b, sb);
    }
  }

  /** Drop every series (tests, or a replica handing its state over). */
  clear(): void {
    this.series.clear();
  }
}

function mergeCounts(into: WindowCounts, from: Partial<WindowCounts>): void {
  for (const k of COUNT_KEYS) {
    const v = from[k];
    if (v) into[k] += v;
  }
}

/** A window with nothing in it, to merge buckets or other windows into. */
export function emptyWindow(model: string, version: string, from: EpochMs, to: EpochMs, shadow = false): MetricWindow {
  return {
    model,
    version,
    shadow,
    from,
    to,
    activeSeconds: 0,
    ...emptyCounts(),
    latency: newSketch(),
    ttfb: newSketch(),
    errorClasses: {},
    predictions: {},
    inputLengths: [],
    features: [],
  };
}

function mergeBucketInto(w: MetricWindow, b: Bucket): void {
  w.activeSeconds++;
  mergeCounts(w, b);
  if (b.latency) b.latency.mergeInto(w.latency);
  if (b.ttfb) b.ttfb.mergeInto(w.ttfb);
  if (b.errorClasses) for (const [k, v] of Object.entries(b.errorClasses)) w.errorClasses[k] = (w.errorClasses[k] ?? 0) + v;
  if (b.predictions) for (const [k, v] of b.predictions) w.predictions[k] = (w.predictions[k] ?? 0) + v;
  if (b.inputLengths) for (const v of b.inputLengths) w.inputLengths.push(v);
  if (b.features) for (const f of b.features) w.features.push(f);
}

function serializeBucket(s: Series, b: Bucket): SerializedBucket {
  const out: SerializedBucket = { model: s.model, version: s.version, second: b.second };
  if (s.shadow) out.shadow = true;
  for (const k of COUNT_KEYS) if (b[k]) out[k] = b[k];
  if (b.latency) out.latency = b.latency.toSerialized();
  if (b.ttfb) out.ttfb = b.ttfb.toSerialized();
  if (b.errorClasses) out.errorClasses = { ...b.errorClasses };
  if (b.predictions) out.predictions = Object.fromEntries(b.predictions);
  if (b.inputLengths) {
    out.inputLengths = [...b.inputLengths];
    out.inputSeen = b.inputSeen;
  }
  if (b.features) {
    out.features = b.features.map((f) => [...f]);
    out.featuresSeen = b.featuresSeen;
  }
  return out;
}

function mergeSerializedInto(b: Bucket, sb: SerializedBucket): void {
  mergeCounts(b, sb);
  if (sb.latency) (b.latency ??= new CompactSketch()).addSerialized(sb.latency);
  if (sb.ttfb) (b.ttfb ??= new CompactSketch()).addSerialized(sb.ttfb);
  if (sb.errorClasses) {
    const ec = (b.errorClasses ??= {});
    for (const [k, v] of Object.entries(sb.errorClasses)) ec[k] = (ec[k] ?? 0) + v;
  }
  if (sb.predictions) {
    const p = (b.predictions ??= new Map());
    for (const [k, v] of Object.entries(sb.predictions)) p.set(k, (p.get(k) ?? 0) + v);
  }
  if (sb.inputLengths) {
    // Merged reservoirs keep a sample weighted by how many inputs each side saw.
    const list = (b.inputLengths ??= []);
    const seen = sb.inputSeen ?? sb.inputLengths.length;
    const mine = b.inputSeen;
    b.inputSeen = mine + seen;
    mergeReservoir(list, mine, sb.inputLengths, seen, RESERVOIR_SIZE);
  }
  if (sb.features) {
    const list = (b.features ??= []);
    const seen = sb.featuresSeen ?? sb.features.length;
    const mine = b.featuresSeen;
    b.featuresSeen = mine + seen;
    mergeReservoir(list, mine, sb.features, seen, FEATURE_RESERVOIR_SIZE);
  }
}

function mergeReservoir<T>(list: T[], mineSeen: number, other: T[], otherSeen: number, size: number): void {
  if (list.length + other.length <= size) {
    for (const v of other) list.push(v);
    return;
  }
  const total = mineSeen + otherSeen;
  const pool: Array<{ v: T; w: number }> = [];
  const wMine = list.length ? mineSeen / list.length : 0;
  const wOther = other.length ? otherSeen / other.length : 0;
  for (const v of list) pool.push({ v, w: wMine });
  for (const v of other) pool.push({ v, w: wOther });
  // Weighted sampling without replacement (Efraimidis–Spirakis keys).
  const keyed = pool.map((p) => ({ v: p.v, k: Math.pow(Math.random(), total > 0 ? 1 / Math.max(p.w, 1e-9) : 1) }));
  keyed.sort((a, b) => b.k - a.k);
  list.length = 0;
  for (let i = 0; i < size && i < keyed.length; i++) list.push(keyed[i].v);
}

/** Quantile of a sketch in the sketch's unit, or undefined when it holds nothing. */
export function sketchQuantile(sketch: DDSketch, q: number): number | undefined {
  return sketch.count > 0 ? sketch.getValueAtQuantile(q) : undefined;
}
