// upstream_dependency: upstream 5xx, timeouts and connection resets grouped by upstream host. A
// failing dependency hurts every version that shares the host — the stable one included — which
// is what tells it apart from a bad version.
import type { Trace } from '../types.ts';
import { armOf, upstreamErrorClasses } from './failure-judge.ts';
import { type DetectorOutcome, gainsNearOnset, hypothesisOutcome, type RcaContext, sampleIds } from './rca-context.ts';
import { compareRates, roundFigure, significanceStrength } from './rca-stats.ts';
import { confidenceTier, finalConfidence } from './scoring.ts';

const MIN_BASELINE = 30;

interface HostStats {
  host: string;
  incident: Trace[];
  upstreamFailures: number;
  baselineRequests: number;
  baselineUpstreamFailures: number;
  pValue: number;
  rate: number;
  referenceRate: number;
  reference: string;
}

export function detectUpstreamDependency(ctx: RcaContext): DetectorOutcome {
  const category = 'upstream_dependency' as const;
  if (ctx.incident.length < 20) return { category, notEvaluated: `only ${ctx.incident.length} requests in the incident window` };
  if (ctx.incidentFailures === 0) return { category, notEvaluated: 'no failed requests in the incident window' };

  // A retried request failed on its first attempt's host, not on the stable host that answered:
  // counting it there would blame the stable version's healthy upstream for the new one's faults.
  const hostOf = (t: Trace): string => ctx.hostOf(t) ?? '(unknown)';
  const isUpstream = (t: Trace) => ctx.failed(t) && t.errorClass !== undefined && upstreamErrorClasses.has(t.errorClass);

  const hosts = new Map<string, { incident: Trace[]; baseline: Trace[] }>();
  for (const t of ctx.incident) {
    const h = hostOf(t);
    if (!hosts.has(h)) hosts.set(h, { incident: [], baseline: [] });
    hosts.get(h)!.incident.push(t);
  }
  for (const t of ctx.baseline) hosts.get(hostOf(t))?.baseline.push(t);
  const allBaselineUpstream = ctx.baseline.filter(isUpstream).length;
  const totalIncidentUpstream = ctx.incident.filter(isUpstream).length;

  const stats: HostStats[] = [];
  for (const [host, { incident, baseline }] of hosts) {
    const u = incident.filter(isUpstream).length;
    const bu = baseline.filter(isUpstream).length;
    // Reference: the same host before the onset; else the other hosts now; else every host before.
    let ref: { events: number; total: number; label: string } | undefined;
    if (baseline.length >= MIN_BASELINE) ref = { events: bu, total: baseline.length, label: `${host} before the onset` };
    else if (ctx.incident.length - incident.length >= MIN_BASELINE)
      ref = { events: totalIncidentUpstream - u, total: ctx.incident.length - incident.length, label: 'other hosts in the same window' };
    else if (ctx.baseline.length >= MIN_BASELINE) ref = { events: allBaselineUpstream, total: ctx.baseline.length, label: 'all hosts before the onset' };
    if (!ref) continue;
    const test = compareRates(u, incident.length, ref.events, ref.total);
    stats.push({
      host,
      incident,
      upstreamFailures: u,
      baselineRequests: baseline.length,
      baselineUpstreamFailures: bu,
      pValue: Math.min(1, test.pValue * hosts.size), // Bonferroni over hosts
      rate: test.aRate,
      referenceRate: test.bRate,
      reference: ref.label,
    });
  }
  if (stats.length === 0) return { category, notEvaluated: 'no baseline or comparison traffic for any upstream host' };
  stats.sort((a, b) => a.pValue - b.pValue || b.upstreamFailures - a.upstreamFailures);
  const best = stats[0];

  const significance = significanceStrength(best.pValue);
  const coverage = best.upstreamFailures / ctx.incidentFailures;

  // Which versions on the host are hit: a version counts as affected when its upstream error rate
  // is at least half the host's (a version-specific fault would leave the others clean).
  const perVersion = new Map<string, { n: number; u: number }>();
  for (const t of best.incident) {
    const v = armOf(t);
    const s = perVersion.get(v) ?? { n: 0, u: 0 };
    s.n++;
    if (isUpstream(t)) s.u++;
    perVersion.set(v, s);
  }
  const measured = [...perVersion.entries()].filter(([, s]) => s.n >= 5);
  const affected = measured.filter(([, s]) => s.u > 0 && s.u / s.n >= 0.5 * best.rate).map(([v]) => v).sort();
  const breadth = measured.length > 0 ? affected.length / measured.length : 0;
  // One version on the host cannot separate "the host" from "the version"; two or more can, and a
  // failing host fails all of them — half the versions failing is evidence against the host.
  const breadthFactor = measured.length >= 2 ? 0.25 + 0.75 * breadth * breadth : 0.8;
  const stable = ctx.lastStable?.version;
  const stableAffected = stable !== undefined && affected.includes(stable);
  // A host nobody used before a deploy that just sent a version to it: more likely the deploy.
  const newWithDeploy =
    best.baselineRequests === 0 && [...perVersion.keys()].every((v) => gainsNearOnset(ctx, v).length > 0) ? 0.5 : 1;

  const confidence = finalConfidence(significance * (0.3 + 0.7 * coverage) * breadthFactor * newWithDeploy);
  const classes: Record<string, number> = {};
  for (const t of best.incident) if (isUpstream(t)) classes[t.errorClass!] = (classes[t.errorClass!] ?? 0) + 1;
  const figures: Record<string, number | string> = {
    upstreamHost: best.host,
    test: 'fisher_exact_one_sided (Bonferroni over hosts)',
    requests: best.incident.length,
    upstreamFailures: best.upstreamFailures,
    upstreamFailureRate: roundFigure(best.rate),
    comparedWith: best.reference,
    referenceFailureRate: roundFigure(best.referenceRate),
    pValue: best.pValue,
    shareOfFailures: roundFigure(coverage),
    versionsOnHost: [...perVersion.keys()].sort().join(', '),
    versionsAffected: affected.join(', '),
    errorClasses: Object.entries(classes)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c}:${n}`)
      .join(', '),
    hostsCompared: stats.length,
  };
  if (stable !== undefined) figures.stableVersionAffected = stableAffected ? 'yes' : perVersion.has(stable) ? 'no' : 'not on this host';
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rates = `${pct(best.rate)} of its requests end in upstream errors (${figures.errorClasses || 'none'}) vs ${pct(best.referenceRate)} for ${best.reference}`;
  const spread = measured.length >= 2 ? `, across ${affected.length} of ${measured.length} versions on that host${stableAffected ? ` including the stable ${stable}` : ''}` : '';
  const tier = confidenceTier(confidence);
  const summary =
    tier === 'strong'
      ? `Upstream ${best.host} is failing: ${rates}${spread}.`
      : tier === 'weak'
        ? `Upstream ${best.host} shows more errors than usual (${rates}${spread})` +
          (newWithDeploy < 1
            ? '; the host only got traffic with a recent deploy, which points at the version instead.'
            : measured.length >= 2 && breadth < 1
              ? '; a failing host would fail every version on it, so a version is the likelier cause.'
              : '; a weak sign of a dependency problem.')
        : `No upstream host stands out: the worst, ${best.host}, has ${pct(best.rate)} upstream errors vs ${pct(best.referenceRate)} for ${best.reference}.`;
  return {
    ...hypothesisOutcome(category, confidence, summary, { figures, timeRange: { from: ctx.onset, to: ctx.now }, sampleTraceIds: sampleIds(best.incident, isUpstream, ctx.options.maxSamples) }),
    facts: { host: best.host, breadth, stableAffected },
  };
}
