// What every Kysely store is built from: the database (or the transaction it is bound to) and the
// engine's capabilities. Shared helpers for row conversion live here too.
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

/** Drops keys whose value is undefined, so stored rows read back with absent optional fields. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

/** SQL NULL for an absent optional value. */
export const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

