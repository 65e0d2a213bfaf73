// In-memory MonitorTuningStore for service tests; held to the same contract as the Kysely store.
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { MonitorTuning, MonitorTuningStore } from './monitor-tuning-store.ts';

const keyOf = (model: string, monitor: string): string => `${model}\u0000${monitor}`;

export class MemoryMonitorTuningStore implements MonitorTuningStore {
  constructor(
    private readonly rows: Map<string, MonitorTuning> = new Map(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryMonitorTuningStore {
    return new MemoryMonitorTuningStore(this.rows, undo);
  }

  async list(model?: string): Promise<MonitorTuning[]> {
    return [...this.rows.values()]
      .filter((t) => model === undefined || t.model === model)
      .sort((a, b) => cmp(a.model, b.model) || cmp(a.monitor, b.monitor))
      .map(copy);
  }

  async get(model: string, monitor: string): Promise<MonitorTuning | undefined> {
    return copy(this.rows.get(keyOf(model, monitor)));
  }

  async upsert(tuning: MonitorTuning): Promise<void> {
    const key = keyOf(tuning.model, tuning.monitor);
    const before = this.rows.get(key);
    this.rows.set(key, compact(copy(tuning)));
    this.undo.push(() => (before ? this.rows.set(key, before) : this.rows.delete(key)));
  }

  async delete(model: string, monitor: string): Promise<boolean> {
    const key = keyOf(model, monitor);
    const before = this.rows.get(key);
    if (!before) return false;
    this.rows.delete(key);
    this.undo.push(() => this.rows.set(key, before));
    return true;
  }
}
