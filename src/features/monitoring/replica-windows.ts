// With PostgreSQL and several gateway replicas, each replica sees only the requests it served, and
// only one (the leader) runs the monitors. Every replica ships what its metric windows recorded
// since its last flush (a delta: buckets as JSON, merged by addition) to `metric_deltas` twice a
// second; the leader adds the other replicas' deltas into a second set of windows and monitors
// read the sum of both. Deltas rather than whole buckets because buckets keep changing after their
// second (requests finishing, feedback and labels arriving late) and adding a whole bucket twice
// would count it twice. A replica that becomes the leader reads the last hour of deltas back, so
// its windows hold the fleet's history and not only its own.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Clock, EpochMs } from '../../core/types.ts';
import type { Database } from '../../storage/schema.ts';
import { MetricWindows, type MetricWindow, type SerializedBucket, type TenthCounts } from '../telemetry/metric-windows.ts';
import type { MonitoredWindows } from './monitor-runner.ts';
import { mergeWindowInto } from './window-cache.ts';

export interface ReplicaWindowsOptions {
  db: Kysely<Database>;
  /** This replica's windows (the gateway's): what it records is also queued for the others. */
  local: MetricWindows;
  isLeader: () => boolean;
  clock: Clock;
  replicaId?: string;
  /** How often deltas are shipped and, on the leader, read (default 500 ms: with the 1 s monitor tick, about 2 s to judge another replica's traffic). */
  intervalMs?: number;
  /** Deltas older than this are deleted by the leader (default one hour, what the windows keep). */
  retentionMs?: number;
  onError?: (err: unknown, what: string) => void;
}

const PAGE = 500;
/** Ids allocated concurrently can become visible out of order: re-read this many back, skipping seen ones. */
const ID_OVERLAP = 1000;

export class ReplicaWindows implements MonitoredWindows {
  readonly replica: string;
  private readonly outbox = new MetricWindows();
  private readonly remote = new MetricWindows();
  private readonly seen = new Set<number>();
  private lastId = 0;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private lastCleanup = 0;
  /** Deltas shipped and imported so far (for tests and logs). */
  shipped = 0;
  imported = 0;

  constructor(private readonly o: ReplicaWindowsOptions) {
    this.replica = o.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    // Tee: every observation recorded locally is also queued for the other replicas.
    const local = o.local;
    const record = local.record.bind(local);
    const recordFeedback = local.recordFeedback.bind(local);
    local.record = (obs) => {
      record(obs);
      this.outbox.record(obs);
    };
    local.recordFeedback = (f) => {
      const counted = recordFeedback(f);
      if (counted) this.outbox.recordFeedback(f);
      return counted;
    };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sync(), this.o.intervalMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.busy) await this.busy.catch(() => undefined);
    await this.flush().catch((err) => this.o.onError?.(err, 'metric deltas: last flush'));
  }

  /** One round: ship this replica's delta; as the leader, read the others'. */
  sync(): Promise<void> {
    if (this.busy) return this.busy;
    this.busy = (async () => {
      try {
        await this.flush();
      } catch (err) {
        this.o.onError?.(err, 'metric deltas: flush');
      }
      try {
        await this.pull();
      } catch (err) {
        this.o.onError?.(err, 'metric deltas: read');
      }
    })().finally(() => {
      this.busy = undefined;
    });
    return this.busy;
  }

  /** Ships what was recorded since the last flush. On failure the delta stays queued. */
  async flush(): Promise<number> {
    const buckets = this.outbox.exportBuckets(0, Number.MAX_SAFE_INTEGER);
    this.outbox.clear();
    if (buckets.length === 0) return 0;
    try {
      await this.o.db.insertInto('metric_deltas').values({ replica: this.replica, at: this.o.clock.now(), buckets: JSON.stringify(buckets) }).execute();
      this.shipped++;
      return buckets.length;
    } catch (err) {
      this.outbox.importBuckets(buckets);
      throw err;
    }
  }

  /** The leader adds the other replicas' new deltas; a replica that stops leading forgets them. */
  async pull(): Promise<number> {
    if (!this.o.isLeader()) {
      if (this.leading) this.reset();
      return 0;
    }
    if (!this.leading) {
      // Newly the leader: everything still kept is read back, from the start.
      this.reset();
      this.leading = true;
    }
    let imported = 0;
    let cursor = Math.max(0, this.lastId - ID_OVERLAP);
    for (let page = 0; page < 40; page++) {
      const rows = await this.o.db
        .selectFrom('metric_deltas')
        .select(['id', 'buckets'])
        .where('id', '>', cursor)
        .where('replica', '<>', this.replica)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      for (const row of rows) {
        const id = Number(row.id);
        cursor = id;
        if (this.seen.has(id)) continue;
        this.seen.add(id);
        this.remote.importBuckets(JSON.parse(row.buckets) as SerializedBucket[]);
        if (id > this.lastId) this.lastId = id;
        imported++;
      }
      if (rows.length < PAGE) break;
    }
    for (const id of this.seen) if (id <= this.lastId - ID_OVERLAP) this.seen.delete(id);
    this.imported += imported;
    const now = this.o.clock.now();
    if (now - this.lastCleanup >= 60_000) {
      this.lastCleanup = now;
      await this.o.db.deleteFrom('metric_deltas').where('at', '<', now - (this.o.retentionMs ?? 3_600_000)).execute();
    }
    return imported;
  }

  private reset(): void {
    this.leading = false;
    this.remote.clear();
    this.seen.clear();
    this.lastId = 0;
  }

  /** This replica's own tenths: replicas exchange whole seconds only, and the local share of the traffic is a sample of it. */
  tenths(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): TenthCounts[] {
    return this.o.local.tenths(model, version, fromMs, toMs);
  }

  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): MetricWindow {
    const w = this.o.local.snapshot(model, version, fromMs, toMs);
    const r = this.remote.snapshot(model, version, fromMs, toMs);
    if (r.activeSeconds > 0) mergeWindowInto(w, r);
    return w;
  }

  versions(): Array<{ model: string; version: string; shadow: boolean; lastAt: EpochMs }> {
    const byKey = new Map<string, { model: string; version: string; shadow: boolean; lastAt: EpochMs }>();
    for (const v of [...this.o.local.versions(), ...this.remote.versions()]) {
      const key = `${v.model}\u0000${v.version}\u0000${v.shadow}`;
      const prev = byKey.get(key);
      if (!prev || v.lastAt > prev.lastAt) byKey.set(key, v);
    }
    return [...byKey.values()];
  }
}
