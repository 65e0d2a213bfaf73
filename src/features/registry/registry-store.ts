import type { Model, ModelVersion, VersionState } from '../../core/types.ts';

export interface ModelStore {
  get(name: string): Promise<Model | undefined>;
  /** By name. */
  list(): Promise<Model[]>;
  /** Throws FailsafeError MODEL_EXISTS when the name is taken. */
  insert(model: Model): Promise<void>;
  /** Throws MODEL_NOT_FOUND for an unknown model. */
  updateTags(name: string, tags: string[]): Promise<void>;
}

export interface VersionStore {
  get(model: string, version: string): Promise<ModelVersion | undefined>;
  /** Oldest first (createdAt, then version id for versions registered in the same millisecond). */
  list(model: string): Promise<ModelVersion[]>;
  /** Throws VERSION_CONFLICT when the id exists for the model, MODEL_NOT_FOUND for an unknown model. */
  insert(version: ModelVersion): Promise<void>;
  /**
   * Sets the state and stateChangedAt; liveSince/stableSince change only when given.
   * Throws VERSION_NOT_FOUND for an unknown version.
   */
  setState(
    model: string,
    version: string,
    state: VersionState,
    at: number,
    extra?: { liveSince?: number; stableSince?: number },
  ): Promise<void>;
}
