// A circuit breaker per model version's upstream. It opens after N failures in a row or when the
// error share over a rolling window passes a threshold, stays open for a while, then lets a few
// half-open probes through; their success closes it, a failure opens it again. While open, calls
// to that version fail at once without touching the network, so the gateway goes straight to its
// retry on the last stable version (or to a fallback answer) instead of waiting on a dead upstream.
//
// `guardUpstream` installs the breakers around the gateway's UpstreamClient instance (its
// postJson/postStream), so the gateway code itself does not change; the per-call cost is one
// WeakMap lookup and a few comparisons.
import type { Clock, EpochMs } from '../../core/types.ts';
import { UpstreamError, type UpstreamClient, type UpstreamTarget } from '../gateway/upstream-client.ts';
import type { CircuitBreakerConfig } from './fallbacks-config.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Failures that say the upstream is unhealthy. A 4xx means it is up and answering. */
const COUNTED = new Set(['upstream_5xx', 'timeout', 'connection']);

export interface BreakerSnapshot {
  key: string;
  model?: string;
  version?: string;
  state: BreakerState;
  consecutiveFailures: number;
  window: { requests: number; failures: number; errorRate: number | null; seconds: number };
  openedAt?: EpochMs;
  opens: number;
  /** Calls refused while open. */
  rejected: number;
}

export class CircuitBreaker {
  state: BreakerState = 'closed';
  private consecutive = 0;
  /** Per-second buckets of the rolling window: [second, requests, failures]. */
  private readonly seconds: Int32Array;
  private readonly requests: Int32Array;
  private readonly failures: Int32Array;
  private openedAt: EpochMs | undefined;
  private probes = 0;
  private probeSuccesses = 0;
  private opens = 0;
  private rejected = 0;

  constructor(
    readonly key: string,
    private readonly config: CircuitBreakerConfig,
    private readonly onChange?: (b: CircuitBreaker, from: BreakerState, to: BreakerState, why: string) => void,
    readonly labels: { model?: string; version?: string } = {},
  ) {
    const n = Math.max(1, Math.ceil(config.windowSeconds));
    this.seconds = new Int32Array(n).fill(-1);
    this.requests = new Int32Array(n);
    this.failures = new Int32Array(n);
  }

  /**
   * Whether a call may go out now: 0 refused, 1 a normal call, 2 a half-open probe. Every admitted
   * call must be followed by `record` with the same probe flag.
   */
  admit(now: EpochMs): 0 | 1 | 2 {
    if (this.state === 'closed') return 1;
    if (this.state === 'open') {
      if (now - this.openedAt! < this.config.openSeconds * 1000) {
        this.rejected++;
        return 0;
      }
      this.transition('half_open', now, `open for ${this.config.openSeconds}s: probing`);
    }
    if (this.probes < this.config.halfOpenProbes) {
      this.probes++;
      return 2;
    }
    this.rejected++;
    return 0;
  }

  record(ok: boolean, now: EpochMs, probe = false): void {
    if (probe) {
      // A probe that outlived its half-open phase (the breaker reopened meanwhile) decides nothing.
      if (this.state !== 'half_open') return;
      this.probes = Math.max(0, this.probes - 1);
      if (!ok) this.open(now, 'a half-open probe failed');
      else if (++this.probeSuccesses >= this.config.halfOpenProbes) this.transition('closed', now, 'half-open probes succeeded');
      return;
    }
    const i = this.bucket(now);
    this.requests[i]++;
    if (ok) {
      this.consecutive = 0;
      return;
    }
    this.failures[i]++;
    this.consecutive++;
    // Calls admitted before it opened and finishing late count in the window but decide nothing.
    if (this.state !== 'closed') return;
    if (this.consecutive >= this.config.consecutiveFailures) {
      this.open(now, `${this.consecutive} consecutive failures`);
      return;
    }
    const w = this.windowCounts(now);
    if (w.requests >= this.config.minRequests && w.failures / w.requests >= this.config.errorRate) {
      this.open(now, `${w.failures}/${w.requests} calls failed in ${this.config.windowSeconds}s`);
    }
  }

  snapshot(now: EpochMs): BreakerSnapshot {
    const w = this.windowCounts(now);
    return {
      key: this.key,
      ...this.labels,
      state: this.state === 'open' && now - this.openedAt! >= this.config.openSeconds * 1000 ? 'half_open' : this.state,
      consecutiveFailures: this.consecutive,
      window: { ...w, errorRate: w.requests ? w.failures / w.requests : null, seconds: this.config.windowSeconds },
      openedAt: this.openedAt,
      opens: this.opens,
      rejected: this.rejected,
    };
  }

  private open(now: EpochMs, why: string): void {
    this.openedAt = now;
    this.opens++;
    this.probes = 0;
    this.probeSuccesses = 0;
    this.transition('open', now, why);
  }

  private transition(to: BreakerState, _now: EpochMs, why: string): void {
    const from = this.state;
    this.state = to;
    if (to === 'closed') {
      this.consecutive = 0;
      this.requests.fill(0);
      this.failures.fill(0);
      this.seconds.fill(-1);
    }
    if (to === 'half_open') {
      this.probes = 0;
      this.probeSuccesses = 0;
    }
    this.onChange?.(this, from, to, why);
  }

  private bucket(now: EpochMs): number {
    const sec = Math.floor(now / 1000);
    const i = sec % this.seconds.length;
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.requests[i] = 0;
      this.failures[i] = 0;
    }
    return i;
  }

  private windowCounts(now: EpochMs): { requests: number; failures: number } {
    const sec = Math.floor(now / 1000);
    let requests = 0;
    let failures = 0;
    for (let i = 0; i < this.seconds.length; i++) {
      if (this.seconds[i] > sec - this.seconds.length && this.seconds[i] <= sec) {
        requests += this.requests[i];
        failures += this.failures[i];
      }
    }
    return { requests, failures };
  }
}

export interface BreakerRegistryOptions {
  clock: Clock;
  /** The breaker settings of a model (per-model `circuitBreaker:` or the defaults). */
  configFor: (model: string | undefined) => CircuitBreakerConfig;
  onChange?: (snapshot: BreakerSnapshot, from: BreakerState, to: BreakerState, why: string) => void;
}

/** The gateway passes CompiledVersion objects as targets: they carry the version's spec. */
type VersionTarget = UpstreamTarget & { spec?: { model?: string; version?: string } };

export class BreakerRegistry {
  private readonly byKey = new Map<string, CircuitBreaker | null>();
  /** Compiled versions are new objects after each route change; the key map outlives them. */
  private byTarget = new WeakMap<object, CircuitBreaker | null>();

  constructor(private readonly options: BreakerRegistryOptions) {}

  /** The breaker of a call target (null when breakers are disabled for its model). */
  breakerFor(target: VersionTarget): CircuitBreaker | null {
    const hit = this.byTarget.get(target);
    if (hit !== undefined) return hit;
    const model = target.spec?.model;
    const version = target.spec?.version;
    const key = model !== undefined && version !== undefined ? `${model}@${version}` : `${target.origin}${target.path}`;
    let b = this.byKey.get(key);
    if (b === undefined) {
      const config = this.options.configFor(model);
      b = config.enabled
        ? new CircuitBreaker(key, config, (br, from, to, why) => this.options.onChange?.(br.snapshot(this.options.clock.now()), from, to, why), { model, version })
        : null;
      this.byKey.set(key, b);
    }
    this.byTarget.set(target, b);
    return b;
  }

  get(key: string): CircuitBreaker | undefined {
    return this.byKey.get(key) ?? undefined;
  }

  snapshot(): BreakerSnapshot[] {
    const now = this.options.clock.now();
    return [...this.byKey.values()].filter((b): b is CircuitBreaker => b !== null).map((b) => b.snapshot(now));
  }

  /** Forgets every breaker (config reload, tests). */
  reset(): void {
    this.byKey.clear();
    this.byTarget = new WeakMap();
  }
}

const outcomeOk = (err: unknown): boolean => !(err instanceof UpstreamError && COUNTED.has(err.errorClass));

/**
 * Wraps the client's postJson and postStream with the breakers. Returns the undo. A refused call
 * throws UpstreamError('circuit_open'), which the gateway handles like a dead upstream: retry on
 * the stable version, else a fallback answer, else an error. Its own class keeps it apart from
 * real connection failures: RCA does not read skipped calls as evidence about the upstream.
 */
export function guardUpstream(upstream: UpstreamClient, breakers: BreakerRegistry, clock: Clock): () => void {
  const postJson = upstream.postJson;
  const postStream = upstream.postStream;
  const refuse = (b: CircuitBreaker) =>
    new UpstreamError('circuit_open', `circuit breaker for ${b.key} is open: call skipped`);
  upstream.postJson = async function guardedPostJson(target, body) {
    const b = breakers.breakerFor(target as VersionTarget);
    if (!b) return postJson.call(upstream, target, body);
    const admitted = b.admit(clock.now());
    if (admitted === 0) throw refuse(b);
    try {
      const res = await postJson.call(upstream, target, body);
      b.record(true, clock.now(), admitted === 2);
      return res;
    } catch (err) {
      b.record(outcomeOk(err), clock.now(), admitted === 2);
      throw err;
    }
  };
  upstream.postStream = async function guardedPostStream(target, body, signal) {
    const b = breakers.breakerFor(target as VersionTarget);
    if (!b) return postStream.call(upstream, target, body, signal);
    const admitted = b.admit(clock.now());
    if (admitted === 0) throw refuse(b);
    try {
      const res = await postStream.call(upstream, target, body, signal);
      b.record(true, clock.now(), admitted === 2);
      return res;
    } catch (err) {
      // A client that went away aborted the call: that says nothing about the upstream.
      b.record(signal?.aborted ? true : outcomeOk(err), clock.now(), admitted === 2);
      throw err;
    }
  };
  return () => {
    upstream.postJson = postJson;
    upstream.postStream = postStream;
  };
}
