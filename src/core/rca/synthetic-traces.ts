// Seeded synthetic traffic for RCA tests and demos: requests spread over a time range, routed
// by weights that can change over time, with per-request outcomes decided by a callback.
import type { EpochMs, ModelKind, Trace } from '../types.ts';
import type { Random } from '../stats/random.ts';

export interface TrafficRequest {
  at: EpochMs;
  version: string;
  host: string;
  inputChars: number;
  client: string;
  index: number;
}

export interface TrafficSpec {
  model: string;
  kind?: ModelKind;
  from: EpochMs;
  to: EpochMs;
  /** Requests per minute (arrivals are a Poisson process). */
  ratePerMinute: number;
  /** Route weights in force at a time. */
  weightsAt: (at: EpochMs) => Record<string, number>;
  /** version -> upstream host. */
  hosts: Record<string, string>;
  inputChars: (rng: Random, at: EpochMs) => number;
  clients?: readonly string[];
  tags?: (rng: Random, req: TrafficRequest) => Record<string, string> | undefined;
  features?: (rng: Random, req: TrafficRequest) => number[] | undefined;
  prediction?: (rng: Random, req: TrafficRequest) => string | undefined;
  /** Return fields that make the request fail (status, errorClass, ...) or undefined for success. */
  outcome?: (rng: Random, req: TrafficRequest) => Partial<Trace> | undefined;
  /** Prefix of request ids (default `req`). */
  idPrefix?: string;
}

function pickWeighted(rng: Random, weights: Record<string, number>): string {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let u = rng.next() * total;
  for (const [v, w] of entries) {
    u -= w;
    if (u < 0) return v;
  }
  return entries[entries.length - 1][0];
}

export function generateTraces(spec: TrafficSpec, rng: Random): Trace[] {
  const traces: Trace[] = [];
  const meanGapMs = 60_000 / spec.ratePerMinute;
  const clients = spec.clients ?? ['client-a', 'client-b', 'client-c', 'client-d'];
  let at = spec.from;
  let index = 0;
  for (;;) {
    at += -Math.log(1 - rng.next()) * meanGapMs;
    if (at >= spec.to) break;
    const t = Math.floor(at);
    const version = pickWeighted(rng, spec.weightsAt(t));
    const req: TrafficRequest = {
      at: t,
      version,
      host: spec.hosts[version] ?? 'unknown',
      inputChars: Math.max(1, Math.round(spec.inputChars(rng, t))),
      client: rng.pick(clients),
      index,
    };
    const tags = spec.tags?.(rng, req);
    const features = spec.features?.(rng, req);
    const prediction = spec.prediction?.(rng, req);
    const failure = spec.outcome?.(rng, req);
    const trace: Trace = {
      requestId: `${spec.idPrefix ?? 'req'}-${index.toString().padStart(6, '0')}`,
      model: spec.model,
      version,
      kind: spec.kind ?? 'chat',
      startedAt: t,
      latencyMs: Math.round(rng.lognormal(Math.log(300), 0.3)),
      httpStatus: 200,
      status: 'ok',
      upstreamHost: req.host,
      stream: false,
      retried: false,
      inputChars: req.inputChars,
      outputChars: Math.round(rng.uniform(100, 800)),
      client: req.client,
      ...(tags ? { tags } : {}),
      ...(features ? { features } : {}),
      ...(prediction !== undefined ? { prediction } : {}),
      ...(failure ?? {}),
    };
    traces.push(trace);
    index++;
  }
  return traces;
}

/** A failed request as the gateway records an upstream error. */
export const upstreamFailure = (errorClass: 'upstream_5xx' | 'timeout' | 'connection', host: string): Partial<Trace> => ({
  status: 'error',
  httpStatus: errorClass === 'timeout' ? 504 : 502,
  errorClass,
  errorMessage:
    errorClass === 'upstream_5xx'
      ? `upstream ${host} returned 503 Service Unavailable`
      : errorClass === 'timeout'
        ? `upstream ${host} timed out after 30000 ms`
        : `connect ECONNRESET ${host}`,
});
