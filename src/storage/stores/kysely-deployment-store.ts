// Deployments, their analyses and experiments on SQLite and PostgreSQL: queried columns plus the
// record as JSON.
import { FailsafeError } from '../../core/errors.ts';
import type {
  DeploymentAnalysisRecord,
  DeploymentQuery,
  DeploymentRecord,
  DeploymentStore,
  ExperimentRecord,
  ExperimentStatus,
  ExperimentStore,
} from '../../features/deployments/deployment-store.ts';
import type { StoreContext } from './store-context.ts';

const parse = <T>(text: string): T => JSON.parse(text) as T;

export class KyselyDeploymentStore implements DeploymentStore {
  constructor(private readonly ctx: StoreContext) {}

  private row(d: DeploymentRecord) {
    return { model: d.model, version: d.version, status: d.status, created_at: d.createdAt, updated_at: d.updatedAt, record: JSON.stringify(d) };
  }

  async insert(d: DeploymentRecord): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('deployments')
      .values({ id: d.id, ...this.row(d) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `deployment ${d.id} exists already`);
  }

  async update(d: DeploymentRecord): Promise<void> {
    const res = await this.ctx.db.updateTable('deployments').set(this.row(d)).where('id', '=', d.id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new FailsafeError('NOT_FOUND', `deployment ${d.id} not found`);
  }

  async get(id: string): Promise<DeploymentRecord | undefined> {
    const row = await this.ctx.db.selectFrom('deployments').select('record').where('id', '=', id).executeTakeFirst();
    return row ? parse<DeploymentRecord>(row.record) : undefined;
  }

  async list(query: DeploymentQuery = {}): Promise<DeploymentRecord[]> {
    let q = this.ctx.db.selectFrom('deployments').select('record').orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (query.model !== undefined) q = q.where('model', '=', query.model);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map((r) => parse<DeploymentRecord>(r.record));
  }

  async addAnalysis(a: DeploymentAnalysisRecord): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('deployment_analyses')
      .values({ deployment_id: a.deploymentId, seq: a.seq, at: a.at, decision: a.decision, record: JSON.stringify(a) })
      .onConflict((oc) => oc.columns(['deployment_id', 'seq']).doNothing())
      .returning('seq')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `analysis ${a.seq} of deployment ${a.deploymentId} exists already`);
  }

  async listAnalyses(deploymentId: string, options: { limit?: number } = {}): Promise<DeploymentAnalysisRecord[]> {
    const rows = await this.ctx.db
      .selectFrom('deployment_analyses')
      .select('record')
      .where('deployment_id', '=', deploymentId)
      .orderBy('seq', 'desc')
      .limit(options.limit ?? 100)
      .execute();
    return rows.map((r) => parse<DeploymentAnalysisRecord>(r.record)).reverse();
  }
}

export class KyselyExperimentStore implements ExperimentStore {
  constructor(private readonly ctx: StoreContext) {}

  private row(e: ExperimentRecord) {
    return { model: e.model, status: e.status, started_at: e.startedAt, record: JSON.stringify(e) };
  }

  async insert(e: ExperimentRecord): Promise<void> {
    const inserted = await this.ctx.db
      .insertInto('experiments')
      .values({ id: e.id, ...this.row(e) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) throw new FailsafeError('CONFLICT', `experiment ${e.id} exists already`);
  }

  async update(e: ExperimentRecord): Promise<void> {
    const res = await this.ctx.db.updateTable('experiments').set(this.row(e)).where('id', '=', e.id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new FailsafeError('NOT_FOUND', `experiment ${e.id} not found`);
  }

  async get(id: string): Promise<ExperimentRecord | undefined> {
    const row = await this.ctx.db.selectFrom('experiments').select('record').where('id', '=', id).executeTakeFirst();
    return row ? parse<ExperimentRecord>(row.record) : undefined;
  }

  async list(query: { model?: string; status?: ExperimentStatus[]; limit?: number } = {}): Promise<ExperimentRecord[]> {
    let q = this.ctx.db.selectFrom('experiments').select('record').orderBy('started_at', 'desc').orderBy('id', 'desc');
    if (query.model !== undefined) q = q.where('model', '=', query.model);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map((r) => parse<ExperimentRecord>(r.record));
  }
}
