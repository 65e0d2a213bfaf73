// "Could this have been detected earlier?": the detecting monitor is replayed over the recorded
// traffic (by the monitoring feature's replay, which folds stored traces back into the 1-second
// windows the live runner reads) with the settings in force and with tighter ones. For each it
// reports when it would have fired between onset and detection, and how many false alarms it
// would have raised on healthy history: the faulty version's own traffic in the hour before the
// onset and the stable version's traffic over the same hour and the incident.
import { armOf } from '../../core/rca/failure-judge.ts';
import type { EpochMs, Incident } from '../../core/types.ts';
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
  stores: Pick<Stores, 'traces'>;
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
}

/** Requests of `version` in [from, to) and the span they fall in (a replay over silence judges nothing). */
async function trafficIn(stores: Pick<Stores, 'traces'>, model: string, version: string, from: EpochMs, to: EpochMs, max: number): Promise<{ requests: number; first?: EpochMs; last?: EpochMs }> {
  if (to <= from) return { requests: 0 };
  const traces = (await stores.traces.query({ model, from, to, order: 'asc', limit: max })).filter((t) => armOf(t) === version);
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

  const healthy: HealthySpan[] = [];
  const ownTraffic = await trafficIn(o.stores, incident.model, version, before.from, before.to, maxCount);
  const ownBefore = ownTraffic.requests;
  const ownWindow = clip(before, ownTraffic);
  if (ownBefore > 0) healthy.push({ description: `${version}'s own traffic in the ${Math.round(healthyMs / 60_000)} min before the onset`, version, from: ownWindow.from, to: ownWindow.to, requests: ownBefore });
  const stableTraffic = stable ? await trafficIn(o.stores, incident.model, stable, stableWindow.from, stableWindow.to, maxCount) : { requests: 0 };
  const stableRequests = stableTraffic.requests;
  const stableClipped = clip(stableWindow, stableTraffic);
  if (stable && stableRequests > 0) {
    healthy.push({ description: `the stable version ${stable}'s traffic from ${Math.round(healthyMs / 60_000)} min before the onset to detection`, version: stable, from: stableClipped.from, to: stableClipped.to, requests: stableRequests });
  }

  const current = monitoring.settingsFor(incident.model, monitor) as Record<string, unknown> | undefined;
  const specs = [{ label: 'current', patch: {} as Record<string, unknown> }, ...tighterTrials(o.kind, current ?? {})];
  const notes: string[] = [];
  let truncated = false;
  const trials: ReplayTrial[] = [];
  for (const spec of specs) {
    const settings = Object.keys(spec.patch).length ? spec.patch : undefined;
    const own = await monitoring.replay(incident.model, version, ownBefore > 0 ? [incidentWindow, ownWindow] : [incidentWindow], settings, monitor);
    truncated ||= own.truncated === true;
    const healthyOutcomes = own.windows.filter((w) => w.kind === 'healthy');
    if (stable && stableRequests > 0) {
      const other = await monitoring.replay(incident.model, stable, [stableClipped], settings, monitor);
      truncated ||= other.truncated === true;
      healthyOutcomes.push(...other.windows);
    }
    const firstBreachAt = own.windows.find((w) => w.kind === 'incident')?.firstAlarmAt;
    trials.push({
      label: spec.label,
      patch: spec.patch,
      ...(firstBreachAt !== undefined ? { firstBreachAt } : {}),
      falseAlarms: healthyOutcomes.reduce((n, w) => n + w.alarms, 0),
      breachingEvaluations: healthyOutcomes.reduce((n, w) => n + w.breaches, 0),
      healthyEvaluations: healthyOutcomes.reduce((n, w) => n + judged(w), 0),
    });
  }
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
