// What each built-in monitor reads from a metric window (src/features/telemetry/metric-windows.ts).
// Pure functions of a window; the same ones serve the live runner, onset estimation (per-second
// windows) and replays over recorded traces.
//
// Families keep incidents apart (one incident per model + version + family):
//  - errors: failed upstream calls (5xx, connection, timeouts). Malformed answers are NOT errors
//    here even though the gateway counts them as failed attempts: they are an output-validity
//    problem, and counting them twice would open two incidents for one fault.
//  - validity: malformed or empty answers and validator failures, among answers that came back.
import type { LatencySketch } from '../../core/stats/latency-sketch.ts';
import { createSketch } from '../../core/stats/latency-sketch.ts';
import type { RateCounts } from '../../core/stats/sequential.ts';
import type { SignalFamily } from '../../core/detectors/detector-result.ts';
import { SKETCH_RELATIVE_ACCURACY, type MetricWindow, type WindowCounts } from '../telemetry/metric-windows.ts';
import type { MonitorId } from './monitor-config.ts';

export const MALFORMED = 'malformed_output';

type Counts = Pick<WindowCounts, 'requests' | 'errors' | 'timeouts' | 'invalid' | 'feedbackPositive' | 'feedbackNegative' | 'labelsCorrect' | 'labelsTotal'> & {
  errorClasses?: Record<string, number>;
};

export interface RateSignal {
  family: SignalFamily;
  /** 'increase': bad events (errors...); 'decrease': good events (correct labels). */
  direction: 'increase' | 'decrease';
  /** What the events are, for evidence text. */
  describe: string;
  counts(w: Counts): RateCounts;
  /** Events that hurt someone, for the impact scope (failed requests, wrong answers...). */
  bad(w: Counts): number;
}

const malformed = (w: Counts): number => w.errorClasses?.[MALFORMED] ?? 0;

export const RATE_SIGNALS: Partial<Record<MonitorId, RateSignal>> = {
  'error-rate': {
    family: 'errors',
    direction: 'increase',
    describe: 'failed upstream calls per request',
    counts: (w) => ({ events: Math.max(0, w.errors - malformed(w)), trials: w.requests }),
    bad: (w) => Math.max(0, w.errors - malformed(w)),
  },
  'timeout-rate': {
    // Same family as errors: a timeout storm and an error storm on one version are one incident.
    family: 'errors',
    direction: 'increase',
    describe: 'timeouts per request',
    counts: (w) => ({ events: w.timeouts, trials: w.requests }),
    bad: (w) => w.timeouts,
  },
  'output-validity': {
    family: 'validity',
    direction: 'increase',
    describe: 'invalid answers (malformed, empty, failed validators) per answer',
    counts: (w) => {
      // Answers that came back: requests minus calls that failed for other reasons.
      const answered = w.requests - Math.max(0, w.errors - malformed(w));
      return { events: Math.min(w.invalid, Math.max(answered, 0)), trials: Math.max(answered, 0) };
    },
    bad: (w) => w.invalid,
  },
  'negative-feedback': {
    family: 'feedback',
    direction: 'increase',
    describe: 'negative ratings per rating',
    counts: (w) => ({ events: w.feedbackNegative, trials: w.feedbackNegative + w.feedbackPositive }),
    bad: (w) => w.feedbackNegative,
  },
  accuracy: {
    family: 'accuracy',
    direction: 'decrease',
    describe: 'correct predictions per ground-truth label (labels count at their request time)',
    counts: (w) => ({ events: w.labelsCorrect, trials: w.labelsTotal }),
    bad: (w) => w.labelsTotal - w.labelsCorrect,
  },
};

const latencies = new WeakMap<MetricWindow, LatencySketch>();

/**
 * The window's latency sketch as the detectors' LatencySketch: a copy made once per window object
 * (windows are memoised per evaluation and baselines for longer, and detectors only read it).
 */
export function latencyOf(w: MetricWindow): LatencySketch {
  let sketch = latencies.get(w);
  if (!sketch) {
    sketch = createSketch(SKETCH_RELATIVE_ACCURACY);
    if (w.latency.count > 0) sketch.inner.merge(w.latency);
    latencies.set(w, sketch);
  }
  return sketch;
}

export interface DriftSignal {
  family: SignalFamily;
  /** 'compare': against the stable version's answers; 'history': against earlier traffic. */
  baseline: 'compare' | 'history';
  kind: 'numeric' | 'categorical';
  feature: string;
}

export const DRIFT_SIGNALS: Partial<Record<MonitorId, DriftSignal>> = {
  // Class shares of the answers: compared with what the stable version answers to the same traffic.
  'output-classes': { family: 'drift', baseline: 'compare', kind: 'categorical', feature: 'predicted class' },
  // Inputs drift over time whichever version serves them: compared with earlier traffic.
  'input-length': { family: 'drift', baseline: 'history', kind: 'numeric', feature: 'input length (chars)' },
  'input-features': { family: 'drift', baseline: 'history', kind: 'numeric', feature: 'feature' },
};

/** Requests that produced an answer (failed calls produce no output length). */
export const answered = (w: Pick<WindowCounts, 'requests' | 'errors'>): number => Math.max(0, w.requests - w.errors);

/** Mean output length (chars) per answer, NaN without answers. */
export function meanOutputChars(w: Pick<WindowCounts, 'requests' | 'errors' | 'outputChars'>): number {
  const n = answered(w);
  return n > 0 ? w.outputChars / n : NaN;
}

/** The first `max` numeric features of a window's feature samples, as columns. */
export function featureColumns(w: Pick<MetricWindow, 'features'>, max = 16): number[][] {
  const columns: number[][] = [];
  for (const row of w.features) {
    const n = Math.min(row.length, max);
    for (let j = 0; j < n; j++) {
      const v = row[j];
      if (!Number.isFinite(v)) continue;
      (columns[j] ??= []).push(v);
    }
  }
  return columns;
}
