// Calls to upstream model servers: one keep-alive undici Pool per origin, connect and total
// timeouts, and the classification of every failure into the errorClass that traces, metrics,
// monitors and RCA share.
import { Pool, type Dispatcher } from 'undici';

export type UpstreamErrorClass =
  | 'upstream_5xx'
  | 'upstream_4xx'
  | 'timeout'
  | 'connection'
  | 'malformed_output'
  | 'context_length_exceeded'
  /** Not sent: the version's circuit breaker is open (src/features/fallbacks/circuit-breaker.ts). */
  | 'circuit_open';

export class UpstreamError extends Error {
  readonly errorClass: UpstreamErrorClass;
  /** Upstream HTTP status when it answered with one. */
  readonly status?: number;
  /** Start of the upstream's error body (for passing OpenAI-shaped 4xx messages on). */
  readonly body?: string;

  constructor(errorClass: UpstreamErrorClass, message: string, options: { status?: number; body?: string; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'UpstreamError';
    this.errorClass = errorClass;
    this.status = options.status;
    this.body = options.body;
  }
}

export const isUpstreamError = (e: unknown): e is UpstreamError => e instanceof UpstreamError;

/** Where to send one call; CompiledVersion satisfies it. */
export interface UpstreamTarget {
  readonly origin: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  /** Used when a version sets no `upstream.timeoutMs`. */
  defaultTimeoutMs: number;
  /** Sockets per upstream origin (default 256): enough for every in-flight request of a busy gateway. */
  connectionsPerOrigin?: number;
  /** Largest non-streaming answer read (default 32 MiB); a bigger one is malformed output. */
  maxResponseBytes?: number;
}

export interface UpstreamStream {
  status: number;
  contentType: string;
  body: Dispatcher.ResponseData['body'];
}

const CONTEXT_LENGTH_RE =
  /context[_ -]?length|context[_ -]?window|maximum context|too many tokens|prompt is too long|input is too long|max_tokens.*exceed/i;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ABORT_ERR']);

/** Why a call failed, from the thrown error (transport failures; HTTP answers go through classifyStatus). */
export function classifyError(err: unknown): UpstreamErrorClass {
  if (err instanceof UpstreamError) return err.errorClass;
  const e = err as { code?: string; name?: string; errors?: Array<{ code?: string }>; cause?: unknown } | undefined;
  if (!e || typeof e !== 'object') return 'connection';
  if (e.name === 'TimeoutError' || (e.code && TIMEOUT_CODES.has(e.code))) return 'timeout';
  if (e.name === 'AbortError' && e.cause) return classifyError(e.cause);
  // ECONNREFUSED, ECONNRESET, EPIPE, UND_ERR_SOCKET, UND_ERR_CLOSED, EHOSTUNREACH, DNS failures, ...
  return 'connection';
}

/** errorClass of a non-2xx upstream answer. */
export function classifyStatus(status: number, body: string): UpstreamErrorClass {
  if (status >= 400 && status < 500) {
    if ((status === 400 || status === 413 || status === 422) && CONTEXT_LENGTH_RE.test(body)) return 'context_length_exceeded';
    return 'upstream_4xx';
  }
  return 'upstream_5xx';
}

/** The upstream's own error message when its error body is OpenAI- or KServe-shaped. */
export function upstreamErrorMessage(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (j && typeof j === 'object') {
      if (typeof j.error === 'string') return j.error;
      const inner = j.error as { message?: unknown } | undefined;
      if (inner && typeof inner.message === 'string') return inner.message;
      if (typeof j.message === 'string') return j.message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.trim();
  return text ? text.slice(0, 300) : undefined;
}

const ERROR_BODY_LIMIT = 64 * 1024;

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function timeoutError(ms: number): Error {
  const e = new Error(`upstream did not answer within ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

/** Collects one JSON answer (or its failure) from undici's dispatch callbacks. */
class JsonHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private done = false;
  private timedOut = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (r: { status: number; text: string }) => void,
    private readonly reject: (e: UpstreamError) => void,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
  ) {
    this.timer = setTimeout(() => this.onTimeout(), timeoutMs);
  }

  private onTimeout(): void {
    this.timedOut = true;
    const err = timeoutError(this.timeoutMs);
    // Still queued for a socket: fail now; the dispatch is aborted as soon as it starts.
    if (this.controller) this.controller.abort(err);
    else this.fail(err);
  }

  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    if (err instanceof UpstreamError) return this.reject(err);
    const cls = this.timedOut ? 'timeout' : classifyError(err);
    this.reject(new UpstreamError(cls, describe(cls, err, this.timeoutMs), { cause: err }));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(timeoutError(this.timeoutMs));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const len = Number(headers['content-length']);
    const limit = statusCode >= 200 && statusCode < 300 ? this.maxBytes : ERROR_BODY_LIMIT;
    if (len > limit && statusCode >= 200 && statusCode < 300) {
      this.fail(new UpstreamError('malformed_output', 'upstream answer is larger than the gateway reads', { status: statusCode }));
      controller.abort(new Error('answer too large'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    const ok = this.status >= 200 && this.status < 300;
    if (this.size > (ok ? this.maxBytes : ERROR_BODY_LIMIT)) {
      if (ok) {
        this.fail(new UpstreamError('malformed_output', 'upstream answer is larger than the gateway reads', { status: this.status }));
        controller.abort(new Error('answer too large'));
      }
      return; // an error body is only kept up to its limit
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    const c = this.chunks;
    const text = c.length === 1 ? c[0].toString('utf8') : Buffer.concat(c).toString('utf8');
    const status = this.status;
    if (status >= 200 && status < 300) this.resolve({ status, text });
    else this.reject(new UpstreamError(classifyStatus(status, text), `upstream answered HTTP ${status}`, { status, body: text }));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }
}

export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();
  private readonly options: Required<UpstreamClientOptions>;
  private closed = false;

  constructor(options: UpstreamClientOptions) {
    this.options = {
      ...options,
      connectionsPerOrigin: options.connectionsPerOrigin ?? 256,
      maxResponseBytes: options.maxResponseBytes ?? 32 * 1024 * 1024,
    };
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      if (this.closed) throw new UpstreamError('connection', 'gateway is shutting down');
      pool = new Pool(origin, {
        connections: this.options.connectionsPerOrigin,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: { timeout: this.options.connectTimeoutMs },
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private headers(target: UpstreamTarget, accept: string): Record<string, string> {
    if (!target.headers) return { 'content-type': 'application/json', accept };
    return { ...target.headers, 'content-type': 'application/json', accept };
  }

  /**
   * POST a JSON body and read the whole answer. Resolves with a 2xx answer's text; rejects with an
   * UpstreamError for anything else. The total timeout covers queueing, connect, headers and body.
   * Uses undici's dispatch API directly: no AbortController and no body stream per request, which
   * is most of what `request()` costs on a 1 ms budget.
   */
  postJson(target: UpstreamTarget, body: string): Promise<{ status: number; text: string }> {
    const timeoutMs = target.timeoutMs ?? this.options.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const handler = new JsonHandler(resolve, reject, timeoutMs, this.options.maxResponseBytes);
      try {
        this.pool(target.origin).dispatch(
          {
            path: target.path,
            method: 'POST',
            headers: this.headers(target, 'application/json'),
            body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          handler,
        );
      } catch (err) {
        handler.fail(err);
      }
    });
  }

  /**
   * POST for a streamed answer. Resolves once a 2xx answer's headers arrived (the caller reads the
   * body); rejects with an UpstreamError otherwise. Timeouts: to the headers, then between chunks.
   */
  async postStream(target: UpstreamTarget, body: string, signal?: AbortSignal): Promise<UpstreamStream> {
    const timeoutMs = target.timeoutMs ?? this.options.defaultTimeoutMs;
    try {
      const res = await this.pool(target.origin).request({
        path: target.path,
        method: 'POST',
        headers: this.headers(target, 'text/event-stream'),
        body,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const status = res.statusCode;
      if (status < 200 || status >= 300) {
        const text = (await readCapped(res.body, ERROR_BODY_LIMIT)) ?? '';
        throw new UpstreamError(classifyStatus(status, text), `upstream answered HTTP ${status}`, { status, body: text });
      }
      const ct = res.headers['content-type'];
      return { status, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', body: res.body };
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      const cls = classifyError(err);
      throw new UpstreamError(cls, describe(cls, err, timeoutMs), { cause: err });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}

export function describe(cls: UpstreamErrorClass, err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; message?: string } | undefined;
  if (cls === 'timeout') return `upstream timed out (${timeoutMs} ms${e?.code ? `, ${e.code}` : ''})`;
  const code = e?.code ?? (err as { errors?: Array<{ code?: string }> })?.errors?.[0]?.code;
  return `upstream connection failed${code ? ` (${code})` : ''}${e?.message ? `: ${e.message}` : ''}`;
}
