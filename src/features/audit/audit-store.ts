import type { AuditEntry } from '../../core/types.ts';

export interface AuditStore {
  /** The newest entry, read under the chain lock inside the caller's transaction. */
  head(): Promise<AuditEntry | undefined>;
  insert(entry: AuditEntry): Promise<void>;
  /** Oldest first. */
  list(q?: { afterSeq?: number; limit?: number; target?: string; action?: string; from?: number; to?: number }): Promise<AuditEntry[]>;
  count(): Promise<number>;
}
