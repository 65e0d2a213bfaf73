// Traces leave the request path through here: record() only appends to a queue; a timer armed by
// the first trace queued (or a full batch) writes what is queued to the TraceStore, so batches hold
// about flushIntervalMs of traffic and no timer runs while nothing is queued. Capping and
// redaction happen at flush time, off the request path, and always before anything is stored. A
// failed write keeps the batch and retries with backoff; the queue is bounded so a dead database
// costs memory up to a limit, then the oldest traces are dropped (and counted), never the process.
import { yieldToEventLoop } from '../../core/time-slice.ts';
import type { Clock, EpochMs, Trace } from '../../core/types.ts';
import type { TraceStore } from './trace-store.ts';

export interface RecorderLogger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface TraceRecorderOptions {
  store: Pick<TraceStore, 'insertMany' | 'prune'>;
  clock: Clock;
  logger?: RecorderLogger;
  flushIntervalMs: number;
  /** Flush as soon as this many traces are queued (default 500). */
  flushAt?: number;
  /**
   * Most traces per insertMany call (default 256); a bigger queue is split into even batches. An
   * SQLite file is written by its writer thread and PostgreSQL asynchronously, so a batch never
   * holds the event loop; larger batches mean fewer commits (SQLite file, measured: ~11 µs of CPU
   * a row in batches of 256, ~17 µs in batches of 25, whole process with building the traces). Only an in-memory
   * SQLite, or a file whose writer thread died, writes on the event loop.
   */
  batchSize?: number;
  /** Most traces kept in memory while the store is unavailable (default 50,000). */
  maxQueue?: number;
  /** Most characters of input/output text queued (default 32 M): bounds memory when traces are big. */
  maxQueueChars?: number;
  captureInput: boolean;
  captureOutput: boolean;
  /** Characters of input/output text kept per trace. */
  maxChars: number;
  /** Regular expressions (source text) whose matches become [REDACTED]. */
  redact: string[];
  retention?: { maxAgeHours: number; maxCount: number; intervalMs?: number };
}

export interface RecentRequest {
  model: string;
  version?: string;
  startedAt: EpochMs;
  /** Predicted class, so a late label can be compared without reading the trace. */
  prediction?: string;
}

export const REDACTED = '[REDACTED]';

function findTrace(list: Trace[], requestId: string): Trace | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (list[i].requestId === requestId && !list[i].shadow) return list[i];
  return undefined;
}

/** Rough size of a queued trace in characters: its texts plus a fixed allowance for the rest. */
const textSize = (t: Trace): number => 256 + (t.input?.length ?? 0) + (t.output?.length ?? 0);
/** First retry after a failed write, then doubling up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export class TraceRecorder {
  private queue: Trace[] = [];
  private queuedChars = 0;
  /** The queue being written by drain(), for lookups of traces not stored yet. */
  private draining: Trace[] | undefined;
  private readonly options: Required<Omit<TraceRecorderOptions, 'retention' | 'logger'>> & Pick<TraceRecorderOptions, 'retention' | 'logger'>;
  private readonly patterns: RegExp[];
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  /** Armed while traces wait for their flush. */
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private backoffMs = 0;
  /** close() has begun: it writes what is left itself, no timer is armed any more. */
  private closing = false;
  private closed = false;
  /** Traces dropped because the queue was full (store unavailable for long). */
  dropped = 0;
  /** Traces written so far. */
  written = 0;

  constructor(options: TraceRecorderOptions) {
    // `?? default` per field: an explicit undefined from a caller must not erase a default.
    this.options = {
      ...options,
      batchSize: Math.max(1, options.batchSize ?? 256),
      flushAt: Math.max(1, options.flushAt ?? 500),
      maxQueue: Math.max(1, options.maxQueue ?? 50_000),
      maxQueueChars: Math.max(1, options.maxQueueChars ?? 32 * 1024 * 1024),
    };
    this.patterns = options.redact.map((p) => new RegExp(p, 'g'));
    const r = options.retention;
    if (r) {
      this.retentionTimer = setInterval(() => void this.prune(), r.intervalMs ?? 10 * 60_000);
      this.retentionTimer.unref();
    }
  }

  /** O(1): queue the trace and remember its request id. Never throws, never waits. */
  record(trace: Trace): void {
    if (this.closed) return;
    const q = this.queue;
    if (q.length >= this.options.maxQueue || this.queuedChars > this.options.maxQueueChars) this.dropOldest();
    q.push(trace);
    this.queuedChars += textSize(trace);
    if (q.length >= this.options.flushAt) this.flushNow();
    else this.flushSoon();
  }

  /** A full batch: written on the next turn of the event loop rather than after the interval. */
  private flushNow(): void {
    if (this.flushScheduled || this.flushing || this.closing) return;
    if (!this.clockOk()) return this.flushSoon();
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.closing) void this.flush();
    });
  }

  /** After the interval, or once the backoff of a failed write has passed. */
  private flushSoon(): void {
    if (this.timer || this.closing) return;
    const backoffLeft = this.retryAt === 0 ? 0 : this.retryAt - this.options.clock.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, Math.max(this.options.flushIntervalMs, backoffLeft));
    this.timer.unref();
  }

  /** Drops the oldest tenth in one go: amortised O(1), where a shift per record would copy the queue. */
  private dropOldest(): void {
    const q = this.queue;
    const n = Math.max(1, Math.floor(q.length / 10));
    for (let i = 0; i < n; i++) this.queuedChars -= textSize(q[i]);
    q.splice(0, n);
    this.dropped += n;
  }

  /**
   * A request the gateway answered whose trace is not stored yet (queued, or in a write under
   * way); once stored, the trace store answers. A scan of the queue rather than an index: it runs
   * only for feedback, the queue is short (hundreds) unless the store is down, and an index kept
   * per request had every entry promoted to the old generation, costing long GC pauses.
   */
  lookupRecent(requestId: string): RecentRequest | undefined {
    const t = findTrace(this.queue, requestId) ?? (this.draining && findTrace(this.draining, requestId));
    return t ? { model: t.model, version: t.version, startedAt: t.startedAt, prediction: t.prediction } : undefined;
  }

  get queued(): number {
    return this.queue.length;
  }

  private clockOk(): boolean {
    return this.retryAt === 0 || this.options.clock.now() >= this.retryAt;
  }

  private tick(): void {
    // A write under way re-arms the timer when it ends, if traces are left.
    if (this.queue.length === 0 || this.flushing) return;
    if (this.clockOk()) void this.flush();
    else this.flushSoon();
  }

  /** Writes everything queued (in batches). Resolves when done or when the store failed (traces kept). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.queue.length > 0 && this.retryAt === 0 ? this.flush() : undefined));
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
      // A write went through: a timer still waiting out an earlier backoff must not hold new traces.
      if (this.retryAt === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      // What arrived during the write waits for its own interval (or goes now if a batch is full).
      if (this.queue.length >= this.options.flushAt) this.flushNow();
      else if (this.queue.length > 0) this.flushSoon();
    });
    return this.flushing;
  }

  /**
   * Writes what is queued now. Traces recorded meanwhile are left for the next flush: writing them
   * at once would chain write after write of a trace or two each under steady traffic, at many
   * times the CPU per trace of one batch per interval.
   */
  private async drain(): Promise<void> {
    if (this.queue.length === 0) return;
    const pending = this.queue;
    this.queue = [];
    this.draining = pending;
    // Even batches: 300 queued make two of 150, not 256 and a costly tail of 44.
    const size = Math.ceil(pending.length / Math.ceil(pending.length / this.options.batchSize));
    for (let i = 0; i < pending.length; i += size) {
      const batch = pending.slice(i, i + size);
      for (const t of batch) this.queuedChars -= textSize(t);
      const prepared = batch.map((t) => this.prepare(t));
      try {
        await this.options.store.insertMany(prepared);
        this.written += prepared.length;
        this.retryAt = 0;
        this.backoffMs = 0;
        // A synchronous store (better-sqlite3) resolves in a microtask: yield to I/O between batches.
        if (i + size < pending.length) await yieldToEventLoop();
      } catch (err) {
        // Keep the batch (already prepared: capped and redacted) and the rest, oldest first; try again later.
        this.queue = prepared.concat(pending.slice(i + size), this.queue);
        for (const t of prepared) this.queuedChars += textSize(t);
        while (this.queue.length > this.options.maxQueue || this.queuedChars > this.options.maxQueueChars) this.dropOldest();
        this.backoffMs = Math.min(RETRY_MAX_MS, this.backoffMs ? this.backoffMs * 2 : Math.max(RETRY_MIN_MS, this.options.flushIntervalMs * 2));
        this.retryAt = this.options.clock.now() + this.backoffMs;
        this.options.logger?.warn(
          { err, queued: this.queue.length, dropped: this.dropped, retryInMs: this.backoffMs },
          'trace write failed; will retry',
        );
        this.draining = undefined;
        return;
      }
    }
    this.draining = undefined;
  }

  /** Caps and redacts the texts. Idempotent, so a retried batch can go through it again. */
  prepare(trace: Trace): Trace {
    const { captureInput, captureOutput, maxChars } = this.options;
    if (trace.input !== undefined) trace.input = captureInput ? this.clean(trace.input, maxChars) : undefined;
    if (trace.output !== undefined) trace.output = captureOutput ? this.clean(trace.output, maxChars) : undefined;
    if (trace.errorMessage !== undefined) trace.errorMessage = this.clean(trace.errorMessage, 2_000);
    return trace;
  }

  private clean(text: string, max: number): string | undefined {
    if (max <= 0) return undefined;
    // Redact a little past the cap so a secret straddling the cut is caught before it is cut.
    let t = text.length > max + 1024 ? text.slice(0, max + 1024) : text;
    for (const re of this.patterns) {
      re.lastIndex = 0;
      t = t.replace(re, REDACTED);
    }
    return t.length > max ? t.slice(0, max) : t;
  }

  /** Retention: delete by age, then by count. Errors are logged, never thrown. */
  async prune(): Promise<number> {
    const r = this.options.retention;
    if (!r) return 0;
    try {
      return await this.options.store.prune({ before: this.options.clock.now() - r.maxAgeHours * 3_600_000, maxCount: r.maxCount });
    } catch (err) {
      this.options.logger?.warn({ err }, 'trace retention failed; will try again');
      return 0;
    }
  }

  /** Stops the timers and writes what is queued (a few attempts). Records after close are indexed, not stored. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.timer = this.retentionTimer = undefined;
    for (let attempt = 0; attempt < 3 && (this.queue.length > 0 || this.flushing); attempt++) {
      if (this.flushing) await this.flushing;
      this.retryAt = 0;
      await this.flush();
    }
    this.closed = true;
    if (this.queue.length > 0) {
      this.options.logger?.error({ lost: this.queue.length }, 'traces could not be written before shutdown');
    }
  }
}
