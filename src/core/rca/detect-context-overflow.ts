// prompt_context_overflow: failures concentrate in requests near or over the model's context
// window — explicit "context length exceeded" errors, or failures rising sharply with input size.
import type { Trace } from '../types.ts';
import { armOf } from './failure-judge.ts';
import { type DetectorOutcome, hypothesisOutcome, type RcaContext, sampleIds } from './rca-context.ts';
import { compareRates, quantile, ramp, roundFigure, significanceStrength } from './rca-stats.ts';
import { confidenceTier, finalConfidence } from './scoring.ts';

const CONTEXT_MESSAGE = /context[ _-]?(length|window)|maximum context|too many tokens|token limit|prompt is too long|input is too long/i;
const NEAR_LIMIT = 0.9;
const MIN_REQUESTS = 20;

export const isContextOverflowError = (t: Trace): boolean =>
  t.errorClass === 'context_length_exceeded' || (t.errorMessage !== undefined && CONTEXT_MESSAGE.test(t.errorMessage));

export function detectContextOverflow(ctx: RcaContext): DetectorOutcome {
  const category = 'prompt_context_overflow' as const;
  const traces = ctx.incident;
  if (traces.length < MIN_REQUESTS) return { category, notEvaluated: `only ${traces.length} requests in the incident window` };
  if (ctx.incidentFailures === 0) return { category, notEvaluated: 'no failed requests in the incident window' };

  // Tokens ≈ characters / 4 (input plus the version's own prompt) unless the upstream reported them.
  const tokensOf = (t: Trace): number => {
    if (t.promptTokens !== undefined) return t.promptTokens;
    const prompt = ctx.versions.get(armOf(t))?.prompt?.length ?? 0;
    return Math.ceil((t.inputChars + prompt) / 4);
  };
  const windowOf = (t: Trace): number | undefined => ctx.versions.get(armOf(t))?.upstream.contextWindow;
  const windowKnown = traces.some((t) => windowOf(t) !== undefined);

  let inGroup: (t: Trace) => boolean;
  let groupLabel: string;
  let threshold: number;
  if (windowKnown) {
    inGroup = (t) => {
      const w = windowOf(t);
      return w !== undefined && tokensOf(t) >= NEAR_LIMIT * w;
    };
    groupLabel = `≥ ${NEAR_LIMIT * 100}% of the context window`;
    threshold = NEAR_LIMIT;
  } else {
    // No known window: compare the longest tenth of inputs with the rest.
    const lengths = traces.map((t) => t.inputChars).sort((a, b) => a - b);
    threshold = quantile(lengths, 0.9);
    inGroup = (t) => t.inputChars > threshold;
    groupLabel = `longest 10% of inputs (> ${Math.round(threshold)} chars)`;
  }

  const group = traces.filter(inGroup);
  const rest = traces.filter((t) => !inGroup(t));
  const groupFailures = group.filter(ctx.failed).length;
  const restFailures = rest.filter(ctx.failed).length;
  const explicit = traces.filter((t) => ctx.failed(t) && isContextOverflowError(t));
  const test = compareRates(groupFailures, group.length, restFailures, rest.length);
  const explained = traces.filter((t) => ctx.failed(t) && (inGroup(t) || isContextOverflowError(t))).length;
  const coverage = explained / ctx.incidentFailures;

  // About 20 explicit context-length errors leave little doubt on their own.
  const explicitStrength = ramp(explicit.length, 1, 20);
  const strength = Math.max(significanceStrength(test.pValue), explicitStrength);
  // Without a known window or an explicit error, "long inputs fail more" has other explanations.
  const specificity = explicit.length > 0 || windowKnown ? 1 : 0.75;
  const confidence = finalConfidence(strength * (0.3 + 0.7 * coverage) * specificity);

  const windows = [...new Set(traces.map(windowOf).filter((w): w is number => w !== undefined))].sort((a, b) => a - b);
  const figures: Record<string, number | string> = {
    segment: groupLabel,
    test: 'fisher_exact_one_sided',
    segmentRequests: group.length,
    segmentFailures: groupFailures,
    segmentFailureRate: roundFigure(test.aRate),
    restRequests: rest.length,
    restFailures,
    restFailureRate: roundFigure(test.bRate),
    lift: roundFigure(test.lift),
    pValue: test.pValue,
    explicitContextErrors: explicit.length,
    shareOfFailures: roundFigure(coverage),
  };
  if (windows.length > 0) figures.contextWindowTokens = windows.join(', ');
  else figures.lengthThresholdChars = Math.round(threshold);
  const longest = group.length > 0 ? Math.max(...group.map(tokensOf)) : 0;
  if (longest > 0) figures.maxEstimatedTokens = longest;

  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rates = `requests ${groupLabel} fail ${pct(test.aRate)} of the time vs ${pct(test.bRate)} for the rest`;
  const explicitNote = explicit.length > 0 ? `, and ${explicit.length} failures say the context length was exceeded` : '';
  const tier = confidenceTier(confidence);
  const summary =
    tier === 'strong'
      ? `Inputs are overflowing the model's context window: ${rates}${explicitNote}.`
      : tier === 'weak'
        ? `Long inputs fail somewhat more often (${rates}${explicitNote}); a weak sign of context overflow.`
        : `No sign of context overflow: ${rates}, with ${explicit.length} context-length errors.`;
  return {
    ...hypothesisOutcome(category, confidence, summary, {
      figures,
      timeRange: { from: ctx.onset, to: ctx.now },
      sampleTraceIds: sampleIds(traces, (t) => ctx.failed(t) && (isContextOverflowError(t) || inGroup(t)), ctx.options.maxSamples),
    }),
    facts: { explicit: explicit.length },
  };
}
