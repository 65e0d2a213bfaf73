// Replays a monitor over recorded history: traces and feedback from the store are folded back into
// 1-second metric windows (the same buckets the gateway keeps live), and the monitor is evaluated
// once per second across each requested window with the settings under test. Windows marked
// `healthy` count false alarms (each run of breaching evaluations that would have opened an
// incident is one); windows marked `incident` report when the monitor would have fired.
//
// Known approximations: a retried request is rebuilt as one failed attempt on its first version and
// the answered attempt on the other, both at the trace's latency; the stable version counts as a
// split arm when it had traffic in the minute before each evaluation.
import { FailsafeError } from '../../core/errors.ts';
import { armOf } from '../../core/rca/failure-judge.ts';
import { timeSlicer } from '../../core/time-slice.ts';
import type { EpochMs, Finding, Trace } from '../../core/types.ts';
import type { SeverityRules } from '../../core/detectors/severity.ts';
import type { Stores } from '../stores.ts';
import { labelMatches } from '../telemetry/telemetry-service.ts';
import { MetricWindows, type Observation } from '../telemetry/metric-windows.ts';
import type { MonitorId, MonitorSettings } from './monitor-config.ts';
import { EvalContext, evaluateMonitor, type VersionRole } from './monitor-evaluator.ts';
import { WindowCache } from './window-cache.ts';

export interface ReplayWindow {
  from: EpochMs;
  to: EpochMs;
  /** `healthy`: every alarm is a false alarm; `incident`: the first alarm is the detection. */
  kind: 'healthy' | 'incident';
  /** Incident windows: when the fault began (default `from`), for the detection delay. */
  onsetAt?: EpochMs;
}

export interface ReplayWindowResult extends ReplayWindow {
  evaluations: number;
  breaches: number;
  insufficientData: number;
  /** Runs of breaching evaluations long enough (consecutiveBreaches) to open an incident. */
  alarms: number;
  firstAlarmAt?: EpochMs;
  /** Incident windows: first alarm − onset. */
  detectionDelayMs?: number;
  firstAlarm?: Finding;
}

export interface ReplayResult {
  model: string;
  version: string;
  monitor: MonitorId;
  settings: MonitorSettings;
  windows: ReplayWindowResult[];
  /** Alarms in the healthy windows. */
  falseAlarms: number;
  /** Per incident window, whether it would have fired. */
  detected: boolean;
  firstDetectionDelayMs?: number;
  tracesRead: number;
  feedbackRead: number;
  /** Traces beyond the read cap were not replayed. */
  truncated: boolean;
}

export interface ReplayOptions {
  stores: Pick<Stores, 'traces' | 'feedback'>;
  model: string;
  version: string;
  monitor: MonitorId;
  settings: MonitorSettings;
  windows: ReplayWindow[];
  stableVersion?: string;
  severityRules?: Partial<SeverityRules>;
  /** Most traces read (default 500,000). */
  maxTraces?: number;
}

const MAX_SPAN_MS = 48 * 3_600_000;
const PAGE = 5_000;

/** The observations one trace contributed to the live windows, rebuilt from what the trace keeps. */
export function observationsOf(t: Trace): Observation[] {
  if (!t.version || t.fallback) return [];
  const validatorFailed = t.validators?.some((v) => !v.passed) ?? false;
  const common = { model: t.model, at: t.startedAt, shadow: t.shadow === true };
  const out: Observation[] = [];
  const retriedFrom = t.retried && t.firstVersion && t.firstVersion !== t.version ? t.firstVersion : undefined;
  if (retriedFrom) {
    out.push({ ...common, version: retriedFrom, ok: false, errorClass: t.errorClass ?? 'retried', retried: true, latencyMs: t.latencyMs, inputChars: t.inputChars, features: t.features });
  }
  const ok = t.status !== 'error';
  out.push({
    ...common,
    version: t.version,
    ok,
    errorClass: ok ? undefined : t.errorClass,
    latencyMs: t.latencyMs,
    ttfbMs: t.ttfbMs,
    blocked: t.status === 'blocked',
    invalid: ok && ((t.outputChars === 0 && t.kind === 'chat') || validatorFailed || t.status === 'blocked'),
    promptTokens: t.promptTokens,
    completionTokens: t.completionTokens,
    outputChars: ok ? t.outputChars : undefined,
    prediction: ok ? t.prediction : undefined,
    inputChars: retriedFrom ? undefined : t.inputChars,
    features: retriedFrom ? undefined : t.features,
  });
  return out;
}

/** Recorded history folded into metric windows once, for any number of replays over it. */
export interface ReplayHistory {
  model: string;
  from: EpochMs;
  to: EpochMs;
  windows: MetricWindows;
  /** Start times of the requests first sent to each version (its arm), oldest first; shadow traces left out. */
  armStarts: Map<string, number[]>;
  tracesRead: number;
  feedbackRead: number;
  /** Traces beyond the read cap were not read. */
  truncated: boolean;
}

/** What one replay over a history judges: a monitor, with the settings under test, in some windows. */
export type ReplaySpec = Omit<ReplayOptions, 'stores' | 'maxTraces'>;

function checkWindows(windows: readonly ReplayWindow[]): void {
  if (windows.length === 0) throw new FailsafeError('VALIDATION_FAILED', 'windows: give at least one window to replay');
  for (const [i, w] of windows.entries()) {
    if (!(w.to > w.from)) throw new FailsafeError('VALIDATION_FAILED', `windows[${i}]: "to" must be after "from"`);
  }
}

/** The span of history a replay reads: its windows, with the longest window and the baseline before them. */
export function replaySpan(settings: MonitorSettings, windows: readonly ReplayWindow[]): { from: EpochMs; to: EpochMs } {
  checkWindows(windows);
  const history = (Math.max(...settings.windows) + settings.baselineSeconds) * 1000;
  const from = Math.min(...windows.map((w) => w.from)) - history;
  const to = Math.max(...windows.map((w) => w.to));
  if (to - from > MAX_SPAN_MS) {
    throw new FailsafeError('VALIDATION_FAILED', `windows: a replay covers at most ${MAX_SPAN_MS / 3_600_000} h of history (with the windows and baseline before it); this one needs ${Math.ceil((to - from) / 3_600_000)} h`);
  }
  return { from, to };
}

export async function replayMonitor(o: ReplayOptions): Promise<ReplayResult> {
  const { from, to } = replaySpan(o.settings, o.windows);
  const history = await loadReplayHistory({ stores: o.stores, model: o.model, from, to, ...(o.maxTraces !== undefined ? { maxTraces: o.maxTraces } : {}) });
  return replayOver(history, o);
}

/** Reads [from, to) of a model's traces (every version: the stable one is a baseline) and feedback into metric windows. */
export async function loadReplayHistory(o: { stores: Pick<Stores, 'traces' | 'feedback'>; model: string; from: EpochMs; to: EpochMs; maxTraces?: number }): Promise<ReplayHistory> {
  const { from, to } = o;
  const windows = new MetricWindows({ retentionSeconds: Math.ceil((to - from) / 1000) + 2 });
  const maxTraces = o.maxTraces ?? 500_000;
  const armStarts = new Map<string, number[]>();
  const slice = timeSlicer();

  // Oldest first, page by page.
  const predictions = new Map<string, string>();
  let cursor = from;
  let read = 0;
  let truncated = false;
  const seenAtCursor = new Set<string>();
  for (;;) {
    const page = await o.stores.traces.query({ model: o.model, from: cursor, to, order: 'asc', limit: PAGE, bodies: false });
    let fresh = 0;
    for (const t of page) {
      if (t.startedAt === cursor && seenAtCursor.has(t.requestId)) continue;
      fresh++;
      read++;
      if (t.shadow) continue;
      for (const obs of observationsOf(t)) windows.record(obs);
      if (t.prediction !== undefined) predictions.set(t.requestId, t.prediction);
      const arm = armOf(t);
      let starts = armStarts.get(arm);
      if (!starts) armStarts.set(arm, (starts = []));
      starts.push(t.startedAt);
    }
    if (page.length < PAGE || fresh === 0) break;
    if (read >= maxTraces) {
      truncated = true;
      break;
    }
    const last = page[page.length - 1].startedAt;
    if (last !== cursor) seenAtCursor.clear();
    cursor = last;
    for (const t of page) if (t.startedAt === last) seenAtCursor.add(t.requestId);
    await slice();
  }

  // Feedback counts at its request's time, like the live windows.
  const feedback = await o.stores.feedback.query({ model: o.model, from, to, limit: 1_000_000 });
  for (const f of feedback) {
    const prediction = predictions.get(f.requestId);
    windows.recordFeedback({
      model: f.model,
      version: f.version,
      requestAt: f.requestAt,
      rating: f.rating,
      correct: f.label !== undefined && prediction !== undefined ? labelMatches(f.label, prediction) : undefined,
    });
  }
  return { model: o.model, from, to, windows, armStarts, tracesRead: read, feedbackRead: feedback.length, truncated };
}

/** One replay over a loaded history; the evaluations yield to the event loop every few milliseconds. */
export async function replayOver(history: ReplayHistory, o: ReplaySpec): Promise<ReplayResult> {
  const span = replaySpan(o.settings, o.windows);
  if (o.model !== history.model || span.from < history.from || span.to > history.to) {
    throw new Error(`replay of ${o.model} over [${span.from}, ${span.to}) needs history the loaded [${history.from}, ${history.to}) of ${history.model} does not hold`);
  }
  const s = o.settings;
  const windows = history.windows;
  const slice = timeSlicer();
  const cache = new Map<string, { window: ReturnType<MetricWindows['snapshot']>; usedAt: EpochMs }>();
  // Recorded history does not change while it is replayed: cached blocks never go stale.
  const reader = new WindowCache(windows, { ttlMs: Number.MAX_SAFE_INTEGER, freshSeconds: 0 });
  const results: ReplayWindowResult[] = [];
  for (const w of o.windows) {
    const r: ReplayWindowResult = { ...w, evaluations: 0, breaches: 0, insufficientData: 0, alarms: 0 };
    let streak = 0;
    for (let t = Math.ceil(w.from / 1000) * 1000 + 1000; t <= w.to; t += 1000) {
      const role: VersionRole = { model: o.model, version: o.version };
      if (o.stableVersion && o.stableVersion !== o.version) {
        const recent = windows.snapshot(o.model, o.stableVersion, t - 60_000, t).requests;
        role.stable = { version: o.stableVersion, serving: recent > 0 };
      }
      reader.setNow(t);
      const ctx = new EvalContext(reader, role, t, 10_000, cache);
      const evaluation = evaluateMonitor(o.monitor, s, ctx, o.severityRules);
      await slice();
      r.evaluations++;
      if (r.evaluations % 30 === 0) for (const [key, entry] of cache) if (entry.usedAt < t - 30_000) cache.delete(key);
      const status = evaluation.finding.status;
      if (status === 'insufficient_data') r.insufficientData++;
      if (status !== 'breach') {
        streak = 0;
        continue;
      }
      r.breaches++;
      streak++;
      if (streak === s.consecutiveBreaches) {
        r.alarms++;
        if (r.firstAlarmAt === undefined) {
          r.firstAlarmAt = t;
          r.firstAlarm = evaluation.finding;
          if (w.kind === 'incident') r.detectionDelayMs = t - (w.onsetAt ?? w.from);
        }
      }
    }
    results.push(r);
  }
  const incidentWindows = results.filter((r) => r.kind === 'incident');
  const out: ReplayResult = {
    model: o.model,
    version: o.version,
    monitor: o.monitor,
    settings: s,
    windows: results,
    falseAlarms: results.filter((r) => r.kind === 'healthy').reduce((a, r) => a + r.alarms, 0),
    detected: incidentWindows.length > 0 && incidentWindows.every((r) => r.alarms > 0),
    tracesRead: history.tracesRead,
    feedbackRead: history.feedbackRead,
    truncated: history.truncated,
  };
  const delays = incidentWindows.map((r) => r.detectionDelayMs).filter((d): d is number => d !== undefined);
  if (delays.length) out.firstDetectionDelayMs = Math.min(...delays);
  return out;
}
