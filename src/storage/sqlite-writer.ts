// Bulk writes to an SQLite file on a thread of their own. better-sqlite3 is synchronous: a trace
// batch written on the main thread holds the event loop for its whole duration, and now and then
// for a WAL checkpoint (tens of ms) — a p99 the gateway's clients would pay. Here the main thread
// only builds the SQL (Kysely, as everywhere else) and hands it over; a worker with its own
// connection to the same file runs it and does the checkpoints.
//
// If the thread cannot start or dies, writes fall back to the main thread's connection: slower,
// never lost.
import { Worker } from 'node:worker_threads';
import { packagePath } from '../package-root.ts';

export interface WriteStatement {
  sql: string;
  params: unknown[];
}

export interface SqliteWriterOptions {
  path: string;
  /** Runs statements on the main thread's connection (one transaction), when the thread is gone; resolves with the rows changed. */
  fallback: (statements: WriteStatement[]) => Promise<number>;
  /** Runs a query on the main thread's connection, when the thread is gone. */
  fallbackRead: (statement: WriteStatement) => Promise<unknown[]>;
  /** Called once the thread is up, so the main connection can stop auto-checkpointing. */
  onStarted?: () => void;
  /** Called when the thread is gone (closed or crashed): checkpoints are the main connection's again. */
  onStopped?: () => void;
  busyTimeoutMs?: number;
  checkpointIntervalMs?: number;
  /** Nice value of the thread on Linux (default WRITER_NICE); 0 competes with request handling as an equal. */
  nice?: number;
}

/**
 * The thread's default nice value. A commit is a burst of CPU (~0.3 ms for a 25 ms flush at 2,000
 * requests/s); on a small machine, at nice 0, a request that wakes on the core the burst holds
 * waits for it. At 10 the scheduler hands that core to the request at once (bench:gateway (a),
 * alternating runs: gateway − reference p99 0.23–0.33 ms in 4 runs against 0.54–0.67 ms in 7 at
 * nice 0; 0.55 at nice 5; 0.02–0.23 at 19). Not 19: under full load the thread must still get the
 * ~8% of a core that writing every trace takes (nice 10 weighs 110 against a busy nice-0 thread's
 * 1024; 19 only 15).
 */
export const WRITER_NICE = 10;

type Pending =
  | { kind: 'write'; resolve: (changes: number) => void; reject: (err: Error) => void; statements: WriteStatement[] }
  | { kind: 'read'; resolve: (rows: unknown[]) => void; reject: (err: Error) => void; statement: WriteStatement };

// From the package root, not this file: the code may run bundled (dist/), the thread's file does not move.
const WORKER_FILE = packagePath('src', 'storage', 'sqlite-writer-worker.mjs');

export class SqliteWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;
  /** Waiting for every pending write to settle (close). */
  private whenIdle: Array<() => void> = [];

  constructor(private readonly options: SqliteWriterOptions) {}

  /** Runs the statements in one transaction; resolves once committed, with the rows they changed. */
  write(statements: WriteStatement[]): Promise<number> {
    const worker = this.stopped ? undefined : (this.worker ?? this.start());
    if (!worker) return this.options.fallback(statements);
    return new Promise<number>((resolve, reject) => this.send(worker, { kind: 'write', resolve, reject, statements }));
  }

  /** Runs a query on the thread's connection (a long scan that should not hold the event loop); resolves with its rows. */
  read(statement: WriteStatement): Promise<unknown[]> {
    const worker = this.stopped ? undefined : (this.worker ?? this.start());
    if (!worker) return this.options.fallbackRead(statement);
    return new Promise<unknown[]>((resolve, reject) => this.send(worker, { kind: 'read', resolve, reject, statement }));
  }

  private send(worker: Worker, p: Pending): void {
    const id = this.nextId++;
    this.pending.set(id, p);
    // Keep the process alive while work is on the thread, not longer.
    if (this.pending.size === 1) worker.ref();
    if (p.kind === 'write') worker.postMessage({ type: 'write', id, statements: p.statements });
    else worker.postMessage({ type: 'read', id, statement: p.statement });
  }

  /** What the thread did not confirm, on the main connection. */
  private runOnFallback(p: Pending): void {
    if (p.kind === 'write') this.options.fallback(p.statements).then(p.resolve, p.reject);
    else this.options.fallbackRead(p.statement).then(p.resolve, p.reject);
  }

  private start(): Worker | undefined {
    let worker: Worker;
    try {
      // execArgv: [] — the thread runs plain JavaScript, without the TypeScript loader of the parent.
      worker = new Worker(WORKER_FILE, {
        execArgv: [],
        workerData: {
          path: this.options.path,
          busyTimeoutMs: this.options.busyTimeoutMs,
          checkpointIntervalMs: this.options.checkpointIntervalMs,
          nice: this.options.nice ?? WRITER_NICE,
        },
      });
    } catch {
      this.stopped = true;
      return undefined;
    }
    worker.unref();
    worker.on('message', (m: { type: string; id?: number; changes?: number; rows?: unknown[]; error?: { message: string; code?: string } }) => {
      if (m.type !== 'done' || m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else if (p.kind === 'write') p.resolve(m.changes ?? 0);
      else p.resolve(m.rows ?? []);
      if (this.pending.size === 0) {
        worker.unref();
        for (const idle of this.whenIdle.splice(0)) idle();
      }
    });
    const gone = () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.stopped = true;
      this.options.onStopped?.();
      // Whatever the thread had not confirmed runs here. A batch it did commit before dying would be
      // written twice; trace inserts skip existing ids (on conflict do nothing), so that is harmless.
      const left = [...this.pending.values()];
      this.pending.clear();
      for (const p of left) this.runOnFallback(p);
      for (const idle of this.whenIdle.splice(0)) idle();
    };
    worker.on('error', gone);
    worker.on('exit', gone);
    this.worker = worker;
    this.options.onStarted?.();
    return worker;
  }

  /** Whether writes currently go to the thread (false before the first write and after it stopped). */
  get threadRunning(): boolean {
    return this.worker !== undefined;
  }

  /** Kills the thread as a crash would (tests of the fallback). */
  async killThreadForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Waits for the writes under way, checkpoints and stops the thread. Later writes use the fallback. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.stopped = true;
    if (!worker) return;
    if (this.pending.size > 0) await new Promise<void>((resolve) => this.whenIdle.push(resolve));
    const closed = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ type: 'close' });
    await closed;
  }
}
