// "Could this have been detected earlier?": the detecting monitor is replayed over the recorded
// traffic (by the monitoring feature's replay, which folds stored traces back into the 1-second
// windows the live runner reads) with the settings in force and with tighter ones. For each it
// reports when it would have fired between onset and detection, and how many false alarms it
// would have raised on healthy history: the faulty version's own traffic in the hour before the
// onset and the stable version's traffic over the same hour and the incident.
import { armOf } from '../../core/rca/failure-judge.ts';
import type { EpochMs, Incident } from '../../core/types.ts';
import { isMonitorId, type MonitorSettings } from '../monitoring/monitor-config.ts';
import { loadReplayHistory, replayOver } from '../monitoring/replay.ts';
import type { Stores } from '../stores.ts';
import type { DetectionReplayInput, HealthySpan, ReplayTrial } from './postmortem-types.ts';
import { tighterTrials, type MonitorKindName } from './tuning-trials.ts';

/** One replayed window as the monitoring feature reports it. */
export interface ReplayWindowOutcome {
  kind: 'healthy' | 'incident';
  from: EpochMs;
  to: EpochMs;
  evaluations: number;
  breaches: number;
  insufficientData: number;
  alarms: number;
  firstAlarmAt?: EpochMs;
}

export interface ReplayOutcome {
  windows: ReplayWindowOutcome[];
  truncated?: boolean;
}

/** What the postmortem needs of the monitoring feature (MonitorRunner implements it). */
export interface ReviewMonitoring {
  replay(
    model: string,
    version: string,
    windows: Array<{ from: EpochMs; to: EpochMs; kind: 'healthy' | 'incident'; onsetAt?: EpochMs }>,
    settings: unknown,
    monitorId: string,
  ): Promise<ReplayOutcome>;
  applyTuning(model: string, monitorId: string, patch: unknown, options: { actor: string; reason?: string; requestId?: string }): Promise<unknown>;
  /** The settings in force for a model's monitor (config + run-time tuning). */
  settingsFor(model: string, monitorId: string): unknown;
}

/** The built-in monitor that watches each signal family, for incidents a monitor did not open. */
export const MONITOR_FOR_FAMILY: Record<string, string> = {
  errors: 'error-rate',
  latency: 'latency',
  validity: 'output-validity',
  feedback: 'negative-feedback',
  accuracy: 'accuracy',
};

export interface ReplayDetectionOptions {
  monitoring: ReviewMonitoring;
  stores: Pick<Stores, 'traces' | 'feedback'>;
  incident: Incident;
  /** The monitor to replay (the one that opened the incident, or the family's). */
  monitor: string;
  kind: MonitorKindName;
  onsetAt: EpochMs;
  stableVersion?: string;
  /** Healthy history before the onset (default 60 min). */
  healthyMs?: number;
  /** Requests counted per healthy span, at most (default 200,000). */
  maxCount?: number;
  /** Settings checked for false alarms, at most (default 4). */
  maxHealthyChecks?: number;
  /**
   * Traces read once into memory for all the replays (default 200,000); beyond that every replay
   * reads the store itself through the monitoring feature.
   */
  maxCachedTraces?: number;
}

type Window = { from: EpochMs; to: EpochMs; kind: 'healthy' | 'incident'; onsetAt?: EpochMs };
type Engine = (version: string, windows: Window[], patch: Record<string, unknown>) => Promise<ReplayOutcome>;

/** A settings patch over resolved settings, nested objects merged one level deep (as monitor tuning does). */
function withPatch(settings: MonitorSettings, patch: Record<string, unknown>): MonitorSettings {
  const out: Record<string, unknown> = { ...settings };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? { ...cur, ...v } : v;
  }
  const windows = [...new Set(out.windows as number[])].sort((a, b) => a - b);
  return { ...(out as unknown as MonitorSettings), windows, enabled: true };
}

type Traffic = { requests: number; first?: EpochMs; last?: EpochMs };
type TrafficOf = (version: string, from: EpochMs, to: EpochMs) => Promise<Traffic>;

/**
 * Replays over history read once: the traces and feedback of the span are folded into metric
 * windows one time (loadReplayHistory), and every trial replays over them, so trying eight
 * settings neither reads nor re-folds the same hour eight times. Undefined when the span holds
 * more traces than `max` (the caller falls back to the runner's replay).
 */
async function cachedEngine(
  o: ReplayDetectionOptions,
  from: EpochMs,
  to: EpochMs,
  current: MonitorSettings,
  stable: string | undefined,
  max: number,
  maxCount: number,
): Promise<{ engine: Engine; traffic: TrafficOf } | undefined> {
  const monitor = o.monitor;
  if (!isMonitorId(monitor)) return undefined;
  const history = await loadReplayHistory({ stores: o.stores, model: o.incident.model, from, to, maxTraces: max });
  if (history.truncated) return undefined;
  return {
    traffic: async (version, a, b) => trafficAmong(history.armStarts.get(version) ?? [], a, b, maxCount),
    engine: (version, windows, patch) =>
      replayOver(history, { model: o.incident.model, version, monitor, settings: withPatch(current, patch), windows, ...(stable ? { stableVersion: stable } : {}) }),
  };
}

/** Index of the first value ≥ x in an ascending list. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first `max` requests among ascending start times that fall in [from, to), and the span they cover (as trafficIn). */
function trafficAmong(starts: readonly number[], from: EpochMs, to: EpochMs, max: number): Traffic {
  const i = lowerBound(starts, from);
  const j = Math.min(lowerBound(starts, to), i + max);
  return j > i ? { requests: j - i, first: starts[i]!, last: starts[j - 1]! } : { requests: 0 };
}

/** Requests of `version` in [from, to) and the span they fall in (a replay over silence judges nothing). */
async function trafficIn(stores: Pick<Stores, 'traces'>, model: string, version: string, from: EpochMs, to: EpochMs, max: number): Promise<Traffic> {
  if (to <= from) return { requests: 0 };
  const traces = (await stores.traces.query({ model, from, to, order: 'asc', limit: max, bodies: false })).filter((t) => armOf(t) === version);
  return traces.length === 0 ? { requests: 0 } : { requests: traces.length, first: traces[0]!.startedAt, last: traces[traces.length - 1]!.startedAt };
}

/** A healthy window cut down to the seconds that had traffic (every evaluation costs a detector run). */
const clip = (w: { kind: 'healthy'; from: EpochMs; to: EpochMs }, t: { first?: EpochMs; last?: EpochMs }) => ({
  kind: 'healthy' as const,
  from: Math.max(w.from, Math.floor((t.first ?? w.from) / 1000) * 1000 - 1000),
  to: Math.min(w.to, Math.floor((t.last ?? w.to) / 1000) * 1000 + 2000),
});

const judged = (w: ReplayWindowOutcome): number => Math.max(0, w.evaluations - w.insufficientData);

export async function replayDetection(o: ReplayDetectionOptions): Promise<DetectionReplayInput> {
  const { incident, monitoring, monitor } = o;
  const version = incident.version!;
  const healthyMs = o.healthyMs ?? 60 * 60_000;
  const onset = o.onsetAt;
  // Up to one second past detection, so the settings in force can reproduce it.
  const incidentWindow = { kind: 'incident' as const, from: onset, to: Math.max(onset + 1000, incident.detectedAt + 1000), onsetAt: onset };
  const before = { kind: 'healthy' as const, from: onset - healthyMs, to: onset };
  const stable = o.stableVersion && o.stableVersion !== version ? o.stableVersion : undefined;
  const stableWindow = { kind: 'healthy' as const, from: onset - healthyMs, to: incidentWindow.to };
  const maxCount = o.maxCount ?? 200_000;
  const maxHealthyChecks = o.maxHealthyChecks ?? 4;

  const current = monitoring.settingsFor(incident.model, monitor) as Record<string, unknown> | undefined;
  const specs = [{ label: 'current', patch: {} as Record<string, unknown> }, ...tighterTrials(o.kind, current ?? {})];
  const notes: string[] = [];
  let truncated = false;
  const settingsOf = (patch: Record<string, unknown>) => (Object.keys(patch).length ? patch : undefined);
  // Every replay needs the longest window and the baseline span of history before its windows.
  const s = (current ?? {}) as { windows?: number[]; baselineSeconds?: number };
  const lead = ((s.windows?.length ? Math.max(...s.windows) : 3600) + (s.baselineSeconds ?? 3600)) * 1000;
  const cached = current ? await cachedEngine(o, Math.min(before.from, stableWindow.from) - lead, incidentWindow.to, current as unknown as MonitorSettings, stable, o.maxCachedTraces ?? 200_000, maxCount) : undefined;
  const replay: Engine = cached?.engine ?? ((v, windows, patch) => monitoring.replay(incident.model, v, windows, settingsOf(patch), monitor));
  const traffic: TrafficOf = cached?.traffic ?? ((v, a, b) => trafficIn(o.stores, incident.model, v, a, b, maxCount));


  const healthy: HealthySpan[] = [];
  const ownTraffic = await traffic(version, before.from, before.to);
  const ownBefore = ownTraffic.requests;
  const ownWindow = clip(before, ownTraffic);
  if (ownBefore > 0) healthy.push({ description: `${version}'s own traffic in the ${Math.round(healthyMs / 60_000)} min before the onset`, version, from: ownWindow.from, to: ownWindow.to, requests: ownBefore });
  const stableTraffic = stable ? await traffic(stable, stableWindow.from, stableWindow.to) : { requests: 0 };
  const stableRequests = stableTraffic.requests;
  const stableClipped = clip(stableWindow, stableTraffic);
  if (stable && stableRequests > 0) {
    healthy.push({ description: `the stable version ${stable}'s traffic from ${Math.round(healthyMs / 60_000)} min before the onset to detection`, version: stable, from: stableClipped.from, to: stableClipped.to, requests: stableRequests });
  }

  // 1. When each setting would have fired in the incident span (cheap: a few minutes at most).
  const trials: ReplayTrial[] = [];
  for (const spec of specs) {
    const r = await replay(version, [incidentWindow], spec.patch);
    truncated ||= r.truncated === true;
    const firstBreachAt = r.windows[0]?.firstAlarmAt;
    trials.push({ label: spec.label, patch: spec.patch, ...(firstBreachAt !== undefined ? { firstBreachAt } : {}), falseAlarms: null, breachingEvaluations: null, healthyEvaluations: null });
  }

  // 2. False alarms on healthy history (expensive: an hour is 3,600 evaluations per version), only
  // for settings that fire at least a second before the settings in force: the earliest first,
  // until one is clean, and the most sensitive one (its cost is worth showing).
  const checkHealthy = async (trial: ReplayTrial) => {
    const outcomes: ReplayWindowOutcome[] = [];
    if (ownBefore > 0) {
      const r = await replay(version, [ownWindow], trial.patch);
      truncated ||= r.truncated === true;
      outcomes.push(...r.windows);
    }
    if (stable && stableRequests > 0) {
      const r = await replay(stable, [stableClipped], trial.patch);
      truncated ||= r.truncated === true;
      outcomes.push(...r.windows);
    }
    trial.falseAlarms = outcomes.reduce((n, w) => n + w.alarms, 0);
    trial.breachingEvaluations = outcomes.reduce((n, w) => n + w.breaches, 0);
    trial.healthyEvaluations = outcomes.reduce((n, w) => n + judged(w), 0);
  };
  const currentFire = trials[0]!.firstBreachAt ?? incident.detectedAt;
  const earlier = trials
    .slice(1)
    .filter((t) => t.firstBreachAt !== undefined && t.firstBreachAt <= Math.min(currentFire, incident.detectedAt) - 1000)
    .sort((a, b) => a.firstBreachAt! - b.firstBreachAt! || Object.keys(a.patch).length - Object.keys(b.patch).length);
  if (healthy.length > 0) {
    let checks = 0;
    for (const t of earlier) {
      if (checks >= maxHealthyChecks) break;
      await checkHealthy(t);
      checks++;
      if (t.falseAlarms === 0) break;
    }
    const mostSensitive = earlier[0];
    if (mostSensitive && mostSensitive.falseAlarms === null) await checkHealthy(mostSensitive);
    // When the cleanest early setting changes several knobs, the earliest one-knob change too:
    // the smaller change is often the one people want to make.
    const single = earlier.find((t) => Object.keys(t.patch).length === 1);
    if (single && single.falseAlarms === null) await checkHealthy(single);
  }
  if (earlier.some((t) => t.falseAlarms === null)) notes.push('settings not checked for false alarms fire later than one already checked, or beyond the check budget');

  if (truncated) notes.push('the replay hit its trace cap: part of the history was not replayed');
  if (healthy.some((h) => h.requests >= maxCount)) notes.push(`request counts of healthy history stop at ${maxCount}`);
  if (incident.source !== 'monitor') notes.push(`the incident came from ${incident.source}; replayed Failsafe's ${monitor} monitor for the ${incident.family} signal`);
  return {
    monitor,
    model: incident.model,
    version,
    source: 'recorded traces replayed through the monitoring feature',
    incidentSpan: { from: incidentWindow.from, to: incidentWindow.to },
    healthy,
    trials,
    notes,
  };
}
