// input_drift: the inputs changed (length, or the numeric features of predict requests) between
// the baseline and the incident window, with no version change to blame. Two-sample KS for
// "is it real" (Bonferroni over the dimensions tried) and PSI for "is it big".
import type { Trace } from '../types.ts';
import { ksTwoSample } from '../stats/ks.ts';
import { type DetectorOutcome, gainsNearOnset, hypothesisOutcome, type RcaContext, sampleIds } from './rca-context.ts';
import { compareRates, populationStabilityIndex, quantile, ramp, roundFigure, significanceStrength } from './rca-stats.ts';
import { confidenceTier, finalConfidence } from './scoring.ts';

const MIN_SAMPLES = 30;
const MAX_FEATURES = 32;

interface Dimension {
  name: string;
  value: (t: Trace) => number | undefined;
}

export function detectInputDrift(ctx: RcaContext): DetectorOutcome {
  const category = 'input_drift' as const;
  if (ctx.baseline.length < MIN_SAMPLES || ctx.incident.length < MIN_SAMPLES) {
    return { category, notEvaluated: `needs ${MIN_SAMPLES} requests on each side of the onset; have ${ctx.baseline.length} before and ${ctx.incident.length} after` };
  }
  const dims: Dimension[] = [{ name: 'inputChars', value: (t) => t.inputChars }];
  const featureCount = Math.min(MAX_FEATURES, Math.max(0, ...ctx.baseline.map((t) => t.features?.length ?? 0)));
  for (let i = 0; i < featureCount; i++) dims.push({ name: `features[${i}]`, value: (t) => t.features?.[i] });

  const collect = (ts: Trace[], d: Dimension) => {
    const out: number[] = [];
    for (const t of ts) {
      const v = d.value(t);
      if (v !== undefined && Number.isFinite(v)) out.push(v);
    }
    return out;
  };
  let best: { dim: Dimension; ks: ReturnType<typeof ksTwoSample>; psi: number; adjusted: number; score: number; b: number[]; a: number[] } | undefined;
  let tested = 0;
  const results: Array<{ dim: Dimension; ks: ReturnType<typeof ksTwoSample>; psi: number; b: number[]; a: number[] }> = [];
  for (const dim of dims) {
    const b = collect(ctx.baseline, dim);
    const a = collect(ctx.incident, dim);
    if (b.length < MIN_SAMPLES || a.length < MIN_SAMPLES) continue;
    tested++;
    results.push({ dim, ks: ksTwoSample(b, a), psi: populationStabilityIndex(b, a), b, a });
  }
  if (tested === 0) return { category, notEvaluated: 'no input dimension with enough samples' };
  for (const r of results) {
    const adjusted = Math.min(1, r.ks.pValue * tested);
    // PSI 0.05 is noise-level, 0.25 the conventional "major shift".
    const score = significanceStrength(adjusted) * ramp(r.psi, 0.05, 0.25);
    if (!best || score > best.score || (score === best.score && r.psi > best.psi)) best = { ...r, adjusted, score };
  }
  const { dim, ks, psi, adjusted, score, b, a } = best!;

  // Drift is a condition of the world; if a version changed near the onset it is the likelier cause.
  const versionChanged = gainsNearOnset(ctx).length > 0;
  const noChangeFactor = versionChanged ? 0.5 : 1;

  // Do the drifted requests fail more? Requests outside the baseline's central 98% vs inside.
  const sortedB = Float64Array.from(b).sort();
  const lo = quantile(sortedB, 0.01);
  const hi = quantile(sortedB, 0.99);
  const outside = (t: Trace) => {
    const v = dim.value(t);
    return v !== undefined && (v < lo || v > hi);
  };
  const out = ctx.incident.filter(outside);
  const inside = ctx.incident.filter((t) => !outside(t));
  const assoc = compareRates(out.filter(ctx.failed).length, out.length, inside.filter(ctx.failed).length, inside.length);
  // A drift incident needs no failures to be explained; any other family does.
  const assocFactor = ctx.family === 'drift' ? 1 : ctx.incidentFailures === 0 ? 0.5 : 0.5 + 0.5 * significanceStrength(assoc.pValue);
  // 0.9: drift is more often a contributing condition than the root cause itself.
  const confidence = finalConfidence(0.9 * score * noChangeFactor * assocFactor);

  const sortedA = Float64Array.from(a).sort();
  const figures: Record<string, number | string> = {
    dimension: dim.name,
    test: 'ks_two_sample (Bonferroni over dimensions) + PSI',
    dimensionsTested: tested,
    ksStatistic: roundFigure(ks.statistic),
    pValue: ks.pValue,
    adjustedPValue: adjusted,
    psi: roundFigure(psi),
    baselineSamples: b.length,
    incidentSamples: a.length,
    baselineMedian: roundFigure(quantile(sortedB, 0.5)),
    incidentMedian: roundFigure(quantile(sortedA, 0.5)),
    baselineP90: roundFigure(quantile(sortedB, 0.9)),
    incidentP90: roundFigure(quantile(sortedA, 0.9)),
    shareOutsideBaselineRange: roundFigure(out.length / ctx.incident.length),
    failureRateOutsideBaselineRange: roundFigure(assoc.aRate),
    failureRateInsideBaselineRange: roundFigure(assoc.bRate),
    versionChangeNearOnset: versionChanged ? 'yes' : 'no',
  };
  const tier = confidenceTier(confidence);
  const summary =
    score > 0
      ? `${tier === 'strong' ? 'Inputs drifted' : 'Inputs shifted somewhat'}: ${dim.name} median ${figures.baselineMedian} → ${figures.incidentMedian} (PSI ${figures.psi}, KS D = ${figures.ksStatistic})` +
        (versionChanged ? ', though a version change near the onset is a likelier cause.' : ', with no version change near the onset.')
      : `No significant input drift: the largest shift, in ${dim.name}, has PSI ${figures.psi} (KS adjusted p = ${adjusted.toPrecision(2)}).`;
  return {
    ...hypothesisOutcome(category, confidence, summary, { figures, timeRange: { from: ctx.onset, to: ctx.now }, sampleTraceIds: sampleIds(ctx.incident, outside, ctx.options.maxSamples) }),
    facts: { dimension: dim.name },
  };
}
