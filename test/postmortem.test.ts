// End to end on a real server (startFailsafe on a temp SQLite file, two simulated model servers,
// open-loop load): a fault on v2 is recorded, an incident is opened with its onset, the playbook's
// validated rollback mitigates it, and the postmortem's figures are checked against the recorded traces,
// counted here independently, and against what the load client saw. A manual incident on a model
// without traffic gets a postmortem that says which sections lack data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadResponse } from '../examples/sim-server/load-client.ts';
import { startSimServer } from '../examples/sim-server/sim-server.ts';
import { parseConfig } from '../src/config.ts';
import type { Trace } from '../src/core/types.ts';
import { startFailsafe, type RunningFailsafe } from '../src/main.ts';
import { detectionConfig } from './helpers/detection-stack.ts';

type Sim = Awaited<ReturnType<typeof startSimServer>>;

const ADMIN = `fsk_review_admin_${Math.random().toString(36).slice(2)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let v1: Sim;
let v2: Sim;
let fs: RunningFailsafe;
let incidentId: string;
let onset: number;
const faultPhase: LoadResponse[] = [];

async function api(path: string, init: { method?: string; body?: unknown; accept?: string } = {}) {
  const res = await fetch(`${fs.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(init.accept ? { accept: init.accept } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* Markdown */
  }
  return { status: res.status, body, type: res.headers.get('content-type') ?? '' };
}

const chat = (i: number, pinV2: boolean) => ({
  model: pinV2 ? 'support-bot@v2' : 'support-bot',
  user: `client-${i % 6}`,
  messages: [{ role: 'user', content: `question ${i}: how do I reset my password?` }],
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'failsafe-review-'));
  v1 = await startSimServer({ seed: 1, name: 'v1' });
  v2 = await startSimServer({ seed: 2, name: 'v2' });
  const env = { ...process.env, FAILSAFE_ADMIN_KEY: ADMIN, FAILSAFE_LOG_LEVEL: process.env.TEST_LOG ?? "silent" };
  const raw = detectionConfig(`sqlite:${join(dir, 'failsafe.db')}`, { v1, v2 }, {
    supportBot: {
      golden: resolve('examples/golden/support-bot.jsonl'),
      fallbacks: { static: 'Sorry, we are having trouble; please try again shortly.' },
    },
    models: [
      {
        name: 'fraud-scorer',
        kind: 'predict',
        versions: [{ version: 'v1', upstream: { url: `${v1.url}/v1/models/fraud:predict` }, stable: true }],
        route: { v1: 100 },
      },
    ],
  });
  fs = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: 0, host: '127.0.0.1', env, background: false });

  // Healthy traffic, then a fault on v2 from `onset`: unpinned requests to v2 are retried on v1,
  // pinned ones (every 4th) get the static fallback.
  await runLoad({ url: fs.url, path: '/v1/chat/completions', body: (i) => chat(i, i % 4 === 0), rps: 40, durationMs: 1500 });
  onset = Date.now();
  v2.setFaults({ errorRate: 0.6 });
  await runLoad({ url: fs.url, path: '/v1/chat/completions', body: (i) => chat(1000 + i, i % 4 === 0), rps: 40, durationMs: 2500, onResponse: (r) => faultPhase.push(r) });

  const opened = await fs.ctx.services.incidents.openOrUpdate({
    monitor: 'error-rate',
    family: 'errors',
    model: 'support-bot',
    version: 'v2',
    status: 'breach',
    at: Date.now(),
    onsetAt: onset,
    severity: 'SEV2',
    evidence: { test: 'rate-threshold', observed: 0.6, threshold: 0.05, sampleSize: 50, detail: 'rate 0.6 over 50' },
  });
  incidentId = opened.incident!.id;
  // The default playbook contains and rolls back a SEV2 by itself; wait for the validated rollback.
  for (let i = 0; i < 150 && (await fs.ctx.services.incidents.get(incidentId)).mitigatedAt === undefined; i++) await sleep(100);
  expect((await fs.ctx.services.incidents.get(incidentId)).mitigatedAt, 'the playbook mitigated the incident').toBeDefined();
  // After the rollback: everything on v1, outside the impact window.
  await runLoad({ url: fs.url, path: '/v1/chat/completions', body: (i) => chat(5000 + i, false), rps: 40, durationMs: 500 });
  expect((await api(`/api/v1/incidents/${incidentId}/resolve`, { method: 'POST', body: { reason: 'rolled back to v1' } })).status).toBe(200);
  await sleep(300); // traces are written in 50 ms batches
}, 60_000);

afterAll(async () => {
  await fs?.close();
  await Promise.all([v1?.close(), v2?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('postmortem of a real incident', () => {
  it('counts impact exactly as the recorded traces and the load client say', async () => {
    const r = await api(`/api/v1/incidents/${incidentId}/postmortem`);
    expect(r.status).toBe(200);
    const p = r.body.postmortem;
    expect(p.incidentId).toBe(incidentId);
    expect(p.impact.window.from).toBe(new Date(onset).toISOString());
    const from = Date.parse(p.impact.window.from);
    const to = Date.parse(p.impact.window.to);
    const incident = await fs.ctx.services.incidents.get(incidentId);
    expect(to).toBe(incident.mitigatedAt);

    // Counted independently from the store.
    const traces: Trace[] = await fs.ctx.stores.traces.query({ model: 'support-bot', from, to, order: 'asc', limit: 100_000 });
    const onV2 = traces.filter((t) => (t.firstVersion ?? t.version) === 'v2');
    const fallbacks = onV2.filter((t) => t.status === 'fallback');
    const errors = onV2.filter((t) => t.status === 'error');
    const retriedOk = onV2.filter((t) => t.retried && t.status === 'ok');
    expect(onV2.length).toBeGreaterThan(30);
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(retriedOk.length).toBeGreaterThan(0);
    expect(p.impact.faultyVersion).toMatchObject({
      version: 'v2',
      requests: onV2.length,
      fallbackAnswers: fallbacks.length,
      clientErrors: errors.length,
      retriedOnStable: retriedOk.length,
      failedFirstAttempts: retriedOk.length + fallbacks.length + errors.length,
    });
    expect(p.impact.overall.requests).toBe(traces.length);
    expect(p.impact.overall.clients).toBe(new Set(traces.map((t) => t.client)).size);

    // And as the clients saw it: every answer in the fault phase fell in the window.
    const seenFallbacks = faultPhase.filter((x) => x.headers['x-failsafe-fallback'] !== undefined).length;
    const seenErrors = faultPhase.filter((x) => x.status >= 400).length;
    expect(p.impact.overall.fallbackAnswers).toBe(seenFallbacks);
    expect(p.impact.overall.clientErrors).toBe(seenErrors);
    expect(p.impact.overall.requests).toBe(faultPhase.length);

    // (c) from the same traces: every failed first attempt rescued by retry or the static fallback.
    expect(p.questions.fallbacks).toMatchObject({
      failedFirstAttempts: retriedOk.length + fallbacks.length + errors.length,
      retriedOnStable: retriedOk.length,
      fallbackAnswers: fallbacks.length,
      clientErrors: errors.length,
    });
    expect(['yes', 'partly']).toContain(p.questions.fallbacks.answer);

    // Detection and response from the incident's timestamps.
    expect(p.detection).toMatchObject({ monitor: 'error-rate', onsetAt: new Date(onset).toISOString(), mttd: { ms: incident.detectedAt - onset } });
    expect(p.response.mttr.ms).toBe(incident.mitigatedAt! - incident.detectedAt);
    expect(p.resolution.rollback).toMatchObject({ from: 'v2', to: 'v1', status: 'succeeded', validation: { version: 'v1', passed: true, kind: 'golden' } });

    // (a) the monitor that opened it, replayed over the recorded traffic with the settings in force
    // and tighter ones; false alarms counted on healthy history (v2 before the onset, v1 throughout).
    const a = p.questions.detectedEarlier;
    expect(a.status).toBe('complete');
    expect(['yes', 'no']).toContain(a.answer);
    expect(a.monitor).toBe('error-rate');
    expect(a.trials[0]).toMatchObject({ label: 'current', patch: {} });
    expect(a.trials.length).toBeGreaterThan(2);
    expect(a.healthyHistory.map((h: any) => h.version)).toEqual(['v2', 'v1']);
    expect(a.healthyHistory[1].requests).toBe(
      (await fs.ctx.stores.traces.query({ model: 'support-bot', from: Date.parse(a.healthyHistory[1].from), to: Date.parse(a.healthyHistory[1].to), limit: 100_000 })).filter((t) => (t.firstVersion ?? t.version) === 'v1').length,
    );
    for (const s of p.tuning) expect(s).toMatchObject({ monitor: 'error-rate', falseAlarms: 0, status: 'suggested' });

    // (b) no validation of v2 was recorded: the golden set was run against v2 now, and failed its gate.
    const b = p.questions.validationThresholds;
    expect(b.answer).toBe('not_validated');
    expect(b.report).toMatchObject({ version: 'v2', passed: false, source: 'replay' });
    expect(b.report.passRate).toBeLessThan(0.95);
    expect(p.actionItems.some((a: any) => a.title.startsWith('Require golden-set validation before a version of support-bot takes traffic'))).toBe(true);
    expect(p.final).toBe(true);
  });

  it('serves Markdown for Accept: text/markdown, stores the postmortem once per change, and the incident can be marked reviewed', async () => {
    const md = await api(`/api/v1/incidents/${incidentId}/postmortem`, { accept: 'text/markdown' });
    expect(md.status).toBe(200);
    expect(md.type).toMatch(/^text\/markdown/);
    expect(md.body).toMatch(/^# Postmortem INC-/);
    expect(md.body).toMatch(/\| v2 \(faulty\) \| \d+ \|/);
    expect(md.body).toContain('## Did the automated fallbacks work?');

    const stored = async () => (await api(`/api/v1/incidents/${incidentId}/timeline?kind=postmortem`)).body.timeline;
    const before = await stored();
    expect(before.length).toBe(1);
    expect(before[0].data.postmortem.incidentId).toBe(incidentId);
    // The same data again: nothing new stored; the golden-set run is reused, not repeated.
    const statsBefore = (await fetch(`${v2.url}/_sim/stats`).then((r) => r.json())) as { requests: number };
    await api(`/api/v1/incidents/${incidentId}/postmortem`);
    expect((await stored()).length).toBe(1);
    const statsAfter = (await fetch(`${v2.url}/_sim/stats`).then((r) => r.json())) as { requests: number };
    expect(statsAfter.requests).toBe(statsBefore.requests);

    const reviewed = await api(`/api/v1/incidents/${incidentId}/review`, { method: 'POST', body: {} });
    expect(reviewed.body.incident.status).toBe('reviewed');
    const again = await api(`/api/v1/incidents/${incidentId}/postmortem`);
    expect(again.body.postmortem.status).toBe('reviewed');
    expect((await stored()).length).toBe(2);
  });

  it('explores the traces of the fault: filters, one trace in full, bad filters refused', async () => {
    const fb = faultPhase.find((x) => x.headers['x-failsafe-fallback'] !== undefined)!;
    const id = String(fb.headers['x-request-id']);
    const one = await api(`/api/v1/traces/${id}`);
    expect(one.body.trace).toMatchObject({ requestId: id, status: 'fallback', fallback: 'static', firstVersion: 'v2', errorClass: expect.any(String) });
    const list = await api(`/api/v1/traces?model=support-bot&status=fallback&from=${new Date(onset).toISOString()}&limit=1000`);
    expect(list.status).toBe(200);
    expect(list.body.traces.length).toBe(faultPhase.filter((x) => x.headers['x-failsafe-fallback'] !== undefined).length);
    expect(list.body.traces.every((t: any) => t.status === 'fallback' && t.firstVersion === 'v2')).toBe(true);
    expect((await api('/api/v1/traces?status=broken')).status).toBe(400);
    expect((await api('/api/v1/traces?from=last-tuesday')).body.error.message).toContain('from: expected an ISO 8601 time');
  });
});

describe('postmortem with too little data', () => {
  it('says which sections lack data and why, and shows no invented figure', async () => {
    const opened = await api('/api/v1/incidents', { method: 'POST', body: { model: 'fraud-scorer', title: 'a customer says scores look odd' } });
    expect(opened.status).toBe(201);
    const id = opened.body.incident.id;
    const r = await api(`/api/v1/incidents/${id}/postmortem`);
    const p = r.body.postmortem;
    expect(p.impact).toMatchObject({ status: 'insufficient_data', overall: null, faultyVersion: null });
    expect(p.impact.reasons[0]).toMatch(/^no traces recorded for fraud-scorer between /);
    expect(p.detection.mttd.ms).toBeNull();
    expect(p.detection.mttd.note).toContain('manual report');
    expect(p.questions.fallbacks).toMatchObject({ status: 'insufficient_data', answer: 'unknown', rescueRate: null });
    expect(p.questions.detectedEarlier).toMatchObject({ status: 'insufficient_data', answer: 'unknown' });
    expect(p.questions.validationThresholds.status).toBe('not_applicable');
    expect(p.missingData.map((m: any) => m.section)).toEqual(expect.arrayContaining(['impact', 'detection', 'response', 'questions.fallbacks', 'questions.detectedEarlier']));
    const md = await api(`/api/v1/incidents/${id}/postmortem`, { accept: 'text/markdown' });
    expect(md.body).toContain('> **Insufficient data**: no traces recorded for fraud-scorer');
    expect(md.body).not.toContain('| whole model |');
  });
});
