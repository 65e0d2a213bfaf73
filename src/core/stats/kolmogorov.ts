// Distribution of the one-sample Kolmogorov–Smirnov statistic D_n (scipy's `kstwo`), used for
// the two-sample KS asymptotic p-value. No npm package computes it properly, so this follows
// Simard & L'Ecuyer (2011), "Computing the Two-Sided Kolmogorov-Smirnov Distribution",
// J. Stat. Software 39(11), with the same method choices as scipy.stats._ksstats._kolmogn:
//   - Ruben–Gambino closed forms at the extremes,
//   - 2·Smirnov (exact one-sided, Birnbaum–Tingey sum) in the upper tail,
//   - Durbin's matrix (Marsaglia–Tsang–Wang 2003) for small n·d,
//   - Pelz–Good (1976) asymptotic series for large n.
// Where scipy uses the Pomeranz recursion (n ≤ 140, 0.75 < n·d² ≤ 4) we use Durbin's matrix,
// which is also exact there; both agree to ~1e-12.
import { logChoose } from './distributions.ts';

const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708;
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/** p · 2^e without overflowing the intermediate power. */
function ldexp(p: number, e: number): number {
  let result = p;
  let rest = e;
  while (rest > 1000) {
    result *= 2 ** 1000;
    rest -= 1000;
  }
  while (rest < -1000) {
    result *= 2 ** -1000;
    rest += 1000;
  }
  return result * 2 ** rest;
}

/** log(n!/n^n) by Stirling's series with n·log(n) removed up front (no cancellation). */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * Exact one-sided Smirnov tail P(D_n⁺ ≥ x) (scipy.special.smirnov) by the Birnbaum–Tingey sum
 * x·Σ_{j=0}^{⌊n(1−x)⌋} C(n,j)(1−x−j/n)^{n−j}(x+j/n)^{j−1}, all terms positive, summed in log space.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const jMax = Math.floor(n * (1 - x) + 1e-12);
  let maxLog = -Infinity;
  let sum = 0; // scaled by exp(-maxLog)
  for (let j = 0; j <= jMax; j++) {
    const a = x + j / n;
    if (a >= 1) {
      if (j !== n) continue; // 0^(n-j) with n-j > 0
    }
    const logTerm = logChoose(n, j) + (n - j) * Math.log1p(-a) + (j - 1) * Math.log(a);
    if (logTerm > maxLog) {
      sum = sum * Math.exp(maxLog - logTerm) + 1;
      maxLog = logTerm;
    } else {
      const rel = logTerm - maxLog;
      // The terms are unimodal in j: once well past the peak and negligible, the rest are too.
      if (rel < -45 && j > 1) break;
      sum += Math.exp(rel);
    }
  }
  return clip(x * Math.exp(maxLog) * sum);
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] += aik * b[k * m + j];
    }
  }
  return out;
}

/** P(D_n ≤ d) by Durbin's matrix method as organised by Marsaglia, Tsang & Wang. */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = matMul(power, H, m);
      exponent += hExponent;
    }
    H = matMul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] /= EP128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      exponent -= 128;
    }
  }
  return exponent !== 0 ? ldexp(p, exponent) : p;
}

/** Pelz–Good approximation; returns the CDF, or the SF when `cdf` is false. */
function pelzGood(n: number, x: number, cdf: boolean): number {
  if (x <= 0) return cdf ? 0 : 1;
  if (x >= 1) return cdf ? 1 : 0;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return cdf ? 0 : 1;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k >= 1; k--) {
    const mm = 2 * k - 1;
    const m2 = mm * mm;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const denominators = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT2PI) / denominators[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k >= 1; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] += k2extra * ((PI2 * SQRT2PI) / (-36 * z3));
  K[3] += k3extra * ((PI2 * SQRT2PI) / (216 * z6));
  for (let i = 0; i < 4; i++) K[i] /= n ** (i / 2);
  if (!cdf) {
    for (let i = 0; i < 4; i++) K[i] = -K[i];
    K[0] += 1;
  }
  return K[0] + K[1] + K[2] + K[3];
}

function kolmogn(n: number, x: number, cdf: boolean): number {
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`n must be a positive integer, got ${n}`);
  const pick = (cdfProb: number, sfProb: number): number => clip(cdf ? cdfProb : sfProb);
  if (Number.isNaN(x)) return NaN;
  if (x >= 1) return pick(1, 0);
  if (x <= 0) return pick(0, 1);
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return pick(0, 1);
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= (i / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return pick(prob, 1 - prob);
  }
  if (t >= n - 1) {
    const prob = 2 * (1 - x) ** n;
    return pick(1 - prob, prob);
  }
  if (x >= 0.5) {
    const prob = 2 * smirnovSf(n, x);
    return pick(1 - prob, prob);
  }
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 4) {
      const prob = durbinCdf(n, x);
      return pick(prob, 1 - prob);
    }
    const prob = 2 * smirnovSf(n, x);
    return pick(1 - prob, prob);
  }
  if (!cdf) {
    if (nx2 >= 370) return 0;
    if (nx2 >= 2.2) return clip(2 * smirnovSf(n, x));
  }
  let cdfProb: number;
  if (nx2 >= 18) cdfProb = 1;
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdfProb = durbinCdf(n, x);
  else cdfProb = pelzGood(n, x, true);
  return pick(cdfProb, 1 - cdfProb);
}

/** P(D_n ≤ d) for the two-sided one-sample KS statistic with n observations (scipy kstwo.cdf). */
export function kolmogorovCdf(n: number, d: number): number {
  return kolmogn(n, d, true);
}

/** P(D_n > d) for the two-sided one-sample KS statistic with n observations (scipy kstwo.sf). */
export function kolmogorovSf(n: number, d: number): number {
  return kolmogn(n, d, false);
}

/**
 * Limiting Kolmogorov distribution P(√n·D_n > z) as n → ∞ (scipy kstwobign.sf):
 * 2·Σ (−1)^{k−1} e^{−2k²z²}, with the Jacobi-theta form for small z.
 */
export function kolmogorovLimitSf(z: number): number {
  if (z <= 0) return 1;
  if (z < 1) {
    // cdf = √(2π)/z · Σ_{k odd} e^{−k²π²/(8z²)}
    let s = 0;
    for (let k = 1; k < 20; k += 2) s += Math.exp((-k * k * PI2) / (8 * z * z));
    return clip(1 - (SQRT2PI / z) * s);
  }
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * z * z);
    s += (k % 2 ? 1 : -1) * term;
    if (term < 1e-300) break;
  }
  return clip(2 * s);
}
