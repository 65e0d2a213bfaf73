// JSON answers for incidents: camelCase, times as ISO 8601 UTC strings, absent timestamps as null.
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import type { Evidence, Incident, IncidentSignal, TimelineEvent } from '../../core/types.ts';

const isoOrNull = (ms: number | undefined): string | null => isoTimeOpt(ms) ?? null;

export function evidenceView(e: Evidence): Record<string, unknown> {
  const { window, ...rest } = e;
  return window ? { ...rest, window: { from: isoTime(window.from), to: isoTime(window.to) } } : { ...rest };
}

const signalView = (s: IncidentSignal) => ({ ...s, firstAt: isoTime(s.firstAt), lastAt: isoTime(s.lastAt) });

/** The fields every listing shows. */
export function incidentSummaryView(i: Incident) {
  return {
    id: i.id,
    model: i.model,
    version: i.version ?? null,
    family: i.family,
    title: i.title,
    severity: i.severity,
    status: i.status,
    source: i.source,
    detectedAt: isoTime(i.detectedAt),
    onsetAt: isoOrNull(i.onsetAt),
    acknowledgedAt: isoOrNull(i.acknowledgedAt),
    containedAt: isoOrNull(i.containedAt),
    mitigatedAt: isoOrNull(i.mitigatedAt),
    resolvedAt: isoOrNull(i.resolvedAt),
    reviewedAt: isoOrNull(i.reviewedAt),
    declinedAt: isoOrNull(i.declinedAt),
    updatedAt: isoOrNull(i.updatedAt),
    evidenceCount: i.evidenceCount ?? i.evidence.length,
  };
}

/** Everything about one incident (without its timeline). */
export function incidentView(i: Incident) {
  return {
    ...incidentSummaryView(i),
    dedupKey: i.dedupKey,
    impact: { ...i.impact, ...(i.impact.since !== undefined ? { since: isoTime(i.impact.since) } : {}) },
    evidence: i.evidence.map(evidenceView),
    rootCause: i.rootCause ?? null,
    runbook: i.runbook ?? null,
    declineReason: i.declineReason ?? null,
    sources: Object.fromEntries(Object.entries(i.sources ?? {}).map(([k, s]) => [k, signalView(s)])),
    severityBasis: i.severityBasis ? { ...i.severityBasis, at: isoTime(i.severityBasis.at) } : null,
  };
}

export function timelineEventView(e: TimelineEvent) {
  return {
    id: e.id,
    at: isoTime(e.at),
    kind: e.kind,
    actor: e.actor,
    message: e.message,
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
}
