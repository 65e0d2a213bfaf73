// The postmortem builder: a pure function from the data the service gathered (incident, timeline,
// traces of the impact window, RCA, rollbacks, the faulty version's validation, the detection
// replay) to the postmortem. It never invents a figure: a section without the data it needs is
// marked `insufficient_data` with the reason, and figures from a capped trace read are marked as
// lower bounds.
import { createHash } from 'node:crypto';
import { isoTime } from '../../core/iso-time.ts';
import type { EpochMs, Evidence, Incident, TimelineEvent } from '../../core/types.ts';
import { fallbackEffect, feedbackFacts, impactFigures, onVersion } from './impact.ts';
import type {
  ActionItem,
  ChecklistItemInput,
  DetectionSection,
  Duration,
  EarlierDetectionAnswer,
  FallbacksAnswer,
  ImpactSection,
  Postmortem,
  PostmortemInput,
  ReplayTrialView,
  ResolutionSection,
  ResponseSection,
  RootCauseSection,
  Section,
  ThresholdsAnswer,
  TimelineEntry,
  TuningSuggestion,
  ValidationInput,
} from './postmortem-types.ts';

const isoOrNull = (ms: EpochMs | undefined): string | null => (ms === undefined ? null : isoTime(ms));

/** Human durations: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(Math.round(a / 100) / 10).toFixed(1)} s`;
  if (a < 3_600_000) {
    const m = Math.floor(a / 60_000);
    return `${sign}${m} min ${String(Math.round((a - m * 60_000) / 1000)).padStart(2, '0')} s`;
  }
  const h = Math.floor(a / 3_600_000);
  return `${sign}${h} h ${String(Math.round((a - h * 3_600_000) / 60_000)).padStart(2, '0')} min`;
}

const pct = (x: number): string => `${(Math.round(x * 1000) / 10).toString()}%`;

/** When the fault started reaching users, and when it stopped (mitigation/resolution, else now). */
export function impactWindow(incident: Incident, now: EpochMs, estimatedOnsetAt?: EpochMs): { from: EpochMs; to: EpochMs; onsetKnown: boolean } {
  const onset = incident.onsetAt ?? estimatedOnsetAt;
  const from = onset !== undefined && onset <= incident.detectedAt ? onset : incident.detectedAt;
  const closed = incident.mitigatedAt ?? incident.resolvedAt ?? incident.declinedAt;
  const to = Math.max(from + 1, Math.min(now, closed ?? now));
  return { from, to, onsetKnown: onset !== undefined };
}

const section = (reasons: string[], partial = false): Section => ({
  status: reasons.length === 0 ? 'complete' : partial ? 'partial' : 'insufficient_data',
  reasons,
});

const isUnavailable = <T extends object>(x: T | { unavailable: string } | undefined): x is { unavailable: string } =>
  x !== undefined && 'unavailable' in x;

// ------------------------------------------------------------------------------------------
// Timeline

/** Repeated evidence from one monitor is collapsed into one line with a count. */
export function timelineEntries(events: readonly TimelineEvent[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let run: { entry: TimelineEntry; count: number; actor: string } | undefined;
  const flush = () => {
    if (run && run.count > 1) run.entry.message = `${run.entry.message} (and ${run.count - 1} more evidence updates until the next step)`;
    run = undefined;
  };
  for (const e of [...events].sort((a, b) => a.at - b.at || a.id - b.id)) {
    if (e.kind === 'evidence' && run && run.actor === e.actor) {
      run.count++;
      continue;
    }
    flush();
    const entry: TimelineEntry = { at: isoTime(e.at), kind: e.kind, actor: e.actor, message: e.message };
    out.push(entry);
    if (e.kind === 'evidence') run = { entry, count: 1, actor: e.actor };
  }
  flush();
  return out;
}

// ------------------------------------------------------------------------------------------
// Sections

function evidenceJson(e: Evidence | undefined): Record<string, unknown> | null {
  if (!e) return null;
  const { window, ...rest } = e;
  return window ? { ...rest, window: { from: isoTime(window.from), to: isoTime(window.to) } } : { ...rest };
}

/** The monitor that opened the incident: the earliest monitor source, else the `detected` event's. */
function detectingMonitor(incident: Incident, timeline: readonly TimelineEvent[]): string | null {
  const monitors = Object.entries(incident.sources ?? {})
    .filter(([key, s]) => s.kind === 'monitor' && key.startsWith('monitor:'))
    .sort((a, b) => a[1].firstAt - b[1].firstAt);
  if (monitors.length > 0) return monitors[0]![0].slice('monitor:'.length);
  const detected = timeline.find((e) => e.kind === 'detected');
  const m = (detected?.data as { monitor?: unknown } | undefined)?.monitor;
  return typeof m === 'string' ? m : null;
}

const duration = (from: EpochMs | undefined, to: EpochMs | undefined, what: string, missing: string): Duration =>
  from !== undefined && to !== undefined ? { ms: Math.max(0, to - from), note: what } : { ms: null, note: missing };

function detectionSection(input: PostmortemInput): DetectionSection {
  const { incident, timeline } = input;
  const onset = incident.onsetAt ?? input.estimatedOnsetAt;
  const estimated = incident.onsetAt === undefined && input.estimatedOnsetAt !== undefined;
  const reasons: string[] = [];
  const monitor = detectingMonitor(incident, timeline);
  if (onset === undefined) {
    reasons.push(
      incident.source === 'monitor'
        ? 'no onset time: the monitor did not estimate one and RCA found none in the traces'
        : `no onset time: the incident came from ${incident.source === 'manual' ? 'a manual report' : `an external alert (${incident.source})`} without a start time, and RCA found none in the traces`,
    );
  }
  return {
    ...section(reasons, true),
    source: incident.source,
    monitor,
    family: incident.family,
    evidence: evidenceJson(incident.evidence[0]),
    onsetAt: isoOrNull(onset),
    onsetEstimated: estimated,
    detectedAt: isoTime(incident.detectedAt),
    mttd: duration(onset, incident.detectedAt, `detectedAt − onsetAt${estimated ? ' (onset estimated by RCA)' : ''}`, reasons[0] ?? 'no onset time'),
  };
}

function responseSection(incident: Incident): ResponseSection {
  const reasons: string[] = [];
  const d = incident.detectedAt;
  const recovered = incident.mitigatedAt ?? incident.resolvedAt;
  const mtta = duration(d, incident.acknowledgedAt, 'acknowledgedAt − detectedAt', 'not acknowledged (yet)');
  const contain = duration(d, incident.containedAt, 'containedAt − detectedAt', 'not contained (the fault was not isolated before mitigation, or is not yet)');
  const mttr = duration(d, recovered, incident.mitigatedAt !== undefined ? 'mitigatedAt − detectedAt (service restored)' : 'resolvedAt − detectedAt', 'not mitigated or resolved yet');
  const resolve = duration(d, incident.resolvedAt, 'resolvedAt − detectedAt', 'not resolved yet');
  if (incident.acknowledgedAt === undefined) reasons.push('MTTA: not acknowledged');
  if (recovered === undefined) reasons.push('MTTR: not mitigated or resolved yet');
  return {
    ...section(reasons, true),
    acknowledgedAt: isoOrNull(incident.acknowledgedAt),
    containedAt: isoOrNull(incident.containedAt),
    mitigatedAt: isoOrNull(incident.mitigatedAt),
    resolvedAt: isoOrNull(incident.resolvedAt),
    mtta,
    timeToContain: contain,
    mttr,
    timeToResolve: resolve,
  };
}

function impactSection(input: PostmortemInput): ImpactSection {
  const { incident, now } = input;
  const w = impactWindow(incident, now, input.estimatedOnsetAt);
  const durationEnd = incident.resolvedAt ?? incident.declinedAt ?? now;
  const userImpactEnd = incident.containedAt ?? incident.mitigatedAt ?? incident.resolvedAt;
  const base = {
    window: { from: isoTime(w.from), to: isoTime(w.to), durationMs: w.to - w.from },
    incidentDurationMs: Math.max(0, durationEnd - w.from),
    userImpactMs: userImpactEnd !== undefined ? Math.max(0, userImpactEnd - w.from) : null,
    recorded: incident.impact,
  };
  const reasons: string[] = [];
  if (!w.onsetKnown) reasons.push('no onset time: the window starts at detection, so requests before it are not counted');
  if (input.traces === undefined || isUnavailable(input.traces)) {
    reasons.unshift(`traces unavailable: ${isUnavailable(input.traces) ? input.traces.unavailable : 'not read'}`);
    return { ...base, status: 'insufficient_data', reasons, faultyVersion: null, overall: null, lowerBounds: false, exampleRequestIds: [] };
  }
  const traces = input.traces.items;
  if (traces.length === 0) {
    reasons.unshift(`no traces recorded for ${incident.model} between ${isoTime(input.traces.from)} and ${isoTime(input.traces.to)} (traffic, trace capture or retention)`);
    return { ...base, status: 'insufficient_data', reasons, faultyVersion: null, overall: null, lowerBounds: false, exampleRequestIds: [] };
  }
  const facts = feedbackFacts(input.feedback);
  const overall = impactFigures(traces, facts);
  let faulty: ImpactSection['faultyVersion'] = null;
  if (incident.version !== undefined) {
    const mine = onVersion(traces, incident.version);
    faulty = { version: incident.version, ...impactFigures(mine, facts) };
    if (mine.length === 0) reasons.push(`no recorded request went to ${incident.version} in the window`);
  } else {
    reasons.push('the incident names no version: figures are for the whole model');
  }
  if (input.traces.truncated) reasons.push(`more than ${traces.length} traces in the window: figures are lower bounds`);
  if (overall.clients === null) reasons.push('traces carry no client id (no sticky key or client header): clients affected cannot be counted');
  const examples = (incident.version !== undefined ? onVersion(traces, incident.version) : traces)
    .filter((t) => t.status !== 'ok' || t.retried)
    .slice(0, 5)
    .map((t) => t.requestId);
  return { ...base, ...section(reasons, true), faultyVersion: faulty, overall, lowerBounds: input.traces.truncated, exampleRequestIds: examples };
}

function rootCauseSection(input: PostmortemInput): RootCauseSection {
  const { incident, timeline } = input;
  const hypotheses = input.rca && !isUnavailable(input.rca) ? input.rca.hypotheses.slice(0, 3) : [];
  const setEvent = [...timeline].reverse().find((e) => e.kind === 'root_cause');
  const top = incident.rootCause ?? (hypotheses[0] ? { category: hypotheses[0].category, summary: hypotheses[0].summary, confidence: hypotheses[0].confidence } : undefined);
  const reasons: string[] = [];
  if (!top) {
    reasons.push(isUnavailable(input.rca) ? `no root cause recorded and RCA unavailable: ${input.rca.unavailable}` : 'no root cause recorded and RCA found no hypothesis');
  } else if (!incident.rootCause) {
    reasons.push('not recorded on the incident: this is the best RCA hypothesis, below the confidence RCA records');
  }
  return {
    ...section(reasons, top !== undefined),
    category: top?.category ?? null,
    summary: top?.summary ?? null,
    confidence: top?.confidence ?? null,
    setBy: incident.rootCause ? (setEvent?.actor ?? null) : top ? 'rca (not recorded)' : null,
    hypotheses,
  };
}

const validationView = (v: ValidationInput) => {
  const { at, ...rest } = v;
  return { ...rest, at: isoOrNull(at) };
};

function resolutionSection(input: PostmortemInput): ResolutionSection {
  const rollbacks = [...(input.rollbacks ?? [])].sort((a, b) => b.startedAt - a.startedAt);
  const chosen = rollbacks.find((r) => r.status === 'succeeded') ?? rollbacks[0];
  const { incident } = input;
  if (!chosen) {
    const resolved = incident.resolvedAt !== undefined || incident.mitigatedAt !== undefined;
    return {
      status: resolved ? 'partial' : 'insufficient_data',
      reasons: [resolved ? 'no rollback is linked to this incident: it was resolved another way (see the timeline)' : 'no rollback and not resolved yet'],
      rollback: null,
      otherRollbacks: 0,
      summary: resolved ? `resolved without a rollback${incident.status === 'declined' ? ` (declined: ${incident.declineReason ?? 'false alarm'})` : ''}` : 'not resolved yet',
    };
  }
  const validation = chosen.validations.find((v) => v.version === chosen.to) ?? chosen.validations[chosen.validations.length - 1];
  const reasons: string[] = [];
  if (!validation) reasons.push('the rollback record has no validation report');
  const summary =
    chosen.status === 'succeeded'
      ? `rolled back ${chosen.from ?? '?'} → ${chosen.to ?? '?'} by ${chosen.actor}${chosen.durationMs !== undefined ? ` in ${formatDuration(chosen.durationMs)}` : ''}${validation ? `; ${validation.version} ${validation.passed ? 'passed' : 'failed'} validation (${validation.summary})` : ''}`
      : `rollback ${chosen.id} ${chosen.status}${chosen.error ? `: ${chosen.error.message}` : ''}`;
  return {
    ...section(reasons, true),
    rollback: {
      id: chosen.id,
      from: chosen.from ?? null,
      to: chosen.to ?? null,
      status: chosen.status,
      actor: chosen.actor,
      startedAt: isoTime(chosen.startedAt),
      switchedAt: isoOrNull(chosen.switchedAt),
      durationMs: chosen.durationMs ?? null,
      validation: validation ? validationView(validation) : null,
      error: chosen.error ?? null,
    },
    otherRollbacks: rollbacks.length - 1,
    summary,
  };
}

// ------------------------------------------------------------------------------------------
// The three questions

/** Stable id of a suggestion: the same monitor and change always get the same id. */
export function suggestionId(model: string, monitor: string, patch: Record<string, unknown>): string {
  const h = createHash('sha256').update(JSON.stringify([model, monitor, canonical(patch)])).digest('hex').slice(0, 10);
  return `tune-${monitor}-${h}`;
}

const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;

const describePatch = (patch: Record<string, unknown>): string =>
  Object.entries(patch)
    .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
    .join(', ');

function earlierDetection(input: PostmortemInput): { answer: EarlierDetectionAnswer; suggestions: TuningSuggestion[] } {
  const { incident } = input;
  const empty = { monitor: null, healthyHistory: [], trials: [], notes: [] };
  if (input.replay === undefined || isUnavailable(input.replay)) {
    const reason = isUnavailable(input.replay) ? input.replay.unavailable : 'no replay was run';
    return { answer: { status: 'insufficient_data', reasons: [reason], answer: 'unknown', summary: `Cannot say: ${reason}.`, ...empty }, suggestions: [] };
  }
  const r = input.replay;
  const detectedAt = incident.detectedAt;
  const trials: ReplayTrialView[] = r.trials.map((t) => ({
    label: t.label,
    patch: t.patch,
    firstBreachAt: isoOrNull(t.firstBreachAt),
    leadMs: t.firstBreachAt !== undefined ? detectedAt - t.firstBreachAt : null,
    falseAlarms: t.falseAlarms,
    breachingEvaluations: t.breachingEvaluations,
    healthyEvaluations: t.healthyEvaluations,
  }));
  const healthyHistory = r.healthy.map((h) => ({ description: h.description, version: h.version, from: isoTime(h.from), to: isoTime(h.to), requests: h.requests }));
  const base = { monitor: r.monitor, healthyHistory, trials, notes: [...(r.notes ?? [])] };
  const reasons: string[] = [];
  if (r.healthy.length === 0) reasons.push('no healthy history to count false alarms on (no traffic before the onset, no stable version traffic)');
  const current = trials.find((t) => t.label === 'current');
  if (current && current.firstBreachAt === null) base.notes.push('the replay of the current settings did not breach where the live monitor did (the live runner saw per-second windows as they happened, the replay reads stored traces): treat the leads as indicative');
  // Earlier by at least a second, with no false alarm on healthy history.
  const MIN_LEAD_MS = 1000;
  const currentLead = current?.leadMs ?? 0;
  const clean = trials
    .filter((t) => t.label !== 'current' && t.leadMs !== null && t.leadMs >= MIN_LEAD_MS + Math.max(0, currentLead) && t.falseAlarms === 0 && (t.healthyEvaluations ?? 0) > 0)
    .sort((a, b) => b.leadMs! - a.leadMs! || Object.keys(a.patch).length - Object.keys(b.patch).length);
  const costly = trials
    .filter((t) => t.label !== 'current' && t.leadMs !== null && t.leadMs >= MIN_LEAD_MS && (t.falseAlarms ?? 0) > 0)
    .sort((a, b) => b.leadMs! - a.leadMs!);
  if (reasons.length > 0) {
    return {
      answer: {
        ...section(reasons, true),
        answer: 'unknown',
        summary: `The replay ran, but without healthy history the cost of tighter settings in false alarms is unknown.${clean[0] ? ` ${clean[0].label} would have fired ${formatDuration(clean[0].leadMs)} earlier.` : ''}`,
        ...base,
      },
      suggestions: [],
    };
  }
  const healthyText = healthyHistory.map((h) => `${h.description} (${h.requests} requests)`).join(' and ');
  if (clean.length === 0) {
    const worst = costly[0];
    return {
      answer: {
        ...section([]),
        answer: 'no',
        summary: worst
          ? `Not without false alarms: the earliest tighter setting (${worst.label}) would have fired ${formatDuration(worst.leadMs)} earlier but raised ${worst.falseAlarms} false alarm${worst.falseAlarms === 1 ? '' : 's'} on ${healthyText}.`
          : `No: none of the ${trials.length - 1} tighter settings replayed over the recorded traffic would have fired earlier than the live monitor.`,
        ...base,
      },
      suggestions: [],
    };
  }
  const best = clean[0]!;
  const toSuggestion = (t: ReplayTrialView): TuningSuggestion => {
    const id = suggestionId(incident.model, r.monitor, t.patch);
    const applied = input.applied?.find((a) => a.suggestionId === id);
    return {
      id,
      monitor: r.monitor,
      model: incident.model,
      version: r.version,
      patch: t.patch,
      rationale: `replayed over the recorded traffic, ${describePatch(t.patch)} fires ${formatDuration(t.leadMs)} earlier (at ${t.firstBreachAt}) with 0 false alarms in ${t.healthyEvaluations ?? 0} evaluations on ${healthyText}`,
      leadMs: t.leadMs!,
      falseAlarms: 0,
      status: applied ? 'applied' : 'suggested',
      appliedAt: applied ? isoTime(applied.at) : null,
      appliedBy: applied?.actor ?? null,
    };
  };
  const suggestions = [toSuggestion(best)];
  // The smallest change that also works, when the best one changes several knobs.
  const single = Object.keys(best.patch).length > 1 ? clean.find((t) => Object.keys(t.patch).length === 1) : undefined;
  if (single) suggestions.push(toSuggestion(single));
  return {
    answer: {
      ...section([]),
      answer: 'yes',
      summary:
        `Yes: ${r.monitor} with ${describePatch(best.patch)} would have fired ${formatDuration(best.leadMs)} earlier, with no false alarm on ${healthyText}.` +
        (single ? ` The one-knob change ${describePatch(single.patch)} alone would have fired ${formatDuration(single.leadMs)} earlier.` : '') +
        (costly[0] && costly[0].leadMs! > best.leadMs! ? ` Tighter still (${costly[0].label}) gains ${formatDuration(costly[0].leadMs! - best.leadMs!)} more but costs ${costly[0].falseAlarms} false alarms.` : ''),
      ...base,
    },
    suggestions,
  };
}

function thresholdsAnswer(input: PostmortemInput, productionFailureRate: number | null): ThresholdsAnswer {
  const v = input.validation;
  const version = input.incident.version;
  if (version === undefined) {
    return { status: 'not_applicable', reasons: ['the incident names no version'], answer: 'unknown', summary: 'No version to judge: the incident names none.', report: null, suggestedGate: null };
  }
  if (v === undefined || isUnavailable(v)) {
    const reason = isUnavailable(v) ? v.unavailable : 'no validation report';
    return { status: 'insufficient_data', reasons: [reason], answer: 'unknown', summary: `Cannot say: ${reason}.`, report: null, suggestedGate: null };
  }
  const report = validationView(v);
  const gate = v.gates?.passRate;
  const rate = v.passRate ?? gate?.value ?? null;
  const prod = productionFailureRate !== null ? ` In production ${pct(productionFailureRate)} of its requests were affected.` : '';
  const ranNow = v.source === 'replay' || v.source === 'postmortem';
  if (!v.passed) {
    return {
      ...section([]),
      answer: ranNow ? 'not_validated' : 'gate_held',
      summary: ranNow
        ? `The gate would have refused ${version}: replayed on the golden set now it scores ${rate !== null ? pct(rate) : 'n/a'} against a gate of ${gate ? pct(gate.threshold) : 'n/a'} (${v.summary}). No validation of ${version} was recorded before it took traffic, so the thresholds were not the problem: the version went live without staging validation.${prod}`
        : `The gate refused ${version} (${v.summary}); it took traffic anyway.${prod}`,
      report,
      suggestedGate: null,
    };
  }
  if (rate !== null && rate < 1 && gate) {
    // The smallest pass-rate gate (to 0.01) that this score would not have met.
    const suggested = Math.min(1, Math.floor(rate * 100 + 1e-9) / 100 + 0.01);
    return {
      ...section([]),
      answer: 'too_loose',
      summary: `Yes: ${version} passed with ${pct(rate)} against a gate of ${pct(gate.threshold)} (${v.summary}).${prod} A gate of ${pct(suggested)} would have refused it.`,
      report,
      suggestedGate: { minPassRate: Math.round(suggested * 100) / 100 },
    };
  }
  return {
    ...section([]),
    answer: 'golden_set_gap',
    summary: `The gate was not the problem: ${version} passed every golden case (${v.summary}).${prod} The golden set has no case like the failing production requests; no threshold on it would have caught this.`,
    report,
    suggestedGate: null,
  };
}

function fallbacksAnswer(input: PostmortemInput): FallbacksAnswer {
  const nulls = { failedFirstAttempts: null, rescued: null, retriedOnStable: null, fallbackAnswers: null, goodFallbackAnswers: null, clientErrors: null, rescueRate: null, uncaughtQualityFailures: null };
  if (input.traces === undefined || isUnavailable(input.traces) || input.traces.items.length === 0) {
    const reason = isUnavailable(input.traces) ? `traces unavailable: ${input.traces.unavailable}` : 'no traces recorded in the impact window';
    return { status: 'insufficient_data', reasons: [reason], answer: 'unknown', summary: `Cannot say: ${reason}.`, ...nulls };
  }
  const version = input.incident.version;
  const scope = version !== undefined ? onVersion(input.traces.items, version) : input.traces.items;
  const e = fallbackEffect(scope, feedbackFacts(input.feedback));
  const rescued = e.retriedOnStable + e.goodFallbackAnswers;
  const figures = {
    failedFirstAttempts: e.failedFirstAttempts,
    rescued,
    retriedOnStable: e.retriedOnStable,
    fallbackAnswers: e.fallbackAnswers,
    goodFallbackAnswers: e.goodFallbackAnswers,
    clientErrors: e.clientErrors,
    rescueRate: e.failedFirstAttempts > 0 ? Math.round((rescued / e.failedFirstAttempts) * 10_000) / 10_000 : null,
    uncaughtQualityFailures: e.uncaughtQualityFailures,
  };
  const reasons = input.traces.truncated ? ['trace cap reached: figures are lower bounds'] : [];
  const quality = e.uncaughtQualityFailures > 0 ? ` ${e.uncaughtQualityFailures} answers came back but were bad (failed validator, negative rating or wrong label): retries and fallbacks do not see those.` : '';
  if (e.failedFirstAttempts === 0) {
    return {
      ...section(reasons, true),
      status: reasons.length ? 'partial' : 'not_applicable',
      answer: 'not_triggered',
      summary: `No request ${version ? `to ${version} ` : ''}failed in a way retries or fallbacks handle.${quality}`,
      ...figures,
    };
  }
  const rate = rescued / e.failedFirstAttempts;
  const answer = rate >= 0.99 ? 'yes' : rate >= 0.5 ? 'partly' : 'no';
  return {
    ...section(reasons, true),
    answer,
    summary:
      `${pct(rate)} of the ${e.failedFirstAttempts} failed requests${version ? ` to ${version}` : ''} still got a good answer: ${e.retriedOnStable} by the retry on the stable version, ` +
      `${e.goodFallbackAnswers} by a fallback answer${e.fallbackAnswers > e.goodFallbackAnswers ? ` (${e.fallbackAnswers - e.goodFallbackAnswers} fallback answers were not good)` : ''}; ${e.clientErrors} reached the client as an error.${quality}`,
    ...figures,
  };
}

// ------------------------------------------------------------------------------------------
// Action items and lessons

function ownerName(owner: ChecklistItemInput['owner']): string {
  if (typeof owner === 'string' && owner) return owner;
  if (owner && typeof owner === 'object') return [owner.role, owner.audience && `(${owner.audience})`].filter(Boolean).join(' ') || 'incident commander';
  return 'incident commander';
}

const NOTE_ACTION = /^(?:action|todo|ai)\s*:\s*(.+?)(?:\s+@([\w.-]+))?\s*$/i;

function actionItems(
  input: PostmortemInput,
  parts: { detected: EarlierDetectionAnswer; thresholds: ThresholdsAnswer; fallbacks: FallbacksAnswer; rootCause: RootCauseSection; resolution: ResolutionSection; suggestions: TuningSuggestion[] },
): ActionItem[] {
  const { incident } = input;
  const owner = input.modelOwner ?? `${incident.model} model owner`;
  const items: Array<Omit<ActionItem, 'id'>> = [];
  const [s, alt] = parts.suggestions;
  if (s) {
    items.push({
      title: `Apply the suggested tuning of ${s.monitor} (${describePatch(s.patch)}): fires ${formatDuration(s.leadMs)} earlier with no false alarm in the replay${alt ? `; or the smaller change ${alt.id} (${describePatch(alt.patch)}, ${formatDuration(alt.leadMs)} earlier)` : ''}`,
      owner: 'on-call engineering',
      status: parts.suggestions.some((x) => x.status === 'applied') ? 'done' : 'open',
      source: `tuning:${s.id}`,
    });
  }
  const t = parts.thresholds;
  if (t.answer === 'too_loose' && t.suggestedGate) items.push({ title: `Raise ${incident.model}'s staging gate minPassRate to ${t.suggestedGate.minPassRate}`, owner, status: 'open', source: 'question:validation' });
  if (t.answer === 'not_validated') items.push({ title: `Require golden-set validation before a version of ${incident.model} takes traffic (${incident.version} went live without a recorded one)`, owner, status: 'open', source: 'question:validation' });
  if (t.answer === 'golden_set_gap') {
    const ids = parts.fallbacks.failedFirstAttempts ? ' (see the example request ids in Impact)' : '';
    items.push({ title: `Add cases like the failing production requests to ${incident.model}'s golden set${ids}`, owner, status: 'open', source: 'question:validation' });
  }
  const f = parts.fallbacks;
  if ((f.answer === 'no' || f.answer === 'partly') && (f.clientErrors ?? 0) > 0) {
    items.push({ title: `Configure or fix fallbacks for ${incident.model}: ${f.clientErrors} failed requests reached clients as errors`, owner: 'platform engineering', status: 'open', source: 'question:fallbacks' });
  }
  if ((f.uncaughtQualityFailures ?? 0) > 0) {
    items.push({ title: `Add an output validator for ${incident.model} that catches the bad answers (${f.uncaughtQualityFailures} came back and were served)`, owner, status: 'open', source: 'question:fallbacks' });
  }
  if (parts.rootCause.status === 'insufficient_data' || (parts.rootCause.confidence ?? 0) < 0.5) {
    items.push({ title: 'Confirm the root cause by hand: RCA found no confident hypothesis', owner: 'incident commander', status: incident.rootCause ? 'done' : 'open', source: 'root_cause' });
  }
  if (parts.resolution.rollback && parts.resolution.rollback.status !== 'succeeded') {
    items.push({ title: `Find out why rollback ${parts.resolution.rollback.id} ${parts.resolution.rollback.status}`, owner: 'platform engineering', status: 'open', source: 'resolution' });
  }
  // Manual runbook steps still open; automatic ones complete by themselves.
  for (const c of input.checklist ?? []) {
    if (c.kind === 'automatic' || !(c.status === 'pending' || c.status === 'overdue')) continue;
    items.push({ title: `Runbook step${c.status === 'overdue' ? ' (overdue)' : ''}: ${c.title}`, owner: ownerName(c.owner), status: 'open', source: `checklist:${c.id}` });
  }
  for (const e of input.timeline) {
    if (e.kind !== 'note') continue;
    const m = NOTE_ACTION.exec(e.message);
    if (m) items.push({ title: m[1]!, owner: m[2] ?? e.actor, status: 'open', source: `note:${e.id}` });
  }
  return items.map((item, i) => ({ id: `A${i + 1}`, ...item }));
}

function lessons(parts: {
  detection: DetectionSection;
  detected: EarlierDetectionAnswer;
  thresholds: ThresholdsAnswer;
  fallbacks: FallbacksAnswer;
  response: ResponseSection;
  resolution: ResolutionSection;
}): string[] {
  const out: string[] = [];
  if (parts.detection.mttd.ms !== null) out.push(`Detection took ${formatDuration(parts.detection.mttd.ms)} from onset${parts.detection.monitor ? ` (${parts.detection.monitor})` : ''}.`);
  if (parts.detected.answer !== 'unknown') out.push(parts.detected.summary);
  if (parts.thresholds.answer !== 'unknown') out.push(parts.thresholds.summary);
  if (parts.fallbacks.answer !== 'unknown') out.push(parts.fallbacks.summary);
  if (parts.response.timeToContain.ms !== null) out.push(`Containment took ${formatDuration(parts.response.timeToContain.ms)} after detection; service was restored after ${formatDuration(parts.response.mttr.ms)}.`);
  else if (parts.response.mttr.ms !== null) out.push(`Service was restored ${formatDuration(parts.response.mttr.ms)} after detection, with no containment step before.`);
  if (parts.resolution.rollback?.validation && !parts.resolution.rollback.validation.passed) out.push('The rollback target failed validation: the last stable version was not a safe place to go back to.');
  return out;
}

// ------------------------------------------------------------------------------------------

export function buildPostmortem(input: PostmortemInput): Postmortem {
  const { incident, now } = input;
  const impact = impactSection(input);
  const detection = detectionSection(input);
  const response = responseSection(incident);
  const rootCause = rootCauseSection(input);
  const resolution = resolutionSection(input);
  const { answer: detectedEarlier, suggestions } = earlierDetection(input);
  const prodRate = impact.faultyVersion && impact.faultyVersion.requests > 0 ? impact.faultyVersion.affectedRequests / impact.faultyVersion.requests : null;
  const validationThresholds = thresholdsAnswer(input, prodRate);
  const fallbacks = fallbacksAnswer(input);
  const items = actionItems(input, { detected: detectedEarlier, thresholds: validationThresholds, fallbacks, rootCause, resolution, suggestions });

  const sections: Array<[string, Section]> = [
    ['impact', impact],
    ['detection', detection],
    ['response', response],
    ['rootCause', rootCause],
    ['resolution', resolution],
    ['questions.detectedEarlier', detectedEarlier],
    ['questions.validationThresholds', validationThresholds],
    ['questions.fallbacks', fallbacks],
  ];
  const missingData = sections.filter(([, s]) => s.reasons.length > 0 && s.status !== 'complete').map(([name, s]) => ({ section: name, reasons: s.reasons }));

  const f = impact.faultyVersion ?? impact.overall;
  const summaryParts = [
    `${incident.severity} ${incident.family} incident on ${incident.model}${incident.version ? `@${incident.version}` : ''}: ${incident.title}.`,
    detection.mttd.ms !== null ? `Detected ${formatDuration(detection.mttd.ms)} after onset${detection.monitor ? ` by ${detection.monitor}` : ''}.` : `Detected at ${detection.detectedAt}${detection.monitor ? ` by ${detection.monitor}` : ` (${incident.source})`}.`,
    f ? `${f.affectedRequests} of ${f.requests} requests${impact.faultyVersion ? ` to ${impact.faultyVersion.version}` : ''} affected${impact.lowerBounds ? ' (at least)' : ''}, ${f.clientErrors} client errors, ${f.fallbackAnswers} fallback answers.` : 'Impact: no traces to count from.',
    rootCause.category ? `Root cause: ${rootCause.category} — ${(rootCause.summary ?? '').replace(/\.?$/, '.')}` : 'Root cause: not established.',
    resolution.summary ? `Resolution: ${resolution.summary}.` : '',
  ];

  return {
    incidentId: incident.id,
    title: `Postmortem ${incident.id}: ${incident.title}`,
    summary: summaryParts.filter(Boolean).join(' '),
    severity: incident.severity,
    status: incident.status,
    model: incident.model,
    version: incident.version ?? null,
    family: incident.family,
    generatedAt: isoTime(now),
    final: incident.status === 'resolved' || incident.status === 'reviewed' || incident.status === 'declined',
    missingData,
    impact,
    timeline: timelineEntries(input.timeline),
    detection,
    response,
    rootCause,
    resolution,
    questions: { detectedEarlier, validationThresholds, fallbacks },
    actionItems: items,
    lessons: lessons({ detection, detected: detectedEarlier, thresholds: validationThresholds, fallbacks, response, resolution }),
    tuning: suggestions,
  };
}
