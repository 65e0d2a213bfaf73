// pipeline_conflict: two pipelines (or a pipeline and a person) changed the same model's route
// within minutes of each other, or what serves is not what staging validated (its content hash
// differs). Both are facts read from the history, so they score from a high prior, scaled by how
// close to the onset they happened and whether they touched the suspect version.
// Only independent changes can conflict: the route seeded from the configuration at startup and
// Failsafe's own changes (containment, rollback, playbooks) are no deploy, and the steps of one
// deployment — automatic or a person promoting it — are one pipeline.
import type { RouteChange } from '../types.ts';
import { armOf } from './failure-judge.ts';
import { armConcentration, type DetectorOutcome, hypothesisOutcome, iso, type RcaContext, sampleIds } from './rca-context.ts';
import { roundFigure } from './rca-stats.ts';
import { changeProximity, finalConfidence, noisyOr } from './scoring.ts';

const CONFLICT_PRIOR = 0.9;
const HASH_PRIOR = 0.93;

/** Actors of route changes nobody deployed: the config seed and Failsafe reacting by itself. */
const AUTOMATIC_ACTOR = /^(config|system|rollback|playbook|containment|monitor|runbooks?|canary)(:|$)/;

export const isAutomaticRouteChange = (c: RouteChange): boolean => AUTOMATIC_ACTOR.test(c.actor);

/** The pipeline a route change came from: its deployment (by actor or the routing reason), else its actor. */
export function pipelineOf(c: RouteChange): string {
  const deployment = /^deployment:(.+)$/.exec(c.actor)?.[1] ?? /^deployment (\S+?):/.exec(c.reason ?? '')?.[1];
  return deployment !== undefined ? `deployment:${deployment}` : c.actor;
}

const sameWeights = (a: Record<string, number>, b: Record<string, number>) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
};

export function detectPipelineConflict(ctx: RcaContext): DetectorOutcome {
  const category = 'pipeline_conflict' as const;
  const { changeLookbackMs, changeSlackMs, conflictWindowMs, maxSamples } = ctx.options;
  const suspect = ctx.suspect;
  // A conflict is a fact; whether it caused this incident depends on the version it touched
  // failing more than the rest. Without that link it stays a finding, at lower confidence.
  const links = new Map<string, number>();
  const failureLink = (version: string | undefined): number => {
    if (version === undefined) return 0.7;
    if (!links.has(version)) links.set(version, 0.7 + 0.3 * (armConcentration(ctx, version)?.significance ?? 0));
    return links.get(version)!;
  };
  // Failsafe's own reaction (containment, rollback) comes after detection and is no conflict.
  const history = ctx.routeHistory.filter((c) => c.at <= ctx.detectedAt);
  const inspected = history.filter((c) => c.at >= ctx.onset - changeLookbackMs);
  // Automatic changes are skipped, not barriers: two deploys with a containment between them still race.
  const deploys = history.filter((c) => !isAutomaticRouteChange(c));
  const automaticIgnored = inspected.filter(isAutomaticRouteChange).length;

  let bestPair: { score: number; first: RouteChange; second: RouteChange; involved: boolean; gapMs: number } | undefined;
  let pairs = 0;
  for (let i = 1; i < deploys.length; i++) {
    const first = deploys[i - 1];
    const second = deploys[i];
    const gapMs = second.at - first.at;
    if (gapMs > conflictWindowMs || pipelineOf(first) === pipelineOf(second)) continue;
    if (sameWeights(first.weights, second.weights) && first.mode === second.mode) continue;
    const proximity = changeProximity(second.at, ctx.onset, changeLookbackMs, changeSlackMs);
    if (proximity === 0) continue;
    pairs++;
    // What the first change itself did is measured against the route just before it, whoever set it.
    const previousWeights = history[history.indexOf(first) - 1]?.weights ?? {};
    const involved =
      suspect !== undefined &&
      ((first.weights[suspect] ?? 0) !== (previousWeights[suspect] ?? 0) || (second.weights[suspect] ?? 0) !== (first.weights[suspect] ?? 0) || (second.weights[suspect] ?? 0) > 0);
    // Seconds apart is a race; five minutes apart may be a hand-off.
    const gapFactor = 1 - 0.3 * Math.min(1, Math.max(0, (gapMs - 60_000) / Math.max(1, conflictWindowMs - 60_000)));
    const score = CONFLICT_PRIOR * proximity * gapFactor * (involved ? 1 : 0.5) * failureLink(suspect);
    if (!bestPair || score > bestPair.score) bestPair = { score, first, second, involved, gapMs };
  }

  const served = new Set(ctx.incident.map(armOf));
  let bestHash: { score: number; version: string; validated: string; actual: string } | undefined;
  let mismatches = 0;
  for (const [version, validated] of Object.entries(ctx.input.validatedHashes ?? {})) {
    const actual = ctx.versions.get(version)?.contentHash;
    if (actual === undefined || actual === validated) continue;
    mismatches++;
    const score = HASH_PRIOR * (version === suspect ? 1 : served.has(version) ? 0.7 : 0.35) * failureLink(version);
    if (!bestHash || score > bestHash.score) bestHash = { score, version, validated, actual };
  }

  const confidence = finalConfidence(noisyOr(bestPair?.score ?? 0, bestHash?.score ?? 0));
  const figures: Record<string, number | string> = {
    routeChangesInspected: inspected.length,
    automaticChangesIgnored: automaticIgnored,
    conflictingPairs: pairs,
    hashMismatches: mismatches,
    conflictWindowSeconds: conflictWindowMs / 1000,
  };
  const parts: string[] = [];
  let timeRange: { from: number; to: number } | undefined;
  if (bestPair) {
    const { first, second } = bestPair;
    Object.assign(figures, {
      firstChangeAt: iso(first.at),
      firstActor: first.actor,
      firstWeights: JSON.stringify(first.weights),
      secondChangeAt: iso(second.at),
      secondActor: second.actor,
      secondWeights: JSON.stringify(second.weights),
      secondsApart: roundFigure(bestPair.gapMs / 1000),
      touchesSuspectVersion: bestPair.involved ? 'yes' : 'no',
    });
    parts.push(
      `${first.actor} and ${second.actor} changed the route of ${ctx.model} ${roundFigure(bestPair.gapMs / 1000)} s apart (${JSON.stringify(first.weights)} then ${JSON.stringify(second.weights)}) shortly before the onset`,
    );
    timeRange = { from: first.at, to: ctx.now };
  }
  if (bestHash) {
    Object.assign(figures, { hashMismatchVersion: bestHash.version, validatedHash: bestHash.validated, servingHash: bestHash.actual });
    parts.push(`${bestHash.version} serving now (hash ${bestHash.actual.slice(0, 12)}) is not the bundle staging validated (hash ${bestHash.validated.slice(0, 12)})`);
  }
  const summary =
    parts.length > 0
      ? `Conflicting deploys: ${parts.join('; and ')}.`
      : `No conflicting deploys: ${inspected.length} route changes near the onset${automaticIgnored > 0 ? ` (${automaticIgnored} by the configuration or Failsafe itself, which are no deploys)` : ''}, none by independent actors within ${conflictWindowMs / 1000} s of each other, and no unvalidated content.`;
  const sampleVersion = bestHash?.version ?? (bestPair?.involved ? suspect : undefined);
  return {
    ...hypothesisOutcome(category, confidence, summary, {
      figures,
      ...(timeRange ? { timeRange } : {}),
      sampleTraceIds: sampleVersion ? sampleIds(ctx.incident, (t) => armOf(t) === sampleVersion && ctx.failed(t), maxSamples) : [],
    }),
    facts: { involvesSuspect: (bestPair?.involved ?? false) || bestHash?.version === suspect },
  };
}
