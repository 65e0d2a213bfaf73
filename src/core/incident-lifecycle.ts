// The incident life cycle and severity rules. Pure: every function takes the time it should
// record, so the service, the postmortem and simulations all agree on what a step means.
import { FailsafeError } from './errors.ts';
import type { Actor, EpochMs, Incident, IncidentStatus, Severity } from './types.ts';

export const incidentStatuses: readonly IncidentStatus[] = [
  'open',
  'acknowledged',
  'contained',
  'mitigated',
  'resolved',
  'reviewed',
  'declined',
];

/**
 * Forward-only, with the skips real incidents take: automation contains before a human acks
 * (open → contained), a fix lands without a containment step (acknowledged → mitigated), an alert
 * resolves itself (open → resolved). `declined` is for false alarms, decided before anyone acted
 * on the incident as real (from open or acknowledged).
 */
const allowed: Record<IncidentStatus, readonly IncidentStatus[]> = {
  open: ['acknowledged', 'contained', 'mitigated', 'resolved', 'declined'],
  acknowledged: ['contained', 'mitigated', 'resolved', 'declined'],
  contained: ['mitigated', 'resolved'],
  mitigated: ['resolved'],
  resolved: ['reviewed'],
  reviewed: [],
  declined: [],
};

/** The timestamp field each status sets. */
export const statusTimestamp: Record<Exclude<IncidentStatus, 'open'>, keyof Incident> = {
  acknowledged: 'acknowledgedAt',
  contained: 'containedAt',
  mitigated: 'mitigatedAt',
  resolved: 'resolvedAt',
  reviewed: 'reviewedAt',
  declined: 'declinedAt',
};

export const canTransition = (from: IncidentStatus, to: IncidentStatus): boolean => allowed[from].includes(to);

export const allowedNext = (from: IncidentStatus): readonly IncidentStatus[] => allowed[from];

/** Active incidents absorb new evidence for their dedup key; closed ones never reopen. */
export const isActive = (status: IncidentStatus): boolean =>
  status !== 'resolved' && status !== 'reviewed' && status !== 'declined';

export interface TransitionResult {
  incident: Incident;
  /** False when nothing changed (the incident already was in that state): callers record nothing. */
  changed: boolean;
  /** False when only a timestamp was filled in (an ack after automation already contained). */
  statusChanged: boolean;
  from: IncidentStatus;
}

/**
 * Moves an incident to `to` at time `at`. Re-asking for the current status is a no-op (so retried
 * commands are harmless). Acknowledging an incident automation already moved past `acknowledged`
 * records who/when acked (MTTA) without moving the status back.
 */
export function transition(incident: Incident, to: IncidentStatus, at: EpochMs): TransitionResult {
  const from = incident.status;
  if (to === from) return { incident, changed: false, statusChanged: false, from };
  if (to === 'acknowledged' && (from === 'contained' || from === 'mitigated')) {
    if (incident.acknowledgedAt !== undefined) return { incident, changed: false, statusChanged: false, from };
    return { incident: { ...incident, acknowledgedAt: at, updatedAt: at }, changed: true, statusChanged: false, from };
  }
  if (to === 'open' || !canTransition(from, to)) {
    const targets = allowed[from];
    throw new FailsafeError(
      'INVALID_STATE',
      `incident ${incident.id} is ${from}; it cannot become ${to} (from ${from} it can become ${targets.join(', ') || 'nothing: it is closed'})`,
    );
  }
  const field = statusTimestamp[to];
  return {
    incident: { ...incident, status: to, [field]: at, updatedAt: at },
    changed: true,
    statusChanged: true,
    from,
  };
}

// ---------------------------------------------------------------------------------------------
// Severity

export const severities: readonly Severity[] = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

/** Lower is more severe: SEV1 = 1. */
export const severityRank = (s: Severity): number => Number(s.slice(3));

export const isMoreSevere = (a: Severity, b: Severity): boolean => severityRank(a) < severityRank(b);

export const maxSeverity = (a: Severity, b: Severity): Severity => (isMoreSevere(b, a) ? b : a);

/** Raises by `levels` steps, never past `cap` (unless already past it). */
export function raiseSeverity(s: Severity, levels: number, cap: Severity = 'SEV1'): Severity {
  if (levels <= 0) return s;
  const target = Math.max(severityRank(s) - Math.floor(levels), severityRank(cap), 1);
  return target < severityRank(s) ? (`SEV${target}` as Severity) : s;
}

/**
 * Reads a severity as sources write it: `SEV1`..`SEV4`, `1`..`4`, `P1`..`P4`, or the usual
 * words (`critical`, `error`/`high`, `warning`/`medium`, `info`/`low`). Unknown → undefined.
 */
export function parseSeverity(value: unknown): Severity | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 4) return `SEV${value}` as Severity;
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  const m = /^(?:sev|p)?-?([1-4])$/.exec(v);
  if (m) return `SEV${m[1]}` as Severity;
  switch (v) {
    case 'critical':
    case 'fatal':
    case 'page':
    case 'emergency':
      return 'SEV1';
    case 'error':
    case 'high':
    case 'major':
      return 'SEV2';
    case 'warning':
    case 'warn':
    case 'medium':
    case 'minor':
      return 'SEV3';
    case 'info':
    case 'low':
    case 'notice':
    case 'debug':
      return 'SEV4';
    default:
      return undefined;
  }
}

export interface SeverityRules {
  /** When neither the signal nor its family says. */
  default: Severity;
  /** Default severity per signal family (`errors: SEV2`). */
  families: Record<string, Severity>;
  /** Models with one of these tags start at least at that severity (`critical: SEV2`). */
  tagFloors: Record<string, Severity>;
  /** Each `everyEvidence` further evidence items raise the severity one level, never past `max`. 0 = never. */
  escalation: { everyEvidence: number; max: Severity };
}

export const defaultSeverityRules: SeverityRules = {
  default: 'SEV3',
  families: { errors: 'SEV2', latency: 'SEV3', validity: 'SEV2', feedback: 'SEV3', accuracy: 'SEV2', drift: 'SEV4' },
  tagFloors: { critical: 'SEV2' },
  escalation: { everyEvidence: 5, max: 'SEV2' },
};

/** The severity a new incident opens with. */
export function initialSeverity(
  input: { severity?: Severity; family: string; modelTags?: readonly string[] },
  rules: SeverityRules,
): Severity {
  let s = input.severity ?? rules.families[input.family] ?? rules.default;
  for (const tag of input.modelTags ?? []) {
    const floor = rules.tagFloors[tag];
    if (floor) s = maxSeverity(s, floor);
  }
  return s;
}

/**
 * The severity automation proposes after new evidence: the evidence item's own severity, or the
 * basis raised one level per `everyEvidence` items since the basis was set. Automation only ever
 * raises; a human's choice becomes the new basis, so old evidence does not override it.
 */
export function escalatedSeverity(
  current: Severity,
  basis: { severity: Severity; evidenceCount: number },
  evidenceCount: number,
  rules: SeverityRules,
  itemSeverity?: Severity,
): Severity {
  let proposed = basis.severity;
  const every = rules.escalation.everyEvidence;
  if (every > 0) {
    const grown = evidenceCount - basis.evidenceCount;
    proposed = raiseSeverity(basis.severity, Math.floor(grown / every), rules.escalation.max);
  }
  if (itemSeverity) proposed = maxSeverity(proposed, itemSeverity);
  return maxSeverity(current, proposed);
}

/** A human sets the severity either way; it becomes the basis automation escalates from. */
export function setSeverityByHuman(incident: Incident, severity: Severity, actor: Actor, at: EpochMs): Incident {
  return {
    ...incident,
    severity,
    severityBasis: { severity, evidenceCount: incident.evidenceCount ?? incident.evidence.length, setBy: actor, at },
    updatedAt: at,
  };
}

// ---------------------------------------------------------------------------------------------
// Identity

/** One active incident per model + version + signal family. */
export const dedupKeyFor = (model: string, version: string | undefined, family: string): string =>
  `${model}/${version ?? '*'}/${family}`;

/** `INC-20250314-` for a time (UTC day). */
export function incidentIdPrefix(at: EpochMs): string {
  const d = new Date(at);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return `INC-${ymd}-`;
}

/** `INC-20250314-007`: short enough to say on a call, unique with the store's per-day counter. */
export const formatIncidentId = (at: EpochMs, sequence: number): string =>
  `${incidentIdPrefix(at)}${String(sequence).padStart(3, '0')}`;
