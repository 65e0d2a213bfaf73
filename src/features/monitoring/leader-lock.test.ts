// Leader election for the monitor runner: SQLite is always the leader; on the real PostgreSQL
// server two replicas (two pools on one database) never lead at once, and the lock moves when the
// leader stops or its connection dies.
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStorage, createSqliteStorage, pgAdminUrl, type TestStorage } from '../../../test/helpers/storage.ts';
import { openStorage, type StorageHandle } from '../../storage/database.ts';
import { LeaderLock } from './leader-lock.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('LeaderLock on SQLite', () => {
  it('is always the leader (one process serves the file)', async () => {
    const storage: TestStorage = await createSqliteStorage();
    cleanups.push(storage.cleanup);
    const lock = new LeaderLock({ storage: storage.handle, retryMs: 100 });
    expect(lock.isLeader()).toBe(true);
    await lock.start();
    expect(lock.isLeader()).toBe(true);
    await lock.stop();
  });
});

describe.skipIf(!pgAdminUrl)(pgAdminUrl ? 'LeaderLock on PostgreSQL' : 'SKIPPED: LeaderLock on PostgreSQL (FAILSAFE_TEST_PG_URL is not set)', () => {
  async function replicas(): Promise<[StorageHandle, StorageHandle]> {
    const first = await createPostgresStorage();
    cleanups.push(first.cleanup);
    const second = await openStorage(first.url);
    cleanups.unshift(() => second.close());
    return [first.handle, second];
  }

  const waitFor = async (cond: () => boolean, ms = 5000) => {
    const until = Date.now() + ms;
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  it('lets one replica lead at a time and hands over when the leader stops', async () => {
    const [a, b] = await replicas();
    const changes: string[] = [];
    const la = new LeaderLock({ storage: a, retryMs: 100, onChange: (l) => changes.push(`a:${l}`) });
    const lb = new LeaderLock({ storage: b, retryMs: 100, onChange: (l) => changes.push(`b:${l}`) });
    cleanups.push(() => la.stop(), () => lb.stop());
    expect(la.isLeader()).toBe(false);
    await la.start();
    await lb.start();
    expect(la.isLeader()).toBe(true);
    expect(lb.isLeader()).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(lb.isLeader()).toBe(false);
    await la.stop();
    expect(la.isLeader()).toBe(false);
    expect(await waitFor(() => lb.isLeader())).toBe(true);
    expect(changes).toEqual(['a:true', 'a:false', 'b:true']);
  });

  it('loses the lead when its connection dies, and exactly one replica leads again', async () => {
    const [a, b] = await replicas();
    const la = new LeaderLock({ storage: a, retryMs: 100 });
    const lb = new LeaderLock({ storage: b, retryMs: 100 });
    cleanups.push(() => la.stop(), () => lb.stop());
    await la.start();
    await lb.start();
    expect(la.isLeader()).toBe(true);
    // Kill the leader's session from outside, as a network failure or a server restart would.
    await a.pgPool!.query(
      `select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = $1 and granted`,
      [7_100_002],
    );
    expect(await waitFor(() => !la.isLeader())).toBe(true);
    // Both retry every 100 ms; either may win the lock back, but never both, and not none.
    expect(await waitFor(() => la.isLeader() !== lb.isLeader())).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(la.isLeader() && lb.isLeader()).toBe(false);
    expect(la.isLeader() || lb.isLeader()).toBe(true);
  });
});
