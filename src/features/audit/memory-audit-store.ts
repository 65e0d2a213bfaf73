import { FailsafeError } from '../../core/errors.ts';
import type { AuditEntry } from '../../core/types.ts';
import { copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { AuditStore } from './audit-store.ts';

export class MemoryAuditStore implements AuditStore {
  constructor(
    /** Sorted by seq. */
    private readonly entries: AuditEntry[] = [],
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryAuditStore {
    return new MemoryAuditStore(this.entries, undo);
  }

  /** Memory transactions already run one at a time, so there is nothing to lock. */
  async lockChain(): Promise<void> {}

  async head(): Promise<AuditEntry | undefined> {
    const last = this.entries[this.entries.length - 1];
    return last && copy(last);
  }

  async insert(entry: AuditEntry): Promise<void> {
    const stored = compact(copy(entry));
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].seq > entry.seq) i--;
    if (i > 0 && this.entries[i - 1].seq === entry.seq) {
      throw new FailsafeError('CONFLICT', `audit entry ${entry.seq} already exists (a writer skipped the chain lock?)`);
    }
    this.entries.splice(i, 0, stored);
    this.undo.push(() => {
      const j = this.entries.indexOf(stored);
      if (j >= 0) this.entries.splice(j, 1);
    });
  }

  async list(
    q: { afterSeq?: number; limit?: number; target?: string; action?: string; from?: number; to?: number } = {},
  ): Promise<AuditEntry[]> {
    const out = this.entries.filter(
      (e) =>
        (q.afterSeq === undefined || e.seq > q.afterSeq) &&
        (q.target === undefined || e.target === q.target) &&
        (q.action === undefined || e.action === q.action) &&
        (q.from === undefined || e.at >= q.from) &&
        (q.to === undefined || e.at < q.to),
    );
    return (q.limit !== undefined ? out.slice(0, q.limit) : out).map(copy);
  }

  async count(): Promise<number> {
    return this.entries.length;
  }
}
