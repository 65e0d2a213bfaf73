// What every Kysely store is built from: the database (or the transaction it is bound to) and the
// engine's capabilities. Shared helpers for row conversion live here too.
import { yieldToEventLoop } from '../../core/time-slice.ts';
import type { Kysely, Transaction } from 'kysely';
import type { Capabilities } from '../capabilities.ts';
import type { StorageHandle } from '../database.ts';
import type { Database } from '../schema.ts';

export interface StoreContext {
  /** The root database, or the transaction when `trx` is set. */
  db: Kysely<Database>;
  caps: Capabilities;
  /** Set when this store is bound to one transaction. */
  trx?: Transaction<Database>;
  /** Bulk writes off the event loop (root context only; see StorageHandle.bulkWrite). */
  bulkWrite?: StorageHandle['bulkWrite'];
  /** Queries off the event loop (root context only; see StorageHandle.backgroundRead). */
  backgroundRead?: StorageHandle['backgroundRead'];
}

/**
 * Runs fn atomically: inside the bound transaction when there is one, else in a new transaction.
 * Used by writes made of several statements, so they never half-apply outside `stores.transaction`.
 */
export function atomically<T>(ctx: StoreContext, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (ctx.trx) return fn(ctx.trx);
  return ctx.db.transaction().execute((trx) => fn(trx));
}

/**
 * Rows per page of a large read on a blocking engine: about 8 ms of a trace scan on a 2-core host,
 * where one 20,000-row read (an RCA window) held every request up for ~340 ms.
 */
export const BLOCKING_READ_PAGE_ROWS = 500;

/**
 * Reads up to `limit` rows (all when unset) in the query's keyset order. `page(after, n)` returns
 * at most n rows that come after the row `after` (from the start when undefined). Where queries
 * block the event loop it reads a page at a time and lets the loop run between pages; elsewhere,
 * and inside a transaction (one snapshot, one lock), it reads at once.
 */
export async function readPaged<R>(ctx: StoreContext, limit: number | undefined, page: (after: R | undefined, n: number | undefined) => Promise<R[]>): Promise<R[]> {
  if (!ctx.caps.blockingReads || ctx.trx || (limit !== undefined && limit <= BLOCKING_READ_PAGE_ROWS)) return page(undefined, limit);
  const rows: R[] = [];
  let after: R | undefined;
  for (;;) {
    const n = limit === undefined ? BLOCKING_READ_PAGE_ROWS : Math.min(BLOCKING_READ_PAGE_ROWS, limit - rows.length);
    const got = await page(after, n);
    for (const r of got) rows.push(r);
    if (got.length < n || rows.length === limit) return rows;
    after = got[got.length - 1];
    await yieldToEventLoop();
  }
}

/** SQL NULL for an absent optional value. */
export const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

