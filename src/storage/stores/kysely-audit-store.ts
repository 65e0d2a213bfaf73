import type { Selectable } from 'kysely';
import { FailsafeError } from '../../core/errors.ts';
import type { AuditEntry } from '../../core/types.ts';
import type { AuditStore } from '../../features/audit/audit-store.ts';
import { lockKeys } from '../capabilities.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { AuditLogTable } from '../schema.ts';
import { orNull, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

const entryFromRow = (row: Selectable<AuditLogTable>): AuditEntry =>
  compact({
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: fromJson<unknown>(row.before),
    after: fromJson<unknown>(row.after),
    reason: orUndefined(row.reason),
    requestId: orUndefined(row.request_id),
    prevHash: row.prev_hash,
    hash: row.hash,
  });

export class KyselyAuditStore implements AuditStore {
  private locked = false;

  constructor(private readonly ctx: StoreContext) {}

  async lockChain(): Promise<void> {
    if (!this.ctx.trx) {
      // A lock taken outside a transaction is released at once and would protect nothing.
      throw new FailsafeError('INTERNAL', 'audit lockChain() must be called inside stores.transaction()');
    }
    if (this.locked) return;
    await this.ctx.caps.lockInTransaction(this.ctx.trx, lockKeys.auditChain);
    this.locked = true;
  }

  async head(): Promise<AuditEntry | undefined> {
    if (this.ctx.trx) await this.lockChain();
    const row = await this.ctx.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? entryFromRow(row) : undefined;
  }

  async insert(e: AuditEntry): Promise<void> {
    const result = await this.ctx.db
      .insertInto('audit_log')
      .values({
        seq: e.seq,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        before: toJson(e.before),
        after: toJson(e.after),
        reason: orNull(e.reason),
        request_id: orNull(e.requestId),
        prev_hash: e.prevHash,
        hash: e.hash,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
      throw new FailsafeError('CONFLICT', `audit entry ${e.seq} already exists (a writer skipped the chain lock?)`);
    }
  }

  async list(
    q: { afterSeq?: number; limit?: number; target?: string; action?: string; from?: number; to?: number } = {},
  ): Promise<AuditEntry[]> {
    let s = this.ctx.db.selectFrom('audit_log').selectAll();
    if (q.afterSeq !== undefined) s = s.where('seq', '>', q.afterSeq);
    if (q.target !== undefined) s = s.where('target', '=', q.target);
    if (q.action !== undefined) s = s.where('action', '=', q.action);
    if (q.from !== undefined) s = s.where('at', '>=', q.from);
    if (q.to !== undefined) s = s.where('at', '<', q.to);
    s = s.orderBy('seq');
    if (q.limit !== undefined) s = s.limit(q.limit);
    const rows = await s.execute();
    return rows.map(entryFromRow);
  }

  async count(): Promise<number> {
    const row = await this.ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
