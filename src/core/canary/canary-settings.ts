// How a canary judges a candidate against the stable arm. One set of numbers per deployment,
// stored with it, so every analysis can be re-read with the thresholds it was made under.
//
// The three outcomes of every monitor (compare-arms.ts):
//   breach            — an always-valid sequential test rejects "the candidate is no worse" at α,
//                       AND the effect is practically large (minEffect / minRatio): abort now;
//   ok                — enough data (minSamples) AND the candidate is confidently no worse than
//                       the stable arm plus a margin (a non-inferiority bound at `confidence`);
//   insufficient_data — anything else: too few requests, or neither verdict is supported yet.
// So an analysis never passes for lack of data: "ok" needs evidence of being no worse, not just
// the absence of evidence of being worse. A candidate that is 3 points worse on validity never
// gets "ok" (its upper bound stays above the margin) and is aborted once the test has the data.

/** Monitors an analysis runs; `required` ones must be ok before a step passes. */
export const CANARY_MONITORS = [
  'error-rate',
  'latency',
  'output-validity',
  'negative-feedback',
  'accuracy',
  'segment:input-length',
  'shadow-agreement',
] as const;
export type CanaryMonitorId = (typeof CANARY_MONITORS)[number];

export interface CanarySettings {
  /** Candidate requests (answers, ratings, labels for those monitors) before a monitor may say ok. */
  minSamples: number;
  /** Stable-arm samples before a monitor may say ok. */
  minBaselineSamples: number;
  /** Stable-arm samples before a monitor may breach (a comparison with 3 requests proves nothing). */
  minBreachBaseline: number;
  /** Level of each sequential test (per monitor; segments and quantiles split it Bonferroni-style). */
  alpha: number;
  /**
   * Mixture spreads of the two-sample mSPRT (rate units), mixed with equal weights: a canary must
   * catch both a 2-point validity regression and a 100%-failing segment quickly, and one spread
   * is slow for one of them (compare-arms.ts).
   */
  taus: number[];
  /** Confidence of the exact (Clopper–Pearson) bounds used by the effect gates and non-inferiority. */
  confidence: number;
  /** Non-inferiority margins (absolute rate points): "ok" needs upper bound − stable ≤ margin. */
  margins: { errors: number; validity: number; feedback: number; accuracy: number };
  /** A breach needs the candidate confidently worse by at least this (absolute) and 1.5× on the bad side. */
  minEffect: { absolute: number; relative: number };
  latency: {
    /** A quantile is slower when it is ≥ minRatio × the stable arm's … */
    minRatio: number;
    /** … and at least this many ms slower (sub-millisecond noise is not a regression). */
    minDeltaMs: number;
    quantiles: number[];
  };
  /** Input-length bucket edges in characters for the segment check. */
  inputLengthEdges: number[];
  /** Shadow phase: least share of answers that must agree with the stable arm's; unset = reported, not gated. */
  minShadowAgreement?: number;
  /** Monitors whose "ok" a step needs; the others can only abort (or inform). */
  required: CanaryMonitorId[];
}

export const DEFAULT_CANARY_SETTINGS: CanarySettings = {
  minSamples: 200,
  minBaselineSamples: 200,
  minBreachBaseline: 50,
  // α = 0.001 per monitor and per step: the runner looks every second, which the sequential test
  // allows, but 5 monitors × 4 steps share the false-abort budget (≤ 2% in the worst case).
  alpha: 0.001,
  taus: [0.02, 0.1],
  // 0.99 rather than 0.95: "ok" is taken at the first look where it holds, so its bound is
  // looked at every second too; at 0.95 a 3%-invalid candidate passed 2 of 40 simulated steps
  // on a lucky early stretch, at 0.99 none did (analyze-canary.test.ts simulates both).
  confidence: 0.99,
  margins: { errors: 0.02, validity: 0.02, feedback: 0.05, accuracy: 0.05 },
  minEffect: { absolute: 0.01, relative: 1.5 },
  // Both arms serve the same traffic at the same time, so a tighter ratio than a monitor's
  // (1.5 against history) is safe here: 1.2× at the median or p90, and ≥ 5 ms.
  latency: { minRatio: 1.2, minDeltaMs: 5, quantiles: [0.5, 0.9] },
  inputLengthEdges: [256, 1024, 4096, 16384],
  required: ['error-rate', 'latency', 'output-validity'],
};

/** A partial override; nested objects are merged field by field. */
export type CanarySettingsOverride = Partial<Omit<CanarySettings, 'margins' | 'minEffect' | 'latency'>> & {
  margins?: Partial<CanarySettings['margins']>;
  minEffect?: Partial<CanarySettings['minEffect']>;
  latency?: Partial<CanarySettings['latency']>;
};

/** Settings with a partial override (nested objects merged one level deep). */
export function canarySettings(over: CanarySettingsOverride = {}): CanarySettings {
  const d = DEFAULT_CANARY_SETTINGS;
  return {
    ...d,
    ...over,
    margins: { ...d.margins, ...over.margins },
    minEffect: { ...d.minEffect, ...over.minEffect },
    latency: { ...d.latency, ...over.latency },
    taus: [...(over.taus ?? d.taus)],
    inputLengthEdges: [...(over.inputLengthEdges ?? d.inputLengthEdges)],
    required: [...(over.required ?? d.required)],
  };
}
