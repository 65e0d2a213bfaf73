// Rollbacks and playbook actions on SQLite and PostgreSQL: queried columns plus the record as JSON.
import { FailsafeError } from '../../core/errors.ts';
import type { PlaybookAction, PlaybookActionStatus, PlaybookActionStore } from '../../features/playbooks/playbook-action-store.ts';
import type { RollbackQuery, RollbackRecord, RollbackStore } from '../../features/rollback/rollback-store.ts';
import type { StoreContext } from './store-context.ts';

const parse = <T>(text: string): T => JSON.parse(text) as T;

export class KyselyRollbackStore implements RollbackStore {
  constructor(private readonly ctx: StoreContext) {}

  private row(r: RollbackRecord) {
    return { model: r.model, status: r.status, incident_id: r.incidentId ?? null, started_at: r.startedAt, finished_at: r.finishedAt ?? null, record: JSON.stringify(r) };
  }

  async insert(r: RollbackRecord): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('rollbacks')
      .values({ id: r.id, ...this.row(r) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `rollback ${r.id} exists already`);
  }

  async update(r: RollbackRecord): Promise<void> {
    const res = await this.ctx.db.updateTable('rollbacks').set(this.row(r)).where('id', '=', r.id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new FailsafeError('NOT_FOUND', `rollback ${r.id} not found`);
  }

  async updateIfRunning(r: RollbackRecord): Promise<boolean> {
    // One conditional statement: on PostgreSQL it waits for a transaction ending the rollback and
    // then sees the new status, so it cannot write over the end.
    const res = await this.ctx.db.updateTable('rollbacks').set(this.row(r)).where('id', '=', r.id).where('status', '=', 'running').executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async get(id: string): Promise<RollbackRecord | undefined> {
    const row = await this.ctx.db.selectFrom('rollbacks').select('record').where('id', '=', id).executeTakeFirst();
    return row ? parse<RollbackRecord>(row.record) : undefined;
  }

  async list(query: RollbackQuery = {}): Promise<RollbackRecord[]> {
    let q = this.ctx.db.selectFrom('rollbacks').select('record').orderBy('started_at', 'desc').orderBy('id', 'desc');
    if (query.model !== undefined) q = q.where('model', '=', query.model);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.since !== undefined) q = q.where('started_at', '>=', query.since);
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map((r) => parse<RollbackRecord>(r.record));
  }
}

export class KyselyPlaybookActionStore implements PlaybookActionStore {
  constructor(private readonly ctx: StoreContext) {}

  private row(a: PlaybookAction) {
    return { incident_id: a.incidentId, model: a.model, status: a.status, created_at: a.createdAt, record: JSON.stringify(a) };
  }

  async insert(a: PlaybookAction): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('playbook_actions')
      .values({ id: a.id, ...this.row(a) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `playbook action ${a.id} exists already`);
  }

  async update(a: PlaybookAction): Promise<void> {
    const res = await this.ctx.db.updateTable('playbook_actions').set(this.row(a)).where('id', '=', a.id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new FailsafeError('NOT_FOUND', `playbook action ${a.id} not found`);
  }

  async get(id: string): Promise<PlaybookAction | undefined> {
    const row = await this.ctx.db.selectFrom('playbook_actions').select('record').where('id', '=', id).executeTakeFirst();
    return row ? parse<PlaybookAction>(row.record) : undefined;
  }

  async listForIncident(incidentId: string): Promise<PlaybookAction[]> {
    const rows = await this.ctx.db
      .selectFrom('playbook_actions')
      .select('record')
      .where('incident_id', '=', incidentId)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => parse<PlaybookAction>(r.record));
  }

  async list(query: { model?: string; status?: PlaybookActionStatus[]; since?: number } = {}): Promise<PlaybookAction[]> {
    let q = this.ctx.db.selectFrom('playbook_actions').select('record').orderBy('created_at', 'asc').orderBy('id', 'asc');
    if (query.model !== undefined) q = q.where('model', '=', query.model);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.since !== undefined) q = q.where('created_at', '>=', query.since);
    return (await q.execute()).map((r) => parse<PlaybookAction>(r.record));
  }
}
