// In-memory RunbookStore for service tests; held to the same contract as the Kysely store.
// Copies in and out; writes inside a failed transaction are undone.
import { FailsafeError } from '../../core/errors.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { nextDueAt, type Checklist, type RunbookStore, type StoredRunbook } from './runbook-store.ts';

interface Tables {
  versions: Map<string, StoredRunbook>;
  checklists: Map<string, Checklist>;
}

const versionKey = (id: string, version: number): string => `${id}\u0000${version}`;

export class MemoryRunbookStore implements RunbookStore {
  constructor(
    private readonly t: Tables = { versions: new Map(), checklists: new Map() },
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryRunbookStore {
    return new MemoryRunbookStore(this.t, undo);
  }

  async insertVersion(runbook: StoredRunbook): Promise<void> {
    const key = versionKey(runbook.id, runbook.version);
    if (this.t.versions.has(key)) throw new FailsafeError('CONFLICT', `runbook ${runbook.id} version ${runbook.version} exists already`);
    this.t.versions.set(key, copy(runbook));
    this.undo.push(() => this.t.versions.delete(key));
  }

  async getVersion(id: string, version?: number): Promise<StoredRunbook | undefined> {
    if (version !== undefined) return copy(this.t.versions.get(versionKey(id, version)));
    const all = await this.listVersions(id);
    return all[all.length - 1];
  }

  async listVersions(id: string): Promise<StoredRunbook[]> {
    return [...this.t.versions.values()].filter((r) => r.id === id).sort((a, b) => a.version - b.version).map(copy);
  }

  async listLatest(): Promise<StoredRunbook[]> {
    const latest = new Map<string, StoredRunbook>();
    for (const r of this.t.versions.values()) {
      const cur = latest.get(r.id);
      if (!cur || r.version > cur.version) latest.set(r.id, r);
    }
    return [...latest.values()].sort((a, b) => cmp(a.id, b.id)).map(copy);
  }

  async insertChecklist(checklist: Checklist): Promise<void> {
    const id = checklist.incidentId;
    if (this.t.checklists.has(id)) throw new FailsafeError('CONFLICT', `incident ${id} has a checklist already`);
    this.t.checklists.set(id, copy(checklist));
    this.undo.push(() => this.t.checklists.delete(id));
  }

  async getChecklist(incidentId: string): Promise<Checklist | undefined> {
    return copy(this.t.checklists.get(incidentId));
  }

  async updateChecklist(checklist: Checklist, expectedRevision: number): Promise<void> {
    const id = checklist.incidentId;
    const before = this.t.checklists.get(id);
    if (!before) throw new FailsafeError('NOT_FOUND', `incident ${id} has no checklist`);
    if (before.revision !== expectedRevision) {
      throw new FailsafeError('CONFLICT', `checklist of ${id} changed meanwhile (revision ${before.revision}, expected ${expectedRevision})`);
    }
    this.t.checklists.set(id, copy(checklist));
    this.undo.push(() => this.t.checklists.set(id, before));
  }

  async listDue(now: number, limit = 500): Promise<Checklist[]> {
    return [...this.t.checklists.values()]
      .map((c) => ({ c, due: nextDueAt(c) }))
      .filter((x): x is { c: Checklist; due: number } => x.due !== undefined && x.due <= now)
      .sort((a, b) => a.due - b.due || cmp(a.c.incidentId, b.c.incidentId))
      .slice(0, limit)
      .map((x) => copy(x.c));
  }
}
