// Root-cause analysis for an incident: loads what the pure engine (src/core/rca) needs from the
// stores — traces around the onset (a baseline before it and the incident window after), route
// history, versions, feedback, the last stable version, validated content hashes — runs it, and
// writes the best hypothesis onto the incident (root cause + timeline event) through the incident
// service, so the postmortem and the dashboard see it.
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import { lastKnownStable } from '../../core/last-stable.ts';
import { analyze } from '../../core/rca/analyze.ts';
import type { RcaOptions, RcaResult } from '../../core/rca/rca-types.ts';
import { isoTime } from '../../core/iso-time.ts';
import { hypothesisView } from './rca-views.ts';
import type { Clock, EpochMs, Incident, ModelVersion, TimelineEvent, Trace } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

/** The part of the incident service RCA uses (src/features/incidents/incident-service.ts). */
export interface RcaIncidents {
  get(id: string): Promise<Incident>;
  timeline(id: string, query?: { kinds?: string[] }): Promise<TimelineEvent[]>;
  setRootCause(id: string, rootCause: NonNullable<Incident['rootCause']>, options: { actor: string; reason?: string }): Promise<Incident>;
  addTimelineEvent(id: string, input: { kind: string; actor: string; message: string; data?: unknown }): Promise<TimelineEvent>;
}

/** version -> content hash staging validated, for the hash-mismatch check of pipeline_conflict. */
export type ValidatedHashesProvider = (model: string, versions: readonly ModelVersion[]) => Promise<Record<string, string>>;

export interface RcaServiceOptions {
  stores: Stores;
  clock: Clock;
  /** Without it, analyzeIncident reads incidents from the store and never records a root cause. */
  incidents?: RcaIncidents;
  validatedHashes?: ValidatedHashesProvider;
  /** Baseline before the onset (default 60 min). */
  baselineMs?: number;
  /** When the incident has no onset, the window before detection the engine searches (default 30 min). */
  searchBeforeDetectionMs?: number;
  /** Trace caps per window, so one analysis stays bounded on a busy model (default 20,000 each). */
  maxTracesPerWindow?: number;
  /** Only hypotheses at least this confident become the incident's root cause (default 0.5). */
  minConfidenceToRecord?: number;
  engine?: RcaOptions;
  onError?: (err: unknown, what: string) => void;
}

export interface RcaReport {
  incidentId: string;
  analyzedAt: EpochMs;
  result: RcaResult;
  /** True when this run wrote the top hypothesis onto the incident. */
  recorded: boolean;
  /** Why it did not, when it did not. */
  notRecordedReason?: string;
}

export interface RcaService {
  /** Runs RCA for one incident. `record: false` analyses without writing to the incident. */
  analyzeIncident(incidentId: string, options?: { record?: boolean }): Promise<RcaReport>;
  /**
   * Runs RCA by itself `delayMs` after an incident opens (traces are written in batches, so the
   * newest ones need a moment), recording the root cause. Returns the unsubscribe.
   */
  startAutoAnalysis(bus: EventBus, options?: { delayMs?: number }): () => void;
}

export const RCA_ACTOR = 'rca';

/**
 * Default source of validated hashes: audit entries on `version:<model>@<v>` whose action mentions
 * validation and whose `after` carries the staging report's `versionContentHash` (or `contentHash`).
 */
export function auditValidatedHashes(stores: Stores): ValidatedHashesProvider {
  return async (model, versions) => {
    const out: Record<string, string> = {};
    for (const v of versions) {
      const entries = await stores.audit.list({ target: `version:${model}@${v.version}`, limit: 500 });
      for (const e of entries) {
        if (!/validat/i.test(e.action) || !e.after || typeof e.after !== 'object') continue;
        const after = e.after as Record<string, unknown>;
        if (after.passed === false) continue;
        const hash = after.versionContentHash ?? after.contentHash;
        if (typeof hash === 'string' && hash) out[v.version] = hash; // oldest first: the newest wins
      }
    }
    return out;
  };
}

export function createRcaService(options: RcaServiceOptions): RcaService {
  const { stores, clock } = options;
  const baselineMs = options.baselineMs ?? 60 * 60_000;
  const searchMs = options.searchBeforeDetectionMs ?? 30 * 60_000;
  const cap = options.maxTracesPerWindow ?? 20_000;
  const minRecord = options.minConfidenceToRecord ?? 0.5;
  const validatedHashes = options.validatedHashes ?? auditValidatedHashes(stores);
  const onError = options.onError ?? (() => {});

  const loadIncident = async (id: string): Promise<Incident> => {
    if (options.incidents) return options.incidents.get(id);
    const incident = await stores.incidents.get(id);
    if (!incident) throw new FailsafeError('INCIDENT_NOT_FOUND', `no incident with id "${id}"`);
    return incident;
  };

  async function analyzeIncident(incidentId: string, runOptions: { record?: boolean } = {}): Promise<RcaReport> {
    const incident = await loadIncident(incidentId);
    const analyzedAt = clock.now();
    const model = incident.model;
    // The fault window ends when the fault stopped reaching users (containment or later), so the
    // stable traffic after a rollback does not dilute it.
    const closedAt = [incident.containedAt, incident.mitigatedAt, incident.resolvedAt, incident.declinedAt].find((t) => t !== undefined);
    const end = Math.min(analyzedAt, Math.max(incident.detectedAt, closedAt ?? analyzedAt));
    const windowStart = incident.onsetAt ?? incident.detectedAt - searchMs;
    const baselineStart = windowStart - baselineMs;

    const [incidentTraces, baselineTraces, versions, history, feedback] = await Promise.all([
      stores.traces.query({ model, from: windowStart, to: end + 1, order: 'asc', limit: cap, bodies: false }),
      // Newest first: when capped, keep the baseline closest to the onset.
      stores.traces.query({ model, from: baselineStart, to: windowStart, order: 'desc', limit: cap, bodies: false }),
      stores.versions.list(model),
      stores.routes.history(model, { limit: 1000 }),
      stores.feedback.query({ model, from: baselineStart, to: end + 1, limit: 200_000 }),
    ]);
    let hashes: Record<string, string> = {};
    try {
      hashes = await validatedHashes(model, versions);
    } catch (err) {
      onError(err, 'validated hashes');
    }
    const lastStable = lastKnownStable(versions, { exclude: incident.version ? [incident.version] : [] });
    const traces: Trace[] = [...baselineTraces.reverse(), ...incidentTraces];

    const result = analyze({
      incident: {
        model,
        ...(incident.version !== undefined ? { version: incident.version } : {}),
        detectedAt: incident.detectedAt,
        ...(incident.onsetAt !== undefined ? { onsetAt: incident.onsetAt } : {}),
        family: incident.family,
      },
      traces,
      versions,
      routeHistory: history,
      feedback,
      ...(lastStable ? { lastStable } : {}),
      validatedHashes: hashes,
      now: end,
      ...(options.engine ? { options: options.engine } : {}),
    });

    const report: RcaReport = { incidentId, analyzedAt, result, recorded: false };
    if (runOptions.record === false) return { ...report, notRecordedReason: 'recording not requested' };
    const reason = await recordRootCause(incident, result);
    return reason === undefined ? { ...report, recorded: true } : { ...report, notRecordedReason: reason };
  }

  /** Writes the best hypothesis onto the incident; returns why not when it does not. */
  async function recordRootCause(incident: Incident, result: RcaResult): Promise<string | undefined> {
    if (!options.incidents) return 'no incident service';
    const top = result.hypotheses[0];
    if (!top) return 'no hypothesis';
    if (top.confidence < minRecord) return `best hypothesis below ${minRecord} confidence`;
    if (incident.status === 'declined') return 'incident declined as a false alarm';
    const current = incident.rootCause;
    if (current) {
      // A root cause a person set stays; RCA only refreshes its own.
      const events = await options.incidents.timeline(incident.id, { kinds: ['root_cause'] });
      const last = events[events.length - 1];
      if (last && last.actor !== RCA_ACTOR) return `root cause set by ${last.actor}`;
      if (current.category === top.category && Math.abs(current.confidence - top.confidence) < 0.05) return 'unchanged';
    }
    // The analysis with its numbers first (the postmortem quotes it), then the decision.
    const ranked = result.hypotheses.slice(0, 3);
    await options.incidents.addTimelineEvent(incident.id, {
      kind: 'rca',
      actor: RCA_ACTOR,
      message: `RCA: ${ranked.map((h) => `${h.category} ${h.confidence.toFixed(2)}`).join(', ')}`,
      data: { onsetAt: isoTime(result.onset.at), onsetEstimated: result.onset.estimated, hypotheses: ranked.map(hypothesisView) },
    });
    await options.incidents.setRootCause(incident.id, { category: top.category, summary: top.summary, confidence: top.confidence }, { actor: RCA_ACTOR });
    return undefined;
  }

  function startAutoAnalysis(bus: EventBus, autoOptions: { delayMs?: number } = {}): () => void {
    const delayMs = autoOptions.delayMs ?? 10_000;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const off = bus.on('incident.opened', ({ incident }) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        analyzeIncident(incident.id).catch((err) => onError(err, `rca ${incident.id}`));
      }, delayMs);
      timer.unref?.();
      timers.add(timer);
    });
    return () => {
      off();
      for (const t of timers) clearTimeout(t);
      timers.clear();
    };
  }

  return { analyzeIncident, startAutoAnalysis };
}
