// Sequential tests for a rate (error rate, negative-feedback rate, invalid-output rate,
// accuracy) that stay valid when the data are looked at after every request / every second.
//
// mSPRT (mixture sequential probability ratio test; Robbins 1970, Johari, Pekelis & Walsh,
// "Always valid inference", 2017/2022 — the test behind Optimizely's stats engine):
// Λ_n = ∫ Π_i f_θ(x_i)/f_θ0(x_i) dH(θ). Under H0, Λ_n is a non-negative martingale with mean 1,
// so by Ville's inequality P(∃n: Λ_n ≥ 1/α) ≤ α: peeking as often as we like keeps the type-I
// error ≤ α. The always-valid p-value is p_n = min_{k≤n} 1/Λ_k.
//
// Mixing spread τ of the normal mixture (the standard deviation of H around the null): the test
// is fastest for effects of size ≈ τ and loses only a log factor for effects a few times larger
// or smaller (Johari et al. §4). Our signals move by 5–50 percentage points when something
// breaks (accuracy 90%→80%, errors 0.5%→50%), so DEFAULT_TAU = 0.1 (10 points): a 10/20-errors
// second at 20 req/s then stands out within 2 s against any baseline.
//
// Two mixing distributions:
//  - 'grid' (one-sample default): the exact Bernoulli likelihood ratio mixed over a grid of
//    alternatives on the alarming side — odds ratios 1.5, 2, 3, 5, 10, 30, 100, 1000 times the
//    baseline odds, equal weights. Each component is a martingale under H0, so their average is
//    too and the guarantee holds exactly at every n, including the rare-event, small-n regime of
//    error rates (0.5% over a few hundred requests). Simulated (α = 0.05, 1000 seeds), the
//    normal-approximation mixture rejects a true p0 = 0.5% in 11.5% of runs (not valid there),
//    and a symmetric Beta mixture is valid but needs ~2× the data to see 0.5% → 2% because most of
//    its mass sits below p0; the one-sided grid needs fewest samples in every case we tried.
//  - 'normal' (Johari's normal mixture): θ = rate difference, data summarised by its estimate
//    and variance V, Λ = √(V/(V+τ²))·exp(τ²Δ²/(2V(V+τ²))). Asymptotically valid. Used for the
//    two-sample comparison (candidate vs baseline counts), with V estimated from the samples
//    as in Optimizely's engine, but conservatively: max(p̂c(1−p̂c), p̂b(1−p̂b))·(1/nc + 1/nb)
//    (½-count smoothing). Larger-than-null variance is what keeps rare events (0.5% errors)
//    and small candidate samples at 0% or 100% from rejecting spuriously.
//
// Wald's SPRT (simple p0 vs p1) is also here: when the effect of interest is known it is the
// fastest test (Wald–Wolfowitz optimality), at the price of fixing p1 up front.
import { createRandom, deriveSeed } from './random.ts';

export const DEFAULT_TAU = 0.1;
export const DEFAULT_ALPHA = 0.05;

export interface RateCounts {
  /** Events counted (errors, negative ratings, invalid outputs, correct labels…). */
  events: number;
  /** Trials they are out of (requests, rated requests, labelled requests…). */
  trials: number;
}

export type Mixture = 'grid' | 'normal';
/** Which departures from the baseline count as evidence. */
export type Direction = 'increase' | 'decrease' | 'two-sided';

/** Odds ratios (alternative odds / baseline odds) mixed by the one-sample 'grid' test. */
export const DEFAULT_ODDS_RATIOS: readonly number[] = [1.5, 2, 3, 5, 10, 30, 100, 1000];

export interface MsprtOptions {
  alpha?: number;
  /** Normal mixture: mixing standard deviation in rate units (0.1 = 10 points). Default DEFAULT_TAU. */
  tau?: number;
  /** One-sample only; default 'grid' (exact). The two-sample test is always 'normal'. */
  mixture?: Mixture;
  /** One-sample 'grid' only: which side the alternatives lie on. Default 'two-sided'. */
  direction?: Direction;
  /** One-sample 'grid' only. Default DEFAULT_ODDS_RATIOS. */
  oddsRatios?: readonly number[];
  /** Previous always-valid p-value of the same sequence; the result is the running minimum. */
  previousPValue?: number;
}

export interface MsprtResult {
  test: 'msprt-grid' | 'msprt-normal' | 'msprt-two-sample';
  /** log Λ_n. */
  logLikelihoodRatio: number;
  /** Always-valid p-value: min(previousPValue, 1/Λ_n), capped at 1. */
  pValue: number;
  alpha: number;
  tau: number;
  /** Estimated difference: p̂ − p0 (one-sample) or p̂_candidate − p̂_baseline (two-sample). */
  estimate: number;
  /** Observed rate of the (candidate) sample. */
  rate: number;
  /** Rate it is compared with: p0, or the baseline sample's rate. */
  baselineRate: number;
  /** Rejection threshold on Λ: 1/α. */
  bound: number;
  reject: boolean;
  decision: 'reject' | 'continue';
}

function checkCounts(c: RateCounts, name: string): void {
  if (!(c.trials >= 0) || !(c.events >= 0) || c.events > c.trials) {
    throw new RangeError(`${name}: need 0 ≤ events ≤ trials, got ${c.events}/${c.trials}`);
  }
}

function checkRate(p: number, name: string): void {
  if (!(p > 0 && p < 1)) throw new RangeError(`${name} must be strictly between 0 and 1, got ${p}`);
}

function finish(
  test: MsprtResult['test'],
  logLr: number,
  options: MsprtOptions,
  tau: number,
  estimate: number,
  rate: number,
  baselineRate: number,
): MsprtResult {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const current = Math.min(1, Math.exp(-logLr));
  const pValue = Math.min(current, options.previousPValue ?? 1);
  const reject = pValue <= alpha;
  return {
    test,
    logLikelihoodRatio: logLr,
    pValue,
    alpha,
    tau,
    estimate,
    rate,
    baselineRate,
    bound: 1 / alpha,
    reject,
    decision: reject ? 'reject' : 'continue',
  };
}

/** log Λ of the normal mixture for an estimate Δ with variance V. */
export function normalMixtureLogLr(delta: number, variance: number, tau: number): number {
  if (!(variance > 0)) return 0;
  const t2 = tau * tau;
  return 0.5 * Math.log(variance / (variance + t2)) + (t2 * delta * delta) / (2 * variance * (variance + t2));
}

/**
 * log Λ of an equal-weight mixture of Bernoulli likelihood ratios, alternatives at the given odds
 * ratios above ('increase'), below ('decrease') or on both sides of p0.
 */
export function gridMixtureLogLr(
  events: number,
  trials: number,
  p0: number,
  direction: Direction = 'two-sided',
  oddsRatios: readonly number[] = DEFAULT_ODDS_RATIOS,
): number {
  const odds0 = p0 / (1 - p0);
  const failures = trials - events;
  const terms: number[] = [];
  const signs = direction === 'increase' ? [1] : direction === 'decrease' ? [-1] : [1, -1];
  for (const sign of signs) {
    for (const ratio of oddsRatios) {
      const odds = odds0 * ratio ** sign;
      const p = odds / (1 + odds);
      terms.push(events * Math.log(p / p0) + failures * Math.log((1 - p) / (1 - p0)));
    }
  }
  const max = Math.max(...terms);
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum / terms.length);
}

/** One-sample mSPRT: is the rate of `current` different from the fixed baseline rate p0? */
export function msprtOneSample(current: RateCounts, p0: number, options: MsprtOptions = {}): MsprtResult {
  checkCounts(current, 'current');
  checkRate(p0, 'p0');
  const tau = options.tau ?? DEFAULT_TAU;
  const { events, trials } = current;
  const rate = trials > 0 ? events / trials : NaN;
  const estimate = trials > 0 ? rate - p0 : 0;
  if (trials === 0) return finish('msprt-grid', 0, options, tau, 0, rate, p0);
  if ((options.mixture ?? 'grid') === 'grid') {
    const logLr = gridMixtureLogLr(events, trials, p0, options.direction, options.oddsRatios);
    return finish('msprt-grid', logLr, options, tau, estimate, rate, p0);
  }
  const variance = (p0 * (1 - p0)) / trials;
  return finish('msprt-normal', normalMixtureLogLr(estimate, variance, tau), options, tau, estimate, rate, p0);
}

/** Two-sample mSPRT (normal mixture): does the candidate's rate differ from the baseline's? */
export function msprtTwoSample(candidate: RateCounts, baseline: RateCounts, options: MsprtOptions = {}): MsprtResult {
  checkCounts(candidate, 'candidate');
  checkCounts(baseline, 'baseline');
  const tau = options.tau ?? DEFAULT_TAU;
  const rate = candidate.trials > 0 ? candidate.events / candidate.trials : NaN;
  const baselineRate = baseline.trials > 0 ? baseline.events / baseline.trials : NaN;
  if (candidate.trials === 0 || baseline.trials === 0) {
    return finish('msprt-two-sample', 0, options, tau, 0, rate, baselineRate);
  }
  // Half-count smoothing keeps the variance positive at 0 or n events. Each arm gets the larger
  // of the two Bernoulli variances: a small candidate sample that happens to sit at 0% or 100%
  // would otherwise look far more certain than it is (with a fixed baseline this alone pushed
  // the type-I error to 15% at α = 5% in simulation); under H0 both converge to p(1−p) anyway.
  const pc = (candidate.events + 0.5) / (candidate.trials + 1);
  const pb = (baseline.events + 0.5) / (baseline.trials + 1);
  const bernoulliVariance = Math.max(pc * (1 - pc), pb * (1 - pb));
  const variance = bernoulliVariance * (1 / candidate.trials + 1 / baseline.trials);
  const estimate = rate - baselineRate;
  return finish('msprt-two-sample', normalMixtureLogLr(estimate, variance, tau), options, tau, estimate, rate, baselineRate);
}

export interface SprtOptions {
  alpha?: number;
  /** Type-II error at p1. Default 0.05 (ignored when openEnded). */
  beta?: number;
  /**
   * No acceptance boundary: keep sampling until H1 is accepted. Then the upper bound is ln(1/α)
   * and, by Ville's inequality, the type-I error over unlimited looks is ≤ α. This is the form
   * to use for continuous monitoring.
   */
  openEnded?: boolean;
}

export interface SprtResult {
  test: 'sprt';
  logLikelihoodRatio: number;
  /** ln A: accept H1 (rate is p1) at or above it. */
  upper: number;
  /** ln B: accept H0 (rate is p0) at or below it; −∞ when open-ended. */
  lower: number;
  decision: 'accept_h1' | 'accept_h0' | 'continue';
  p0: number;
  p1: number;
  rate: number;
}

/**
 * Wald's SPRT of H0: rate = p0 vs H1: rate = p1 on cumulative counts. Classic bounds
 * A = ln((1−β)/α), B = ln(β/(1−α)). The caller stops at the first decision; evaluating a later
 * cumulative count does not remember earlier crossings.
 */
export function waldSprt(current: RateCounts, p0: number, p1: number, options: SprtOptions = {}): SprtResult {
  checkCounts(current, 'current');
  checkRate(p0, 'p0');
  checkRate(p1, 'p1');
  if (p0 === p1) throw new RangeError('p0 and p1 must differ');
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const beta = options.beta ?? 0.05;
  const { events, trials } = current;
  const llr = events * Math.log(p1 / p0) + (trials - events) * Math.log((1 - p1) / (1 - p0));
  const upper = options.openEnded ? Math.log(1 / alpha) : Math.log((1 - beta) / alpha);
  const lower = options.openEnded ? -Infinity : Math.log(beta / (1 - alpha));
  const decision = llr >= upper ? 'accept_h1' : llr <= lower ? 'accept_h0' : 'continue';
  return { test: 'sprt', logLikelihoodRatio: llr, upper, lower, decision, p0, p1, rate: trials > 0 ? events / trials : NaN };
}

/** Running always-valid p-value: the minimum over looks. */
export function runningPValue(previous: number | undefined, current: number): number {
  return previous === undefined ? current : Math.min(previous, current);
}

export type PowerMethod = 'msprt' | 'msprt-normal' | 'sprt';

export interface DetectionSimulation {
  method: PowerMethod;
  p0: number;
  p1: number;
  alpha: number;
  tau: number;
  seeds: number;
  maxLabels: number;
  /** Labels each seed needed before the test rejected in p1's direction (Infinity if never). */
  detectionTimes: number[];
}

export interface LabelsNeededOptions {
  method?: PowerMethod;
  tau?: number;
  /** Give up on a seed after this many labels. Default 5000. */
  maxLabels?: number;
  /** Base seed of the simulation; seed i uses deriveSeed(baseSeed, i). Default 1. */
  baseSeed?: number;
}

/**
 * Simulate `seeds` label streams with true rate p1, test each label as it arrives against the
 * stable rate p0 (one-sample), and record when the test first rejects in p1's direction.
 */
export function simulateDetectionTimes(
  p0: number,
  p1: number,
  alpha: number,
  seeds: number,
  options: LabelsNeededOptions = {},
): DetectionSimulation {
  checkRate(p0, 'p0');
  checkRate(p1, 'p1');
  const method = options.method ?? 'msprt';
  const tau = options.tau ?? DEFAULT_TAU;
  const maxLabels = options.maxLabels ?? 5000;
  const baseSeed = options.baseSeed ?? 1;
  const direction = Math.sign(p1 - p0);
  const detectionTimes: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const random = createRandom(deriveSeed(baseSeed, s));
    let events = 0;
    let found = Infinity;
    for (let n = 1; n <= maxLabels; n++) {
      if (random.next() < p1) events++;
      if (Math.sign(events / n - p0) !== direction) continue;
      let reject: boolean;
      if (method === 'sprt') {
        reject = waldSprt({ events, trials: n }, p0, p1, { alpha, openEnded: true }).decision === 'accept_h1';
      } else if (method === 'msprt') {
        reject = gridMixtureLogLr(events, n, p0, direction > 0 ? 'increase' : 'decrease') >= Math.log(1 / alpha);
      } else {
        reject = normalMixtureLogLr(events / n - p0, (p0 * (1 - p0)) / n, tau) >= Math.log(1 / alpha);
      }
      if (reject) {
        found = n;
        break;
      }
    }
    detectionTimes.push(found);
  }
  return { method, p0, p1, alpha, tau, seeds, maxLabels, detectionTimes };
}

/** Smallest n such that at least `power` of the simulated streams were detected within n labels. */
export function labelsForPower(times: readonly number[], power: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const index = Math.ceil(power * sorted.length) - 1;
  return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
}

/**
 * Labels needed to detect a change of the true rate from p0 to p1 with probability `power`,
 * by simulation over `seeds` seeded streams, testing after every label at level `alpha`.
 * Returns Infinity when the power is not reached within maxLabels.
 * Default method: the one-sample one-sided grid mSPRT that rateDetector uses for a fixed baseline.
 */
export function labelsNeededForPower(
  p0: number,
  p1: number,
  alpha: number,
  power: number,
  seeds: number,
  options: LabelsNeededOptions = {},
): number {
  return labelsForPower(simulateDetectionTimes(p0, p1, alpha, seeds, options).detectionTimes, power);
}
