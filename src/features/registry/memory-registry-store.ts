import { FailsafeError } from '../../core/errors.ts';
import type { Model, ModelVersion, VersionState } from '../../core/types.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { ModelStore, VersionStore } from './registry-store.ts';

export class MemoryModelStore implements ModelStore {
  constructor(
    private readonly models = new Map<string, Model>(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  /** The same data, with writes recorded in `undo` (used for transactions). */
  bound(undo: UndoLog): MemoryModelStore {
    return new MemoryModelStore(this.models, undo);
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  async get(name: string): Promise<Model | undefined> {
    const m = this.models.get(name);
    return m && copy(m);
  }

  async list(): Promise<Model[]> {
    return [...this.models.values()].sort((a, b) => cmp(a.name, b.name)).map(copy);
  }

  async insert(model: Model): Promise<void> {
    if (this.models.has(model.name)) throw new FailsafeError('MODEL_EXISTS', `model "${model.name}" already exists`);
    this.models.set(model.name, compact(copy({ ...model, tags: model.tags ?? [] })));
    this.undo.push(() => this.models.delete(model.name));
  }

  async updateTags(name: string, tags: string[]): Promise<void> {
    const m = this.models.get(name);
    if (!m) throw new FailsafeError('MODEL_NOT_FOUND', `model "${name}" not found`);
    const before = m.tags;
    m.tags = copy(tags);
    this.undo.push(() => (m.tags = before));
  }
}

const key = (model: string, version: string) => `${model}\u0000${version}`;

export class MemoryVersionStore implements VersionStore {
  constructor(
    private readonly modelExists: (name: string) => boolean,
    private readonly versions = new Map<string, ModelVersion>(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryVersionStore {
    return new MemoryVersionStore(this.modelExists, this.versions, undo);
  }

  async get(model: string, version: string): Promise<ModelVersion | undefined> {
    const v = this.versions.get(key(model, version));
    return v && copy(v);
  }

  async list(model: string): Promise<ModelVersion[]> {
    return [...this.versions.values()]
      .filter((v) => v.model === model)
      .sort((a, b) => a.createdAt - b.createdAt || cmp(a.version, b.version))
      .map(copy);
  }

  async insert(version: ModelVersion): Promise<void> {
    if (!this.modelExists(version.model)) throw new FailsafeError('MODEL_NOT_FOUND', `model "${version.model}" not found`);
    const k = key(version.model, version.version);
    if (this.versions.has(k)) {
      throw new FailsafeError('VERSION_CONFLICT', `version "${version.version}" of model "${version.model}" already exists`);
    }
    this.versions.set(k, compact(copy(version)));
    this.undo.push(() => this.versions.delete(k));
  }

  async setState(
    model: string,
    version: string,
    state: VersionState,
    at: number,
    extra: { liveSince?: number; stableSince?: number } = {},
  ): Promise<void> {
    const k = key(model, version);
    const v = this.versions.get(k);
    if (!v) throw new FailsafeError('VERSION_NOT_FOUND', `version "${version}" of model "${model}" not found`);
    this.versions.set(
      k,
      compact({
        ...v,
        state,
        stateChangedAt: at,
        liveSince: extra.liveSince ?? v.liveSince,
        stableSince: extra.stableSince ?? v.stableSince,
      }),
    );
    this.undo.push(() => this.versions.set(k, v));
  }
}

