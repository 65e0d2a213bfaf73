// One replica at a time runs the monitors (and whatever else asks `isLeader()`): with PostgreSQL
// the one holding a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated pooled
// connection; a replica that is not the leader tries again every `retryMs`, and the leader checks
// its connection as often — when the connection dies, PostgreSQL frees the lock and another
// replica takes it at its next try. SQLite serves one process: always the leader.
import type pg from 'pg';
import { lockKeys, type Capabilities } from '../../storage/capabilities.ts';

export interface LeaderLockOptions {
  storage: { caps: Pick<Capabilities, 'multiReplica'>; pgPool?: pg.Pool };
  /** How often to try to become the leader, and how often the leader checks its connection. */
  retryMs?: number;
  key?: number;
  onChange?: (leader: boolean) => void;
  onError?: (err: unknown) => void;
}

export class LeaderLock {
  private leader: boolean;
  private client: pg.PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private stopped = false;
  private readonly key: number;
  private readonly shared: boolean;

  constructor(private readonly o: LeaderLockOptions) {
    this.key = o.key ?? lockKeys.leader;
    this.shared = o.storage.caps.multiReplica && o.storage.pgPool !== undefined;
    this.leader = !this.shared;
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Tries once now, then every retryMs. */
  async start(): Promise<void> {
    if (!this.shared || this.timer) return;
    this.stopped = false;
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.o.retryMs ?? 5000);
    this.timer.unref();
  }

  /** One try (or, as the leader, one connection check). */
  attempt(): Promise<void> {
    if (!this.shared || this.stopped) return Promise.resolve();
    if (this.busy) return this.busy;
    this.busy = this.run().finally(() => {
      this.busy = undefined;
    });
    return this.busy;
  }

  private async run(): Promise<void> {
    if (this.leader && this.client) {
      try {
        await this.client.query('select 1');
      } catch (err) {
        this.lose(err);
      }
      return;
    }
    let client: pg.PoolClient | undefined;
    try {
      client = await this.o.storage.pgPool!.connect();
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [this.key]);
      if (rows[0]?.ok && !this.stopped) {
        this.client = client;
        client.on('error', (err) => this.lose(err));
        this.set(true);
        return;
      }
      if (rows[0]?.ok) await client.query('select pg_advisory_unlock($1)', [this.key]);
      client.release();
    } catch (err) {
      // Destroy rather than return a connection in an unknown state (it might hold the lock).
      client?.release(err as Error);
      this.o.onError?.(err);
    }
  }

  private lose(err: unknown): void {
    const client = this.client;
    this.client = undefined;
    // Step down before the lock can be free, so that this replica never leads beside the next one.
    this.set(false);
    // Destroying the connection is what frees a session lock on the server.
    client?.release(err instanceof Error ? err : new Error('leader connection lost'));
    this.o.onError?.(err);
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    try {
      this.o.onChange?.(leader);
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  /** Stops trying and hands the lock over (step down, unlock, then close the connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.busy) await this.busy.catch(() => undefined);
    // Step down first: once the lock is free another replica may take it at once, and it must not
    // lead while this one still says it does.
    if (this.shared) this.set(false);
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.query('select pg_advisory_unlock($1)', [this.key]);
      } catch {
        // The connection is going away anyway, and with it the lock.
      }
      client.release(true);
    }
  }
}
