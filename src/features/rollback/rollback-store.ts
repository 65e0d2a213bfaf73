// Rollbacks are kept as history: written when one starts (status `running`), after each
// validation, and when it ends, so a process that dies mid-rollback leaves a visible row that
// recovery marks `interrupted` (at startup, and once its owner's heartbeat has lapsed).
import type { EpochMs } from '../../core/types.ts';

export type RollbackStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type RollbackPhase = 'validating' | 'deploying' | 'switching' | 'done';

/** One target's validation: a golden-set replay, or a smoke check when the model has no golden set. */
export interface RollbackValidation {
  version: string;
  kind: 'golden' | 'smoke';
  passed: boolean;
  summary: string;
  /** The staging report (golden) or the smoke report, with the numbers behind the verdict. */
  report: Record<string, unknown>;
  startedAt: EpochMs;
  finishedAt: EpochMs;
}

export interface DeployHookOutcome {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
  ready?: boolean;
  durationMs: number;
}

export interface RollbackRecord {
  id: string;
  model: string;
  /** The version rolled back from (marked faulty by the switch). */
  from?: string;
  /** The version traffic landed on (set once a target passed validation). */
  to?: string;
  /** An explicit target the caller asked for. */
  requestedTo?: string;
  status: RollbackStatus;
  phase: RollbackPhase;
  reason?: string;
  actor: string;
  incidentId?: string;
  /** Versions to try, in order (M-1, M-2, ...). */
  candidates: string[];
  validations: RollbackValidation[];
  deploy?: DeployHookOutcome;
  error?: { code: string; message: string };
  /** Route weights before the switch and the revision the switch produced. */
  routeBefore?: Record<string, number>;
  routeRevision?: number;
  startedAt: EpochMs;
  /** The process running it (a random id per process start). */
  owner?: string;
  /** Renewed by the owner while it runs: a `running` rollback whose heartbeat is older than the lease was orphaned. */
  heartbeatAt?: EpochMs;
  switchedAt?: EpochMs;
  finishedAt?: EpochMs;
  durationMs?: number;
}

export interface RollbackQuery {
  model?: string;
  status?: RollbackStatus[];
  /** Started at or after. */
  since?: EpochMs;
  limit?: number;
}

export interface RollbackStore {
  insert(record: RollbackRecord): Promise<void>;
  /** Replaces the stored record (ROLLBACK_NOT_FOUND-style NOT_FOUND when absent). */
  update(record: RollbackRecord): Promise<void>;
  /**
   * Replaces the stored record only while the stored one is still `running`; false otherwise. For
   * heartbeats: one that lands after the rollback ended must not undo its end.
   */
  updateIfRunning(record: RollbackRecord): Promise<boolean>;
  get(id: string): Promise<RollbackRecord | undefined>;
  /** Newest first. */
  list(query?: RollbackQuery): Promise<RollbackRecord[]>;
}
