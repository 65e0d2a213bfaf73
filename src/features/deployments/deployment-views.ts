// Answers of the deployments and experiments API: camelCase, times as ISO 8601 UTC.
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import type { CanaryMonitorResult } from '../../core/canary/compare-arms.ts';
import type { DeploymentAnalysisRecord, DeploymentRecord, ExperimentRecord } from './deployment-store.ts';

const round = (x: number | undefined, digits = 6): number | undefined => (x === undefined || !Number.isFinite(x) ? undefined : Number(x.toPrecision(digits)));

export function monitorView(m: CanaryMonitorResult) {
  return {
    monitor: m.monitor,
    family: m.family,
    status: m.status,
    required: m.required,
    test: m.test,
    statistic: round(m.statistic),
    threshold: round(m.threshold),
    pValue: round(m.pValue),
    alpha: round(m.alpha),
    nCandidate: m.nCandidate,
    nStable: m.nStable,
    observed: round(m.observed),
    baseline: round(m.baseline),
    bound: round(m.bound),
    margin: m.margin,
    summary: m.summary,
    detail: m.detail,
    ...(m.segments ? { segments: m.segments } : {}),
    ...(m.quantiles ? { quantiles: m.quantiles.map((q) => ({ ...q, candidateMs: round(q.candidateMs), stableMs: round(q.stableMs), thresholdMs: round(q.thresholdMs), pValue: round(q.pValue) })) } : {}),
  };
}

export function analysisView(a: DeploymentAnalysisRecord) {
  return {
    seq: a.seq,
    at: isoTime(a.at),
    phase: a.phase,
    step: a.step,
    decision: a.decision,
    action: a.action,
    reason: a.reason,
    window: { from: isoTime(a.window.from), to: isoTime(a.window.to) },
    monitors: a.monitors.map(monitorView),
  };
}

/** The leading fields of both deployment views, in the order the API shows them. */
function deploymentIdentity(d: DeploymentRecord) {
  return {
    id: d.id,
    model: d.model,
    version: d.version,
    baseline: d.baseline,
    status: d.status,
    phase: d.phase,
    step: d.step,
  };
}

export function deploymentSummaryView(d: DeploymentRecord) {
  return {
    ...deploymentIdentity(d),
    reason: d.reason,
    createdAt: isoTime(d.createdAt),
    finishedAt: isoTimeOpt(d.finishedAt),
  };
}

export function deploymentView(d: DeploymentRecord, analyses: DeploymentAnalysisRecord[] = []) {
  return {
    ...deploymentIdentity(d),
    steps: d.plan.steps,
    stepIndex: d.stepIndex,
    stepSeconds: d.plan.stepSeconds,
    shadowPercent: d.plan.shadowPercent,
    minSamples: d.plan.minSamples,
    onInsufficientData: d.plan.onInsufficientData,
    deadlineSeconds: d.plan.deadlineSeconds,
    stickyKey: d.stickyKey,
    reason: d.reason,
    actor: d.actor,
    validation: d.validation ? { ...d.validation, startedAt: isoTime(d.validation.startedAt), finishedAt: isoTimeOpt(d.validation.finishedAt) } : undefined,
    requests: { ...d.requests, total: d.requests.candidate + d.requests.stable },
    settings: d.settings,
    routeBefore: d.routeBefore,
    phaseStartedAt: isoTime(d.phaseStartedAt),
    deadlineAt: isoTime(d.deadlineAt),
    createdAt: isoTime(d.createdAt),
    updatedAt: isoTime(d.updatedAt),
    finishedAt: isoTimeOpt(d.finishedAt),
    history: d.history.map((e) => ({ ...e, at: isoTime(e.at) })),
    analysisCount: d.analysisCount,
    analyses: analyses.map(analysisView),
  };
}

export function experimentView(e: ExperimentRecord, interim?: ExperimentRecord['report']) {
  const report = e.report ?? interim;
  return {
    id: e.id,
    model: e.model,
    versions: e.versions,
    control: e.control,
    stickyKey: e.stickyKey,
    durationSeconds: e.durationSeconds,
    status: e.status,
    actor: e.actor,
    reason: e.reason,
    startedAt: isoTime(e.startedAt),
    endsAt: isoTime(e.endsAt),
    finishedAt: isoTimeOpt(e.finishedAt),
    report: report
      ? {
          interim: e.report === undefined,
          from: isoTime(report.from),
          to: isoTime(report.to),
          arms: report.arms,
          note: report.note,
          comparisons: report.comparisons.map((c) => ({
            control: c.control,
            treatment: c.treatment,
            metrics: c.metrics.map((m) => ({
              ...m,
              control: round(m.control),
              treatment: round(m.treatment),
              effect: round(m.effect),
              ci: m.ci.map((x) => round(x)),
              pValue: round(m.pValue),
            })),
          })),
        }
      : undefined,
  };
}
