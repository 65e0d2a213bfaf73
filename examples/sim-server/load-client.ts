// Open-loop load generator for end-to-end tests and demos: request i is due at start + i/rps,
// so traffic is evenly paced rather than bursty, and a slow server does not slow the senders
// down (up to `concurrency` requests in flight; beyond that, due requests wait for a slot).
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

export interface LoadResponse {
  /** Index of the request (0-based, in send order). */
  i: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  latencyMs: number;
}

export interface LoadOptions {
  /** Base URL on the loopback interface, e.g. http://127.0.0.1:9001. */
  url: string;
  /** Path appended to url, e.g. /v1/chat/completions. */
  path: string;
  /** Body of request i: a string or Buffer is sent as is, anything else as JSON. Without it, GET. */
  body?: (i: number) => unknown;
  /** Default POST when body is given, otherwise GET. */
  method?: 'GET' | 'POST' | 'PUT';
  /** Requests per second (> 0). */
  rps: number;
  /** Sends floor(rps * durationMs / 1000) requests over this time. */
  durationMs: number;
  /** Maximum requests in flight (default 256). */
  concurrency?: number;
  headers?: Record<string, string> | ((i: number) => Record<string, string>);
  /** Per-request limit for the whole exchange (default 10 s); exceeding it counts as error TIMEOUT. */
  timeoutMs?: number;
  /** Called for every request that got an HTTP response, with its body read. */
  onResponse?: (r: LoadResponse) => void;
}

export interface LoadResult {
  sent: number;
  /** 2xx responses with their body read completely. */
  ok: number;
  /** sent - ok: non-2xx statuses and network errors. */
  failed: number;
  /** HTTP status -> count. */
  statuses: Record<string, number>;
  /** Network error code (TIMEOUT, UND_ERR_SOCKET, ECONNRESET, ...) -> count. */
  errors: Record<string, number>;
  /** Milliseconds from send to body fully read, for every request that got a response, in completion order. */
  latencies: number[];
  /** Wall time from the first send to the last completion. */
  elapsedMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const MAX_REQUESTS = 1_000_000;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const base = new URL(o.url);
  if (!LOOPBACK.has(base.hostname)) throw new Error(`runLoad only targets the loopback interface, not ${base.hostname}`);
  if (!(o.rps > 0) || !Number.isFinite(o.rps)) throw new Error('rps must be a positive number');
  if (!(o.durationMs >= 0) || !Number.isFinite(o.durationMs)) throw new Error('durationMs must be a non-negative number');
  const total = Math.floor((o.rps * o.durationMs) / 1000);
  if (total > MAX_REQUESTS) throw new Error(`rps x duration is ${total} requests; the limit is ${MAX_REQUESTS}`);
  const concurrency = Math.max(1, o.concurrency ?? 256);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const method = o.method ?? (o.body ? 'POST' : 'GET');
  const target = new URL(o.path, base).toString();
  const interval = 1000 / o.rps;

  const result: LoadResult = { sent: 0, ok: 0, failed: 0, statuses: {}, errors: {}, latencies: [], elapsedMs: 0 };
  if (total === 0) return result;

  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000, pipelining: 1 });
  const start = performance.now();
  let next = 0;
  let inFlight = 0;
  let done = 0;
  let waitingForSlot = false;
  let timer: NodeJS.Timeout | undefined;

  await new Promise<void>((resolve) => {
    const fire = async (i: number): Promise<void> => {
      inFlight++;
      result.sent++;
      const extra = typeof o.headers === 'function' ? o.headers(i) : o.headers;
      let payload: string | Buffer | undefined;
      const headers: Record<string, string> = {};
      if (o.body) {
        const b = o.body(i);
        payload = typeof b === 'string' || Buffer.isBuffer(b) ? b : JSON.stringify(b);
        headers['content-type'] = 'application/json';
      }
      if (extra) Object.assign(headers, extra);
      const t0 = performance.now();
      // undici's own headers/body timeouts tick at ~500 ms; an abort signal keeps short limits exact.
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const res = await request(target, {
          method,
          headers,
          body: payload,
          dispatcher: agent,
          signal,
        });
        const text = await res.body.text();
        const latencyMs = performance.now() - t0;
        result.latencies.push(latencyMs);
        result.statuses[res.statusCode] = (result.statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) result.ok++;
        o.onResponse?.({ i, status: res.statusCode, headers: res.headers, body: text, latencyMs });
      } catch (err) {
        const code = signal.aborted ? 'TIMEOUT' : ((err as { code?: string }).code ?? (err as Error).name ?? 'Error');
        result.errors[code] = (result.errors[code] ?? 0) + 1;
      } finally {
        inFlight--;
        done++;
        if (done === total) resolve();
        else if (waitingForSlot) {
          waitingForSlot = false;
          pump();
        }
      }
    };

    const pump = (): void => {
      timer = undefined;
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        if (inFlight >= concurrency) {
          waitingForSlot = true;
          return;
        }
        void fire(next++);
      }
      if (next < total) timer = setTimeout(pump, Math.max(0, start + next * interval - performance.now()));
    };
    pump();
  });

  if (timer) clearTimeout(timer);
  result.elapsedMs = performance.now() - start;
  result.failed = result.sent - result.ok;
  await agent.close();
  return result;
}
