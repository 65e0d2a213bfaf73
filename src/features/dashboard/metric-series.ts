// Per-version time series for the dashboard's charts, read from the gateway's 1-second metric
// windows. Each point merges `stepSeconds` buckets, so a long window still draws ~300 points.
// Rates and quantiles of a point with no requests are null (a gap in the chart, not a zero).
import type { EpochMs } from '../../core/types.ts';
import { sketchQuantile, type MetricWindow } from '../telemetry/metric-windows.ts';

/** The part of MetricWindows the dashboard reads. */
export interface WindowsReader {
  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs, options?: { shadow?: boolean }): MetricWindow;
  versions(): Array<{ model: string; version: string; shadow: boolean; lastAt: EpochMs }>;
}

export interface SeriesSummary {
  requests: number;
  errors: number;
  /** errors / requests, null without requests. */
  errorRate: number | null;
  /** Requests per second over the summary's span. */
  rps: number;
  p50: number | null;
  p95: number | null;
  feedbackPositive: number;
  feedbackNegative: number;
  fallbacks: number;
  invalid: number;
}

export interface VersionSeries {
  version: string;
  shadow: boolean;
  requests: number[];
  errors: number[];
  errorRate: Array<number | null>;
  p50: Array<number | null>;
  p95: Array<number | null>;
  feedbackPositive: number[];
  feedbackNegative: number[];
  /** The whole window. */
  total: SeriesSummary;
  /** The last `recentSeconds` (live traffic). */
  recent: SeriesSummary;
}

export interface MetricSeries {
  model: string;
  from: string;
  to: string;
  stepSeconds: number;
  recentSeconds: number;
  /** Start of each point, epoch seconds (what uPlot wants on its x axis). */
  t: number[];
  versions: VersionSeries[];
}

export interface SeriesRequest {
  model: string;
  /** Versions to include even without data (those in the route), in display order. */
  versions: string[];
  fromMs: EpochMs;
  toMs: EpochMs;
  /** Seconds per point; default chosen so the window has at most `maxPoints`. */
  stepSeconds?: number;
  maxPoints?: number;
  recentSeconds?: number;
}

const round = (v: number | undefined, digits = 2): number | null => {
  if (v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

function summarize(w: MetricWindow, seconds: number): SeriesSummary {
  return {
    requests: w.requests,
    errors: w.errors,
    errorRate: w.requests > 0 ? round(w.errors / w.requests, 4) : null,
    rps: round(seconds > 0 ? w.requests / seconds : 0) ?? 0,
    p50: round(sketchQuantile(w.latency, 0.5)),
    p95: round(sketchQuantile(w.latency, 0.95)),
    feedbackPositive: w.feedbackPositive,
    feedbackNegative: w.feedbackNegative,
    fallbacks: w.fallbacks,
    invalid: w.invalid,
  };
}

export function buildMetricSeries(windows: WindowsReader, req: SeriesRequest): MetricSeries {
  const maxPoints = req.maxPoints ?? 300;
  const fromSec = Math.floor(req.fromMs / 1000);
  const toSec = Math.max(fromSec + 1, Math.ceil(req.toMs / 1000));
  const span = toSec - fromSec;
  const step = Math.max(1, Math.floor(req.stepSeconds ?? Math.ceil(span / maxPoints)));
  const start = Math.floor(fromSec / step) * step;
  const points = Math.ceil((toSec - start) / step);
  const recentSeconds = req.recentSeconds ?? 10;

  const t: number[] = [];
  for (let i = 0; i < points; i++) t.push(start + i * step);

  // Versions with data in the ring come after the requested ones, so a version that stopped
  // getting traffic (isolated, rolled back) still shows its history.
  const wanted: Array<{ version: string; shadow: boolean }> = req.versions.map((version) => ({ version, shadow: false }));
  const seen = new Set(req.versions);
  for (const v of windows.versions()) {
    if (v.model !== req.model || v.lastAt < start * 1000) continue;
    const key = v.shadow ? `${v.version}\u0000shadow` : v.version;
    if (seen.has(key)) continue;
    seen.add(key);
    wanted.push({ version: v.version, shadow: v.shadow });
  }

  const versions = wanted.map(({ version, shadow }): VersionSeries => {
    const s: VersionSeries = {
      version,
      shadow,
      requests: [],
      errors: [],
      errorRate: [],
      p50: [],
      p95: [],
      feedbackPositive: [],
      feedbackNegative: [],
      total: summarize(windows.snapshot(req.model, version, start * 1000, toSec * 1000, { shadow }), span),
      recent: summarize(windows.snapshot(req.model, version, (toSec - recentSeconds) * 1000, toSec * 1000, { shadow }), recentSeconds),
    };
    for (const sec of t) {
      const w = windows.snapshot(req.model, version, sec * 1000, (sec + step) * 1000, { shadow });
      s.requests.push(w.requests);
      s.errors.push(w.errors);
      s.errorRate.push(w.requests > 0 ? round(w.errors / w.requests, 4) : null);
      s.p50.push(round(sketchQuantile(w.latency, 0.5)));
      s.p95.push(round(sketchQuantile(w.latency, 0.95)));
      s.feedbackPositive.push(w.feedbackPositive);
      s.feedbackNegative.push(w.feedbackNegative);
    }
    return s;
  });

  return {
    model: req.model,
    from: new Date(start * 1000).toISOString(),
    to: new Date(toSec * 1000).toISOString(),
    stepSeconds: step,
    recentSeconds,
    t,
    versions,
  };
}
