// The progressive rollout as a state machine: what to do after a look at the current phase.
//
//   validating ──passed──► shadow (optional) ──► step 1 ──► step 2 … ──► promoted (100%)
//        │                    │                    │
//        └─failed─► aborted   └──── breach ────────┴──► aborted (traffic back at once, faulty)
//
// In a phase: a breach aborts at once (also while paused); a pass moves on once the phase has
// lasted stepSeconds; insufficient data waits until the deadline, then aborts, pauses for a
// human ('ask') or keeps waiting, as the plan says. Pure: the runner applies the actions.
import type { EpochMs } from '../types.ts';
import type { CanaryDecision } from './analyze-canary.ts';
import type { DeploymentPlan } from './deployment-plan.ts';

export type DeploymentStatus = 'running' | 'paused' | 'promoted' | 'aborted';
export type DeploymentPhase = 'validating' | 'shadow' | 'canary' | 'done';

export const isActiveDeployment = (status: DeploymentStatus): boolean => status === 'running' || status === 'paused';

export interface MachineState {
  status: DeploymentStatus;
  phase: DeploymentPhase;
  /** Index in plan.steps while in the canary phase; -1 before. */
  stepIndex: number;
  phaseStartedAt: EpochMs;
  /** When a phase without a verdict stops waiting (onInsufficientData). */
  deadlineAt: EpochMs;
}

export type MachineAction =
  | { kind: 'wait'; reason: string }
  | { kind: 'shadow'; reason: string }
  | { kind: 'step'; stepIndex: number; percent: number; reason: string }
  | { kind: 'promote'; reason: string }
  | { kind: 'abort'; fault: boolean; reason: string }
  | { kind: 'pause'; reason: string };

/** Where a deployment goes once its offline gate passed. */
export function afterValidation(plan: DeploymentPlan, summary: string): MachineAction {
  if (plan.shadowPercent > 0) return { kind: 'shadow', reason: `validation passed (${summary}); shadow phase: ${plan.shadowPercent}% of traffic mirrored` };
  return firstStep(plan, `validation passed (${summary})`);
}

function firstStep(plan: DeploymentPlan, why: string): MachineAction {
  const percent = plan.steps[0];
  if (percent === 100) return { kind: 'promote', reason: `${why}; no canary steps: promoted` };
  return { kind: 'step', stepIndex: 0, percent, reason: `${why}; step ${percent}%` };
}

export function phaseLabel(state: Pick<MachineState, 'phase' | 'stepIndex'>, plan: Pick<DeploymentPlan, 'steps' | 'shadowPercent'>): string {
  if (state.phase === 'shadow') return `shadow phase (${plan.shadowPercent}% mirrored)`;
  if (state.phase === 'canary') return `step ${plan.steps[state.stepIndex]}%`;
  return state.phase;
}

/** The action after one analysis of the current phase. */
export function decide(state: MachineState, plan: DeploymentPlan, analysis: { decision: CanaryDecision; reason: string }, now: EpochMs): MachineAction {
  const label = phaseLabel(state, plan);
  if (!isActiveDeployment(state.status) || (state.phase !== 'shadow' && state.phase !== 'canary')) return { kind: 'wait', reason: analysis.reason };
  if (analysis.decision === 'breach') return { kind: 'abort', fault: true, reason: `${label}: ${analysis.reason}` };
  if (state.status === 'paused') return { kind: 'wait', reason: `paused at ${label}: ${analysis.reason}` };
  const elapsed = now - state.phaseStartedAt;
  if (analysis.decision === 'pass') {
    const hold = plan.stepSeconds * 1000 - elapsed;
    if (hold > 0) return { kind: 'wait', reason: `${label}: ${analysis.reason}; holding the step ${plan.stepSeconds} s (${Math.ceil(hold / 1000)} s left)` };
    if (state.phase === 'shadow') return firstStep(plan, `${label} passed: ${analysis.reason}`);
    const next = state.stepIndex + 1;
    const percent = plan.steps[next];
    if (percent === undefined || percent === 100) return { kind: 'promote', reason: `${label} passed: ${analysis.reason}; promoted to 100%` };
    return { kind: 'step', stepIndex: next, percent, reason: `${label} passed: ${analysis.reason}; step ${percent}%` };
  }
  if (now >= state.deadlineAt) {
    const why = `${label}: no verdict after ${Math.round((now - state.phaseStartedAt) / 1000)} s (deadline ${plan.deadlineSeconds} s): ${analysis.reason}`;
    if (plan.onInsufficientData === 'abort') return { kind: 'abort', fault: false, reason: why };
    if (plan.onInsufficientData === 'ask') return { kind: 'pause', reason: `${why}; paused for a human: resume, promote or abort` };
  }
  return { kind: 'wait', reason: `${label}: ${analysis.reason}` };
}
