// Typed wrappers around jstat, plus the few places where jstat is not precise enough for us
// (the far normal tail: jstat's erfc returns 0 beyond z≈8.5, and hard faults produce z ≫ 10).
import jStat from 'jstat';

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Standard normal density. */
export function normalPdf(x: number, mean = 0, sd = 1): number {
  const z = (x - mean) / sd;
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI) / sd;
}

/** Upper tail P(Z > z) of the standard normal, with full relative precision out to z≈38. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z === Infinity) return 0;
  if (z === -Infinity) return 1;
  if (z < 3) return 0.5 * jStat.erfc(z / SQRT2);
  // Laplace continued fraction for the Mills ratio, evaluated bottom-up; converges fast for z ≥ 3.
  let f = z;
  for (let k = 120; k >= 1; k--) f = z + k / f;
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI) / f;
}

/** P(X ≤ x) for X ~ Normal(mean, sd). */
export function normalCdf(x: number, mean = 0, sd = 1): number {
  return normalSf(-(x - mean) / sd);
}

/** Inverse of normalCdf: the x with P(X ≤ x) = p. */
export function normalQuantile(p: number, mean = 0, sd = 1): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0,1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  return jStat.normal.inv(p, mean, sd);
}

/** P(X ≤ x) for X ~ chi-square(df). */
export function chiSquareCdf(x: number, df: number): number {
  if (x <= 0) return 0;
  return jStat.lowRegGamma(df / 2, x / 2);
}

/** P(X > x) for X ~ chi-square(df). Absolute (not relative) precision in the far tail. */
export function chiSquareSf(x: number, df: number): number {
  return Math.max(0, 1 - chiSquareCdf(x, df));
}

export function chiSquareQuantile(p: number, df: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`probability must be in [0,1), got ${p}`);
  return jStat.chisquare.inv(p, df);
}

/** P(T ≤ t) for Student's t with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  return jStat.studentt.cdf(t, df);
}

export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0,1), got ${p}`);
  return jStat.studentt.inv(p, df);
}

/** log Γ(x) for x > 0. */
export function logGamma(x: number): number {
  return jStat.gammaln(x);
}

/** log B(a, b). */
export function logBeta(a: number, b: number): number {
  return jStat.gammaln(a) + jStat.gammaln(b) - jStat.gammaln(a + b);
}

/** log of the binomial coefficient C(n, k). */
export function logChoose(n: number, k: number): number {
  return jStat.gammaln(n + 1) - jStat.gammaln(k + 1) - jStat.gammaln(n - k + 1);
}

/** Regularised incomplete beta I_x(a, b) = P(X ≤ x) for X ~ Beta(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return jStat.ibeta(x, a, b);
}

const zForConfidence = new Map<number, number>();

/**
 * Wilson score interval for a binomial proportion. One-sided bounds at `confidence`
 * (z = Φ⁻¹(confidence)); confidence 0.5 gives z = 0, i.e. both bounds equal the observed rate.
 * Why Wilson: unlike the Wald interval it behaves at 0 events and at small n, which is where
 * alerting rules on error rates live.
 */
export function wilsonBounds(events: number, trials: number, confidence: number): { lower: number; upper: number } {
  if (trials <= 0) return { lower: 0, upper: 1 };
  let z = zForConfidence.get(confidence);
  if (z === undefined) {
    z = confidence === 0.5 ? 0 : normalQuantile(confidence);
    // Detectors use one or two confidence levels, thousands of times a second in simulations.
    if (zForConfidence.size < 64) zForConfidence.set(confidence, z);
  }
  const p = events / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Inverse of betaCdf: the x with P(X ≤ x) = p for X ~ Beta(a, b). */
export function betaQuantile(p: number, a: number, b: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0,1], got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return 1;
  return jStat.beta.inv(p, a, b);
}

/**
 * Exact (Clopper–Pearson) one-sided confidence bounds for a binomial proportion: P(rate ≥ lower)
 * ≥ confidence and P(rate ≤ upper) ≥ confidence. Detectors use these rather than Wilson bounds
 * because they judge a few events in short windows thousands of times an hour, and Wilson's
 * bound is too generous exactly there (3 slow requests out of 40: Wilson 99.9% lower bound 0.015,
 * exact 0.0049).
 */
export function clopperPearsonBounds(events: number, trials: number, confidence: number): { lower: number; upper: number } {
  return { lower: clopperPearsonLower(events, trials, confidence), upper: clopperPearsonUpper(events, trials, confidence) };
}

/** Exact one-sided lower bound (see clopperPearsonBounds); 0 without trials or events. */
export function clopperPearsonLower(events: number, trials: number, confidence: number): number {
  if (trials <= 0) return 0;
  if (!(events >= 0 && events <= trials)) throw new RangeError(`need 0 ≤ events ≤ trials, got ${events}/${trials}`);
  return events === 0 ? 0 : betaQuantile(1 - confidence, events, trials - events + 1);
}

/** Exact one-sided upper bound (see clopperPearsonBounds); 1 without trials or when all are events. */
export function clopperPearsonUpper(events: number, trials: number, confidence: number): number {
  if (trials <= 0) return 1;
  if (!(events >= 0 && events <= trials)) throw new RangeError(`need 0 ≤ events ≤ trials, got ${events}/${trials}`);
  return events === trials ? 1 : betaQuantile(confidence, events + 1, trials - events);
}
