// Evaluates one built-in monitor for one model version at one instant, over metric windows: picks
// the baseline, runs the pure detector (src/core/detectors) on every window, and folds the window
// results into one Finding. On a breach, `analyzeBreach` estimates the onset and the fault's size
// since then (what severity and impact are computed from). No I/O beyond reading windows: the live
// runner, the healthy-traffic simulation and replays over recorded traces all call this.
import type { EpochMs, Evidence, Finding, FindingStatus, Severity } from '../../core/types.ts';
import type { DetectorResult, TimeWindow } from '../../core/detectors/detector-result.ts';
import { fmt } from './format.ts';
import { rateDetector } from '../../core/detectors/rate-detector.ts';
import { latencyDetector, slowLimitMs } from '../../core/detectors/latency-detector.ts';
import { driftDetector } from '../../core/detectors/drift-detector.ts';
import { estimateOnset, type OnsetEstimate, type SecondCounts } from '../../core/detectors/estimate-onset.ts';
import { severityFor, type SeverityRules } from '../../core/detectors/severity.ts';
import type { LatencySketch } from '../../core/stats/latency-sketch.ts';
import type { RateCounts } from '../../core/stats/sequential.ts';
import {
  MONITOR_KINDS,
  type DriftSettings,
  type LatencySettings,
  type MeanSettings,
  type MonitorId,
  type MonitorSettings,
  type RateSettings,
} from './monitor-config.ts';
import { meanShiftDetector } from './mean-shift-detector.ts';
import { emptyWindow, type MetricWindow, type TenthCounts } from '../telemetry/metric-windows.ts';
import { mergeWindowInto } from './window-cache.ts';
import { binLabel, histogram, quantileEdges } from '../../core/stats/binning.ts';
import { DRIFT_SIGNALS, RATE_SIGNALS, featureColumns, latencyOf, meanOutputChars, answered, type RateSignal } from './signals.ts';

/** Reads merged 1-second buckets; MetricWindows implements it. */
export interface WindowReader {
  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): MetricWindow;
  /** Rate counters per tenth of a second, for the last few seconds (MetricWindows.tenths); optional. */
  tenths?(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): TenthCounts[];
}

/**
 * Where a baseline comes from:
 * - `stable-arm`: the stable version serving beside the one under test (a split), same time span;
 * - `last-stable`: the last stable version's most recent traffic (it no longer serves);
 * - `own-history`: the version's own earlier traffic, before the longest window (the version
 *   under test is the stable one, or nothing else is comparable);
 * - `stable-history`: the stable version's earlier traffic (input drift of a new version).
 */
export type BaselineKind = 'stable-arm' | 'last-stable' | 'own-history' | 'stable-history';

export interface BaselineCandidate {
  kind: BaselineKind;
  version: string;
  from: EpochMs;
  to: EpochMs;
  /** [from, splitAt) is cached across evaluations, [splitAt, to) read at each one. */
  splitAt?: EpochMs;
}

/** Where the version under test stands; decides the baseline candidates. */
export interface VersionRole {
  model: string;
  version: string;
  /** The last known stable version, when it is another version. */
  stable?: { version: string; serving: boolean; lastAt?: EpochMs };
}

export interface ChosenBaseline extends BaselineCandidate {
  window: MetricWindow;
  /** Samples of the signal in it (trials, requests, values). */
  samples: number;
}

/** Snapshots for one evaluation instant; baseline windows are cached across instants by the caller. */
export class EvalContext {
  private readonly memo = new Map<string, MetricWindow>();

  constructor(
    readonly reader: WindowReader,
    readonly role: VersionRole,
    readonly now: EpochMs,
    /** Baseline windows are aligned to this grid so that consecutive evaluations share them. */
    readonly refreshMs: number,
    /** Cross-evaluation cache for aligned (baseline) windows; the owner evicts old keys. */
    private readonly persistent?: Map<string, { window: MetricWindow; usedAt: EpochMs }>,
    /** Cross-evaluation cache of long windows' detector results (see judged()); cleared when settings change. */
    private readonly results?: Map<string, { at: EpochMs; value: unknown }>,
  ) {}

  get model(): string {
    return this.role.model;
  }

  get version(): string {
    return this.role.version;
  }

  window(version: string, from: EpochMs, to: EpochMs, keep = false): MetricWindow {
    const key = `${this.role.model}\u0000${version}\u0000${from}\u0000${to}`;
    if (keep && this.persistent) {
      const hit = this.persistent.get(key);
      if (hit) {
        hit.usedAt = this.now;
        return hit.window;
      }
    }
    let w = this.memo.get(key);
    if (!w) {
      w = this.reader.snapshot(this.role.model, version, from, to);
      this.memo.set(key, w);
      if (keep && this.persistent) this.persistent.set(key, { window: w, usedAt: this.now });
    }
    return w;
  }

  /** [from, to) as a cached [from, splitAt) plus a fresh [splitAt, to), memoised for this evaluation. */
  joined(version: string, from: EpochMs, splitAt: EpochMs, to: EpochMs): MetricWindow {
    const key = `${this.role.model}\u0000${version}\u0000${from}\u0000${splitAt}\u0000${to}\u0000joined`;
    let w = this.memo.get(key);
    if (!w) {
      const cached = this.window(version, from, splitAt, true);
      w = emptyWindow(this.role.model, version, from, to);
      // Joined windows serve comparisons (counts, sketches, classes), never input drift: the
      // value samples are the cached part's, shared rather than copied every evaluation.
      mergeWindowInto(w, { ...cached, inputLengths: [], features: [] });
      mergeWindowInto(w, { ...this.window(version, splitAt, to), inputLengths: [], features: [] });
      w.inputLengths = cached.inputLengths;
      w.features = cached.features;
      this.memo.set(key, w);
    }
    return w;
  }

  /** The version under test over the last `seconds` (the current, partial second included). */
  current(seconds: number): MetricWindow {
    return this.window(this.role.version, this.now - seconds * 1000, this.now);
  }

  /**
   * A window result reused for a while: a w-second window moves by 1/w of its data per second, so
   * long windows are re-judged every w/30 s (a 300 s window every 10 s) rather than every second.
   */
  judged<T>(key: string, windowSeconds: number, compute: () => T): T {
    const every = Math.max(1, Math.floor(windowSeconds / 30)) * 1000;
    if (every <= 1000 || !this.results) return compute();
    const full = `${this.role.model}\u0000${this.role.version}\u0000${key}\u0000${windowSeconds}`;
    const hit = this.results.get(full);
    if (hit && this.now - hit.at < every && this.now >= hit.at) return hit.value as T;
    const value = compute();
    this.results.set(full, { at: this.now, value });
    return value;
  }

  /**
   * A monitor's baseline, chosen only when one of its windows is judged at this evaluation (long
   * windows are not judged every time: see judged()); `final()` is the baseline the reported results
   * were judged against.
   */
  lazyBaseline(monitor: string, choose: () => ChosenBaseline | undefined): { get(): ChosenBaseline | undefined; final(): ChosenBaseline | undefined } {
    const key = `${this.role.model}\u0000${this.role.version}\u0000${monitor}\u0000baseline`;
    let chosen = false;
    let value: ChosenBaseline | undefined;
    return {
      get: () => {
        if (!chosen) {
          chosen = true;
          value = choose();
          this.results?.set(key, { at: this.now, value });
        }
        return value;
      },
      final: () => (chosen ? value : (this.results?.get(key)?.value as ChosenBaseline | undefined)),
    };
  }

  /** Baseline candidates, best first. */
  candidates(purpose: 'compare' | 'history', spanSeconds: number, gapSeconds: number): BaselineCandidate[] {
    // Aligned to a grid so consecutive evaluations share the cached window. Earlier traffic can sit
    // on a coarser grid (a 30-minute span moves by a minute at most); the stable arm is compared
    // with what it serves now, so its window lags by the refresh interval at most.
    const refresh = Math.floor(this.now / this.refreshMs) * this.refreshMs;
    const grid = Math.max(this.refreshMs, Math.floor(spanSeconds / 30) * 1000);
    const t = Math.floor(this.now / grid) * grid;
    const span = spanSeconds * 1000;
    const gap = gapSeconds * 1000;
    const out: BaselineCandidate[] = [];
    const stable = this.role.stable;
    if (purpose === 'compare') {
      if (stable?.serving) out.push({ kind: 'stable-arm', version: stable.version, from: refresh - span, to: this.now, splitAt: refresh });
      else if (stable?.lastAt !== undefined) {
        const last = Math.floor(stable.lastAt / 1000) * 1000 + 1000;
        out.push({ kind: 'last-stable', version: stable.version, from: last - span, to: last });
      }
      out.push({ kind: 'own-history', version: this.role.version, from: t - gap - span, to: t - gap });
    } else {
      out.push({ kind: 'own-history', version: this.role.version, from: t - gap - span, to: t - gap });
      if (stable) out.push({ kind: 'stable-history', version: stable.version, from: t - gap - span, to: t - gap });
    }
    return out;
  }

  /**
   * The first candidate with at least `min` samples; failing that, the one with the most (so the
   * detector can say how short it is); undefined when none has any.
   */
  pickBaseline(candidates: BaselineCandidate[], samplesOf: (w: MetricWindow) => number, min: number): ChosenBaseline | undefined {
    let best: ChosenBaseline | undefined;
    for (const c of candidates) {
      const window = c.splitAt === undefined ? this.window(c.version, c.from, c.to, true) : this.joined(c.version, c.from, c.splitAt, c.to);
      const samples = samplesOf(window);
      const chosen = { ...c, window, samples };
      if (samples >= min) return chosen;
      if (samples > 0 && (!best || samples > best.samples)) best = chosen;
    }
    return best;
  }
}

export interface WindowResult {
  windowSeconds: number;
  window: TimeWindow;
  result: DetectorResult;
}

export interface MonitorEvaluation {
  monitor: MonitorId;
  finding: Finding;
  results: WindowResult[];
  /** The window result the finding reports. */
  chosen?: WindowResult;
  baseline?: ChosenBaseline;
}

const STATUS_RANK: Record<FindingStatus, number> = { breach: 3, ok: 2, insufficient_data: 1 };

function describeBaseline(b: ChosenBaseline | undefined): string {
  if (!b) return 'no baseline';
  const what = b.kind === 'own-history' ? 'own earlier traffic' : b.kind === 'stable-history' ? `stable ${b.version}'s earlier traffic` : b.kind === 'stable-arm' ? `stable arm ${b.version}` : `last stable ${b.version}`;
  return `baseline ${what}, ${Math.round((b.to - b.from) / 1000)} s, n=${b.samples}`;
}

/** Folds window results: a breach in any window wins (the one with the most samples), then ok (the longest window). */
function fold(id: MonitorId, ctx: EvalContext, results: WindowResult[], baseline: ChosenBaseline | undefined, family: string): MonitorEvaluation {
  let chosen: WindowResult | undefined;
  for (const r of results) {
    if (!chosen) {
      chosen = r;
      continue;
    }
    const a = STATUS_RANK[r.result.status];
    const b = STATUS_RANK[chosen.result.status];
    if (a > b || (a === b && (r.result.evidence.sampleSize ?? 0) >= (chosen.result.evidence.sampleSize ?? 0))) chosen = r;
  }
  const status: FindingStatus = chosen?.result.status ?? 'insufficient_data';
  const evidence: Evidence = chosen
    ? { ...chosen.result.evidence, window: chosen.window }
    : { test: id, detail: 'no window to evaluate' };
  const note = `${chosen ? `window ${chosen.windowSeconds} s` : 'no window'}; ${describeBaseline(baseline)}`;
  evidence.detail = evidence.detail ? `${evidence.detail} [${note}]` : note;
  const finding: Finding = { monitor: id, family, model: ctx.model, version: ctx.version, status, at: ctx.now, evidence };
  if (status === 'breach' && chosen?.result.severity) finding.severity = chosen.result.severity;
  return { monitor: id, finding, results, chosen, baseline };
}

const windowOf = (now: EpochMs, seconds: number): TimeWindow => ({ from: now - seconds * 1000, to: now });

export function evaluateMonitor(id: MonitorId, settings: MonitorSettings, ctx: EvalContext, rules?: Partial<SeverityRules>): MonitorEvaluation {
  switch (MONITOR_KINDS[id]) {
    case 'rate':
      return evaluateRate(id, settings as RateSettings, ctx, rules);
    case 'latency':
      return evaluateLatency(id, settings as LatencySettings, ctx, rules);
    case 'drift':
      return evaluateDrift(id, settings as DriftSettings, ctx, rules);
    case 'mean':
      return evaluateMean(id, settings as MeanSettings, ctx, rules);
  }
}

const maxWindow = (s: MonitorSettings): number => Math.max(...s.windows);

function evaluateRate(id: MonitorId, s: RateSettings, ctx: EvalContext, rules?: Partial<SeverityRules>): MonitorEvaluation {
  const signal = RATE_SIGNALS[id]!;
  const baseline = ctx.lazyBaseline(id, () =>
    s.baseline === 'none' ? undefined : ctx.pickBaseline(ctx.candidates('compare', s.baselineSeconds, maxWindow(s)), (w) => signal.counts(w).trials, s.minBaselineSamples),
  );
  let counts: RateCounts | undefined | null = null;
  const baselineCounts = (): RateCounts | undefined => {
    if (counts === null) {
      const b = baseline.get();
      counts = b ? signal.counts(b.window) : undefined;
    }
    return counts;
  };
  const results: WindowResult[] = s.windows.map((seconds) => ctx.judged(id, seconds, () => {
    const window = windowOf(ctx.now, seconds);
    const result = rateDetector({
      family: signal.family,
      direction: signal.direction,
      current: signal.counts(ctx.current(seconds)),
      baseline: baselineCounts(),
      minSamples: s.minSamples,
      minBaselineSamples: s.minBaselineSamples,
      alpha: s.alpha,
      confidence: s.confidence,
      tau: s.tau,
      minEffect: s.minEffect,
      absoluteThreshold: s.absoluteThreshold ?? undefined,
      window,
      severityRules: rules,
    });
    return { windowSeconds: seconds, window, result };
  }));
  return fold(id, ctx, results, baseline.final(), signal.family);
}

function evaluateLatency(id: MonitorId, s: LatencySettings, ctx: EvalContext, rules?: Partial<SeverityRules>): MonitorEvaluation {
  const baseline = ctx.lazyBaseline(id, () =>
    s.baseline === 'none' ? undefined : ctx.pickBaseline(ctx.candidates('compare', s.baselineSeconds, maxWindow(s)), (w) => w.latency.count, s.minBaselineSamples),
  );
  const baselineSketch = (): LatencySketch | undefined => {
    const b = baseline.get();
    return b ? latencyOf(b.window) : undefined;
  };
  const results: WindowResult[] = s.windows.map((seconds) => ctx.judged(id, seconds, () => {
    const window = windowOf(ctx.now, seconds);
    const result = latencyDetector({
      current: latencyOf(ctx.current(seconds)),
      baseline: baselineSketch(),
      thresholdsMs: s.thresholdsMs ?? undefined,
      minSamples: s.minSamples,
      minBaselineSamples: s.minBaselineSamples,
      alpha: s.alpha,
      confidence: s.confidence,
      minRatio: s.minRatio,
      minDeltaMs: s.minDeltaMs,
      quantiles: s.quantiles,
      window,
      severityRules: rules,
    });
    return { windowSeconds: seconds, window, result };
  }));
  return fold(id, ctx, results, baseline.final(), 'latency');
}

function evaluateDrift(id: MonitorId, s: DriftSettings, ctx: EvalContext, rules?: Partial<SeverityRules>): MonitorEvaluation {
  const signal = DRIFT_SIGNALS[id]!;
  const samplesOf = (w: MetricWindow): number =>
    id === 'output-classes' ? sumValues(w.predictions) : id === 'input-length' ? w.inputLengths.length : w.features.length;
  const lazy = ctx.lazyBaseline(id, () =>
    s.baseline === 'none' ? undefined : ctx.pickBaseline(ctx.candidates(signal.baseline, s.baselineSeconds, maxWindow(s)), samplesOf, s.minBaselineSamples),
  );
  const common = {
    family: signal.family,
    test: s.test,
    threshold: s.threshold,
    minStatistic: s.minStatistic,
    alpha: s.alpha,
    bins: s.bins,
    minSamples: s.minSamples,
    minReferenceSamples: s.minBaselineSamples,
    severityRules: rules,
  };
  const results: WindowResult[] = s.windows.map((seconds) => ctx.judged(id, seconds, () => {
    const window = windowOf(ctx.now, seconds);
    const current = ctx.current(seconds);
    const baseline = lazy.get();
    let result: DetectorResult;
    if (!baseline) {
      result = { status: 'insufficient_data', family: signal.family, evidence: { test: s.test, sampleSize: samplesOf(current), baselineSampleSize: 0, window, detail: `${signal.feature}: no baseline traffic to compare with` } };
    } else if (id === 'output-classes') {
      result = s.test === 'ks'
        ? { status: 'insufficient_data', family: signal.family, evidence: { test: 'ks', window, detail: 'the KS test needs numeric values; use psi or js for classes' } }
        : driftDetector({ ...common, kind: 'categorical', reference: baseline.window.predictions, current: current.predictions, feature: signal.feature, window });
    } else if (id === 'input-length') {
      result = numericDrift(common, baseline.window.inputLengths, current.inputLengths, signal.feature, window);
    } else {
      const columns = columnsOf(current);
      // Every feature is a test: the significance level is shared among them (Bonferroni).
      const perFeature = { ...common, alpha: common.alpha / Math.max(1, columns.length) };
      result = worstFeature(columns, columnsOf(baseline.window), (cur, ref, j) => numericDrift(perFeature, ref, cur, `feature[${j}]`, window),
      ) ?? { status: 'insufficient_data', family: signal.family, evidence: { test: s.test, sampleSize: 0, window, detail: 'no numeric features in the window' } };
    }
    return { windowSeconds: seconds, window, result };
  }));
  return fold(id, ctx, results, lazy.final(), signal.family);
}

type DriftCommon = Omit<Parameters<typeof driftDetector>[0], 'kind' | 'reference' | 'current'> & { bins: number };

const binnings = new WeakMap<readonly number[], { bins: number; edges: number[]; labels: string[]; counts: Record<string, number> }>();

/**
 * Numeric drift. PSI and JS bin both samples at the reference's quantiles; the reference (a cached
 * baseline window) is binned once and reused, and the current sample is binned against it — the
 * same computation driftDetector does for numeric input, without re-sorting the reference every
 * second. KS needs the raw values.
 */
function numericDrift(common: DriftCommon, reference: readonly number[], current: readonly number[], feature: string, window: TimeWindow): DetectorResult {
  if (common.test === 'ks' || reference.length === 0 || current.length === 0) {
    return driftDetector({ ...common, kind: 'numeric', reference: thin(reference), current: thin(current), feature, window });
  }
  let b = binnings.get(reference);
  if (!b || b.bins !== common.bins) {
    const ref = thin(reference);
    const edges = quantileEdges(ref, common.bins);
    const labels = Array.from({ length: edges.length + 1 }, (_, i) => binLabel(edges, i));
    const counts: Record<string, number> = {};
    histogram(ref, edges).forEach((c, i) => (counts[labels[i]] = c));
    b = { bins: common.bins, edges, labels, counts };
    binnings.set(reference, b);
  }
  const cur: Record<string, number> = {};
  const labels = b.labels;
  histogram(thin(current), b.edges).forEach((c, i) => (cur[labels[i]] = c));
  const result = driftDetector({ ...common, kind: 'categorical', reference: b.counts, current: cur, feature, window });
  return result;
}

const columnCache = new WeakMap<MetricWindow, number[][]>();
function columnsOf(w: MetricWindow): number[][] {
  let c = columnCache.get(w);
  if (!c) columnCache.set(w, (c = featureColumns(w)));
  return c;
}

/**
 * At most `max` values, evenly strided. Ten quantile bins need far fewer than the thousands of
 * reservoir samples a long window holds, and the reference is re-sorted on every evaluation.
 */
export function thin(values: readonly number[], max = 2000): readonly number[] {
  if (values.length <= max) return values;
  const out = new Array<number>(max);
  const step = values.length / max;
  for (let i = 0; i < max; i++) out[i] = values[Math.floor(i * step)];
  return out;
}

/** Per feature column; the worst result (breach first, then the largest statistic). */
function worstFeature(
  current: number[][],
  reference: number[][],
  run: (cur: number[], ref: number[], j: number) => DetectorResult,
): DetectorResult | undefined {
  let worst: DetectorResult | undefined;
  const n = Math.min(current.length, reference.length);
  for (let j = 0; j < n; j++) {
    if (!current[j]?.length || !reference[j]?.length) continue;
    const r = run(current[j], reference[j], j);
    if (
      !worst ||
      STATUS_RANK[r.status] > STATUS_RANK[worst.status] ||
      (r.status === worst.status && (r.evidence.statistic ?? 0) > (worst.evidence.statistic ?? 0))
    ) {
      worst = r;
    }
  }
  return worst;
}

function evaluateMean(id: MonitorId, s: MeanSettings, ctx: EvalContext, rules?: Partial<SeverityRules>): MonitorEvaluation {
  const lazy = ctx.lazyBaseline(id, () =>
    s.baseline === 'none' ? undefined : ctx.pickBaseline(ctx.candidates('compare', s.baselineSeconds, maxWindow(s)), answered, s.minBaselineSamples),
  );
  let ref: number[] | undefined;
  // Twice as many baseline batches: with 6 current batches (a minute of 10 s blocks) a rank test
  // against 10 cannot reach α = 0.001 even when every current batch is above every baseline one.
  const refBatches = (): number[] => {
    const b = lazy.get();
    return (ref ??= b ? batchMeans(ctx, b.version, b.from, b.splitAt ?? b.to, 2 * s.batches, true) : []);
  };
  const results: WindowResult[] = s.windows.map((seconds) => ctx.judged(id, seconds, () => {
    const window = windowOf(ctx.now, seconds);
    const current = ctx.current(seconds);
    const baseline = lazy.get();
    const result = meanShiftDetector({
      family: 'drift',
      currentBatches: batchMeans(ctx, ctx.version, window.from, window.to, s.batches, false),
      referenceBatches: refBatches(),
      current: { mean: meanOutputChars(current), n: answered(current) },
      reference: baseline ? { mean: meanOutputChars(baseline.window), n: answered(baseline.window) } : { mean: NaN, n: 0 },
      minSamples: s.minSamples,
      minReferenceSamples: s.minBaselineSamples,
      alpha: s.alpha,
      minRatio: s.minRatio,
      feature: 'output length (chars per answer)',
      window,
      severityRules: rules,
    });
    return { windowSeconds: seconds, window, result };
  }));
  return fold(id, ctx, results, lazy.final(), 'drift');
}

/** Batches of whole 10-second blocks (the window cache's blocks), or whole seconds for short windows. */
const BATCH_GRID_SECONDS = 10;

function batchMeans(ctx: EvalContext, version: string, from: EpochMs, to: EpochMs, batches: number, keep: boolean): number[] {
  // Whole seconds per batch (a boundary inside a bucket would count it twice), on the block grid
  // when the window is long enough, so settled batches come from cache rather than fresh merges.
  const span = (to - from) / 1000;
  const raw = Math.max(1, Math.floor(span / batches));
  const seconds = raw >= BATCH_GRID_SECONDS / 2 ? Math.max(BATCH_GRID_SECONDS, Math.round(raw / BATCH_GRID_SECONDS) * BATCH_GRID_SECONDS) : raw;
  const step = seconds * 1000;
  const out: number[] = [];
  let end = seconds >= BATCH_GRID_SECONDS ? Math.ceil(to / step) * step : to;
  for (; end - step >= from - 1 && out.length < batches; end -= step) {
    out.push(meanOutputChars(ctx.window(version, end - step, Math.min(end, to), keep)));
  }
  return out;
}

const sumValues = (r: Record<string, number>): number => {
  let t = 0;
  for (const v of Object.values(r)) t += v;
  return t;
};

// ------------------------------------------------------------------------------------------
// Breach analysis: onset, the fault's size since then, severity, what it touched.

export interface BreachAnalysis {
  /** Estimated first faulty second (change point), when the signal has a per-second series. */
  onsetAt?: EpochMs;
  /** Start of the impact: the onset, else the breaching window's start. */
  since: EpochMs;
  /** Size of the fault (same unit as the severity rules of the family) and where it came from. */
  magnitude: number;
  magnitudeSource: 'since-onset' | 'window';
  severity: Severity;
  /** Requests of the version since `since`. */
  requests: number;
  /** Requests (or ratings, labels) that went wrong since `since`. */
  affected: number;
  detail: string;
}

const clampRate = (p: number): number => Math.min(1 - 1e-4, Math.max(1e-4, p));

function perSecond(ctx: EvalContext, lookbackSeconds: number, f: (w: MetricWindow) => RateCounts): SecondCounts[] {
  const series: SecondCounts[] = [];
  const last = Math.floor(ctx.now / 1000);
  for (let sec = last - lookbackSeconds + 1; sec <= last; sec++) {
    const w = ctx.reader.snapshot(ctx.model, ctx.version, sec * 1000, sec * 1000 + 1000);
    const c = f(w);
    series.push({ at: sec * 1000, events: c.events, trials: c.trials });
  }
  return series;
}

/**
 * Onset and size of the fault behind a breach. Rate signals: maximum-likelihood change point of
 * the per-second series against the baseline rate (estimate-onset.ts), size = the rate since then
 * (for accuracy: the drop). Latency: the same on "requests slower than the limit that breached",
 * size = slowdown since the onset. Drift: no per-second series; the detector's own size.
 */
export function analyzeBreach(
  evaluation: MonitorEvaluation,
  settings: MonitorSettings,
  ctx: EvalContext,
  rules?: Partial<SeverityRules>,
): BreachAnalysis {
  const chosen = evaluation.chosen!;
  const family = evaluation.finding.family;
  const fallbackMagnitude = chosen.result.magnitude ?? 0;
  const base = {
    since: chosen.window.from,
    magnitude: fallbackMagnitude,
    magnitudeSource: 'window' as const,
    severity: chosen.result.severity ?? severityFor(family, fallbackMagnitude, rules),
  };
  const lookback = Math.min(Math.max(maxWindow(settings), 10), 600);
  const kind = MONITOR_KINDS[evaluation.monitor];
  // Rates and latency: the impact since the change point when one was found, else the size of the
  // breaching window.
  const located = (
    onset: OnsetEstimate | undefined,
    impact: { since: EpochMs; magnitude: number; requests: number; affected: number },
    describeOnset: (onset: OnsetEstimate) => string,
  ): BreachAnalysis => ({
    since: impact.since,
    magnitude: impact.magnitude,
    magnitudeSource: onset ? 'since-onset' : 'window',
    severity: severityFor(family, impact.magnitude, rules),
    requests: impact.requests,
    affected: impact.affected,
    detail: onset ? describeOnset(onset) : `no clear change point in the last ${lookback} s; size from the breaching window`,
    ...(onset ? { onsetAt: onset.at } : {}),
  });

  if (kind === 'rate') {
    const signal = RATE_SIGNALS[evaluation.monitor] as RateSignal;
    const s = settings as RateSettings;
    const baselineRate = evaluation.baseline && evaluation.baseline.samples > 0 ? rateOf(signal.counts(evaluation.baseline.window)) : undefined;
    // Without a baseline rate, the point halfway to the threshold stands in for "healthy".
    const p0 = clampRate(
      baselineRate ?? (signal.direction === 'increase' ? (s.absoluteThreshold ?? 0.05) / 2 : 1 - (1 - (s.absoluteThreshold ?? 0.9)) / 2),
    );
    const series = perSecond(ctx, lookback, (w) => signal.counts(w));
    const onset = estimateOnset(series, p0, { direction: signal.direction });
    const since = onset?.at ?? chosen.window.from;
    const sinceWindow = ctx.reader.snapshot(ctx.model, ctx.version, since, ctx.now);
    let sinceCounts = signal.counts(sinceWindow);
    // The onset second is partly healthy (the fault began somewhere inside it): the size is taken
    // from the seconds after it when they hold enough samples, else from the fault's own tenths of
    // a second (a detection within a second of the onset).
    const after = signal.counts(ctx.reader.snapshot(ctx.model, ctx.version, since + 1000, ctx.now));
    let startedAt: EpochMs | undefined;
    if (onset && after.trials >= s.minSamples) sinceCounts = after;
    else if (onset) {
      const within = faultWithinOnsetSecond(ctx, signal, p0, since);
      if (within) ({ counts: sinceCounts, at: startedAt } = within);
    }
    const rateSince = rateOf(sinceCounts);
    const raw = signal.direction === 'increase' ? rateSince : p0 - rateSince;
    const magnitude = onset && Number.isFinite(raw) ? Math.round(Math.max(raw, 0) * 1e6) / 1e6 : fallbackMagnitude;
    return located(
      onset,
      { since, magnitude, requests: sinceWindow.requests, affected: signal.bad(sinceWindow) },
      (o) =>
        `onset ${new Date(o.at).toISOString()} (change point, LLR ${fmt(o.logLikelihoodRatio)}): ` +
        `${Number.isFinite(o.rateBefore) ? `rate ${fmt(o.rateBefore)} before` : 'no traffic before'}, ${fmt(rateSince)} since over ${sinceCounts.trials}` +
        (startedAt !== undefined ? ` (from ${new Date(startedAt).toISOString()}, the fault's start within its first second)` : ''),
    );
  }

  if (kind === 'latency') {
    const s = settings as LatencySettings;
    const ev = chosen.result.evidence;
    const baselineSketch = evaluation.baseline ? latencyOf(evaluation.baseline.window) : undefined;
    // The limit that breached: an absolute threshold, or the slow limit over the baseline's quantile.
    const limit = ev.test === 'latency-quantile-threshold' ? ev.threshold! : slowLimitMs(ev.baseline ?? 0, s.minRatio, s.minDeltaMs);
    if (!(limit > 0)) {
      const w = ctx.reader.snapshot(ctx.model, ctx.version, base.since, ctx.now);
      return { ...base, requests: w.requests, affected: 0, detail: 'no latency limit to locate the onset with' };
    }
    const slowShare = baselineSketch && baselineSketch.count > 0 ? baselineSketch.countAbove(limit) / baselineSketch.count : 0.005;
    const series = perSecond(ctx, lookback, (w) => ({ events: w.latency.count > 0 ? latencyOf(w).countAbove(limit) : 0, trials: w.latency.count }));
    const onset = estimateOnset(series, clampRate(slowShare), { direction: 'increase' });
    const since = onset?.at ?? chosen.window.from;
    const sinceWindow = ctx.reader.snapshot(ctx.model, ctx.version, since, ctx.now);
    const afterWindow = ctx.reader.snapshot(ctx.model, ctx.version, since + 1000, ctx.now);
    // As for rates: the seconds after the (partly healthy) onset second, when there are enough.
    const sinceSketch = latencyOf(onset && afterWindow.latency.count >= s.minSamples ? afterWindow : sinceWindow);
    let magnitude = fallbackMagnitude;
    if (onset && sinceSketch.count > 0) {
      magnitude = baselineSketch && baselineSketch.count > 0
        ? Math.max(...s.quantiles.map((q) => sinceSketch.quantile(q) / baselineSketch.quantile(q)))
        : sinceSketch.quantile(0.99) / limit;
      magnitude = Math.round(magnitude * 1000) / 1000;
    }
    return located(
      onset,
      { since, magnitude, requests: sinceWindow.requests, affected: sinceSketch.count > 0 ? sinceSketch.countAbove(limit) : 0 },
      (o) => `onset ${new Date(o.at).toISOString()} (change point of requests slower than ${fmt(limit)} ms, LLR ${fmt(o.logLikelihoodRatio)}); slowdown since ×${fmt(magnitude)}`,
    );
  }

  // Drift and mean shift: the breaching window is the best estimate of when it started.
  const w = ctx.reader.snapshot(ctx.model, ctx.version, base.since, ctx.now);
  return { ...base, requests: w.requests, affected: w.requests, detail: `drift over the ${chosen.windowSeconds} s window; size ×${fmt(fallbackMagnitude)} its threshold` };
}

const rateOf = (c: RateCounts): number => (c.trials > 0 ? c.events / c.trials : NaN);

/** Fewest requests (or ratings, labels) from a fault's start within its onset second to size it on. */
const MIN_TENTH_TRIALS = 10;

/**
 * The fault's own counts when it was detected within its first second: the change point again, on
 * the tenths of a second from the onset second on, and the counts from that tenth. Undefined when
 * the reader keeps no tenths or they hold too few trials; the caller then sizes on whole seconds.
 */
function faultWithinOnsetSecond(ctx: EvalContext, signal: RateSignal, p0: number, onsetAt: EpochMs): { counts: RateCounts; at: EpochMs } | undefined {
  const tenths = ctx.reader.tenths?.(ctx.model, ctx.version, onsetAt, ctx.now);
  if (!tenths || tenths.length === 0) return undefined;
  const series = tenths.map((t) => ({ at: t.at, ...signal.counts(t) }));
  // The change is established on whole seconds; this only places it inside the onset second.
  const change = estimateOnset(series, p0, { direction: signal.direction, minLogLikelihoodRatio: 0 });
  if (!change) return undefined;
  const counts = { events: 0, trials: 0 };
  for (let i = change.index; i < series.length; i++) {
    counts.events += series[i].events;
    counts.trials += series[i].trials;
  }
  return counts.trials >= MIN_TENTH_TRIALS ? { counts, at: change.at } : undefined;
}

export type { LatencySketch };
