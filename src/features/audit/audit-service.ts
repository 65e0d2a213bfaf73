// The tamper-evident audit log. Every entry's hash covers the previous entry's hash and the entry's
// own fields (seq, time, actor, action, target, before, after, reason, request id) as canonical
// JSON, so editing, deleting or reordering any stored row breaks the chain from that row on.
// There is deliberately no update or delete here: the log is append-only.
import { canonicalJson, sha256Hex } from '../../core/canonical-json.ts';
import type { AuditEntry, Clock, EpochMs } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
  reason?: string;
  requestId?: string;
}

export interface AuditQuery {
  target?: string;
  action?: string;
  from?: EpochMs;
  to?: EpochMs;
  afterSeq?: number;
  limit?: number;
  /** `desc`: the newest `limit` matching entries, newest first. */
  order?: 'asc' | 'desc';
}

export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  /** Sequence number of the first entry that does not verify (or where one is missing). */
  firstBadSeq?: number;
  reason?: string;
}

type HashedFields = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** The fields of an entry that its hash covers (all but the hashes), and nothing else it may carry. */
export function hashedFields(e: HashedFields): HashedFields {
  return {
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    target: e.target,
    before: e.before,
    after: e.after,
    reason: e.reason,
    requestId: e.requestId,
  };
}

/** sha256(prevHash + canonical JSON of the entry's fields). */
export function auditEntryHash(prevHash: string, e: HashedFields): string {
  return sha256Hex(prevHash + canonicalJson(hashedFields(e)));
}

/** What a JSON column gives back, so the hash is computed over exactly what will be read again. */
const jsonRoundTrip = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

const VERIFY_PAGE = 1000;

export class AuditLog {
  private readonly stores: Stores;
  private readonly clock: Clock;
  /**
   * Length of the chain at the last successful verify. A hash chain cannot show that its newest
   * entries were cut off, so a later verify that finds fewer entries reports the truncation.
   */
  private verifiedLength = 0;

  constructor(deps: { stores: Stores; clock: Clock }) {
    this.stores = deps.stores;
    this.clock = deps.clock;
  }

  /**
   * Takes the chain lock inside the caller's transaction. Call it first in a read-modify-write
   * transaction that will append an entry, so the whole change is serialised with other writers
   * (PostgreSQL: a transaction-scoped advisory lock; the other engines serialise writers anyway).
   */
  async lock(tx: Stores): Promise<void> {
    await tx.audit.lockChain?.();
  }

  /**
   * Appends one entry. Call it with the transaction's stores (`stores.transaction(tx => …)`) so the
   * entry commits together with the change it records; called with plain stores it opens its own.
   */
  async append(tx: Stores, input: AuditInput): Promise<AuditEntry> {
    return tx.transaction(async (t) => {
      await this.lock(t);
      return this.appendLocked(t, input);
    });
  }

  private async appendLocked(tx: Stores, input: AuditInput): Promise<AuditEntry> {
    const head = await tx.audit.head();
    const fields: HashedFields = {
      seq: (head?.seq ?? 0) + 1,
      at: this.clock.now(),
      actor: input.actor,
      action: input.action,
      target: input.target,
      before: jsonRoundTrip(input.before),
      after: jsonRoundTrip(input.after),
      reason: input.reason ?? undefined,
      requestId: input.requestId || undefined,
    };
    const prevHash = head?.hash ?? GENESIS_HASH;
    const entry: AuditEntry = { ...fields, prevHash, hash: auditEntryHash(prevHash, fields) };
    await tx.audit.insert(entry);
    return entry;
  }

  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const filter = { target: q.target, action: q.action, from: q.from, to: q.to };
    if (q.order !== 'desc') return this.stores.audit.list({ ...filter, afterSeq: q.afterSeq, limit });
    // The store lists oldest first; the newest page is found by walking forward in pages.
    const unfiltered = !q.target && !q.action && q.from === undefined && q.to === undefined;
    if (unfiltered && q.afterSeq === undefined) {
      const head = await this.stores.audit.head();
      const afterSeq = Math.max((head?.seq ?? 0) - limit, 0);
      return (await this.stores.audit.list({ afterSeq, limit })).reverse();
    }
    let window: AuditEntry[] = [];
    let afterSeq = q.afterSeq;
    for (;;) {
      const page = await this.stores.audit.list({ ...filter, afterSeq, limit: VERIFY_PAGE });
      window = window.concat(page).slice(-limit);
      if (page.length < VERIFY_PAGE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
    return window.reverse();
  }

  async count(): Promise<number> {
    return this.stores.audit.count();
  }

  /** Walks the whole chain in seq order and recomputes every hash. */
  async verify(): Promise<AuditVerifyResult> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    let afterSeq = 0;
    for (;;) {
      const page = await this.stores.audit.list({ afterSeq, limit: VERIFY_PAGE });
      for (const e of page) {
        if (e.seq !== expectedSeq) {
          return {
            ok: false,
            entries,
            firstBadSeq: Math.min(e.seq, expectedSeq),
            reason: e.seq > expectedSeq ? `entry ${expectedSeq} is missing (next entry is ${e.seq})` : `entry ${e.seq} is out of order`,
          };
        }
        if (e.prevHash !== prevHash) {
          return { ok: false, entries, firstBadSeq: e.seq, reason: `entry ${e.seq} does not link to the entry before it` };
        }
        if (auditEntryHash(prevHash, e) !== e.hash) {
          return { ok: false, entries, firstBadSeq: e.seq, reason: `entry ${e.seq} was modified after it was written` };
        }
        prevHash = e.hash;
        expectedSeq++;
        entries++;
      }
      if (page.length < VERIFY_PAGE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
    if (entries < this.verifiedLength) {
      return {
        ok: false,
        entries,
        firstBadSeq: entries + 1,
        reason: `the log ends at entry ${entries} but ${this.verifiedLength} entries verified earlier: entries were removed from the end`,
      };
    }
    this.verifiedLength = entries;
    return { ok: true, entries };
  }
}

export const createAuditLog = (deps: { stores: Stores; clock: Clock }): AuditLog => new AuditLog(deps);
