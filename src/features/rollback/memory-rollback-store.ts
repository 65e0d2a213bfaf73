// In-memory RollbackStore and PlaybookActionStore for service tests; held to the same contract as
// the Kysely stores. Copies in and out; writes inside a failed transaction are undone.
import { FailsafeError } from '../../core/errors.ts';
import { copy, noUndo, type UndoLog } from '../memory-undo.ts';
import type { PlaybookAction, PlaybookActionStore } from '../playbooks/playbook-action-store.ts';
import type { RollbackQuery, RollbackRecord, RollbackStore } from './rollback-store.ts';

/** Rows keyed by id, kept in insertion order. */
class MemoryTable<T extends { id: string }> {
  constructor(
    readonly rows: Map<string, T> = new Map(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  with(undo: UndoLog): MemoryTable<T> {
    return new MemoryTable(this.rows, undo);
  }

  insert(row: T, what: string): void {
    if (this.rows.has(row.id)) throw new FailsafeError('CONFLICT', `${what} ${row.id} exists already`);
    this.rows.set(row.id, copy(row));
    this.undo.push(() => this.rows.delete(row.id));
  }

  update(row: T, what: string): void {
    const before = this.rows.get(row.id);
    if (!before) throw new FailsafeError('NOT_FOUND', `${what} ${row.id} not found`);
    this.rows.set(row.id, copy(row));
    this.undo.push(() => this.rows.set(row.id, before));
  }

  get(id: string): T | undefined {
    const row = this.rows.get(id);
    return row ? copy(row) : undefined;
  }

  all(): T[] {
    return [...this.rows.values()].map(copy);
  }
}

export class MemoryRollbackStore implements RollbackStore {
  constructor(private readonly table = new MemoryTable<RollbackRecord>()) {}

  bound(undo: UndoLog): MemoryRollbackStore {
    return new MemoryRollbackStore(this.table.with(undo));
  }

  async insert(record: RollbackRecord): Promise<void> {
    this.table.insert(record, 'rollback');
  }

  async update(record: RollbackRecord): Promise<void> {
    this.table.update(record, 'rollback');
  }

  async updateIfRunning(record: RollbackRecord): Promise<boolean> {
    if (this.table.get(record.id)?.status !== 'running') return false;
    this.table.update(record, 'rollback');
    return true;
  }

  async get(id: string): Promise<RollbackRecord | undefined> {
    return this.table.get(id);
  }

  async list(query: RollbackQuery = {}): Promise<RollbackRecord[]> {
    const rows = this.table
      .all()
      .map((r, i) => ({ r, i }))
      .filter(({ r }) => (query.model === undefined || r.model === query.model) && (!query.status?.length || query.status.includes(r.status)) && (query.since === undefined || r.startedAt >= query.since))
      .sort((a, b) => b.r.startedAt - a.r.startedAt || (a.r.id < b.r.id ? 1 : a.r.id > b.r.id ? -1 : 0))
      .map(({ r }) => r);
    return query.limit !== undefined ? rows.slice(0, query.limit) : rows;
  }
}

export class MemoryPlaybookActionStore implements PlaybookActionStore {
  constructor(private readonly table = new MemoryTable<PlaybookAction>()) {}

  bound(undo: UndoLog): MemoryPlaybookActionStore {
    return new MemoryPlaybookActionStore(this.table.with(undo));
  }

  async insert(action: PlaybookAction): Promise<void> {
    this.table.insert(action, 'playbook action');
  }

  async update(action: PlaybookAction): Promise<void> {
    this.table.update(action, 'playbook action');
  }

  async get(id: string): Promise<PlaybookAction | undefined> {
    return this.table.get(id);
  }

  async listForIncident(incidentId: string): Promise<PlaybookAction[]> {
    return this.sorted(this.table.all().filter((a) => a.incidentId === incidentId));
  }

  async list(query: { model?: string; status?: PlaybookAction['status'][]; since?: number } = {}): Promise<PlaybookAction[]> {
    return this.sorted(
      this.table
        .all()
        .filter((a) => (query.model === undefined || a.model === query.model) && (!query.status?.length || query.status.includes(a.status)) && (query.since === undefined || a.createdAt >= query.since)),
    );
  }

  private sorted(rows: PlaybookAction[]): PlaybookAction[] {
    return rows.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
