// Deployments (canary rollouts), their analyses and A/B experiments are kept as history. A
// deployment row is rewritten at every change of status, phase or step; every analysis is its
// own row with all its numbers, so "why did it abort at 5%?" is answered from the store.
import type { CanaryMonitorResult } from '../../core/canary/compare-arms.ts';
import type { CanaryDecision } from '../../core/canary/analyze-canary.ts';
import type { CanarySettings } from '../../core/canary/canary-settings.ts';
import type { DeploymentPlan } from '../../core/canary/deployment-plan.ts';
import type { DeploymentPhase, DeploymentStatus } from '../../core/canary/deployment-machine.ts';
import type { AbComparison } from '../../core/canary/ab-report.ts';
import type { EpochMs, Route } from '../../core/types.ts';

export type { DeploymentPhase, DeploymentStatus } from '../../core/canary/deployment-machine.ts';

/** The offline gate: a golden-set replay, or a smoke check when the model has no golden set. */
export interface DeploymentValidation {
  kind: 'golden' | 'smoke';
  passed: boolean;
  summary: string;
  passRate?: number;
  total?: number;
  versionContentHash?: string;
  startedAt: EpochMs;
  finishedAt?: EpochMs;
  /** While it runs: cases done of total. */
  done?: number;
}

export interface DeploymentEvent {
  at: EpochMs;
  /** created, validated, validation_failed, shadow, step, promoted, aborted, paused, resumed. */
  event: string;
  phase: DeploymentPhase;
  step: number;
  actor: string;
  reason?: string;
  /** Requests each arm served in the phase that just ended. */
  requests?: { candidate: number; stable: number };
}

export interface DeploymentRecord {
  id: string;
  model: string;
  /** The candidate. */
  version: string;
  /** The stable arm it is compared with (the version serving before the deployment). */
  baseline: string;
  status: DeploymentStatus;
  phase: DeploymentPhase;
  plan: DeploymentPlan;
  settings: CanarySettings;
  /** Index in plan.steps while in the canary phase (and after); -1 before. */
  stepIndex: number;
  /** Candidate share now: 0 while validating or shadowing, the step while in it, 100 once promoted. */
  step: number;
  phaseStartedAt: EpochMs;
  deadlineAt: EpochMs;
  /** The latest decision in one line, with its numbers. */
  reason: string;
  actor: string;
  stickyKey?: string;
  /** The route before the deployment changed it (what an abort restores). */
  routeBefore: Pick<Route, 'weights' | 'shadow' | 'stickyKey'>;
  /** Revision of the last route change this deployment made: any other change aborts it. */
  routeRevision?: number;
  validation?: DeploymentValidation;
  /** Requests each arm served, over every phase so far. */
  requests: { candidate: number; stable: number };
  history: DeploymentEvent[];
  analysisCount: number;
  createdAt: EpochMs;
  updatedAt: EpochMs;
  finishedAt?: EpochMs;
}

export interface DeploymentAnalysisRecord {
  deploymentId: string;
  /** 1, 2, … per deployment. */
  seq: number;
  at: EpochMs;
  phase: DeploymentPhase;
  step: number;
  decision: CanaryDecision;
  /** What the state machine did with it: wait, step, promote, abort, pause. */
  action: string;
  reason: string;
  window: { from: EpochMs; to: EpochMs };
  monitors: CanaryMonitorResult[];
}

export interface DeploymentQuery {
  model?: string;
  status?: DeploymentStatus[];
  limit?: number;
}

export interface DeploymentStore {
  /** CONFLICT when the id exists. */
  insert(record: DeploymentRecord): Promise<void>;
  /** NOT_FOUND when absent. */
  update(record: DeploymentRecord): Promise<void>;
  get(id: string): Promise<DeploymentRecord | undefined>;
  /** Newest first (createdAt, then id). */
  list(query?: DeploymentQuery): Promise<DeploymentRecord[]>;
  addAnalysis(analysis: DeploymentAnalysisRecord): Promise<void>;
  /** The newest `limit` analyses (default 100), oldest first. */
  listAnalyses(deploymentId: string, options?: { limit?: number }): Promise<DeploymentAnalysisRecord[]>;
}

export type ExperimentStatus = 'running' | 'completed' | 'stopped';

export interface ExperimentRecord {
  id: string;
  model: string;
  /** version → weight (sums to 100). */
  versions: Record<string, number>;
  /** The arm every other one is compared with. */
  control: string;
  stickyKey?: string;
  durationSeconds: number;
  status: ExperimentStatus;
  actor: string;
  reason?: string;
  routeBefore: Pick<Route, 'weights' | 'shadow' | 'stickyKey'>;
  routeRevision?: number;
  startedAt: EpochMs;
  endsAt: EpochMs;
  finishedAt?: EpochMs;
  /** Final report (completed or stopped experiments). */
  report?: { arms: Record<string, { requests: number }>; comparisons: AbComparison[]; from: EpochMs; to: EpochMs; note?: string };
}

export interface ExperimentStore {
  insert(record: ExperimentRecord): Promise<void>;
  update(record: ExperimentRecord): Promise<void>;
  get(id: string): Promise<ExperimentRecord | undefined>;
  /** Newest first. */
  list(query?: { model?: string; status?: ExperimentStatus[]; limit?: number }): Promise<ExperimentRecord[]>;
}
