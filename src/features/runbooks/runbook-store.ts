// Runbook versions and per-incident checklists. A checklist keeps its own snapshot of the steps of
// the runbook version in force when the incident opened, so editing the runbook later never
// rewrites an incident's history. Checklists change by compare-and-set on `revision`, so two
// replicas (or the event listener and a person) never overwrite each other's step.
import type { EpochMs, Severity } from '../../core/types.ts';
import type { RunbookDefinition, RunbookStep } from './runbook-definition.ts';

export interface StoredRunbook {
  id: string;
  version: number;
  title: string;
  /** sha256 of the definition's canonical JSON without `version` (runbook-definition.ts runbookHash). */
  hash: string;
  /** The text as uploaded or loaded. */
  yaml: string;
  definition: RunbookDefinition;
  createdAt: EpochMs;
  createdBy: string;
}

export type StepStatus = 'pending' | 'done' | 'skipped';

export interface StepEvidence {
  note?: string;
  link?: string;
  answer?: 'yes' | 'no';
}

export interface StepState {
  status: StepStatus;
  dueAt?: EpochMs;
  completedAt?: EpochMs;
  /** Who completed or skipped it (an API key's actor, or the actor of the timeline event). */
  by?: string;
  evidence?: StepEvidence;
  /** The timeline event that completed an automatic step. */
  eventId?: number;
  /** The audit entry that completed it (the `audit` action). */
  audit?: { seq: number; hash: string };
  /** Why the step was done differently from the procedure (by hand, out of order, ...). */
  deviation?: string;
  /** Why it was skipped; `skippedBy` is `condition` when its `when` did not apply. */
  skipReason?: string;
  skippedBy?: string;
  /** Prerequisites that were still open when it completed. */
  outOfOrder?: string[];
  /** When the overdue notice went out (once). */
  escalatedAt?: EpochMs;
}

export interface Checklist {
  incidentId: string;
  runbook: { id: string; version: number; hash: string; title: string };
  /** The steps as they were in that version (a snapshot). */
  steps: RunbookStep[];
  states: Record<string, StepState>;
  /** Due times follow this severity (the incident's, kept current). */
  severity: Severity;
  detectedAt: EpochMs;
  revision: number;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

export interface RunbookStore {
  /** Throws CONFLICT when (id, version) exists. */
  insertVersion(runbook: StoredRunbook): Promise<void>;
  /** One version, or the latest when `version` is undefined. */
  getVersion(id: string, version?: number): Promise<StoredRunbook | undefined>;
  /** Every version of a runbook, oldest first. */
  listVersions(id: string): Promise<StoredRunbook[]>;
  /** The latest version of every runbook, by id. */
  listLatest(): Promise<StoredRunbook[]>;

  /** Throws CONFLICT when the incident has a checklist already. */
  insertChecklist(checklist: Checklist): Promise<void>;
  getChecklist(incidentId: string): Promise<Checklist | undefined>;
  /**
   * Replaces the checklist when its stored revision is `expectedRevision` (the new one carries
   * its own, higher, revision). CONFLICT when someone else changed it first, NOT_FOUND when absent.
   */
  updateChecklist(checklist: Checklist, expectedRevision: number): Promise<void>;
  /** Checklists with a step due at or before `now` that has not been escalated (nextDueAt). */
  listDue(now: EpochMs, limit?: number): Promise<Checklist[]>;
}

/** The earliest due time of a step still open and not yet escalated: what `listDue` looks at. */
export function nextDueAt(checklist: Pick<Checklist, 'states'>): EpochMs | undefined {
  let next: EpochMs | undefined;
  for (const s of Object.values(checklist.states)) {
    if (s.status !== 'pending' || s.dueAt === undefined || s.escalatedAt !== undefined) continue;
    if (next === undefined || s.dueAt < next) next = s.dueAt;
  }
  return next;
}
