import { describe, expect, it } from 'vitest';
import { planDeployment, validateSteps } from './deployment-plan.ts';

const refused = (steps: unknown) => {
  try {
    validateSteps(steps);
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('accepted');
};

describe('validateSteps', () => {
  it('accepts increasing whole percentages ending at 100', () => {
    expect(validateSteps([5, 25, 50, 100])).toEqual([5, 25, 50, 100]);
    expect(validateSteps([100])).toEqual([100]);
  });

  it('refuses impossible steps with the field and the reason', () => {
    expect(refused([])).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringContaining('steps: the list is empty') });
    expect(refused([25, 5, 100]).message).toBe('steps[1]: 5 does not increase on the step before it (25); steps must increase');
    expect(refused([5, 5, 100]).message).toContain('steps[1]: 5 does not increase');
    expect(refused([50, 150]).message).toBe('steps[1]: 150 is over 100');
    expect(refused([5, 25, 50]).message).toBe('steps: must end at 100 (reaching 100 is the promotion), ends at 50');
    expect(refused([2.5, 100]).message).toBe('steps[0]: expected a whole percentage, got 2.5');
    expect(refused(['5', 100]).message).toBe('steps[0]: expected a whole percentage, got "5"');
    expect(refused([0, 100]).message).toContain('steps[0]: 0 is below 1');
    expect(refused('5,25').message).toContain('steps: expected a list');
  });
});

describe('planDeployment', () => {
  it('fills defaults and checks the numbers', () => {
    const plan = planDeployment({ version: 'v2' }, { minSamples: 200 });
    expect(plan).toEqual({ version: 'v2', steps: [5, 25, 50, 100], stepSeconds: 60, shadowPercent: 0, minSamples: 200, onInsufficientData: 'ask', deadlineSeconds: 600 });
    expect(() => planDeployment({ version: 'v2', stepSeconds: 0 }, { minSamples: 200 })).toThrow('stepSeconds: expected 1 to 604800, got 0');
    expect(() => planDeployment({ version: 'v2', shadowPercent: 101 }, { minSamples: 200 })).toThrow('shadowPercent');
    expect(() => planDeployment({ version: 'v2', stepSeconds: 60, deadlineSeconds: 30 }, { minSamples: 200 })).toThrow('deadlineSeconds: 30 is shorter than stepSeconds (60)');
    expect(() => planDeployment({ version: 'v2', onInsufficientData: 'maybe' as never }, { minSamples: 200 })).toThrow('onInsufficientData');
  });
});
