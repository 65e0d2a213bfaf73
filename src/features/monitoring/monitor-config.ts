// `monitors:` in failsafe.yaml — global defaults (plus the runner's own knobs) at the top level,
// and the same per-monitor keys on a model, which override the defaults field by field:
//
//   monitors:                          # every key optional; no section at all works
//     intervalMs: 1000
//     error-rate: { absoluteThreshold: 0.05, windows: [2, 10, 60] }
//     latency: { thresholdsMs: { p99: 2000 } }
//   models:
//     - name: support-bot
//       monitors:
//         negative-feedback: { absoluteThreshold: 0.4 }
//         input-length: { enabled: false }
//
// Impossible values (negative thresholds, alpha outside (0,1), minSamples < 1, unknown fields)
// are refused at load with the path named. Resolution order for one monitor of one model:
// built-in defaults ← global section ← the model's section ← run-time tuning (applyTuning).
import { z } from 'zod';
import type { Severity } from '../../core/types.ts';
import type { DriftTest } from '../../core/detectors/drift-detector.ts';
import type { QuantileName } from '../../core/detectors/latency-detector.ts';

/** The built-in monitors; every live version of every model runs each one that is enabled. */
export const MONITOR_IDS = [
  'error-rate',
  'timeout-rate',
  'latency',
  'output-validity',
  'negative-feedback',
  'accuracy',
  'output-classes',
  'output-length',
  'input-length',
  'input-features',
] as const;
export type MonitorId = (typeof MONITOR_IDS)[number];

export type MonitorKind = 'rate' | 'latency' | 'drift' | 'mean';

/** The longest window or baseline span: the metric windows keep one hour of 1-second buckets. */
export const MAX_WINDOW_SECONDS = 3600;

const open01 = (what: string) => z.number().gt(0, `${what} must be > 0`).lt(1, `${what} must be < 1`);
const windowSeconds = z.number().int('expected whole seconds').min(1).max(MAX_WINDOW_SECONDS);

// Shared by every kind. `.optional()` everywhere: the same schema validates config sections and
// tuning patches; resolution fills the gaps from the defaults below.
const commonShape = {
  enabled: z.boolean().optional(),
  /** Sliding windows (seconds) judged every evaluation; a breach in any one is a breach. */
  windows: z.array(windowSeconds).min(1).max(8).optional(),
  /** Fewest samples (requests, ratings, labels, values) in a window before anything is concluded. */
  minSamples: z.number().int().min(1, 'minSamples must be ≥ 1').optional(),
  /** Fewest samples a baseline needs to be compared with. */
  minBaselineSamples: z.number().int().min(1, 'minBaselineSamples must be ≥ 1').optional(),
  /** `auto`: compare with the stable version (or the version's own earlier traffic); `none`: absolute thresholds only. */
  baseline: z.enum(['auto', 'none']).optional(),
  /** Span of the baseline window in seconds. */
  baselineSeconds: windowSeconds.optional(),
  /** Evaluations in a row that must breach before an incident opens (1 = the first). */
  consecutiveBreaches: z.number().int().min(1).max(600).optional(),
};

export const rateSettingsSchema = z.strictObject({
  ...commonShape,
  alpha: open01('alpha').optional(),
  confidence: open01('confidence').optional(),
  /** Rate beyond which a window breaches on its own (its exact confidence bound must be beyond); null turns it off. */
  absoluteThreshold: z.number().min(0, 'absoluteThreshold must be ≥ 0').max(1, 'absoluteThreshold must be ≤ 1').nullable().optional(),
  minEffect: z
    .strictObject({
      absolute: z.number().min(0, 'minEffect.absolute must be ≥ 0').max(1).optional(),
      relative: z.number().min(1, 'minEffect.relative must be ≥ 1').optional(),
    })
    .optional(),
  tau: z.number().gt(0).max(1).optional(),
});

const quantileLimit = z.number().gt(0, 'a latency threshold must be > 0');
export const latencySettingsSchema = z.strictObject({
  ...commonShape,
  alpha: open01('alpha').optional(),
  confidence: open01('confidence').optional(),
  /** Absolute limits in ms, e.g. { p99: 2000 }; null turns them off. */
  thresholdsMs: z
    .strictObject({ p50: quantileLimit.optional(), p90: quantileLimit.optional(), p95: quantileLimit.optional(), p99: quantileLimit.optional(), p999: quantileLimit.optional() })
    .nullable()
    .optional(),
  minRatio: z.number().min(1, 'minRatio must be ≥ 1').optional(),
  /** Smallest slowdown in ms that counts, on top of minRatio. */
  minDeltaMs: z.number().min(0, 'minDeltaMs must be ≥ 0').optional(),
  quantiles: z.array(open01('a quantile')).min(1).max(6).optional(),
});

export const driftSettingsSchema = z.strictObject({
  ...commonShape,
  test: z.enum(['psi', 'ks', 'js']).optional(),
  /** PSI / JS distance at or above which drift is declared; for KS the p-value level. */
  threshold: z.number().gt(0, 'threshold must be > 0').optional(),
  /** KS only: smallest D statistic that counts. */
  minStatistic: z.number().min(0).max(1).optional(),
  /** Level of the significance gate (chi-square for PSI/JS). */
  alpha: open01('alpha').optional(),
  bins: z.number().int().min(2).max(100).optional(),
});

export const meanSettingsSchema = z.strictObject({
  ...commonShape,
  /** Level of the Mann–Whitney test on batch means. */
  alpha: open01('alpha').optional(),
  /** Smallest change of the mean, as a ratio either way (1.5: ×1.5 or ÷1.5). */
  minRatio: z.number().gt(1, 'minRatio must be > 1').optional(),
  /** Sub-windows (batches) each window is cut into for the batch-means test. */
  batches: z.number().int().min(4).max(60).optional(),
});

export type RateSettingsPatch = z.infer<typeof rateSettingsSchema>;
export type LatencySettingsPatch = z.infer<typeof latencySettingsSchema>;
export type DriftSettingsPatch = z.infer<typeof driftSettingsSchema>;
export type MeanSettingsPatch = z.infer<typeof meanSettingsSchema>;
export type MonitorSettingsPatch = RateSettingsPatch | LatencySettingsPatch | DriftSettingsPatch | MeanSettingsPatch;

export const MONITOR_KINDS: Record<MonitorId, MonitorKind> = {
  'error-rate': 'rate',
  'timeout-rate': 'rate',
  latency: 'latency',
  'output-validity': 'rate',
  'negative-feedback': 'rate',
  accuracy: 'rate',
  'output-classes': 'drift',
  'output-length': 'mean',
  'input-length': 'drift',
  'input-features': 'drift',
};

const SCHEMA_OF_KIND = {
  rate: rateSettingsSchema,
  latency: latencySettingsSchema,
  drift: driftSettingsSchema,
  mean: meanSettingsSchema,
} as const;

/** The zod schema of one monitor's settings (config sections and tuning patches). */
export function settingsSchemaFor(id: MonitorId): z.ZodType<MonitorSettingsPatch> {
  return SCHEMA_OF_KIND[MONITOR_KINDS[id]] as z.ZodType<MonitorSettingsPatch>;
}

export const isMonitorId = (x: string): x is MonitorId => (MONITOR_IDS as readonly string[]).includes(x);

// Per-monitor sections, keyed by id (strict: a misspelt monitor id is an error, not a no-op).
const monitorSectionsShape = {
  'error-rate': rateSettingsSchema.optional(),
  'timeout-rate': rateSettingsSchema.optional(),
  latency: latencySettingsSchema.optional(),
  'output-validity': rateSettingsSchema.optional(),
  'negative-feedback': rateSettingsSchema.optional(),
  accuracy: rateSettingsSchema.optional(),
  'output-classes': driftSettingsSchema.optional(),
  'output-length': meanSettingsSchema.optional(),
  'input-length': driftSettingsSchema.optional(),
  'input-features': driftSettingsSchema.optional(),
};

const severityEnum = z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']);

/** A model's `monitors:`: per-monitor overrides of the global defaults. */
export const modelMonitorsConfigSchema = z.strictObject({
  /** Turn every monitor of this model off (e.g. a model nobody pages for). */
  enabled: z.boolean().optional(),
  ...monitorSectionsShape,
});

/** The top-level `monitors:` section: the runner's knobs and every monitor's defaults. */
export const monitorsConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often every monitor of every live version is evaluated. */
  intervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** How often a replica that is not the leader tries to take the leader lock (PostgreSQL). */
  leaderRetryMs: z.number().int().min(100).max(600_000).default(5000),
  /** Baseline windows change slowly; they are recomputed at most this often. */
  baselineRefreshSeconds: z.number().int().min(1).max(600).default(10),
  /** Severity from magnitude, per family (see src/core/detectors/severity.ts); merged over the defaults family by family. */
  severityRules: z
    .record(z.string().min(1), z.array(z.strictObject({ atLeast: z.number().min(0, 'atLeast must be ≥ 0'), severity: severityEnum })).min(1))
    .optional(),
  ...monitorSectionsShape,
});

export type MonitorsConfig = z.output<typeof monitorsConfigSchema>;
export type ModelMonitorsConfig = z.output<typeof modelMonitorsConfigSchema>;

// ------------------------------------------------------------------------------------------
// Resolved settings

interface CommonSettings {
  enabled: boolean;
  windows: number[];
  minSamples: number;
  minBaselineSamples: number;
  baseline: 'auto' | 'none';
  baselineSeconds: number;
  consecutiveBreaches: number;
}

export interface RateSettings extends CommonSettings {
  alpha: number;
  confidence: number;
  absoluteThreshold: number | null;
  minEffect: { absolute: number; relative: number };
  tau: number;
}

export interface LatencySettings extends CommonSettings {
  alpha: number;
  confidence: number;
  thresholdsMs: Partial<Record<QuantileName, number>> | null;
  minRatio: number;
  minDeltaMs: number;
  quantiles: number[];
}

export interface DriftSettings extends CommonSettings {
  test: DriftTest;
  /** Unset: the detector's default for the test (PSI 0.1, JS 0.1, KS p 0.01). */
  threshold?: number;
  minStatistic: number;
  alpha: number;
  bins: number;
}

export interface MeanSettings extends CommonSettings {
  alpha: number;
  minRatio: number;
  batches: number;
}

export type MonitorSettings = RateSettings | LatencySettings | DriftSettings | MeanSettings;

export interface SettingsOf {
  rate: RateSettings;
  latency: LatencySettings;
  drift: DriftSettings;
  mean: MeanSettings;
}

// Hard-fault monitors look at short windows (detected within 2 s) and a minute; subtle signals
// (feedback, labels, drift) at minutes, where their samples accumulate.
const HARD_FAULT_WINDOWS = [2, 10, 60];

// Ten requests are enough to conclude on hard faults: every check is judged on an exact 99.9%
// bound (ten healthy requests at 0.5% errors never show 4 failures), and at 10 req/s a 2 s window
// holds about twenty.
const HARD_FAULT_MIN_SAMPLES = 10;

// What the hard-fault monitors (error, timeout and validity rates, latency) share.
const HARD_FAULT_DEFAULTS: CommonSettings & { alpha: number; confidence: number } = {
  enabled: true,
  windows: HARD_FAULT_WINDOWS,
  minSamples: HARD_FAULT_MIN_SAMPLES,
  minBaselineSamples: 100,
  baseline: 'auto',
  baselineSeconds: 300,
  consecutiveBreaches: 1,
  // α and confidence as in rate-detector.ts: sliding windows every second need small per-look errors.
  alpha: 0.001,
  confidence: 0.999,
};

const rateDefaults = (over: Partial<RateSettings>): RateSettings => ({
  ...HARD_FAULT_DEFAULTS,
  absoluteThreshold: 0.05,
  minEffect: { absolute: 0.01, relative: 1.5 },
  tau: 0.1,
  ...over,
});

const driftDefaults = (over: Partial<DriftSettings>): DriftSettings => ({
  enabled: true,
  windows: [60, 300],
  // PSI is biased upwards in small samples (two samples of 200 from one distribution: PSI ≥ 0.1 in
  // a third of draws); a thousand reference values keep the bias near 0.01.
  minSamples: 300,
  minBaselineSamples: 1000,
  baseline: 'auto',
  baselineSeconds: 600,
  consecutiveBreaches: 1,
  test: 'psi',
  minStatistic: 0.1,
  // Drift is judged every second over overlapping windows, on several features: a small level.
  alpha: 0.0001,
  bins: 10,
  ...over,
});

export const BUILTIN_MONITOR_DEFAULTS: { [K in MonitorId]: SettingsOf[(typeof MONITOR_KINDS)[K]] } = {
  'error-rate': rateDefaults({}),
  'timeout-rate': rateDefaults({}),
  latency: {
    ...HARD_FAULT_DEFAULTS,
    thresholdsMs: null,
    minRatio: 1.5,
    // A version is judged against its own past, so a busier host shows as a slowdown: at a few ms,
    // ×1.5 is that noise (a soak at 1,500 req/s once moved p50 1.2 → 1.9 ms and p99 4 → 11 ms).
    // The canary compares arms side by side, under the same load, and needs only 5 ms.
    minDeltaMs: 10,
    quantiles: [0.5, 0.95, 0.99],
  },
  'output-validity': rateDefaults({}),
  // Thumbs-down on 30% of rated answers is bad whatever the baseline; a doubling is bad too.
  'negative-feedback': rateDefaults({
    windows: [60, 300],
    minSamples: 20,
    minBaselineSamples: 50,
    baselineSeconds: 600,
    absoluteThreshold: 0.3,
    minEffect: { absolute: 0.05, relative: 1.5 },
  }),
  // Labels arrive late and few: long windows; no absolute floor (what is "accurate" is per model).
  accuracy: rateDefaults({
    windows: [300, 1800],
    minSamples: 30,
    minBaselineSamples: 50,
    baselineSeconds: 1800,
    absoluteThreshold: null,
    minEffect: { absolute: 0.02, relative: 1.5 },
  }),
  'output-classes': driftDefaults({}),
  'output-length': {
    enabled: true,
    windows: [60, 300],
    minSamples: 100,
    minBaselineSamples: 200,
    baseline: 'auto',
    baselineSeconds: 600,
    consecutiveBreaches: 1,
    alpha: 0.001,
    minRatio: 1.5,
    batches: 10,
  },
  'input-length': driftDefaults({}),
  // Feature samples are sparser (a few rows per second are kept): longer windows.
  'input-features': driftDefaults({ windows: [120, 600] }),
};

/** Merges patches over a base, one level deep for nested objects (minEffect, thresholdsMs). */
function applyPatch<T extends MonitorSettings>(base: T, patch: MonitorSettingsPatch | undefined): T {
  if (!patch) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const current = out[key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)) {
      out[key] = { ...current, ...value };
    } else out[key] = value;
  }
  return out as T;
}

/**
 * One monitor's settings for one model: built-in defaults ← global section ← the model's section
 * ← run-time tuning. A model whose section says `enabled: false` has every monitor off.
 */
export function resolveMonitorSettings(
  id: MonitorId,
  global: Partial<MonitorsConfig> | undefined,
  model: ModelMonitorsConfig | undefined,
  tuning?: MonitorSettingsPatch,
): MonitorSettings {
  let s: MonitorSettings = BUILTIN_MONITOR_DEFAULTS[id];
  s = applyPatch(s, global?.[id]);
  s = applyPatch(s, model?.[id]);
  s = applyPatch(s, tuning);
  if (model?.enabled === false || global?.enabled === false) s = { ...s, enabled: false };
  return { ...s, windows: [...new Set(s.windows)].sort((a, b) => a - b) };
}

export type SeverityRulesConfig = Record<string, ReadonlyArray<{ atLeast: number; severity: Severity }>>;

/** Validates a tuning patch for a monitor; throws zod's error (callers map it to VALIDATION_FAILED). */
export function parseSettingsPatch(id: MonitorId, patch: unknown): MonitorSettingsPatch {
  return settingsSchemaFor(id).parse(patch);
}
