import type { AuditEntry } from '../../core/types.ts';

export interface AuditStore {
  /**
   * Takes the chain lock for the rest of the caller's transaction, so that reading `head()` and
   * inserting the next entry cannot interleave with another writer (PostgreSQL replicas). Call it
   * first inside `stores.transaction`; outside a transaction the Kysely store refuses.
   * Optional so that fakes without concurrency may leave it out (callers use `lockChain?.()`).
   */
  lockChain?(): Promise<void>;
  /**
   * The newest entry, read under the chain lock inside the caller's transaction (the Kysely store
   * takes the lock itself when bound to a transaction; outside one it is a plain read).
   */
  head(): Promise<AuditEntry | undefined>;
  /** Throws CONFLICT when the seq exists (a writer that skipped the chain lock). */
  insert(entry: AuditEntry): Promise<void>;
  /** Oldest first; `from` inclusive, `to` exclusive on `at`. */
  list(q?: { afterSeq?: number; limit?: number; target?: string; action?: string; from?: number; to?: number }): Promise<AuditEntry[]>;
  count(): Promise<number>;
}
