// Root-cause analysis: a pure function of the data around an incident → ranked hypotheses with
// the numbers behind each, plus where failures concentrate, what the errors say, and the diff
// between the suspect version and the last stable one. No I/O, no clock: `now` is in the input.
import { clusterErrors } from './cluster-errors.ts';
import { detectContextOverflow } from './detect-context-overflow.ts';
import { detectInputDrift } from './detect-input-drift.ts';
import { detectLabelMismatch } from './detect-label-mismatch.ts';
import { detectPipelineConflict } from './detect-pipeline-conflict.ts';
import { detectUpstreamDependency } from './detect-upstream-dependency.ts';
import { detectVersionChange } from './detect-version-change.ts';
import { buildContext, type DetectorOutcome, type RcaContext } from './rca-context.ts';
import { type Hypothesis, type Impact, rcaCategories, type RcaInput, type RcaResult } from './rca-types.ts';
import { defaultSegmentDimensions, segmentFailures } from './segment-failures.ts';
import { finalConfidence } from './scoring.ts';

export function analyze(input: RcaInput): RcaResult {
  const ctx = buildContext(input);
  const versionChange = detectVersionChange(ctx);
  const outcomes: DetectorOutcome[] = [
    versionChange,
    detectPipelineConflict(ctx),
    detectContextOverflow(ctx),
    detectUpstreamDependency(ctx),
    detectLabelMismatch(ctx),
    detectInputDrift(ctx),
  ];
  explainAway(outcomes);

  const order = (c: string) => rcaCategories.indexOf(c as (typeof rcaCategories)[number]);
  const hypotheses = outcomes
    .map((o) => o.hypothesis)
    .filter((h): h is Hypothesis => h !== undefined)
    .sort((a, b) => b.confidence - a.confidence || order(a.category) - order(b.category));
  const notEvaluated = outcomes
    .filter((o) => !o.hypothesis)
    .map((o) => ({ category: o.category, reason: o.notEvaluated ?? 'not evaluated' }));

  const segments = segmentFailures(ctx.incident, defaultSegmentDimensions, {
    isFailure: ctx.failed,
    alpha: ctx.options.alpha,
    minRequests: ctx.options.minSegmentRequests,
    maxSamples: ctx.options.maxSamples,
    hostOf: ctx.hostOf,
  });
  const errorClusters = clusterErrors(ctx.incident, { isFailure: ctx.failed, messageOf: ctx.judge.reason, maxSamples: ctx.options.maxSamples, hostOf: ctx.hostOf });

  return {
    hypotheses,
    segments,
    errorClusters,
    ...(versionChange.versionDiff ? { versionDiff: versionChange.versionDiff } : {}),
    impact: impactOf(ctx),
    changes: ctx.trafficChanges
      .filter((c) => c.change.at >= ctx.onset - ctx.options.changeLookbackMs && c.change.at <= ctx.now)
      .map(({ change: c, gains }) => ({
        at: c.at,
        actor: c.actor,
        revision: c.revision,
        mode: c.mode,
        weights: c.weights,
        ...(c.reason ? { reason: c.reason } : {}),
        gains,
        minutesBeforeOnset: Math.round(((ctx.onset - c.at) / 60_000) * 100) / 100,
      })),
    onset: { at: ctx.onset, estimated: ctx.onsetEstimated },
    windows: {
      baseline: {
        from: ctx.baseline[0]?.startedAt ?? ctx.onset,
        to: ctx.onset,
        requests: ctx.baseline.length,
        failures: ctx.baselineFailures,
      },
      incident: { from: ctx.onset, to: ctx.now, requests: ctx.incident.length, failures: ctx.incidentFailures },
    },
    failureDefinition: ctx.judge.definition,
    notEvaluated,
  };
}

/**
 * When a more specific mechanism accounts for the same failures, discount the generic one
 * (see scoring.ts): overflow explains an input-length drift; a pipeline conflict that touched
 * the suspect explains why the version change happened.
 */
function explainAway(outcomes: DetectorOutcome[]): void {
  const get = (c: string) => outcomes.find((o) => o.category === c)?.hypothesis;
  const overflow = get('prompt_context_overflow');
  const drift = outcomes.find((o) => o.category === 'input_drift');
  if (overflow && drift?.hypothesis && drift.facts?.dimension === 'inputChars') {
    drift.hypothesis.confidence = finalConfidence(drift.hypothesis.confidence * (1 - 0.5 * overflow.confidence));
  }
  const conflict = outcomes.find((o) => o.category === 'pipeline_conflict');
  const version = get('version_change');
  if (conflict?.hypothesis && conflict.facts?.involvesSuspect && version) {
    version.confidence = finalConfidence(version.confidence * (1 - 0.3 * conflict.hypothesis.confidence));
    if (conflict.hypothesis.confidence >= 0.5) version.summary += ' The change itself came from conflicting deploys (see pipeline_conflict).';
  }
}

function impactOf(ctx: RcaContext): Impact {
  const clients = new Set<string>();
  let failedRequests = 0;
  for (const t of ctx.incident) {
    if (!ctx.failed(t)) continue;
    failedRequests++;
    if (t.client) clients.add(t.client);
  }
  return { from: ctx.onset, to: ctx.now, requests: ctx.incident.length, failedRequests, clients: clients.size };
}
