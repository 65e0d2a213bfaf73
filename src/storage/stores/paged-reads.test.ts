// A large read on SQLite (synchronous driver) must not hold the event loop for its whole length:
// requests are served between its pages. The row-level guarantees (each row once, in order) are in
// the trace and feedback store contracts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStorage, type TestStorage } from '../../../test/helpers/storage.ts';
import type { Trace } from '../../core/types.ts';
import type { Stores } from '../../features/stores.ts';
import { createKyselyStores } from '../kysely-stores.ts';
import { BLOCKING_READ_PAGE_ROWS } from './store-context.ts';

const ROWS = 6_000;

const trace = (i: number): Trace => ({
  requestId: `r-${String(i).padStart(5, '0')}`,
  model: 'm',
  version: 'v1',
  kind: 'chat',
  startedAt: 1_000_000 + i,
  latencyMs: 5,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 40,
  outputChars: 60,
  input: 'x'.repeat(40),
  output: 'y'.repeat(60),
});

/** Runs `read` while a setImmediate chain counts how often the event loop got a turn. */
async function loopTurnsDuring<T>(read: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await read();
  running = false;
  return { result, turns };
}

describe('large reads on SQLite', () => {
  let storage: TestStorage;
  let stores: Stores;

  beforeAll(async () => {
    storage = await createSqliteStorage();
    stores = createKyselyStores(storage.handle);
    await stores.traces.insertMany(Array.from({ length: ROWS }, (_, i) => trace(i)));
  });
  afterAll(() => storage.cleanup());

  it('let the event loop run between pages', async () => {
    const { result, turns } = await loopTurnsDuring(() => stores.traces.query({ model: 'm', order: 'asc', limit: 20_000 }));
    expect(result).toHaveLength(ROWS);
    expect(result[ROWS - 1].requestId).toBe('r-05999');
    // One turn per page boundary at least (a single blocking read gives one or two).
    expect(turns).toBeGreaterThanOrEqual(ROWS / BLOCKING_READ_PAGE_ROWS - 1);
  });

  it('read at once inside a transaction (one snapshot)', async () => {
    const { result, turns } = await loopTurnsDuring(() => stores.transaction((tx) => tx.traces.query({ model: 'm', order: 'asc' })));
    expect(result).toHaveLength(ROWS);
    expect(turns).toBeLessThan(ROWS / BLOCKING_READ_PAGE_ROWS - 1);
  });
});
