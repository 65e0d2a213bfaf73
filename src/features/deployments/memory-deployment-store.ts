// In-memory DeploymentStore and ExperimentStore for service tests, held to the same contract as
// the Kysely stores. Copies in and out; writes inside a failed transaction are undone.
import { FailsafeError } from '../../core/errors.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import type {
  DeploymentAnalysisRecord,
  DeploymentQuery,
  DeploymentRecord,
  DeploymentStore,
  ExperimentRecord,
  ExperimentStatus,
  ExperimentStore,
} from './deployment-store.ts';

interface Tables {
  deployments: Map<string, DeploymentRecord>;
  analyses: Map<string, DeploymentAnalysisRecord[]>;
}

const newest = <T extends { id: string }>(at: (r: T) => number) => (a: T, b: T) => at(b) - at(a) || cmp(b.id, a.id);

export class MemoryDeploymentStore implements DeploymentStore {
  constructor(
    private readonly t: Tables = { deployments: new Map(), analyses: new Map() },
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryDeploymentStore {
    return new MemoryDeploymentStore(this.t, undo);
  }

  async insert(record: DeploymentRecord): Promise<void> {
    if (this.t.deployments.has(record.id)) throw new FailsafeError('CONFLICT', `deployment ${record.id} exists already`);
    this.t.deployments.set(record.id, copy(record));
    this.undo.push(() => this.t.deployments.delete(record.id));
  }

  async update(record: DeploymentRecord): Promise<void> {
    const before = this.t.deployments.get(record.id);
    if (!before) throw new FailsafeError('NOT_FOUND', `deployment ${record.id} not found`);
    this.t.deployments.set(record.id, copy(record));
    this.undo.push(() => this.t.deployments.set(record.id, before));
  }

  async get(id: string): Promise<DeploymentRecord | undefined> {
    return copy(this.t.deployments.get(id));
  }

  async list(query: DeploymentQuery = {}): Promise<DeploymentRecord[]> {
    const rows = [...this.t.deployments.values()]
      .filter((d) => (query.model === undefined || d.model === query.model) && (!query.status?.length || query.status.includes(d.status)))
      .sort(newest((d) => d.createdAt))
      .map(copy);
    return query.limit !== undefined ? rows.slice(0, query.limit) : rows;
  }

  async addAnalysis(analysis: DeploymentAnalysisRecord): Promise<void> {
    let list = this.t.analyses.get(analysis.deploymentId);
    if (!list) this.t.analyses.set(analysis.deploymentId, (list = []));
    if (list.some((a) => a.seq === analysis.seq)) throw new FailsafeError('CONFLICT', `analysis ${analysis.seq} of deployment ${analysis.deploymentId} exists already`);
    const target = list;
    target.push(copy(analysis));
    target.sort((a, b) => a.seq - b.seq);
    this.undo.push(() => target.splice(target.findIndex((a) => a.seq === analysis.seq), 1));
  }

  async listAnalyses(deploymentId: string, options: { limit?: number } = {}): Promise<DeploymentAnalysisRecord[]> {
    const list = this.t.analyses.get(deploymentId) ?? [];
    return list.slice(-(options.limit ?? 100)).map(copy);
  }
}

export class MemoryExperimentStore implements ExperimentStore {
  constructor(
    private readonly rows: Map<string, ExperimentRecord> = new Map(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryExperimentStore {
    return new MemoryExperimentStore(this.rows, undo);
  }

  async insert(record: ExperimentRecord): Promise<void> {
    if (this.rows.has(record.id)) throw new FailsafeError('CONFLICT', `experiment ${record.id} exists already`);
    this.rows.set(record.id, copy(record));
    this.undo.push(() => this.rows.delete(record.id));
  }

  async update(record: ExperimentRecord): Promise<void> {
    const before = this.rows.get(record.id);
    if (!before) throw new FailsafeError('NOT_FOUND', `experiment ${record.id} not found`);
    this.rows.set(record.id, copy(record));
    this.undo.push(() => this.rows.set(record.id, before));
  }

  async get(id: string): Promise<ExperimentRecord | undefined> {
    return copy(this.rows.get(id));
  }

  async list(query: { model?: string; status?: ExperimentStatus[]; limit?: number } = {}): Promise<ExperimentRecord[]> {
    const rows = [...this.rows.values()]
      .filter((e) => (query.model === undefined || e.model === query.model) && (!query.status?.length || query.status.includes(e.status)))
      .sort(newest((e) => e.startedAt))
      .map(copy);
    return query.limit !== undefined ? rows.slice(0, query.limit) : rows;
  }
}
