// Runbook versions and checklists on SQLite and PostgreSQL: queried columns plus JSON records.
import { FailsafeError } from '../../core/errors.ts';
import type { RunbookDefinition } from '../../features/runbooks/runbook-definition.ts';
import { nextDueAt, type Checklist, type RunbookStore, type StoredRunbook } from '../../features/runbooks/runbook-store.ts';
import type { RunbooksTable } from '../schema.ts';
import type { StoreContext } from './store-context.ts';

const toRunbook = (r: RunbooksTable): StoredRunbook => ({
  id: r.id,
  version: Number(r.version),
  title: r.title,
  hash: r.hash,
  yaml: r.yaml,
  definition: JSON.parse(r.definition) as RunbookDefinition,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

export class KyselyRunbookStore implements RunbookStore {
  constructor(private readonly ctx: StoreContext) {}

  async insertVersion(r: StoredRunbook): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('runbooks')
      .values({
        id: r.id,
        version: r.version,
        title: r.title,
        hash: r.hash,
        yaml: r.yaml,
        definition: JSON.stringify(r.definition),
        created_at: r.createdAt,
        created_by: r.createdBy,
      })
      .onConflict((oc) => oc.columns(['id', 'version']).doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `runbook ${r.id} version ${r.version} exists already`);
  }

  async getVersion(id: string, version?: number): Promise<StoredRunbook | undefined> {
    let q = this.ctx.db.selectFrom('runbooks').selectAll().where('id', '=', id);
    q = version !== undefined ? q.where('version', '=', version) : q.orderBy('version', 'desc').limit(1);
    const row = await q.executeTakeFirst();
    return row ? toRunbook(row) : undefined;
  }

  async listVersions(id: string): Promise<StoredRunbook[]> {
    const rows = await this.ctx.db.selectFrom('runbooks').selectAll().where('id', '=', id).orderBy('version', 'asc').execute();
    return rows.map(toRunbook);
  }

  async listLatest(): Promise<StoredRunbook[]> {
    const rows = await this.ctx.db
      .selectFrom('runbooks as r')
      .selectAll('r')
      .where(({ eb, selectFrom }) =>
        eb('r.version', '=', selectFrom('runbooks as l').select((s) => s.fn.max('l.version').as('v')).whereRef('l.id', '=', 'r.id')),
      )
      .orderBy('r.id', 'asc')
      .execute();
    return rows.map(toRunbook);
  }

  private row(c: Checklist) {
    return {
      runbook_id: c.runbook.id,
      runbook_version: c.runbook.version,
      revision: c.revision,
      next_due_at: nextDueAt(c) ?? null,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      record: JSON.stringify(c),
    };
  }

  async insertChecklist(c: Checklist): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('runbook_checklists')
      .values({ incident_id: c.incidentId, ...this.row(c) })
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .returning('incident_id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `incident ${c.incidentId} has a checklist already`);
  }

  async getChecklist(incidentId: string): Promise<Checklist | undefined> {
    const row = await this.ctx.db.selectFrom('runbook_checklists').select('record').where('incident_id', '=', incidentId).executeTakeFirst();
    return row ? (JSON.parse(row.record) as Checklist) : undefined;
  }

  async updateChecklist(c: Checklist, expectedRevision: number): Promise<void> {
    const res = await this.ctx.db
      .updateTable('runbook_checklists')
      .set(this.row(c))
      .where('incident_id', '=', c.incidentId)
      .where('revision', '=', expectedRevision)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) > 0) return;
    const exists = await this.ctx.db.selectFrom('runbook_checklists').select('revision').where('incident_id', '=', c.incidentId).executeTakeFirst();
    if (!exists) throw new FailsafeError('NOT_FOUND', `incident ${c.incidentId} has no checklist`);
    throw new FailsafeError('CONFLICT', `checklist of ${c.incidentId} changed meanwhile (revision ${exists.revision}, expected ${expectedRevision})`);
  }

  async listDue(now: number, limit = 500): Promise<Checklist[]> {
    const rows = await this.ctx.db
      .selectFrom('runbook_checklists')
      .select('record')
      .where('next_due_at', 'is not', null)
      .where('next_due_at', '<=', now)
      .orderBy('next_due_at', 'asc')
      .orderBy('incident_id', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => JSON.parse(r.record) as Checklist);
  }
}
