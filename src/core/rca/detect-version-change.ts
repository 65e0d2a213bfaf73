// version_change: the fault starts right after a deploy or route change gave the suspect version
// traffic, and its failures concentrate on that version rather than on the stable arm.
import type { ModelVersion, Trace } from '../types.ts';
import { behaviouralChanges, describeChanges, diffVersions } from './diff-versions.ts';
import { armOf, failedValidator } from './failure-judge.ts';
import { armConcentration, type DetectorOutcome, gainsNearOnset, hypothesisOutcome, iso, type RcaContext, sampleIds } from './rca-context.ts';
import type { VersionDiff } from './rca-types.ts';
import { compareRates, roundFigure, significanceStrength } from './rca-stats.ts';
import { changeProximity, confidenceTier, finalConfidence, NO_CHANGE_FACTOR } from './scoring.ts';

const MIN_SUSPECT_REQUESTS = 10;

/** M-1: the last stable version, else the version that had most traffic before the suspect's change. */
export function previousVersion(ctx: RcaContext, suspect: string): ModelVersion | undefined {
  if (ctx.lastStable && ctx.lastStable.version !== suspect) return ctx.lastStable;
  const gain = gainsNearOnset(ctx, suspect).at(-1) ?? ctx.trafficChanges.filter((c) => c.gains[suspect]).at(-1);
  const before = gain?.previous?.weights ?? {};
  const top = Object.entries(before)
    .filter(([v, w]) => v !== suspect && w > 0)
    .sort((a, b) => b[1] - a[1])[0]?.[0];
  if (top && ctx.versions.has(top)) return ctx.versions.get(top);
  const list = [...ctx.versions.values()].sort((a, b) => a.createdAt - b.createdAt);
  const idx = list.findIndex((v) => v.version === suspect);
  return idx > 0 ? list[idx - 1] : undefined;
}

export function detectVersionChange(ctx: RcaContext): DetectorOutcome & { versionDiff?: VersionDiff } {
  const category = 'version_change' as const;
  const suspect = ctx.suspect;
  if (!suspect) return { category, notEvaluated: 'no version stands out in the incident window' };
  const onSuspectCount = ctx.incident.filter((t) => armOf(t) === suspect).length;
  if (onSuspectCount < MIN_SUSPECT_REQUESTS) {
    return { category, notEvaluated: `only ${onSuspectCount} requests on ${suspect} in the incident window` };
  }
  const { changeLookbackMs, changeSlackMs, maxSamples } = ctx.options;
  const conc = armConcentration(ctx, suspect);
  if (!conc) return { category, notEvaluated: `no comparison traffic: too few requests on other versions and before the onset` };
  const share = ctx.incidentFailures > 0 ? conc.failures / ctx.incidentFailures : 0;

  // A bad version usually fails one way (malformed output, a broken upstream URL). Testing that
  // failure class alone separates it from background errors much sooner than all failures do;
  // both tests count, so the better p-value is doubled (Bonferroni over the two).
  const classOf = (t: Trace) => t.errorClass ?? (failedValidator(t) ? 'validator' : t.status);
  const classCounts = new Map<string, number>();
  for (const t of conc.traces) if (ctx.failed(t)) classCounts.set(classOf(t), (classCounts.get(classOf(t)) ?? 0) + 1);
  const dominant = [...classCounts.entries()].sort((x, y) => y[1] - x[1])[0];
  let pValue = conc.pValue;
  let classTest: { errorClass: string; pValue: number; rate: number; comparisonRate: number } | undefined;
  if (dominant && dominant[1] >= 0.5 * conc.failures) {
    const comparison = conc.usedOtherArms ? ctx.incident.filter((t) => armOf(t) !== suspect) : ctx.baseline;
    const inClass = (t: Trace) => ctx.failed(t) && classOf(t) === dominant[0];
    const test = compareRates(dominant[1], conc.requests, comparison.filter(inClass).length, comparison.length);
    classTest = { errorClass: dominant[0], pValue: test.pValue, rate: test.aRate, comparisonRate: test.bRate };
    pValue = Math.min(1, 2 * Math.min(conc.pValue, test.pValue));
  }
  const significance = significanceStrength(pValue);

  const gains = gainsNearOnset(ctx, suspect);
  const gain = gains.at(-1);
  const version = ctx.versions.get(suspect);
  // A version can also go live without a recorded route change (e.g. config reload): use liveSince.
  const liveSince = version?.liveSince;
  const changeAt = gain?.change.at ?? liveSince;
  let proximity = changeAt !== undefined ? changeProximity(changeAt, ctx.onset, changeLookbackMs, changeSlackMs) : 0;
  const nearChange = proximity > 0;
  if (!nearChange) proximity = NO_CHANGE_FACTOR;

  const previous = previousVersion(ctx, suspect);
  const diff = previous && version ? diffVersions(previous, version) : undefined;
  const behavioural = diff ? behaviouralChanges(diff) : [];
  // Identical content cannot itself be the cause; metadata-only changes rarely are.
  const diffFactor = !diff ? 0.8 : diff.identicalContent ? 0.4 : behavioural.length === 0 ? 0.6 : 1;

  const confidence = finalConfidence(proximity * significance * (0.4 + 0.6 * share) * diffFactor);
  const figures: Record<string, number | string> = {
    version: suspect,
    comparedWith: conc.comparedWith,
    test: 'fisher_exact_one_sided',
    requests: conc.requests,
    failures: conc.failures,
    failureRate: roundFigure(conc.aRate),
    comparisonRequests: conc.comparisonRequests,
    comparisonFailures: conc.comparisonFailures,
    comparisonFailureRate: roundFigure(conc.bRate),
    lift: roundFigure(conc.lift),
    pValue: conc.pValue,
    shareOfFailures: roundFigure(share),
  };
  if (classTest) {
    Object.assign(figures, {
      dominantFailureClass: classTest.errorClass,
      dominantClassRate: roundFigure(classTest.rate),
      dominantClassComparisonRate: roundFigure(classTest.comparisonRate),
      dominantClassPValue: classTest.pValue,
      combinedPValue: pValue,
    });
  }
  if (gain) {
    const [before, after] = gain.gains[suspect];
    Object.assign(figures, {
      changeAt: iso(gain.change.at),
      changeActor: gain.change.actor,
      changeRevision: gain.change.revision,
      weightBefore: before,
      weightAfter: after,
      minutesBeforeOnset: roundFigure((ctx.onset - gain.change.at) / 60_000),
    });
  } else if (liveSince !== undefined) {
    Object.assign(figures, { liveSince: iso(liveSince), minutesBeforeOnset: roundFigure((ctx.onset - liveSince) / 60_000) });
  }
  if (previous) figures.previousVersion = previous.version;
  if (diff) {
    figures.diffChanges = diff.changes.length;
    figures.diffFields = diff.changes.map((c) => c.field).join(', ');
  }

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rates = `${pct(conc.aRate)} of its requests fail vs ${pct(conc.bRate)} on ${conc.usedOtherArms ? conc.comparedWith : 'the model before the onset'}`;
  const when = gain
    ? `${iso(gain.change.at)} (route change by ${gain.change.actor}, ${suspect} ${gain.gains[suspect][0]}% → ${gain.gains[suspect][1]}%)`
    : changeAt !== undefined
      ? `${iso(changeAt)} (went live)`
      : '';
  const differs = diff && !diff.identicalContent ? ` It differs from ${diff.from} in: ${describeChanges(diff)}.` : '';
  let summary: string;
  if (significance === 0) summary = `Failures do not concentrate on ${suspect}: ${rates}.`;
  else if (!nearChange) {
    summary = `Failures concentrate on ${suspect} (${rates}), but no deploy or route change gave it traffic in the ${Math.round(changeLookbackMs / 60_000)} min before the onset.`;
  } else if (confidenceTier(confidence) === 'strong') summary = `${suspect} started failing right after it got traffic at ${when}: ${rates}.${differs}`;
  else summary = `${suspect} got traffic at ${when} and fails somewhat more often (${rates}); a weak sign of a bad version.${differs}`;
  const detail = diff?.promptDiff ? `prompt diff ${diff.from} → ${diff.to}:\n${diff.promptDiff.join('\n')}` : undefined;
  return {
    ...hypothesisOutcome(category, confidence, summary, {
      figures,
      timeRange: { from: Math.min(nearChange && changeAt !== undefined ? changeAt : ctx.onset, ctx.onset), to: ctx.now },
      sampleTraceIds: sampleIds(conc.traces, ctx.failed, maxSamples),
      ...(detail ? { detail } : {}),
    }),
    ...(diff ? { versionDiff: diff } : {}),
    facts: { suspect, nearChange, significance },
  };
}
