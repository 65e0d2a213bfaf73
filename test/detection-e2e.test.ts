// Detection end to end: a real Failsafe (startFailsafe, temp SQLite, background loops on — the
// monitor runner ticks every second on the wall clock) in front of simulated model servers, with
// open-loop load through the real gateway. Each scenario injects one fault on one version and
// checks that exactly one incident opens (GET /api/v1/incidents), with the right family, severity
// and evidence; hard faults (errors, latency ×10) within 2 s of the fault's onset.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad, type LoadResponse } from '../examples/sim-server/load-client.ts';
import { startSimServer, type SimServer } from '../examples/sim-server/sim-server.ts';
import { parseConfig } from '../src/config.ts';
import { compareSeverity, severityFor } from '../src/core/detectors/severity.ts';
import type { Severity } from '../src/core/types.ts';
import { startFailsafe, type RunningFailsafe } from '../src/main.ts';

const ADMIN = `fsk_detect_admin_${Math.random().toString(36).slice(2)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stack {
  fs: RunningFailsafe;
  v1: SimServer;
  v2: SimServer;
  dir: string;
}

let stack: Stack | undefined;

afterEach(async () => {
  if (!stack) return;
  await stack.fs.close();
  await Promise.all([stack.v1.close(), stack.v2.close()]);
  rmSync(stack.dir, { recursive: true, force: true });
  stack = undefined;
});

/** A Failsafe with one model: v1 (stable) and v2 on their own simulated servers. */
async function start(model: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'failsafe-detect-'));
  const v1 = await startSimServer({ seed: 1, name: 'v1', baseLatencyMs: 20 });
  const v2 = await startSimServer({ seed: 2, name: 'v2', baseLatencyMs: 20 });
  const env = { ...process.env, FAILSAFE_ADMIN_KEY: ADMIN, FAILSAFE_LOG_LEVEL: process.env.TEST_LOG ?? 'silent' };
  const kind = model.kind as string;
  const upstream = (sim: SimServer) => (kind === 'predict' ? { url: `${sim.url}/v1/models/fraud:predict` } : { url: `${sim.url}/v1`, model: 'sim-chat' });
  const versions = (model.versions as string[]).map((v) => ({ version: v, upstream: upstream(v === 'v1' ? v1 : v2), ...(v === 'v1' ? { stable: true } : {}) }));
  const raw = {
    storage: `sqlite:${join(dir, 'failsafe.db')}`,
    traces: { flushIntervalMs: 50 },
    ...extra,
    models: [{ ...model, versions }],
  };
  const fs = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: 0, host: '127.0.0.1', env, background: true });
  stack = { fs, v1, v2, dir };
  return stack;
}

async function api(fs: RunningFailsafe, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${fs.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ADMIN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

const incidentsOf = async (fs: RunningFailsafe) => (await api(fs, '/api/v1/incidents')).body.incidents as Array<Record<string, any>>;

/** Exactly one incident; a failure names every incident opened, so a false alarm can be told apart. */
async function expectOneIncident(fs: RunningFailsafe): Promise<void> {
  const list = await incidentsOf(fs);
  const seen = list.map((i) => `${i.family} ${i.version} ${i.severity} detected ${i.detectedAt}: ${i.title}`);
  expect(list, seen.join('; ')).toHaveLength(1);
}

/** Polls GET /api/v1/incidents until one appears. */
async function firstIncident(fs: RunningFailsafe, timeoutMs = 15_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const list = await incidentsOf(fs);
    if (list.length > 0) return list[list.length - 1];
    await sleep(50);
  }
  throw new Error('no incident opened');
}

/** A pseudo-random number in [0, 1) for request i (reproducible). */
const noise = (i: number) => {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
};

/** A question of about `chars` characters (±50%), whose length does not creep with i. */
const chatBody = (i: number, chars = 40) => {
  const n = Math.round(chars * (0.5 + noise(i)));
  return {
    model: 'support-bot',
    user: `client-${i % 7}`,
    messages: [{ role: 'user', content: `q${String(i).padStart(6, '0')}: ${'how do I reset my password? '.repeat(Math.ceil(n / 28) + 1).slice(0, n)}` }],
  };
};

/** Load in the background; returns the promise and the responses seen so far. */
function load(fs: RunningFailsafe, o: { rps: number; durationMs: number; body: (i: number) => unknown; path?: string }) {
  const responses: LoadResponse[] = [];
  const done = runLoad({ url: fs.url, path: o.path ?? '/v1/chat/completions', body: o.body, rps: o.rps, durationMs: o.durationMs, onResponse: (r) => responses.push(r) });
  return { done, responses };
}

/** Detail of an incident with its evidence (GET /api/v1/incidents/{id}). */
async function detail(fs: RunningFailsafe, id: string) {
  const r = await api(fs, `/api/v1/incidents/${id}`);
  expect(r.status).toBe(200);
  return r.body.incident as Record<string, any>;
}

/**
 * Severity by the rules: every breach the monitor reported has the severity its family's rules give
 * its size, and the incident holds the most severe of them (it rises as the fault's estimated size
 * does, never falls). Returns the incident's severity.
 */
async function expectRuleSeverity(fs: RunningFailsafe, d: Record<string, any>): Promise<Severity> {
  const r = await api(fs, `/api/v1/models/${d.model}/findings?version=${d.version}`);
  const breaches = (r.body.recentBreaches as any[]).filter((f) => f.family === d.family);
  expect(breaches.length).toBeGreaterThan(0);
  for (const f of breaches) expect(f.severity).toBe(severityFor(d.family, f.evidence.magnitude));
  const worst = breaches.map((f) => f.severity as Severity).sort(compareSeverity)[0];
  expect(d.severity).toBe(worst);
  return d.severity;
}

function expectFullEvidence(e: Record<string, any>) {
  expect(typeof e.test).toBe('string');
  expect(e.window?.from).toMatch(/Z$/);
  expect(e.window?.to).toMatch(/Z$/);
  expect(e.sampleSize).toBeGreaterThan(0);
  expect(e.detail).toMatch(/baseline|threshold/);
  expect(e.statistic ?? e.bound).toBeDefined();
  expect(e.threshold).toBeDefined();
  expect(typeof e.magnitude).toBe('number');
}

/**
 * Severities a 50% fault opens with: SEV1 or SEV2 by its measured size (sampling puts it on either
 * side of 50%), which must be the rule's for that size (expectRuleSeverity). A detection within a
 * second of the onset sizes the fault on that second's tenths from the fault's start, not on the
 * whole second, part of which was healthy (monitor-evaluator's faultWithinOnsetSecond).
 */
const FAULT_SEVERITIES = ['SEV1', 'SEV2'];

const splitChat = { name: 'support-bot', kind: 'chat', versions: ['v1', 'v2'], route: { v1: 50, v2: 50 } };

describe('detection end to end through the gateway', () => {
  it('errors (50% on v2): one errors incident within 2 s, SEV1/SEV2 by its size, with evidence and impact', async () => {
    const { fs, v2 } = await start(splitChat);
    const traffic = load(fs, { rps: 200, durationMs: 7000, body: (i) => chatBody(i) });
    await sleep(3500);
    const onset = Date.now();
    v2.setFaults({ errorRate: 0.5 });
    const incident = await firstIncident(fs);
    const detectedAfter = Date.parse(incident.detectedAt) - onset;
    console.log(`errors: detected ${detectedAfter} ms after onset (${incident.severity})`);
    expect(detectedAfter).toBeLessThanOrEqual(2000);
    await traffic.done;
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ model: 'support-bot', version: 'v2', family: 'errors', source: 'monitor' });
    const e = d.evidence[0];
    expectFullEvidence(e);
    console.log(`errors: size ${e.magnitude} (${e.detail})`);
    // The rate since the fault's start: about the fault's 50%, whenever the detection came.
    expect(e.magnitude).toBeGreaterThan(0.3);
    expect(FAULT_SEVERITIES).toContain(await expectRuleSeverity(fs, d));
    expect(Math.abs(Date.parse(d.onsetAt) - onset)).toBeLessThanOrEqual(1500);
    expect(d.impact.trafficShare).toBeGreaterThanOrEqual(0);
    expect(d.impact.requests).toBeGreaterThan(0);
    expect(d.impact.failedRequests).toBeGreaterThan(0);
    expect(d.impact.clients).toBeGreaterThan(0);
    // The monitors API shows the breach.
    const findings = await api(fs, '/api/v1/models/support-bot/findings?version=v2');
    expect(findings.status).toBe(200);
    expect(findings.body.recentBreaches.some((f: any) => f.monitor === 'error-rate' && f.severity)).toBe(true);
  });

  it('latency ×10 on v2: one latency incident within 2 s, severity by the slowdown', async () => {
    const { fs, v2 } = await start(splitChat);
    const traffic = load(fs, { rps: 100, durationMs: 7000, body: (i) => chatBody(i) });
    await sleep(3500);
    const onset = Date.now();
    v2.setFaults({ latencyMultiplier: 10 });
    const incident = await firstIncident(fs);
    const detectedAfter = Date.parse(incident.detectedAt) - onset;
    console.log(`latency: detected ${detectedAfter} ms after onset (${incident.severity})`);
    expect(detectedAfter).toBeLessThanOrEqual(2000);
    await traffic.done;
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ version: 'v2', family: 'latency' });
    const e = d.evidence[0];
    expectFullEvidence(e);
    // The upstream is 10× slower; what the gateway measures also holds its own (machine-dependent)
    // time, so the measured slowdown is at most about 10 and at least the monitor's ratio gate.
    console.log(`latency: measured slowdown ×${e.magnitude}`);
    expect(e.magnitude).toBeGreaterThan(1.5);
    expect(e.magnitude).toBeLessThan(15);
    await expectRuleSeverity(fs, d);
  });

  it('malformed outputs on v2: one output-validity incident (not an errors one)', async () => {
    const { fs, v2 } = await start(splitChat);
    const traffic = load(fs, { rps: 200, durationMs: 6000, body: (i) => chatBody(i) });
    await sleep(3000);
    const onset = Date.now();
    v2.setFaults({ malformedRate: 0.5 });
    const incident = await firstIncident(fs);
    console.log(`malformed: detected ${Date.parse(incident.detectedAt) - onset} ms after onset (${incident.severity})`);
    await traffic.done;
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ version: 'v2', family: 'validity' });
    console.log(`malformed: size ${d.evidence[0].magnitude} (${d.evidence[0].detail})`);
    expectFullEvidence(d.evidence[0]);
    expect(FAULT_SEVERITIES).toContain(await expectRuleSeverity(fs, d));
  });

  it('a spike of negative feedback on v2: one feedback incident', async () => {
    const { fs } = await start(splitChat);
    let spike = false;
    let onset = 0;
    const posted: Promise<unknown>[] = [];
    let n = 0;
    // Every answer gets a rating: 10% negative, and 80% for v2 once the spike starts.
    const traffic = runLoad({
      url: fs.url,
      path: '/v1/chat/completions',
      body: (i) => chatBody(i),
      rps: 100,
      durationMs: 6000,
      onResponse: (r) => {
        const requestId = r.headers['x-request-id'] as string;
        const version = r.headers['x-failsafe-version'];
        const bad = spike && version === 'v2' ? n++ % 5 !== 0 : n++ % 10 === 0;
        posted.push(fetch(`${fs.url}/api/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestId, rating: bad ? -1 : 1 }) }));
      },
    });
    await sleep(3000);
    onset = Date.now();
    spike = true;
    const incident = await firstIncident(fs);
    console.log(`feedback: detected ${Date.parse(incident.detectedAt) - onset} ms after onset (${incident.severity})`);
    await traffic;
    await Promise.all(posted);
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ version: 'v2', family: 'feedback' });
    expectFullEvidence(d.evidence[0]);
    expect(d.evidence[0].magnitude).toBeGreaterThan(0.5);
    expect(await expectRuleSeverity(fs, d)).toBe('SEV2');
  });

  it('an accuracy drop seen only through late labels: one accuracy incident, onset at the requests', async () => {
    // Default accuracy settings; baselines refreshed every second (the scenario lasts seconds).
    const { fs, v2 } = await start({ name: 'fraud-scorer', kind: 'predict', versions: ['v1', 'v2'], route: { v1: 50, v2: 50 } }, { monitors: { baselineRefreshSeconds: 1 } });
    // Balanced inputs (the true label is the sign of the feature sum), so flipped answers do not
    // change the share of each class: only the labels can tell.
    const truth: string[] = [];
    const sent: LoadResponse[] = [];
    const features = (i: number) => {
      const a = noise(i) * 2 - 1;
      return [a, (i % 2 === 0 ? 1 : -1) * 0.5 + a * 0.1];
    };
    const body = (i: number) => {
      const f = features(i);
      truth[i] = f[0] + f[1] > 0 ? 'positive' : 'negative';
      return { instances: [f] };
    };
    const path = '/v1/models/fraud-scorer:predict';
    const traffic = runLoad({ url: fs.url, path, body, rps: 150, durationMs: 5000, onResponse: (r) => sent.push(r) });
    await sleep(2000);
    const onset = Date.now();
    v2.setFaults({ wrongOutputRate: 0.5 });
    await traffic;
    // No incident from the answers alone: nothing looks wrong without ground truth.
    await sleep(1500);
    expect(await incidentsOf(fs)).toHaveLength(0);
    // The labels arrive afterwards, and count at their requests' time.
    const labelsAt = Date.now();
    for (let i = 0; i < sent.length; i += 50) {
      await Promise.all(
        sent.slice(i, i + 50).map((r) =>
          fetch(`${fs.url}/api/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestId: r.headers['x-request-id'], label: truth[r.i] }) }),
        ),
      );
    }
    // A 300 s window is re-judged every 10 s: detection follows the labels within that.
    const incident = await firstIncident(fs, 25_000);
    console.log(`accuracy: detected ${Date.parse(incident.detectedAt) - labelsAt} ms after the labels arrived (${incident.severity})`);
    await sleep(1500);
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ model: 'fraud-scorer', version: 'v2', family: 'accuracy' });
    const e = d.evidence[0];
    expectFullEvidence(e);
    expect(e.observed).toBeLessThan(0.9);
    expect(e.baseline).toBeGreaterThan(0.95);
    expect(['SEV1', 'SEV2']).toContain(await expectRuleSeverity(fs, d));
    // The onset is where the wrong answers started, seconds before any label arrived.
    expect(Math.abs(Date.parse(d.onsetAt) - onset)).toBeLessThanOrEqual(1500);
    expect(Date.parse(d.onsetAt)).toBeLessThan(labelsAt - 1000);
  });

  it('input drift (prompts suddenly 40× longer): one drift incident', async () => {
    const { fs } = await start(
      {
        name: 'support-bot',
        kind: 'chat',
        versions: ['v1'],
        route: { v1: 100 },
        // Short windows so the scenario takes seconds: judge the last 4 s against the 6 s before
        // (the metric windows keep a sample of 16 input lengths per second).
        monitors: {
          'input-length': { windows: [4], baselineSeconds: 6, minSamples: 40, minBaselineSamples: 80 },
          'output-length': { enabled: false },
        },
      },
      { monitors: { baselineRefreshSeconds: 1 } },
    );
    let long = false;
    const traffic = load(fs, { rps: 100, durationMs: 15_000, body: (i) => chatBody(i, long ? 2000 : 50) });
    await sleep(11_000);
    const onset = Date.now();
    long = true;
    const incident = await firstIncident(fs);
    console.log(`input drift: detected ${Date.parse(incident.detectedAt) - onset} ms after onset (${incident.severity})`);
    await traffic.done;
    await expectOneIncident(fs);
    const d = await detail(fs, incident.id);
    expect(d).toMatchObject({ version: 'v1', family: 'drift' });
    const e = d.evidence[0];
    expect(e.test).toBe('psi');
    expect(e.statistic).toBeGreaterThan(1);
    expect(e.detail).toMatch(/input length/);
    expect(e.detail).toMatch(/baseline own earlier traffic/);
    expect(await expectRuleSeverity(fs, d)).toBe('SEV3');
  });
});
