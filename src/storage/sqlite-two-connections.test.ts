// On an SQLite file the trace writer thread is a second connection. A main-thread transaction that
// reads and then writes must not fail because that thread committed in between (in WAL mode a
// deferred transaction cannot upgrade a stale read snapshot: SQLITE_BUSY, no retry).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testTrace } from '../features/telemetry/trace-test-kit.ts';
import { openStorage, type StorageHandle } from './database.ts';
import { createKyselyStores } from './kysely-stores.ts';


describe('SQLite main connection beside the writer thread', () => {
  let dir: string;
  let storage: StorageHandle;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-two-conn-'));
    storage = await openStorage(`sqlite:${join(dir, 'f.db')}`);
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('read-then-write transactions all commit while trace batches land from the thread', async () => {
    const stores = createKyselyStores(storage);
    let next = 0;
    let writing = true;
    const traceLoad = (async () => {
      while (writing) await stores.traces.insertMany(Array.from({ length: 32 }, () => testTrace(next++)));
    })();
    const results: Array<'ok' | string> = [];
    for (let k = 0; k < 200; k++) {
      try {
        await storage.db.transaction().execute(async (trx) => {
          await trx.selectFrom('models').select('name').execute();
          // Let the thread commit between this transaction's read and its write.
          await new Promise((resolve) => setTimeout(resolve, 1));
          await trx
            .insertInto('models')
            .values({ name: `model-${k}`, kind: 'chat', tags: '[]', created_at: k })
            .execute();
        });
        results.push('ok');
      } catch (err) {
        results.push((err as Error).message);
      }
    }
    writing = false;
    await traceLoad;
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
    const n = await storage.db.selectFrom('traces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(next);
  });

  it('retention finds its cut and deletes on the writer thread, in batches, and counts what it deleted', async () => {
    const { bulkWrite, backgroundRead } = storage;
    const messages: number[] = [];
    let reads = 0;
    const stores = createKyselyStores({
      ...storage,
      bulkWrite: async (statements) => {
        messages.push(statements.length);
        return bulkWrite!(statements);
      },
      backgroundRead: async (statement) => {
        reads++;
        return backgroundRead!(statement);
      },
    });
    for (let i = 0; i < 12_000; i += 1_000) await stores.traces.insertMany(Array.from({ length: 1_000 }, (_, j) => testTrace(i + j)));
    messages.length = 0;
    expect(await stores.traces.prune({ maxCount: 1_000 })).toBe(11_000);
    // The cut (the 1,001st newest row) is one query; 11,000 rows in batches of 5,000 are three
    // deletes, each a message to the thread.
    expect(reads).toBe(1);
    expect(messages).toEqual([1, 1, 1]);
    expect(await stores.traces.query({ limit: 2_000 })).toHaveLength(1_000);
    expect(await stores.traces.get('req_11999')).toBeDefined();
    expect(await stores.traces.get('req_10999')).toBeUndefined();
  });
});
