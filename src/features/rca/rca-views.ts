// JSON answers for RCA: the engine's result with epoch milliseconds turned into ISO 8601 UTC.
import { isoTime } from '../../core/iso-time.ts';
import type { Hypothesis, RcaResult, TimeRange } from '../../core/rca/rca-types.ts';
import type { RcaReport } from './rca-service.ts';

const rangeView = (r: TimeRange) => ({ from: isoTime(r.from), to: isoTime(r.to) });

export function hypothesisView(h: Hypothesis) {
  const { timeRange, ...evidence } = h.evidence;
  return {
    category: h.category,
    confidence: h.confidence,
    summary: h.summary,
    evidence: { ...evidence, ...(timeRange ? { timeRange: rangeView(timeRange) } : {}) },
  };
}

export function rcaResultView(r: RcaResult) {
  return {
    hypotheses: r.hypotheses.map(hypothesisView),
    segments: r.segments,
    errorClusters: r.errorClusters.map((c) => ({ ...c, firstAt: isoTime(c.firstAt), lastAt: isoTime(c.lastAt) })),
    versionDiff: r.versionDiff ?? null,
    impact: { ...r.impact, from: isoTime(r.impact.from), to: isoTime(r.impact.to) },
    changes: r.changes.map((c) => ({ ...c, at: isoTime(c.at) })),
    onset: { at: isoTime(r.onset.at), estimated: r.onset.estimated },
    windows: {
      baseline: { ...r.windows.baseline, ...rangeView(r.windows.baseline) },
      incident: { ...r.windows.incident, ...rangeView(r.windows.incident) },
    },
    failureDefinition: r.failureDefinition,
    notEvaluated: r.notEvaluated,
  };
}

/** `GET /incidents/{id}/rca`: hypotheses first (the contract), then everything behind them. */
export function rcaReportView(report: RcaReport) {
  return {
    incidentId: report.incidentId,
    analyzedAt: isoTime(report.analyzedAt),
    ...rcaResultView(report.result),
    recorded: report.recorded,
    ...(report.notRecordedReason ? { notRecordedReason: report.notRecordedReason } : {}),
  };
}
