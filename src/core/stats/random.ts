// Seeded randomness for simulations and tests. Math.random cannot be seeded, and every
// statistical claim we make (false-alarm rate, power) must be reproducible from a seed.

/** mulberry32: tiny, fast 32-bit PRNG; plenty for Monte Carlo at our scale (period 2^32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mix a seed and a stream number into a new 32-bit seed (splitmix32 finaliser), so that
 * e.g. "traffic" and "latency" streams of one simulation seed are independent.
 */
export function deriveSeed(seed: number, stream: number | string): number {
  let s = typeof stream === 'number' ? stream : hashString(stream);
  let z = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(s >>> 0, 0xc2b2ae35)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  s = (z ^ (z >>> 15)) >>> 0;
  return s;
}

function hashString(text: string): number {
  // FNV-1a, only used to turn stream names into numbers.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Random {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer uniform in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Normal(mean, sd) by Box–Muller. */
  normal(mean?: number, sd?: number): number;
  /** exp(Normal(mu, sigma)): median e^mu. */
  lognormal(mu: number, sigma: number): number;
  bernoulli(p: number): boolean;
  /** Exact Binomial(n, p) draw; cost O(n·min(p, 1-p) + 1). */
  binomial(n: number, p: number): number;
  /** Exact Poisson(lambda) draw; cost O(lambda + 1). */
  poisson(lambda: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  let spare: number | undefined;

  const normal = (mean = 0, sd = 1): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = next(); // log(0) would be -Infinity
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  };

  // Counts successes by jumping geometric gaps between them: exact, and cheap for rare events
  // (the common case: error rates of 0.5% over a few hundred requests).
  const binomialSmallP = (n: number, p: number): number => {
    if (p <= 0) return 0;
    const logQ = Math.log1p(-p);
    let successes = 0;
    let position = 0;
    for (;;) {
      let u = next();
      while (u === 0) u = next();
      position += Math.floor(Math.log(u) / logQ) + 1;
      if (position > n) return successes;
      successes++;
    }
  };

  const poissonSmall = (lambda: number): number => {
    // Knuth's product method; fine for lambda below ~30.
    const limit = Math.exp(-lambda);
    let k = 0;
    let product = next();
    while (product > limit) {
      k++;
      product *= next();
    }
    return k;
  };

  return {
    seed,
    next,
    uniform: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal,
    lognormal: (mu, sigma) => Math.exp(normal(mu, sigma)),
    bernoulli: (p) => next() < p,
    binomial: (n, p) => {
      if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError(`binomial n must be a non-negative integer, got ${n}`);
      if (p >= 1) return n;
      return p <= 0.5 ? binomialSmallP(n, p) : n - binomialSmallP(n, 1 - p);
    },
    poisson: (lambda) => {
      if (!(lambda >= 0)) throw new RangeError(`poisson lambda must be >= 0, got ${lambda}`);
      // A sum of independent Poissons is Poisson, so split large rates into small chunks.
      let total = 0;
      let rest = lambda;
      while (rest > 20) {
        total += poissonSmall(20);
        rest -= 20;
      }
      return total + poissonSmall(rest);
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick from an empty array');
      return items[Math.floor(next() * items.length)];
    },
  };
}
