import type { Model, ModelVersion, VersionState } from '../../core/types.ts';

export interface ModelStore {
  get(name: string): Promise<Model | undefined>;
  list(): Promise<Model[]>;
  insert(model: Model): Promise<void>;
  updateTags(name: string, tags: string[]): Promise<void>;
}

export interface VersionStore {
  get(model: string, version: string): Promise<ModelVersion | undefined>;
  /** Oldest first. */
  list(model: string): Promise<ModelVersion[]>;
  insert(version: ModelVersion): Promise<void>;
  setState(
    model: string,
    version: string,
    state: VersionState,
    at: number,
    extra?: { liveSince?: number; stableSince?: number },
  ): Promise<void>;
}
