// Fault settings of the simulated model server, the named profiles the demo uses,
// and the counter-based random draws that make every fault reproducible from a seed.

/** Every field is optional; an empty object means a healthy server. */
export interface SimFaults {
  /** Probability (0..1) that a request gets an error status with an error body. */
  errorRate?: number;
  /** Status used by errorRate (default 500). */
  errorStatus?: number;
  /** Latency added to every chat/predict answer. */
  latencyMs?: number;
  /** Uniform random extra latency in [0, latencyJitterMs). */
  latencyJitterMs?: number;
  /** Multiplies the server's base latency (option baseLatencyMs; a nominal 10 ms when that is 0); 10 = "latency x10". */
  latencyMultiplier?: number;
  /** Probability of a broken answer: truncated JSON body or SSE chunk; in JSON mode, invalid JSON content. */
  malformedRate?: number;
  /** Probability of a plausible but wrong answer (chat: other advice and flipped label; predict: flipped label). */
  wrongOutputRate?: number;
  /** Probability of an empty answer (chat: content ""; predict: no predictions). */
  emptyRate?: number;
  /** Probability of "I'm sorry, I can't help with that." (chat only). */
  refusalRate?: number;
  /** Probability that a streaming answer stops mid-stream (socket closed, no [DONE]). */
  cutStreamRate?: number;
  /** Probability that the socket is destroyed with no response at all. */
  resetRate?: number;
  /** Requests whose input exceeds this many characters fail with 400 context_length_exceeded. */
  longInputFailureChars?: number;
  /** Requests whose estimated prompt tokens (chars/4) plus max_tokens exceed this fail with 400. */
  contextWindowTokens?: number;
  /** Requests whose input exceeds this many characters are slowed down by slowFactor. */
  slowOnLongInputChars?: number;
  /** Latency multiplier for long inputs (default 5), applied to at least a nominal 10 ms. */
  slowFactor?: number;
  /** Probability that a chat answer contains an email address and a phone number. */
  piiRate?: number;
  /** Probability that a request is never answered (the socket stays open). */
  hangRate?: number;
}

export type SimProfileName =
  | 'good'
  | 'errors'
  | 'slow'
  | 'malformed'
  | 'bad-prompt'
  | 'context-overflow'
  | 'pii'
  | 'flaky'
  | 'hang';

/** What setFaults and PUT /_sim/faults accept: faults, optionally starting from a named profile. */
export type SimFaultsInput = SimFaults & { profile?: SimProfileName };

export const simProfiles: Readonly<Record<SimProfileName, Readonly<SimFaults>>> = {
  good: {},
  errors: { errorRate: 0.5, errorStatus: 500 },
  slow: { latencyMultiplier: 10 },
  malformed: { malformedRate: 0.5 },
  'bad-prompt': { wrongOutputRate: 0.5, refusalRate: 0.2 },
  'context-overflow': { longInputFailureChars: 2000, slowOnLongInputChars: 1000, slowFactor: 4 },
  pii: { piiRate: 0.3 },
  flaky: { resetRate: 0.1, cutStreamRate: 0.2 },
  hang: { hangRate: 0.5 },
};

export function isSimProfileName(x: unknown): x is SimProfileName {
  return typeof x === 'string' && Object.hasOwn(simProfiles, x);
}

const rateKeys = [
  'errorRate',
  'malformedRate',
  'wrongOutputRate',
  'emptyRate',
  'refusalRate',
  'cutStreamRate',
  'resetRate',
  'piiRate',
  'hangRate',
] as const;
const nonNegativeKeys = [
  'latencyMs',
  'latencyJitterMs',
  'longInputFailureChars',
  'contextWindowTokens',
  'slowOnLongInputChars',
] as const;
const positiveKeys = ['latencyMultiplier', 'slowFactor'] as const;

/** Validates untrusted input (HTTP body, CLI flag); throws an Error naming the bad field. */
export function parseSimFaults(input: unknown): SimFaults {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new Error('faults must be a JSON object');
  }
  const src = input as Record<string, unknown>;
  let out: SimFaults = {};
  if (src.profile !== undefined) {
    if (!isSimProfileName(src.profile)) {
      throw new Error(`unknown profile ${JSON.stringify(src.profile)}; known: ${Object.keys(simProfiles).join(', ')}`);
    }
    out = { ...simProfiles[src.profile] };
  }
  for (const [key, value] of Object.entries(src)) {
    if (key === 'profile' || value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${key} must be a finite number`);
    if ((rateKeys as readonly string[]).includes(key)) {
      if (value < 0 || value > 1) throw new Error(`${key} must be between 0 and 1`);
    } else if ((nonNegativeKeys as readonly string[]).includes(key)) {
      if (value < 0) throw new Error(`${key} must be >= 0`);
    } else if ((positiveKeys as readonly string[]).includes(key)) {
      if (value <= 0) throw new Error(`${key} must be > 0`);
    } else if (key === 'errorStatus') {
      if (!Number.isInteger(value) || value < 400 || value > 599) throw new Error('errorStatus must be an integer 400..599');
    } else {
      throw new Error(`unknown fault ${JSON.stringify(key)}`);
    }
    (out as Record<string, number>)[key] = value;
  }
  return out;
}

// Counter-based draws: the outcome of fault F for request #n depends only on (seed, n, F),
// so a sequence of requests is reproducible and one fault's setting never shifts another's draws.
export const Draw = {
  Reset: 1,
  Hang: 2,
  Error: 3,
  Jitter: 4,
  Malformed: 5,
  Wrong: 6,
  Empty: 7,
  Refusal: 8,
  CutStream: 9,
  Pii: 10,
} as const;

/** Latency a multiplier acts on when the server's base latency is 0, so `slow` is visible everywhere. */
export const NOMINAL_BASE_LATENCY_MS = 10;

/** Delay in ms before answering request #n; `inputChars` drives slowOnLongInputChars. */
export function simDelayMs(f: SimFaults, baseLatencyMs: number, seed: number, n: number, inputChars: number): number {
  const mult = f.latencyMultiplier ?? 1;
  let base = baseLatencyMs;
  if (mult !== 1) base = (base > 0 ? base : mult > 1 ? NOMINAL_BASE_LATENCY_MS : 0) * mult;
  let delay = base + (f.latencyMs ?? 0);
  if (f.latencyJitterMs) delay += drawUniform(seed, n, Draw.Jitter) * f.latencyJitterMs;
  if (f.slowOnLongInputChars !== undefined && inputChars > f.slowOnLongInputChars) {
    delay = Math.max(delay, NOMINAL_BASE_LATENCY_MS) * (f.slowFactor ?? 5);
  }
  return Math.round(delay);
}

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform number in [0, 1) for (seed, request number, draw kind, sub-index). */
export function drawUniform(seed: number, n: number, kind: number, sub = 0): number {
  let h = mix32((seed | 0) ^ 0x9e3779b9);
  h = mix32(h ^ (n | 0));
  h = mix32(h ^ Math.imul(kind, 0x85ebca6b));
  if (sub !== 0) h = mix32(h ^ Math.imul(sub, 0xc2b2ae35));
  return h / 4294967296;
}
