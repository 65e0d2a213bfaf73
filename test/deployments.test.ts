// Canary deployments end to end: a real Failsafe (gateway, routing, metric windows, traces on
// SQLite) in front of simulated model servers under steady load. A good candidate is promoted
// through every step; candidates that fail on long inputs, return invalid JSON 3% of the time, or
// are 40% slower are aborted at their first step, with no failed client request (the gateway
// retries a failed candidate call on the stable version); a candidate with too little traffic
// waits and is paused, never promoted.
//
// The scenarios run one after another: the machine these tests run on may have two cores shared
// with other work, and a canary's verdicts need real sample sizes. To keep each scenario to
// seconds, steps start at 25–50% and the non-inferiority margins are 5 points (default 2) with
// minSamples 100 — except for the invalid-JSON candidate, whose 3-point regression needs the
// default margins to be told apart (bench/canary.ts runs every scenario with the defaults).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatRequest, drive, startCanaryStack, type CanaryStack, type DriveResult } from './helpers/canary-stack.ts';

let s: CanaryStack;

beforeAll(async () => {
  s = await startCanaryStack([
    { model: 'good', candidate: {} },
    { model: 'long', candidate: { faults: { longInputFailureChars: 1000 } } },
    { model: 'json', candidate: { faults: { malformedRate: 0.03 } }, json: true },
    { model: 'slow', candidate: { baseLatencyMs: 28 } },
    { model: 'quiet', candidate: {} },
    { model: 'shadow', candidate: {} },
  ]);
}, 30_000);

afterAll(async () => {
  await s?.close();
});

const finished = (id: string) => async () => {
  const d = (await s.api('GET', `/api/v1/deployments/${id}?analyses=0`)).body.deployment;
  return d.status !== 'running';
};

async function deploy(model: string, body: Record<string, unknown>) {
  const res = await s.api('POST', `/api/v1/models/${model}/deployments`, { version: 'v2', ...body });
  expect(res.status).toBe(201);
  expect(res.body.deployment).toMatchObject({ status: 'running', model, version: 'v2' });
  return res.body.deployment.id as string;
}

async function detail(id: string, analyses = 5) {
  return (await s.api('GET', `/api/v1/deployments/${id}?analyses=${analyses}`)).body.deployment;
}

/** Every client request got a 200: a failed candidate call was retried on the stable version. */
function noClientFailed(load: DriveResult) {
  expect(load.sent).toBeGreaterThan(0);
  expect({ failed: load.failed, statuses: load.statuses, errors: load.errors }).toEqual({ failed: 0, statuses: { 200: load.sent }, errors: {} });
}

const weightsOf = async (model: string) => (await s.api('GET', '/api/v1/models')).body.models.find((m: { name: string }) => m.name === model).weights;
const stateOf = async (model: string, v: string) => (await s.api('GET', `/api/v1/models/${model}/versions`)).body.versions.find((x: { version: string }) => x.version === v).state;

const fast = { minSamples: 100, settings: { margins: { errors: 0.05, validity: 0.05 } } };

describe('canary deployments through the gateway', { timeout: 120_000 }, () => {
  it('promotes a good candidate through every step', async () => {
    const id = await deploy('good', { steps: [25, 50, 100], stepSeconds: 2, ...fast });
    const load = await drive(s.url, chatRequest('good'), 150, finished(id), 100_000);
    const d = await detail(id, 1000);
    expect(d.status).toBe('promoted');
    expect(d.step).toBe(100);
    expect(d.validation).toMatchObject({ kind: 'golden', passed: true, total: 32 });
    expect(d.history.map((e: { event: string }) => e.event)).toEqual(['created', 'validated', 'step', 'step', 'promoted']);
    expect(await weightsOf('good')).toEqual({ v2: 100 });
    expect(await stateOf('good', 'v1')).toBe('stable');
    noClientFailed(load);
    // Every analysis keeps its numbers; the last one passed with every required monitor ok.
    const last = d.analyses.at(-1);
    expect(last).toMatchObject({ decision: 'pass', action: 'promote', step: 50 });
    for (const m of last.monitors.filter((x: { required: boolean }) => x.required)) {
      expect(m.status).toBe('ok');
      expect(m.nCandidate).toBeGreaterThanOrEqual(100);
      expect(m.nStable).toBeGreaterThanOrEqual(100);
    }
    const validate = (await s.api('GET', '/api/v1/audit?target=version:good@v2&action=version.validate')).body;
    expect(JSON.stringify(validate)).toContain('versionContentHash');
  });

  it('aborts a candidate that fails only on long inputs, at the first step, failing no client request', async () => {
    const id = await deploy('long', { steps: [25, 50, 100], stepSeconds: 2, ...fast });
    const load = await drive(s.url, chatRequest('long', { longEvery: 25 }), 150, finished(id), 100_000);
    const d = await detail(id, 30);
    // Each look's decision with the long bucket's counts, so a run that leaves step 25 is diagnosable.
    type Look = { step: number; decision: string; monitors: { monitor: string; status: string; segments?: { segment: string; candidate: object; stable: object }[] }[] };
    const looks = (d.analyses as Look[]).map((a) => {
      const seg = a.monitors.find((m) => m.monitor === 'segment:input-length');
      const bucket = seg?.segments?.find((g) => g.segment === '1024-4095');
      return `${a.step}% ${a.decision} [${a.monitors.map((m) => `${m.monitor} ${m.status}`).join(', ')}] long ${JSON.stringify(bucket?.candidate)} vs ${JSON.stringify(bucket?.stable)}`;
    });
    console.log(`long inputs: ${d.status} at ${d.step}%; looks:\n  ${looks.join('\n  ')}`);
    expect(d.status).toBe('aborted');
    expect(d.step).toBe(25);
    expect(d.reason).toMatch(/breach/);
    const segments = d.analyses.at(-1).monitors.find((m: { monitor: string }) => m.monitor === 'segment:input-length');
    const long = segments.segments.find((g: { segment: string }) => g.segment === '1024-4095');
    expect(long.candidate.failures).toBe(long.candidate.requests);
    expect(long.stable.failures).toBe(0);
    expect(await weightsOf('long')).toEqual({ v1: 100 });
    expect(await stateOf('long', 'v2')).toBe('faulty');
    noClientFailed(load);
    expect(s.sims.long.v2.stats().faults.contextOverflow).toBeGreaterThan(0);
  });

  it('aborts a candidate that answers invalid JSON 3% of the time', async () => {
    const id = await deploy('json', { steps: [50, 100], stepSeconds: 2 });
    const load = await drive(s.url, chatRequest('json', { json: true }), 200, finished(id), 100_000);
    const d = await detail(id, 1);
    expect(d.status).toBe('aborted');
    expect(d.step).toBe(50);
    expect(d.reason).toMatch(/^step 50%: output-validity breach/);
    const m = d.analyses[0].monitors.find((x: { monitor: string }) => x.monitor === 'output-validity');
    expect(m.pValue).toBeLessThanOrEqual(m.alpha);
    expect(m.observed).toBeGreaterThan(0.01);
    expect(await weightsOf('json')).toEqual({ v1: 100 });
    noClientFailed(load);
  });

  it('aborts a candidate that is 40% slower', async () => {
    const id = await deploy('slow', { steps: [10, 50, 100], stepSeconds: 2, ...fast });
    const load = await drive(s.url, chatRequest('slow'), 150, finished(id), 100_000);
    const d = await detail(id, 1);
    expect(d.status).toBe('aborted');
    expect(d.step).toBe(10);
    expect(d.reason).toMatch(/^step 10%: latency breach: p(50|90)/);
    expect(await weightsOf('slow')).toEqual({ v1: 100 });
    expect(await stateOf('slow', 'v2')).toBe('faulty');
    noClientFailed(load);
  });

  it('waits on a low-traffic candidate with "insufficient data", pauses at the deadline, never promotes', async () => {
    const id = await deploy('quiet', { steps: [5, 100], stepSeconds: 2, deadlineSeconds: 6, ...fast });
    // Overlapping deployments on one model are refused.
    const again = await s.api('POST', '/api/v1/models/quiet/deployments', { version: 'v2' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(`already has deployment ${id}`);
    let waiting = '';
    const load = await drive(
      s.url,
      chatRequest('quiet'),
      20,
      async () => {
        const d = await detail(id, 0);
        if (d.status === 'running' && d.phase === 'canary') waiting = d.reason;
        return d.status !== 'running';
      },
      60_000,
    );
    expect(waiting).toMatch(/^step 5%: insufficient data: error-rate n=\d+ < 100/);
    const d = await detail(id, 0);
    expect(d.status).toBe('paused');
    expect(d.reason).toContain('paused for a human');
    expect(await weightsOf('quiet')).toEqual({ v1: 95, v2: 5 });
    noClientFailed(load);
    const aborted = await s.api('POST', `/api/v1/deployments/${id}/abort`, { reason: 'too quiet' });
    expect(aborted.body.deployment.status).toBe('aborted');
    expect(await weightsOf('quiet')).toEqual({ v1: 100 });
  });

  it('runs a shadow phase first: mirrored traffic, answers compared with the stable ones, then the steps', async () => {
    const id = await deploy('shadow', { steps: [50, 100], stepSeconds: 2, shadowPercent: 50, minSamples: 100, settings: { ...fast.settings, minShadowAgreement: 0.9 } });
    const load = await drive(s.url, chatRequest('shadow'), 150, finished(id), 100_000);
    const d = await detail(id, 1000);
    expect(d.status).toBe('promoted');
    expect(d.history.map((e: { event: string }) => e.event)).toEqual(['created', 'validated', 'shadow', 'step', 'promoted']);
    const shadowPhase = d.analyses.filter((a: { phase: string }) => a.phase === 'shadow').at(-1);
    expect(shadowPhase.decision).toBe('pass');
    const agreement = shadowPhase.monitors.find((m: { monitor: string }) => m.monitor === 'shadow-agreement');
    // The simulated versions answer the same question the same way: every pair agrees.
    expect(agreement).toMatchObject({ status: 'ok', required: true });
    expect(agreement.nCandidate).toBeGreaterThanOrEqual(100);
    expect(agreement.observed).toBe(1);
    expect(d.requests.candidate).toBeGreaterThan(0);
    noClientFailed(load);
  });

  it('refuses bad input with clear errors', async () => {
    const unknown = await s.api('POST', '/api/v1/models/good/deployments', { version: 'v9' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('VERSION_NOT_FOUND');
    const model = await s.api('POST', '/api/v1/models/nope/deployments', { version: 'v2' });
    expect(model.status).toBe(404);
    for (const [steps, message] of [
      [[25, 5, 100], 'steps[1]: 5 does not increase on the step before it (25); steps must increase'],
      [[5, 150], 'steps[1]: 150 is over 100'],
      [[5, 50], 'steps: must end at 100 (reaching 100 is the promotion), ends at 50'],
      [[], 'steps: the list is empty'],
      [[2.5, 100], 'steps[0]: expected a whole percentage, got 2.5'],
    ] as const) {
      const res = await s.api('POST', '/api/v1/models/good/deployments', { version: 'v2', steps });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toContain(message);
    }
    const bad = await s.api('POST', '/api/v1/models/good/deployments', { version: 'v2', onInsufficientData: 'maybe' });
    expect(bad.status).toBe(400);
    expect((await s.api('GET', '/api/v1/deployments/dep-nope')).status).toBe(404);
    expect((await s.api('POST', '/api/v1/deployments/dep-nope/abort')).status).toBe(404);
  });
});
