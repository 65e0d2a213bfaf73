// What a deployment request means once checked: traffic steps, timings and what to do when the
// data never comes. Every impossible value is refused with the field and the reason, before
// anything changes.
import { FailsafeError } from '../errors.ts';

export const DEFAULT_STEPS: readonly number[] = [5, 25, 50, 100];
export const DEFAULT_STEP_SECONDS = 60;
export const MAX_STEP_SECONDS = 7 * 24 * 3600;

export type OnInsufficientData = 'wait' | 'abort' | 'ask';

export interface DeploymentRequest {
  version: string;
  steps?: unknown;
  stepSeconds?: number;
  shadowPercent?: number;
  minSamples?: number;
  onInsufficientData?: OnInsufficientData;
  deadlineSeconds?: number;
}

export interface DeploymentPlan {
  version: string;
  /** Candidate share at each step, increasing, ending at 100 (reaching 100 is the promotion). */
  steps: number[];
  /** Least time at each step (and in the shadow phase) before it may pass. */
  stepSeconds: number;
  /** 0: no shadow phase. */
  shadowPercent: number;
  minSamples: number;
  onInsufficientData: OnInsufficientData;
  /** How long a step may wait for enough data before onInsufficientData applies. */
  deadlineSeconds: number;
}

const bad = (message: string) => new FailsafeError('VALIDATION_FAILED', message);

/** Checks steps: whole percentages from 1 to 100, strictly increasing, the last one 100. */
export function validateSteps(steps: unknown): number[] {
  if (!Array.isArray(steps)) throw bad(`steps: expected a list of percentages such as [5, 25, 50, 100], got ${JSON.stringify(steps)}`);
  if (steps.length === 0) throw bad('steps: the list is empty; give at least [100] (promote after the checks) or e.g. [5, 25, 50, 100]');
  if (steps.length > 20) throw bad(`steps: at most 20 steps, got ${steps.length}`);
  const out: number[] = [];
  steps.forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p)) throw bad(`steps[${i}]: expected a whole percentage, got ${JSON.stringify(p)}`);
    if (p < 1) throw bad(`steps[${i}]: ${p} is below 1; a step must send the candidate some traffic`);
    if (p > 100) throw bad(`steps[${i}]: ${p} is over 100`);
    if (i > 0 && p <= out[i - 1]) throw bad(`steps[${i}]: ${p} does not increase on the step before it (${out[i - 1]}); steps must increase`);
    out.push(p);
  });
  if (out[out.length - 1] !== 100) throw bad(`steps: must end at 100 (reaching 100 is the promotion), ends at ${out[out.length - 1]}`);
  return out;
}

function wholeNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`${name}: expected a number, got ${JSON.stringify(value)}`);
  if (!Number.isInteger(value)) throw bad(`${name}: expected a whole number, got ${value}`);
  if (value < min || value > max) throw bad(`${name}: expected ${min} to ${max}, got ${value}`);
  return value;
}

export function planDeployment(req: DeploymentRequest, defaults: { minSamples: number }): DeploymentPlan {
  const steps = req.steps === undefined ? [...DEFAULT_STEPS] : validateSteps(req.steps);
  const stepSeconds = req.stepSeconds === undefined ? DEFAULT_STEP_SECONDS : wholeNumber('stepSeconds', req.stepSeconds, 1, MAX_STEP_SECONDS);
  const shadowPercent = req.shadowPercent === undefined ? 0 : wholeNumber('shadowPercent', req.shadowPercent, 0, 100);
  const minSamples = req.minSamples === undefined ? defaults.minSamples : wholeNumber('minSamples', req.minSamples, 1, 10_000_000);
  const onInsufficientData = req.onInsufficientData ?? 'ask';
  if (!['wait', 'abort', 'ask'].includes(onInsufficientData)) {
    throw bad(`onInsufficientData: expected "wait", "abort" or "ask", got ${JSON.stringify(onInsufficientData)}`);
  }
  // Ten steps' worth by default, at least ten minutes: enough for a quiet hour's traffic to show up.
  const deadlineSeconds =
    req.deadlineSeconds === undefined ? Math.min(MAX_STEP_SECONDS, Math.max(600, 10 * stepSeconds)) : wholeNumber('deadlineSeconds', req.deadlineSeconds, 1, MAX_STEP_SECONDS);
  if (deadlineSeconds < stepSeconds) throw bad(`deadlineSeconds: ${deadlineSeconds} is shorter than stepSeconds (${stepSeconds}); a step could never pass`);
  return { version: req.version, steps, stepSeconds, shadowPercent, minSamples, onInsufficientData, deadlineSeconds };
}
