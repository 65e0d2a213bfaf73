// Trace listings filtered by status or error class must read the failed traces' partial indexes
// (migration 007), not scan every trace: on SQLite a scan runs on the event loop. Checked on the
// plans SQLite makes for the statements the store really sends.
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStorage, type TestStorage } from '../../../test/helpers/storage.ts';
import type { TraceQuery } from '../../features/telemetry/trace-store.ts';
import { KyselyTraceStore } from './kysely-trace-store.ts';

describe('trace listings by status or error class on SQLite', () => {
  let storage: TestStorage;
  let store: KyselyTraceStore;

  beforeAll(async () => {
    storage = await createSqliteStorage();
    store = new KyselyTraceStore({ db: storage.handle.db, caps: storage.handle.caps });
  });
  afterAll(() => storage.cleanup());

  const plan = async (q: TraceQuery): Promise<string> => {
    const c = store.select(q, undefined, 50).compile();
    const rows = (await storage.handle.db.executeQuery(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows as { detail: string }[];
    return rows.map((r) => r.detail).join(' | ');
  };

  it.each([
    [{ status: 'error' }, 'traces_not_ok_started'],
    [{ status: 'fallback', from: 1, to: 2 }, 'traces_not_ok_started'],
    [{ model: 'bot', status: 'error' }, 'traces_not_ok_model'],
    [{ model: 'bot', version: 'v2', status: 'blocked', order: 'asc' }, 'traces_not_ok_model'],
    [{ errorClass: 'timeout' }, 'traces_error_class'],
    [{ model: 'bot', errorClass: 'upstream_5xx' }, 'traces_error_class'],
  ] as [TraceQuery, string][])('%o reads %s', async (q, index) => {
    const p = await plan(q);
    expect(p).toContain(`USING INDEX ${index}`);
    expect(p).not.toMatch(/SCAN traces(?! USING INDEX traces_not_ok)/);
  });

  it('a listing of healthy traces keeps the time index (the partial ones hold no ok trace)', async () => {
    expect(await plan({ model: 'bot', status: 'ok' })).not.toContain('traces_not_ok');
  });
});
