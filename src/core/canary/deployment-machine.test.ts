import { describe, expect, it } from 'vitest';
import { afterValidation, decide, type MachineState } from './deployment-machine.ts';
import { planDeployment } from './deployment-plan.ts';

const T = 1_000_000;
const plan = planDeployment({ version: 'v2', steps: [5, 50, 100], stepSeconds: 10, deadlineSeconds: 60 }, { minSamples: 200 });
const at = (stepIndex: number, extra: Partial<MachineState> = {}): MachineState => ({
  status: 'running',
  phase: 'canary',
  stepIndex,
  phaseStartedAt: T,
  deadlineAt: T + 60_000,
  ...extra,
});
const pass = { decision: 'pass' as const, reason: 'all required monitors ok' };
const wait = { decision: 'insufficient_data' as const, reason: 'insufficient data: error-rate n=12 < 200' };
const breach = { decision: 'breach' as const, reason: 'error-rate breach: 30% vs 0.4%' };

describe('deployment machine', () => {
  it('starts with the shadow phase when asked, else the first step', () => {
    expect(afterValidation(plan, '32/32 passed')).toMatchObject({ kind: 'step', stepIndex: 0, percent: 5 });
    expect(afterValidation({ ...plan, shadowPercent: 10 }, 'ok')).toMatchObject({ kind: 'shadow' });
    expect(afterValidation({ ...plan, steps: [100] }, 'ok')).toMatchObject({ kind: 'promote' });
  });

  it('holds a passing step for stepSeconds, then moves on, and promotes at 100', () => {
    expect(decide(at(0), plan, pass, T + 5_000)).toMatchObject({ kind: 'wait', reason: expect.stringContaining('5 s left') });
    expect(decide(at(0), plan, pass, T + 10_000)).toMatchObject({ kind: 'step', stepIndex: 1, percent: 50 });
    expect(decide(at(1), plan, pass, T + 10_000)).toMatchObject({ kind: 'promote' });
    expect(decide(at(0, { phase: 'shadow', stepIndex: -1 }), { ...plan, shadowPercent: 10 }, pass, T + 10_000)).toMatchObject({ kind: 'step', stepIndex: 0 });
  });

  it('aborts on a breach at once, also while paused', () => {
    expect(decide(at(0), plan, breach, T + 1)).toEqual({ kind: 'abort', fault: true, reason: 'step 5%: error-rate breach: 30% vs 0.4%' });
    expect(decide(at(0, { status: 'paused' }), plan, breach, T + 1)).toMatchObject({ kind: 'abort', fault: true });
    expect(decide(at(0, { status: 'paused' }), plan, pass, T + 60_000)).toMatchObject({ kind: 'wait' });
  });

  it('waits for data until the deadline, then does what the plan says — never passes', () => {
    expect(decide(at(0), plan, wait, T + 59_999)).toEqual({ kind: 'wait', reason: 'step 5%: insufficient data: error-rate n=12 < 200' });
    expect(decide(at(0), plan, wait, T + 60_000)).toMatchObject({ kind: 'pause', reason: expect.stringContaining('paused for a human') });
    expect(decide(at(0), { ...plan, onInsufficientData: 'abort' }, wait, T + 60_000)).toMatchObject({ kind: 'abort', fault: false });
    expect(decide(at(0), { ...plan, onInsufficientData: 'wait' }, wait, T + 600_000)).toMatchObject({ kind: 'wait' });
  });
});
