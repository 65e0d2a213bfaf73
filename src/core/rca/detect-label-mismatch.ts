// data_label_mismatch: the ground-truth labels changed, not the model. Signs: the label
// distribution shifts (chi-square) while the predictions' distribution does not; accuracy drops
// for the stable version as much as for the suspect one; labels appear that no version ever
// predicts (a new taxonomy). A model getting worse looks the other way round: its predictions
// move, the labels stay, and the stable version keeps agreeing with them.
import type { Trace } from '../types.ts';
import { armOf } from './failure-judge.ts';
import { type DetectorOutcome, hypothesisOutcome, type RcaContext, sampleIds } from './rca-context.ts';
import { chiSquareHomogeneity, compareRates, ramp, roundFigure, significanceStrength } from './rca-stats.ts';
import { confidenceTier, finalConfidence } from './scoring.ts';

const MIN_LABELS = 20;

const countBy = (values: Iterable<string>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
};

export function detectLabelMismatch(ctx: RcaContext): DetectorOutcome {
  const category = 'data_label_mismatch' as const;
  const labeled = ctx.feedback.filter((f) => f.label !== undefined && f.label !== '' && f.requestAt <= ctx.now);
  const labelsBefore = labeled.filter((f) => f.requestAt < ctx.onset).map((f) => f.label!);
  const labelsAfter = labeled.filter((f) => f.requestAt >= ctx.onset).map((f) => f.label!);
  if (labelsBefore.length < MIN_LABELS || labelsAfter.length < MIN_LABELS) {
    return { category, notEvaluated: `needs ${MIN_LABELS} labels on each side of the onset; have ${labelsBefore.length} before and ${labelsAfter.length} after` };
  }
  const labelShift = chiSquareHomogeneity(countBy(labelsBefore), countBy(labelsAfter));

  const predicted = (ts: Trace[]) => ts.filter((t) => t.prediction !== undefined).map((t) => t.prediction!);
  const predsBefore = predicted(ctx.baseline);
  const predsAfter = predicted(ctx.incident);
  const predShift =
    predsBefore.length >= MIN_LABELS && predsAfter.length >= MIN_LABELS ? chiSquareHomogeneity(countBy(predsBefore), countBy(predsAfter)) : undefined;

  // Labels that neither the baseline labels nor any prediction ever used: a vocabulary change.
  const known = new Set([...labelsBefore, ...predsBefore, ...predsAfter]);
  const unknown = labelsAfter.filter((l) => !known.has(l));
  const unknownShare = unknown.length / labelsAfter.length;

  // Accuracy on traces that have both a prediction and a label.
  const labelOf = (t: Trace) => ctx.feedbackIndex.labels.get(t.requestId);
  const judged = (ts: Trace[]) => ts.filter((t) => t.prediction !== undefined && labelOf(t) !== undefined);
  const wrong = (t: Trace) => labelOf(t) !== t.prediction;
  const judgedBefore = judged(ctx.baseline);
  const judgedAfter = judged(ctx.incident);
  const wrongBefore = judgedBefore.filter(wrong).length;
  const wrongAfter = judgedAfter.filter(wrong).length;
  const accuracyDrop =
    judgedBefore.length >= MIN_LABELS && judgedAfter.length >= MIN_LABELS
      ? compareRates(wrongAfter, judgedAfter.length, wrongBefore, judgedBefore.length)
      : undefined;

  // Labels changed → the stable version disagrees with them as much as the suspect does.
  const stable = ctx.lastStable?.version;
  const suspect = ctx.suspect;
  const onArm = (ts: Trace[], v: string | undefined) => (v === undefined ? [] : ts.filter((t) => armOf(t) === v));
  const stableAfter = onArm(judgedAfter, stable);
  const suspectAfter = suspect !== stable ? onArm(judgedAfter, suspect) : [];
  const stableBefore = onArm(judgedBefore, stable);
  let stableFactor = 0.8;
  const stableFigures: Record<string, number | string> = {};
  if (stable !== undefined && stableAfter.length >= MIN_LABELS && suspectAfter.length >= MIN_LABELS) {
    const sw = stableAfter.filter(wrong).length;
    const fw = suspectAfter.filter(wrong).length;
    const suspectWorse = compareRates(fw, suspectAfter.length, sw, stableAfter.length);
    stableFactor = 1 - 0.7 * significanceStrength(suspectWorse.pValue);
    Object.assign(stableFigures, {
      stableVersion: stable,
      stableDisagreement: roundFigure(suspectWorse.bRate),
      suspectVersion: suspect!,
      suspectDisagreement: roundFigure(suspectWorse.aRate),
      suspectWorsePValue: suspectWorse.pValue,
    });
  } else if (stable !== undefined && stableAfter.length >= MIN_LABELS && stableBefore.length >= MIN_LABELS) {
    const stableDrop = compareRates(stableAfter.filter(wrong).length, stableAfter.length, stableBefore.filter(wrong).length, stableBefore.length);
    stableFactor = 0.5 + 0.5 * significanceStrength(stableDrop.pValue);
    Object.assign(stableFigures, {
      stableVersion: stable,
      stableDisagreementBefore: roundFigure(stableDrop.bRate),
      stableDisagreementAfter: roundFigure(stableDrop.aRate),
      stableDropPValue: stableDrop.pValue,
    });
  }

  const labelsChanged = Math.max(
    significanceStrength(labelShift.pValue) * ramp(labelShift.totalVariation, 0.02, 0.15),
    ramp(unknownShare, 0.05, 0.3),
  );
  const modelUnchanged = predShift ? 1 - significanceStrength(predShift.pValue) * ramp(predShift.totalVariation, 0.02, 0.1) : 0.7;
  // A label shift that does not hurt agreement is a real-world base-rate change, not an incident cause.
  const dropFactor = accuracyDrop ? 0.3 + 0.7 * significanceStrength(accuracyDrop.pValue) : 0.6;
  const confidence = finalConfidence(labelsChanged * modelUnchanged * dropFactor * stableFactor);

  // The label whose share moved most, for the summary.
  const before = countBy(labelsBefore);
  const after = countBy(labelsAfter);
  let moved = { label: '', from: 0, to: 0 };
  for (const l of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = (before[l] ?? 0) / labelsBefore.length;
    const to = (after[l] ?? 0) / labelsAfter.length;
    if (Math.abs(to - from) > Math.abs(moved.to - moved.from)) moved = { label: l, from, to };
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const figures: Record<string, number | string> = {
    test: 'chi_square_homogeneity',
    labelsBefore: labelsBefore.length,
    labelsAfter: labelsAfter.length,
    labelChiSquare: roundFigure(labelShift.statistic),
    labelDf: labelShift.df,
    labelPValue: labelShift.pValue,
    labelTotalVariation: roundFigure(labelShift.totalVariation),
    mostShiftedLabel: moved.label,
    mostShiftedLabelShareBefore: roundFigure(moved.from),
    mostShiftedLabelShareAfter: roundFigure(moved.to),
    unknownLabelShare: roundFigure(unknownShare),
    ...stableFigures,
  };
  if (predShift) {
    Object.assign(figures, {
      predictionChiSquare: roundFigure(predShift.statistic),
      predictionPValue: predShift.pValue,
      predictionTotalVariation: roundFigure(predShift.totalVariation),
    });
  } else figures.predictions = 'not enough predictions to compare';
  if (accuracyDrop) {
    Object.assign(figures, {
      disagreementBefore: roundFigure(accuracyDrop.bRate),
      disagreementAfter: roundFigure(accuracyDrop.aRate),
      disagreementPValue: accuracyDrop.pValue,
    });
  }
  const tier = confidenceTier(confidence);
  const summary =
    tier !== 'none' && modelUnchanged > 0.5
      ? `${tier === 'strong' ? 'The labels changed, not the model' : 'The labels may have changed (weak evidence)'}: "${moved.label}" went from ${pct(moved.from)} to ${pct(moved.to)} of labels` +
        (predShift ? ` while the predictions' distribution stayed put (TV ${roundFigure(predShift.totalVariation)})` : '') +
        (accuracyDrop ? `, so disagreement rose from ${pct(accuracyDrop.bRate)} to ${pct(accuracyDrop.aRate)}` : '') +
        (unknown.length > 0 ? `; ${pct(unknownShare)} of new labels are values no version predicts` : '') +
        '.'
      : labelsChanged > 0
        ? `Labels shifted ("${moved.label}" ${pct(moved.from)} → ${pct(moved.to)}) but so did the predictions: more likely the model or its inputs changed than the labels.`
        : `Labels look unchanged across the onset (chi-square p = ${labelShift.pValue.toPrecision(2)}, total variation ${roundFigure(labelShift.totalVariation)}).`;
  return hypothesisOutcome(category, confidence, summary, { figures, timeRange: { from: ctx.onset, to: ctx.now }, sampleTraceIds: sampleIds(judgedAfter, wrong, ctx.options.maxSamples) });
}
