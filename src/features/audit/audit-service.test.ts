import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStores } from '../memory-stores.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { ManualClock } from '../../../test/helpers/foundation.ts';
import { createPostgresStorage, createSqliteStorage, pgAdminUrl, type TestStorage } from '../../../test/helpers/storage.ts';
import type { Stores } from '../stores.ts';
import { AuditLog, GENESIS_HASH, auditEntryHash } from './audit-service.ts';

async function appendN(audit: AuditLog, stores: Stores, n: number) {
  for (let i = 1; i <= n; i++) {
    await stores.transaction((tx) =>
      audit.append(tx, { actor: 'key:ops', action: 'route.update', target: `model:m${i % 2}`, before: { w: i - 1 }, after: { w: i }, reason: `step ${i}` }),
    );
  }
}

describe('AuditLog on the in-memory stores', () => {
  it('chains entries from the genesis hash, seq 1, 2, 3…', async () => {
    const stores = createMemoryStores();
    const clock = new ManualClock();
    const audit = new AuditLog({ stores, clock });
    const first = await audit.append(stores, { actor: 'config', action: 'model.register', target: 'model:a', after: { name: 'a' } });
    clock.advance(5);
    const second = await audit.append(stores, { actor: 'config', action: 'model.register', target: 'model:b' });
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.hash).toBe(auditEntryHash(GENESIS_HASH, first));
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
    expect(second.at).toBe(clock.now());
    expect(await audit.verify()).toEqual({ ok: true, entries: 2 });
  });

  it('writes nothing when the surrounding transaction fails', async () => {
    const stores = createMemoryStores();
    const audit = new AuditLog({ stores, clock: new ManualClock() });
    await expect(
      stores.transaction(async (tx) => {
        await audit.append(tx, { actor: 'a', action: 'x', target: 't' });
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    expect(await audit.count()).toBe(0);
    expect(await audit.verify()).toEqual({ ok: true, entries: 0 });
  });

  it('serialises concurrent appenders into one unbroken chain', async () => {
    const stores = createMemoryStores();
    const audit = new AuditLog({ stores, clock: new ManualClock() });
    await Promise.all(Array.from({ length: 25 }, (_, i) => stores.transaction((tx) => audit.append(tx, { actor: 'a', action: 'x', target: `t${i}` }))));
    expect(await audit.verify()).toEqual({ ok: true, entries: 25 });
  });

  it('lists with filters, and newest first on request', async () => {
    const stores = createMemoryStores();
    const clock = new ManualClock();
    const audit = new AuditLog({ stores, clock });
    await appendN(audit, stores, 6);
    expect((await audit.list({ target: 'model:m1' })).map((e) => e.seq)).toEqual([1, 3, 5]);
    expect((await audit.list({ order: 'desc', limit: 2 })).map((e) => e.seq)).toEqual([6, 5]);
    expect((await audit.list({ order: 'desc', limit: 2, target: 'model:m0' })).map((e) => e.seq)).toEqual([6, 4]);
    expect((await audit.list({ afterSeq: 4 })).map((e) => e.seq)).toEqual([5, 6]);
  });
});

describe('AuditLog tamper detection on a real SQLite file', () => {
  let storage: TestStorage;
  afterEach(async () => storage?.cleanup());

  async function setup(n = 5) {
    storage = await createSqliteStorage();
    const stores = createKyselyStores(storage.handle);
    const audit = new AuditLog({ stores, clock: new ManualClock() });
    await appendN(audit, stores, n);
    expect(await audit.verify()).toEqual({ ok: true, entries: n });
    return { stores, audit, db: storage.handle.db };
  }

  it('detects an entry whose content was edited with SQL', async () => {
    const { audit, db } = await setup();
    await sql`update audit_log set after = ${JSON.stringify({ w: 999 })} where seq = 3`.execute(db);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, firstBadSeq: 3 });
    expect(result.reason).toContain('modified');
  });

  it('detects an edit that also recomputed the row hash (the next entry no longer links)', async () => {
    const { audit, db } = await setup();
    const row = (await audit.list({ afterSeq: 2, limit: 1 }))[0]!;
    const forged = { ...row, actor: 'key:attacker' };
    await sql`update audit_log set actor = ${forged.actor}, hash = ${auditEntryHash(row.prevHash, forged)} where seq = 3`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 4 });
  });

  it('detects a deleted entry in the middle and at the start', async () => {
    const { audit, db } = await setup();
    await sql`delete from audit_log where seq = 2`.execute(db);
    const middle = await audit.verify();
    expect(middle).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(middle.reason).toContain('missing');
    await sql`delete from audit_log where seq = 1`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('detects two entries swapped', async () => {
    const { audit, db } = await setup();
    await sql`update audit_log set seq = -1 where seq = 2`.execute(db);
    await sql`update audit_log set seq = 2 where seq = 4`.execute(db);
    await sql`update audit_log set seq = 4 where seq = -1`.execute(db);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('detects entries cut off the end after a successful verify', async () => {
    const { audit, db } = await setup();
    await sql`delete from audit_log where seq >= 4`.execute(db);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, entries: 3, firstBadSeq: 4 });
    expect(result.reason).toContain('removed from the end');
  });

  it('verifies a chain longer than one page', async () => {
    const { audit, stores } = await setup(0);
    await stores.transaction(async (tx) => {
      for (let i = 0; i < 2100; i++) await audit.append(tx, { actor: 'a', action: 'bulk', target: `t${i}` });
    });
    expect(await audit.verify()).toEqual({ ok: true, entries: 2100 });
  });

  it('rolls the entry back with a failed change', async () => {
    const { audit, stores } = await setup(2);
    await expect(
      stores.transaction(async (tx) => {
        await audit.append(tx, { actor: 'a', action: 'x', target: 't' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await audit.verify()).toEqual({ ok: true, entries: 2 });
  });
});

describe.skipIf(!pgAdminUrl)('AuditLog on PostgreSQL', () => {
  let storage: TestStorage;
  afterEach(async () => storage?.cleanup());

  it('keeps one chain when two replicas append at the same time', async () => {
    storage = await createPostgresStorage();
    const { openStorage } = await import('../../storage/database.ts');
    const second = await openStorage(storage.url, { migrate: false });
    try {
      const a = createKyselyStores(storage.handle);
      const b = createKyselyStores(second);
      const clock = new ManualClock();
      const logA = new AuditLog({ stores: a, clock });
      const logB = new AuditLog({ stores: b, clock });
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? a : b).transaction((tx) => (i % 2 ? logA : logB).append(tx, { actor: 'r', action: 'x', target: `t${i}` })),
        ),
      );
      expect(await logA.verify()).toEqual({ ok: true, entries: 30 });
      await sql`update audit_log set reason = 'edited' where seq = 7`.execute(storage.handle.db);
      expect(await logB.verify()).toMatchObject({ ok: false, firstBadSeq: 7 });
    } finally {
      await second.close();
    }
  });
});
