// Synthetic traffic written straight into metric windows, one simulated second at a time, with
// the noise real traffic has: the request rate wanders (20–200 req/s in log space), error and
// negative-feedback rates jitter per second, the latency median jitters, inputs and outputs vary
// in length, labels arrive up to minutes late (counted at their request's time). Faults can be
// switched on per version. Used by the false-alarm test ("no false incident in an hour of healthy,
// noisy traffic") and by bench/detect.ts; seeded, so every run of a seed is the same traffic.
import type { EpochMs } from '../../core/types.ts';
import { createRandom, deriveSeed, type Random } from '../../core/stats/random.ts';
import type { MetricWindows } from '../telemetry/metric-windows.ts';

export interface TrafficProfile {
  minRps: number;
  maxRps: number;
  errorRate: number;
  /** sd of the log of the per-second multiplicative jitter of error-like rates. */
  rateJitter: number;
  timeoutRate: number;
  invalidRate: number;
  latencyMedianMs: number;
  latencySigma: number;
  /** sd of the log of the per-second jitter of the latency median. */
  latencyDrift: number;
  inputMedianChars: number;
  inputSigma: number;
  outputMedianChars: number;
  outputSigma: number;
  /** Share of answers rated, and the share of ratings that are negative. */
  ratedShare: number;
  negativeShare: number;
  /** Predict models: share of requests that get a ground-truth label, accuracy, label delay. */
  labelledShare: number;
  accuracy: number;
  maxLabelDelaySeconds: number;
  /** Predict models: share of the `positive` class and the number of numeric features. */
  positiveShare: number;
  features: number;
}

export const HEALTHY_PROFILE: TrafficProfile = {
  minRps: 20,
  maxRps: 200,
  errorRate: 0.005,
  rateJitter: 0.3,
  timeoutRate: 0.001,
  invalidRate: 0.003,
  latencyMedianMs: 120,
  latencySigma: 0.5,
  latencyDrift: 0.05,
  inputMedianChars: 400,
  inputSigma: 0.6,
  outputMedianChars: 600,
  outputSigma: 0.5,
  ratedShare: 0.1,
  negativeShare: 0.08,
  labelledShare: 0.2,
  accuracy: 0.9,
  maxLabelDelaySeconds: 120,
  positiveShare: 0.5,
  features: 4,
};

/** Faults of one version, applied from the second they are set. */
export interface VersionFault {
  errorRate?: number;
  timeoutRate?: number;
  invalidRate?: number;
  latencyFactor?: number;
  negativeShare?: number;
  accuracy?: number;
  /** Multiplies input lengths (input drift). */
  inputFactor?: number;
  /** Added to every numeric feature (feature drift). */
  featureShift?: number;
  /** Multiplies output lengths. */
  outputFactor?: number;
  /** Share of the positive class. */
  positiveShare?: number;
}

export interface SyntheticModel {
  name: string;
  kind: 'chat' | 'predict';
  /** version → share of the traffic (shares sum to 1). */
  split: Record<string, number>;
  profile?: Partial<TrafficProfile>;
}

interface PendingLabel {
  due: number;
  model: string;
  version: string;
  requestAt: EpochMs;
  correct: boolean;
}

export interface SecondStats {
  requests: number;
  byVersion: Record<string, number>;
}

export class SyntheticTraffic {
  private readonly random: Random;
  private readonly profiles: Map<string, TrafficProfile>;
  private readonly logRps: Map<string, number>;
  private readonly faults = new Map<string, VersionFault>();
  private pending: PendingLabel[] = [];
  requests = 0;

  constructor(
    private readonly windows: MetricWindows,
    private readonly models: readonly SyntheticModel[],
    seed: number,
  ) {
    this.random = createRandom(deriveSeed(seed, 'synthetic-traffic'));
    this.profiles = new Map(models.map((m) => [m.name, { ...HEALTHY_PROFILE, ...m.profile }]));
    this.logRps = new Map(models.map((m) => {
      const p = this.profiles.get(m.name)!;
      return [m.name, this.random.uniform(Math.log(p.minRps), Math.log(p.maxRps))];
    }));
  }

  /** Sets (or with undefined clears) the faults of one version from now on. */
  setFault(model: string, version: string, fault: VersionFault | undefined): void {
    if (fault) this.faults.set(`${model}\u0000${version}`, fault);
    else this.faults.delete(`${model}\u0000${version}`);
  }

  /** Writes one second of traffic starting at `second` (epoch ms of a whole second) and delivers due labels. */
  second(second: EpochMs): SecondStats {
    const stats: SecondStats = { requests: 0, byVersion: {} };
    for (const m of this.models) this.modelSecond(m, second, stats);
    const now = second + 1000;
    const due = this.pending.filter((l) => l.due <= now);
    if (due.length) {
      this.pending = this.pending.filter((l) => l.due > now);
      for (const l of due) this.windows.recordFeedback({ model: l.model, version: l.version, requestAt: l.requestAt, correct: l.correct });
    }
    return stats;
  }

  private modelSecond(m: SyntheticModel, second: EpochMs, stats: SecondStats): void {
    const p = this.profiles.get(m.name)!;
    const r = this.random;
    const lo = Math.log(p.minRps);
    const hi = Math.log(p.maxRps);
    const logRps = Math.min(hi, Math.max(lo, this.logRps.get(m.name)! + r.normal(0, 0.05)));
    this.logRps.set(m.name, logRps);
    const n = r.poisson(Math.exp(logRps));
    // Mean-preserving log-normal jitter of this second's bad-event rates and latency median.
    const jitter = (): number => Math.exp(r.normal(-0.5 * p.rateJitter ** 2, p.rateJitter));
    const errorJ = jitter();
    const negativeJ = jitter();
    const latencyJ = r.normal(0, p.latencyDrift);
    const versions = Object.entries(m.split);
    for (let i = 0; i < n; i++) {
      let u = r.next();
      let version = versions[versions.length - 1][0];
      for (const [v, share] of versions) {
        if (u < share) {
          version = v;
          break;
        }
        u -= share;
      }
      const f = this.faults.get(`${m.name}\u0000${version}`) ?? {};
      const at = second + Math.floor(r.next() * 1000);
      const timeout = r.bernoulli(Math.min(1, f.timeoutRate ?? p.timeoutRate * errorJ));
      const error = timeout || r.bernoulli(Math.min(1, f.errorRate ?? p.errorRate * errorJ));
      const latencyMs = timeout
        ? 30_000
        : r.lognormal(Math.log(p.latencyMedianMs * (f.latencyFactor ?? 1)) + latencyJ, p.latencySigma);
      const inputChars = Math.max(1, Math.round(r.lognormal(Math.log(p.inputMedianChars * (f.inputFactor ?? 1)), p.inputSigma)));
      const features = m.kind === 'predict' ? Array.from({ length: p.features }, () => r.normal(f.featureShift ?? 0, 1)) : undefined;
      if (error) {
        this.windows.record({ model: m.name, version, at, latencyMs, ok: false, errorClass: timeout ? 'timeout' : 'upstream_5xx', inputChars, features });
        continue;
      }
      const invalid = r.bernoulli(Math.min(1, f.invalidRate ?? p.invalidRate * errorJ));
      const outputChars =
        m.kind === 'chat'
          ? Math.max(1, Math.round(r.lognormal(Math.log(p.outputMedianChars * (f.outputFactor ?? 1)), p.outputSigma)))
          : 30;
      const prediction = m.kind === 'predict' ? (r.bernoulli(f.positiveShare ?? p.positiveShare) ? 'positive' : 'negative') : undefined;
      this.windows.record({
        model: m.name,
        version,
        at,
        latencyMs,
        ok: true,
        invalid,
        inputChars,
        outputChars,
        features,
        prediction,
      });
      stats.requests++;
      stats.byVersion[version] = (stats.byVersion[version] ?? 0) + 1;
      this.requests++;
      if (r.bernoulli(p.ratedShare)) {
        const negative = r.bernoulli(Math.min(1, f.negativeShare ?? p.negativeShare * negativeJ));
        this.windows.recordFeedback({ model: m.name, version, requestAt: at, rating: negative ? -1 : 1 });
      }
      if (m.kind === 'predict' && r.bernoulli(p.labelledShare)) {
        const delay = Math.floor(r.next() * p.maxLabelDelaySeconds * 1000);
        this.pending.push({ due: at + delay, model: m.name, version, requestAt: at, correct: r.bernoulli(f.accuracy ?? p.accuracy) });
      }
    }
  }
}
