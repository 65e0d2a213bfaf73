// What playbooks did, would do (dry run) or wait to do (approval), per incident.
import type { EpochMs, Severity } from '../../core/types.ts';

export type PlaybookActionKind = 'contain' | 'rollback';
export type PlaybookActionStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'denied' | 'skipped' | 'dry_run';

export interface PlaybookAction {
  id: string;
  incidentId: string;
  model: string;
  version?: string;
  kind: PlaybookActionKind;
  /** `auto`: done at once; `approval`: waited for a person. */
  mode: 'auto' | 'approval';
  status: PlaybookActionStatus;
  severity: Severity;
  createdAt: EpochMs;
  decidedAt?: EpochMs;
  decidedBy?: string;
  /** Why it was skipped or denied, or what a dry run would have done. */
  reason?: string;
  /** What the action produced (isolation summary, rollback id and outcome, latencies). */
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
  finishedAt?: EpochMs;
}

export interface PlaybookActionStore {
  insert(action: PlaybookAction): Promise<void>;
  update(action: PlaybookAction): Promise<void>;
  get(id: string): Promise<PlaybookAction | undefined>;
  /** Oldest first. */
  listForIncident(incidentId: string): Promise<PlaybookAction[]>;
  /** Oldest first; by status when given. */
  list(query?: { model?: string; status?: PlaybookActionStatus[]; since?: EpochMs }): Promise<PlaybookAction[]>;
}
