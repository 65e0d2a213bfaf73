// One look at a canary step: every monitor compares the candidate with the stable arm over the
// step so far, and the verdicts fold into a decision:
//   breach            — any monitor breached (required or not): abort;
//   pass              — every required monitor is ok (enough data, confidently no worse) and no
//                       other monitor holds the step (a suspect input-length bucket);
//   insufficient_data — otherwise: keep waiting (never a pass for lack of data).
import type { LatencySketch } from '../stats/latency-sketch.ts';
import type { CanaryMonitorId, CanarySettings } from './canary-settings.ts';
import {
  compareAgreement,
  compareLatency,
  compareRates,
  compareSegments,
  type CanaryMonitorResult,
  type SegmentCounts,
} from './compare-arms.ts';

/** What one arm did over the step: counts as the gateway's metric windows keep them. */
export interface ArmCounts {
  requests: number;
  /** Failed upstream calls (malformed answers included, as the windows count them). */
  errors: number;
  /** Malformed answers (error class malformed_output): a validity problem, not an error. */
  malformed: number;
  /** Malformed, empty or validator-failed answers. */
  invalid: number;
  feedbackPositive: number;
  feedbackNegative: number;
  labelsCorrect: number;
  labelsTotal: number;
}

export interface ArmSample {
  counts: ArmCounts;
  latency: LatencySketch;
  /** Requests and failures per input-length bucket (from traces); absent when not measured. */
  segments?: Record<string, SegmentCounts>;
}

export interface CanaryAnalysisInput {
  candidate: ArmSample;
  stable: ArmSample;
  settings: CanarySettings;
  /** Shadow phase only: answer agreement between the shadow copy and the stable answer. */
  shadow?: { pairs: number; agreements: number; captured: boolean };
  /** Running minimum p-values of earlier looks at this step (the `pValues` of the last analysis). */
  previousPValues?: Record<string, number>;
}

export type CanaryDecision = 'pass' | 'breach' | 'insufficient_data';

export interface CanaryAnalysis {
  decision: CanaryDecision;
  /** One line: the breach with its numbers, or what is missing ("insufficient data: error-rate n=12 < 200"). */
  reason: string;
  monitors: CanaryMonitorResult[];
  /** Pass back as previousPValues on the next look at the same step. */
  pValues: Record<string, number>;
}

export const errorCounts = (c: ArmCounts) => ({ events: Math.max(0, c.errors - c.malformed), trials: c.requests });

export function validityCounts(c: ArmCounts) {
  // Answers that came back: requests minus calls that failed for reasons other than a malformed answer.
  const answered = Math.max(0, c.requests - Math.max(0, c.errors - c.malformed));
  return { events: Math.min(c.invalid, answered), trials: answered };
}

export function analyzeCanary(input: CanaryAnalysisInput): CanaryAnalysis {
  const s = input.settings;
  const prev = input.previousPValues ?? {};
  const required = (id: CanaryMonitorId) => s.required.includes(id);
  const c = input.candidate.counts;
  const b = input.stable.counts;
  const monitors: CanaryMonitorResult[] = [];

  monitors.push(
    compareRates({
      monitor: 'error-rate',
      family: 'errors',
      direction: 'increase',
      describe: 'failed calls',
      candidate: errorCounts(c),
      stable: errorCounts(b),
      settings: s,
      margin: s.margins.errors,
      required: required('error-rate'),
      previousPValue: prev['error-rate'],
    }),
  );
  const latencyPrev: Record<string, number> = {};
  for (const q of s.latency.quantiles) if (prev[`latency#${q}`] !== undefined) latencyPrev[String(q)] = prev[`latency#${q}`];
  const latency = compareLatency({ candidate: input.candidate.latency, stable: input.stable.latency, settings: s, required: required('latency'), previousPValues: latencyPrev });
  monitors.push(latency);
  monitors.push(
    compareRates({
      monitor: 'output-validity',
      family: 'validity',
      direction: 'increase',
      describe: 'invalid answers',
      candidate: validityCounts(c),
      stable: validityCounts(b),
      settings: s,
      margin: s.margins.validity,
      required: required('output-validity'),
      previousPValue: prev['output-validity'],
    }),
  );
  monitors.push(
    sparse(
      compareRates({
        monitor: 'negative-feedback',
        family: 'feedback',
        direction: 'increase',
        describe: 'negative ratings',
        candidate: { events: c.feedbackNegative, trials: c.feedbackNegative + c.feedbackPositive },
        stable: { events: b.feedbackNegative, trials: b.feedbackNegative + b.feedbackPositive },
        settings: s,
        margin: s.margins.feedback,
        required: required('negative-feedback'),
        previousPValue: prev['negative-feedback'],
      }),
      'ratings',
    ),
  );
  monitors.push(
    sparse(
      compareRates({
        monitor: 'accuracy',
        family: 'accuracy',
        direction: 'decrease',
        describe: 'correct labels',
        candidate: { events: c.labelsCorrect, trials: c.labelsTotal },
        stable: { events: b.labelsCorrect, trials: b.labelsTotal },
        settings: s,
        margin: s.margins.accuracy,
        required: required('accuracy'),
        previousPValue: prev.accuracy,
      }),
      'labels',
    ),
  );
  if (input.candidate.segments && input.stable.segments) {
    const segPrev: Record<string, number> = {};
    for (const [k, v] of Object.entries(prev)) if (k.startsWith('segment#')) segPrev[k.slice('segment#'.length)] = v;
    monitors.push(
      compareSegments({ candidate: input.candidate.segments, stable: input.stable.segments, settings: s, required: required('segment:input-length'), previousPValues: segPrev }),
    );
  }
  if (input.shadow) monitors.push(compareAgreement({ ...input.shadow, settings: s }));

  const pValues: Record<string, number> = {};
  for (const m of monitors) {
    if (m.monitor === 'latency') {
      for (const q of m.quantiles ?? []) if (q.pValue !== undefined) pValues[`latency#${q.quantile}`] = q.pValue;
    } else if (m.monitor === 'segment:input-length') {
      for (const g of m.segments ?? []) if (g.pValue !== undefined) pValues[`segment#${g.segment}`] = g.pValue;
    } else if (m.pValue !== undefined) pValues[m.monitor] = m.pValue;
  }

  const breaches = monitors.filter((m) => m.status === 'breach');
  if (breaches.length > 0) {
    return { decision: 'breach', reason: breaches.map((m) => `${m.monitor} breach: ${m.summary} (${m.detail})`).join('; '), monitors, pValues };
  }
  const waiting = monitors.filter((m) => (m.required || m.holds) && m.status !== 'ok');
  if (waiting.length === 0) {
    const n = monitors.find((m) => m.monitor === 'error-rate')!;
    return { decision: 'pass', reason: `all required monitors ok (candidate n=${n.nCandidate}, stable n=${n.nStable})`, monitors, pValues };
  }
  return { decision: 'insufficient_data', reason: `insufficient data: ${waiting.map((m) => `${m.monitor} ${m.summary}`).join(', ')}`, monitors, pValues };
}

/**
 * Ratings and labels are sparse and late (labels can come hours later, after promotion, where the
 * monitors judge them): unless required, too few of them is "skipped", not a reason to wait.
 */
function sparse(r: CanaryMonitorResult, what: string): CanaryMonitorResult {
  if (r.required || r.status !== 'insufficient_data') return r;
  if (r.nCandidate === 0 && r.nStable === 0) return { ...r, status: 'skipped', summary: `no ${what}`, detail: `no ${what} on either arm in this step` };
  return { ...r, status: 'skipped', detail: `${r.detail} (not required: judged when enough ${what} arrive)` };
}
