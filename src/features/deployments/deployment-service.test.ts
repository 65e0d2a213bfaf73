// The rollout driven by hand: a manual clock, the real metric windows fed with synthetic
// requests, memory stores, the real routing and registry services. The gateway end to end is in
// test/deployments.test.ts.
import { beforeEach, describe, expect, it } from 'vitest';
import { createFoundation, seedSupportBot, type Foundation } from '../../../test/helpers/foundation.ts';
import { createRandom } from '../../core/stats/random.ts';
import type { Trace } from '../../core/types.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import { DeploymentService } from './deployment-service.ts';
import type { DeploymentRecord, DeploymentValidation } from './deployment-store.ts';
import type { CandidateValidator } from './deployment-validation.ts';
import { ExperimentService } from './experiment-service.ts';

interface Arm {
  rps: number;
  errorRate?: number;
  latencyMs?: number;
  /** Requests whose input is longer than this fail on this arm. */
  failLongerThan?: number;
  /** Those failures are the client's kind (a 4xx): the windows count them ok, only traces show them. */
  longFailuresLookOk?: boolean;
}

let f: Foundation;
let windows: MetricWindows;
let svc: DeploymentService;
let soaked: string[];
let validation: DeploymentValidation;
const random = createRandom(42);
let seq = 0;

const passing = (): DeploymentValidation => ({ kind: 'golden', passed: true, summary: 'v2 passed staging: 32/32', passRate: 1, total: 32, versionContentHash: 'hash-v2', startedAt: 0, finishedAt: 0 });
const validator: CandidateValidator = async ({ version }) => ({ ...validation, versionContentHash: version.contentHash });

beforeEach(async () => {
  f = createFoundation();
  await seedSupportBot(f);
  windows = new MetricWindows();
  soaked = [];
  validation = passing();
  svc = new DeploymentService({
    stores: f.stores,
    clock: f.clock,
    audit: f.audit,
    routing: f.routing,
    registry: f.registry,
    windows,
    validator,
    soak: { restart: (m, v, at) => soaked.push(`${m}@${v}@${at}`) },
    traceLagMs: 0,
    onError: (err) => f.errors.push(err),
  });
});

const weights = () => f.routing.serving('support-bot')!.route.weights;
const stateOf = async (v: string) => (await f.registry.getVersion('support-bot', v)).state;

async function settle(id: string): Promise<DeploymentRecord> {
  for (let i = 0; i < 50; i++) {
    const d = await svc.get(id);
    if (d.phase !== 'validating' || d.status !== 'running') return d;
    await new Promise((r) => setImmediate(r));
  }
  return svc.get(id);
}

/** One second of traffic split as the route says, recorded in the windows and as traces. */
async function second(arms: Record<string, Arm>, longShare = 0) {
  const at = f.clock.t;
  const traces: Trace[] = [];
  for (const [version, arm] of Object.entries(arms)) {
    const n = arm.rps;
    for (let i = 0; i < n; i++) {
      const inputChars = random.next() < longShare ? 1500 : 100;
      const failed = random.next() < (arm.errorRate ?? 0) || (arm.failLongerThan !== undefined && inputChars > arm.failLongerThan);
      const t = at + Math.floor((i / n) * 1000);
      const seenOk = !failed || (arm.longFailuresLookOk === true && inputChars > (arm.failLongerThan ?? Infinity));
      windows.record({ model: 'support-bot', version, at: t, latencyMs: (arm.latencyMs ?? 20) * (0.9 + 0.2 * random.next()), ok: seenOk, errorClass: failed ? 'upstream_5xx' : undefined, inputChars });
      const id = `r${seq++}`;
      traces.push({ requestId: id, model: 'support-bot', version: failed ? 'v1' : version, ...(failed ? { firstVersion: version } : {}), kind: 'chat', startedAt: t, latencyMs: 20, httpStatus: 200, status: 'ok', stream: false, retried: failed, inputChars, outputChars: 10 });
    }
  }
  await f.stores.traces.insertMany(traces);
  f.clock.advance(1000);
  await svc.tick();
}

/** Traffic for `seconds`, split by the current weights (rps total). */
async function run(seconds: number, total: number, candidate: Omit<Arm, 'rps'>, longShare = 0, until?: (d: DeploymentRecord) => boolean, id?: string) {
  for (let s = 0; s < seconds; s++) {
    const w = weights();
    await second({ v1: { rps: Math.round((total * (w.v1 ?? 0)) / 100) }, v2: { rps: Math.round((total * (w.v2 ?? 0)) / 100), ...candidate } }, longShare);
    if (id && until && until(await svc.get(id))) return;
  }
}

describe('DeploymentService', () => {
  it('promotes a good candidate through every step, validated offline first', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [10, 50, 100], stepSeconds: 10, minSamples: 100 }, { actor: 'key:ops' });
    expect(d0).toMatchObject({ status: 'running', phase: 'validating', baseline: 'v1', step: 0 });
    const d1 = await settle(d0.id);
    expect(d1).toMatchObject({ phase: 'canary', step: 10, stepIndex: 0 });
    expect(weights()).toEqual({ v1: 90, v2: 10 });
    expect(await stateOf('v2')).toBe('live');
    const validate = (await f.audit.list({ target: 'version:support-bot@v2', action: 'version.validate' }))[0];
    expect(validate.after).toMatchObject({ passed: true, versionContentHash: (await f.registry.getVersion('support-bot', 'v2')).contentHash });

    await run(60, 200, {}, 0, (d) => d.status !== 'running', d0.id);
    const done = await svc.get(d0.id);
    expect(done.status).toBe('promoted');
    expect(done.step).toBe(100);
    expect(weights()).toEqual({ v2: 100 });
    expect(await stateOf('v1')).toBe('stable');
    expect(done.history.map((e) => e.event)).toEqual(['created', 'validated', 'step', 'step', 'promoted']);
    expect(done.requests.candidate).toBeGreaterThan(100);
    // The soak toward stable restarts at promotion.
    expect(soaked.at(-1)).toBe(`support-bot@v2@${done.finishedAt}`);
    const analyses = await svc.analyses(d0.id, 1000);
    expect(analyses.length).toBe(done.analysisCount);
    expect(analyses.at(-1)).toMatchObject({ decision: 'pass', action: 'promote', step: 50 });
    expect(analyses.every((a) => a.monitors.some((m) => m.monitor === 'error-rate' && typeof m.nCandidate === 'number'))).toBe(true);
    // Steps never passed before stepSeconds.
    const steps = done.history.filter((e) => e.event === 'step' || e.event === 'promoted');
    for (let i = 1; i < steps.length; i++) expect(steps[i].at - steps[i - 1].at).toBeGreaterThanOrEqual(10_000);
  });

  it('aborts a failing candidate at the first step: traffic back at once, marked faulty, numbers kept', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [10, 50, 100], stepSeconds: 10, minSamples: 100 }, { actor: 'key:ops' });
    await settle(d0.id);
    await run(30, 200, { errorRate: 0.3 }, 0, (d) => d.status !== 'running', d0.id);
    const d = await svc.get(d0.id);
    expect(d).toMatchObject({ status: 'aborted', step: 10 });
    expect(d.reason).toMatch(/^step 10%: error-rate breach: /);
    expect(weights()).toEqual({ v1: 100 });
    expect(await stateOf('v2')).toBe('faulty');
    const last = (await svc.analyses(d.id, 1))[0];
    const m = last.monitors.find((x) => x.monitor === 'error-rate')!;
    expect(m).toMatchObject({ status: 'breach', test: 'msprt-two-sample' });
    expect(m.pValue).toBeLessThanOrEqual(m.alpha!);
    expect(m.nCandidate).toBeGreaterThan(0);
    expect(m.nStable).toBeGreaterThan(m.nCandidate);
    const route = (await f.routing.history('support-bot', { limit: 1 }))[0];
    expect(route.reason).toContain(`deployment ${d.id}: step 10%: error-rate breach`);
  });

  it('catches a candidate that fails only on long inputs through the per-bucket check', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [10, 50, 100], stepSeconds: 10, minSamples: 100 }, { actor: 'key:ops' });
    await settle(d0.id);
    await run(60, 200, { failLongerThan: 1000 }, 0.04, (d) => d.status !== 'running', d0.id);
    const d = await svc.get(d0.id);
    expect(d.status).toBe('aborted');
    expect(d.step).toBe(10);
    expect(d.reason).toContain('inputs of 1024-4095 chars');
    expect(await stateOf('v2')).toBe('faulty');
  });

  it('holds a passing step until the traces the segment check reads (behind by traceLagMs) cover it', async () => {
    svc = new DeploymentService({ stores: f.stores, clock: f.clock, audit: f.audit, routing: f.routing, registry: f.registry, windows, validator, traceLagMs: 3000 });
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [50, 100], stepSeconds: 2, minSamples: 100 }, { actor: 'key:ops' });
    await settle(d0.id);
    // Only the traces show the failures, and only 3 s late: the windows' monitors pass at 2 s.
    await run(3, 200, { failLongerThan: 1000, longFailuresLookOk: true }, 0.15);
    let d = await svc.get(d0.id);
    expect(d).toMatchObject({ status: 'running', step: 50 });
    expect(d.reason).toMatch(/all required monitors ok .*; waiting \d+ ms more for the traces the segment check reads/);
    await run(10, 200, { failLongerThan: 1000, longFailuresLookOk: true }, 0.15, (x) => x.status !== 'running', d0.id);
    d = await svc.get(d0.id);
    expect(d).toMatchObject({ status: 'aborted', step: 50 });
    expect(d.reason).toContain('segment:input-length breach: inputs of 1024-4095 chars');
  });

  it('waits with "insufficient data" on low traffic, then pauses for a human; never promotes', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [5, 100], stepSeconds: 5, deadlineSeconds: 30, minSamples: 200 }, { actor: 'key:ops' });
    await settle(d0.id);
    await run(10, 40, {});
    let d = await svc.get(d0.id);
    expect(d.status).toBe('running');
    expect(d.reason).toMatch(/^step 5%: insufficient data: error-rate n=\d+ < 200/);
    await run(25, 40, {});
    d = await svc.get(d0.id);
    expect(d.status).toBe('paused');
    expect(d.reason).toContain('paused for a human');
    expect(weights()).toEqual({ v1: 95, v2: 5 });
    // Resume: a new deadline; abort by hand puts the candidate back to validated (no fault shown).
    d = await svc.resume(d0.id, { actor: 'key:ops' });
    expect(d.status).toBe('running');
    d = await svc.abort(d0.id, { actor: 'key:ops', reason: 'not enough traffic today' });
    expect(d).toMatchObject({ status: 'aborted', reason: 'aborted by key:ops: not enough traffic today at step 5%' });
    expect(weights()).toEqual({ v1: 100 });
    expect(await stateOf('v2')).toBe('validated');
    await expect(svc.promote(d0.id, { actor: 'key:ops' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('refuses bad requests with clear errors', async () => {
    await expect(svc.create('nope', { version: 'v2' }, { actor: 'a' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(svc.create('support-bot', { version: 'v9' }, { actor: 'a' })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND', message: expect.stringContaining('registered: v1, v2') });
    await expect(svc.create('support-bot', { version: 'v2', steps: [50, 25, 100] }, { actor: 'a' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('steps[1]') });
    await expect(svc.create('support-bot', { version: 'v1' }, { actor: 'a' })).rejects.toMatchObject({ code: 'CONFLICT', message: 'support-bot v1 already serves 100% of traffic' });
    const d = await svc.create('support-bot', { version: 'v2' }, { actor: 'a' });
    await expect(svc.create('support-bot', { version: 'v2' }, { actor: 'a' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`already has deployment ${d.id}`) });
    await expect(svc.get('dep-missing')).rejects.toMatchObject({ code: 'DEPLOYMENT_NOT_FOUND' });
  });

  it('aborts on a failed offline gate without touching traffic', async () => {
    validation = { ...passing(), passed: false, summary: 'v2 FAILED staging: pass rate 50% < 95%' };
    const d0 = await svc.create('support-bot', { version: 'v2' }, { actor: 'a' });
    const d = await settle(d0.id);
    expect(d).toMatchObject({ status: 'aborted', reason: 'validation failed: v2 FAILED staging: pass rate 50% < 95%' });
    expect(weights()).toEqual({ v1: 100 });
    expect(await stateOf('v2')).toBe('candidate');
    const validate = (await f.audit.list({ target: 'version:support-bot@v2', action: 'version.validate' }))[0];
    expect(validate.after).toMatchObject({ passed: false });
  });

  it('stops when someone else changes the route, and lets the monitors know the candidate meanwhile', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [10, 100], stepSeconds: 10 }, { actor: 'a' });
    await settle(d0.id);
    expect(svc.activeCandidate('support-bot')).toMatchObject({ deploymentId: d0.id, version: 'v2', baseline: 'v1', step: 10 });
    await f.routing.setWeights('support-bot', { v1: 100 }, { actor: 'key:oncall', reason: 'manual' });
    await run(1, 100, {});
    const d = await svc.get(d0.id);
    expect(d.status).toBe('aborted');
    expect(d.reason).toMatch(/route of support-bot changed outside the deployment \(revision \d+ by key:oncall: manual\)/);
    expect(svc.activeCandidate('support-bot')).toBeUndefined();
  });

  it('carries on after a restart: a new service over the same stores picks the deployment up', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [10, 50, 100], stepSeconds: 10, minSamples: 100 }, { actor: 'key:ops' });
    await settle(d0.id);
    await run(5, 200, {});
    await svc.stop();
    svc = new DeploymentService({ stores: f.stores, clock: f.clock, audit: f.audit, routing: f.routing, registry: f.registry, windows, validator, traceLagMs: 0 });
    expect(svc.activeCandidate('support-bot')).toBeUndefined();
    await run(60, 200, { errorRate: 0.3 }, 0, (d) => d.status !== 'running', d0.id);
    expect(svc.activeCandidate('support-bot')).toBeUndefined();
    const d = await svc.get(d0.id);
    expect(d).toMatchObject({ status: 'aborted', step: 10 });
    expect(weights()).toEqual({ v1: 100 });
  });

  it('runs a shadow phase first, mirroring traffic without serving the candidate', async () => {
    const d0 = await svc.create('support-bot', { version: 'v2', steps: [20, 100], stepSeconds: 5, shadowPercent: 50, minSamples: 50 }, { actor: 'a' });
    await settle(d0.id);
    expect(f.routing.serving('support-bot')!.route.shadow).toEqual({ version: 'v2', percent: 50 });
    expect(weights()).toEqual({ v1: 100 });
    for (let s = 0; s < 10; s++) {
      const at = f.clock.t;
      for (let i = 0; i < 100; i++) {
        windows.record({ model: 'support-bot', version: 'v1', at: at + i * 10, latencyMs: 20, ok: true, inputChars: 50 });
        if (i % 2 === 0) windows.record({ model: 'support-bot', version: 'v2', at: at + i * 10, latencyMs: 21, ok: true, inputChars: 50, shadow: true });
      }
      f.clock.advance(1000);
      await svc.tick();
    }
    const d = await svc.get(d0.id);
    expect(d).toMatchObject({ phase: 'canary', step: 20 });
    expect(f.routing.serving('support-bot')!.route.shadow).toBeUndefined();
    expect(d.history.map((e) => e.event)).toEqual(['created', 'validated', 'shadow', 'step']);
  });
});

describe('ExperimentService', () => {
  it('splits sticky traffic for a fixed time, reports effects with intervals and p-values, restores the route', async () => {
    const ex = new ExperimentService({ stores: f.stores, clock: f.clock, audit: f.audit, routing: f.routing });
    await expect(ex.create('support-bot', { versions: { v1: 60, v2: 30 }, durationSeconds: 60 }, { actor: 'a' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'versions: weights must sum to 100, got 90' });
    await expect(ex.create('support-bot', { versions: { v1: 50, v9: 50 }, durationSeconds: 60 }, { actor: 'a' })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    const e = await ex.create('support-bot', { versions: { v1: 50, v2: 50 }, durationSeconds: 60 }, { actor: 'a' });
    expect(e).toMatchObject({ control: 'v1', stickyKey: 'user', status: 'running' });
    expect(weights()).toEqual({ v1: 50, v2: 50 });
    expect(f.routing.serving('support-bot')!.route.stickyKey).toBe('user');
    await expect(svc.create('support-bot', { version: 'v2' }, { actor: 'a' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const traces: Trace[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = i % 2 === 0 ? 'v1' : 'v2';
      const failed = v === 'v2' && i % 20 === 1;
      traces.push({ requestId: `ab${i}`, model: 'support-bot', version: failed ? 'v1' : v, ...(failed ? { firstVersion: 'v2' } : {}), kind: 'chat', startedAt: f.clock.t + i * 10, latencyMs: v === 'v1' ? 20 + (i % 7) : 30 + (i % 7), httpStatus: 200, status: 'ok', stream: false, retried: failed, inputChars: 10, outputChars: 5 });
    }
    await f.stores.traces.insertMany(traces);
    f.clock.advance(61_000);
    await ex.tick();
    const { record } = await ex.get(e.id);
    expect(record.status).toBe('completed');
    expect(weights()).toEqual({ v1: 100 });
    const cmp = record.report!.comparisons[0];
    expect(record.report!.arms).toEqual({ v1: { requests: 1000 }, v2: { requests: 1000 } });
    const err = cmp.metrics.find((m) => m.metric === 'error-rate')!;
    expect(err).toMatchObject({ control: 0, treatment: 0.1, verdict: 'worse' });
    expect(err.ci[0]).toBeGreaterThan(0);
    const lat = cmp.metrics.find((m) => m.metric === 'latency-p50')!;
    expect(lat.effect).toBeCloseTo(10, 0);
    expect(lat.ci[0]).toBeGreaterThan(5);
    expect(lat.pValue).toBeLessThan(0.001);
  });
});
