// End to end: a real Failsafe in front of simulated upstreams under steady load. A bad deploy
// (v3) starts failing, an incident opens, the SEV2 playbook contains v3 and rolls back to the last
// known stable version after validating it on its golden set, and no client request fails.
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad, type LoadResult } from '../examples/sim-server/load-client.ts';
import { chatBody, startRollbackStack, waitFor, type RollbackStack } from './helpers/rollback-stack.ts';

let stack: RollbackStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function incidentDetail(s: RollbackStack, id: string) {
  return (await s.api('GET', `/api/v1/incidents/${id}`)).body.incident;
}

async function runBadDeploy(s: RollbackStack, openIncident: () => Promise<string | undefined>) {
  const load = runLoad({ url: s.fs.url, path: '/v1/chat/completions', body: chatBody, rps: 80, durationMs: 6_000, timeoutMs: 10_000 });
  await sleep(500);
  // The deploy: all traffic to v3.
  const deploy = await s.api('PUT', '/api/v1/models/support-bot/route', { weights: { v3: 100 }, reason: 'deploy v3' });
  expect(deploy.status).toBe(200);
  await sleep(500);
  s.sims.v3.setFaults({ errorRate: 0.5 });
  await sleep(300);
  const incidentId = await openIncident();
  return { load, incidentId };
}

// With monitors wired in, real detection may open the incident first, at the severity it judges:
// these stacks contain and roll back from SEV3 up, so the outcome does not depend on who was first.
const selfHealing = { playbook: { SEV3: { contain: 'auto', rollback: 'auto' } } };

describe('bad deploy → contain → validated rollback, under load', () => {
  it('contains in < 100 ms, has all traffic on M-1 within 5 s of detection, and fails no client request', async () => {
    const s = (stack = await startRollbackStack({ containment: selfHealing }));
    const { load, incidentId } = await runBadDeploy(s, async () => {
      // The incident comes in through the API, as an alert would; when the monitors detected the
      // fault first, this joins their incident (200) instead of opening one (201).
      const res = await s.api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', family: 'errors', severity: 'SEV2', title: 'v3 error rate 50%' });
      expect([200, 201]).toContain(res.status);
      return res.body.incident.id as string;
    });
    expect(incidentId).toBeDefined();
    // The incident that was rolled back: ours, or the monitors' when they opened one first under
    // another signal family (then ours is contained and its rollback is rate limited).
    const mitigated = await waitFor(async () => {
      const list = (await s.api('GET', '/api/v1/incidents?model=support-bot')).body.incidents;
      const done = list.find((i: any) => i.status === 'mitigated');
      return done ? incidentDetail(s, done.id) : undefined;
    }, 10_000);
    const id = mitigated.id as string;
    const detectedAt = Date.parse(mitigated.detectedAt);
    const result: LoadResult = await load;

    // Traffic: all of it on v2 (M-1), v3 at 0 and faulty.
    const models = (await s.api('GET', '/api/v1/models')).body.models;
    expect(models.find((m: any) => m.name === 'support-bot')).toMatchObject({ mode: 'serving', weights: { v2: 100, v3: 0 } });
    const versions = (await s.api('GET', '/api/v1/models/support-bot/versions')).body.versions;
    expect(versions.find((v: any) => v.version === 'v3').state).toBe('faulty');

    // Order and bookkeeping of the timings; the bars themselves (contain < 100 ms, mitigate < 5 s)
    // are measured by `npm run bench:rollback`, since this machine is shared and noisy.
    const actions = (await s.api('GET', `/api/v1/incidents/${id}/actions`)).body.actions;
    const contain = actions.find((a: any) => a.kind === 'contain');
    const rollback = actions.find((a: any) => a.kind === 'rollback');
    expect(contain.status).toBe('succeeded');
    expect(contain.result.latency.fromEventMs).toBeGreaterThanOrEqual(0);
    expect(rollback.status).toBe('succeeded');
    const rb = (await s.api('GET', `/api/v1/rollbacks/${rollback.result.rollbackId}`)).body.rollback;
    expect(rb).toMatchObject({ status: 'succeeded', from: 'v3', to: 'v2', validation: { passed: true, kind: 'golden' } });
    expect(rb.validation.total).toBeGreaterThan(20);
    expect(Date.parse(rb.switchedAt)).toBeGreaterThan(detectedAt);
    expect(Date.parse(mitigated.mitigatedAt)).toBeGreaterThanOrEqual(Date.parse(rb.switchedAt));

    // Zero failed client requests during the whole sequence.
    expect(result.sent).toBeGreaterThan(400);
    expect(result.failed).toBe(0);
    expect(result.statuses).toEqual({ '200': result.sent });

    // Audit chain verifies and holds the rollback with its validation evidence.
    expect((await s.api('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
    const audit = (await s.api('GET', '/api/v1/audit?limit=200')).body;
    const entries = audit.entries ?? audit.audit ?? [];
    const done = entries.find((e: any) => e.action === 'rollback.succeeded');
    expect(done.after.validation[0]).toMatchObject({ version: 'v2', kind: 'golden', passed: true });
    expect(entries.some((e: any) => e.action === 'version.isolate')).toBe(true);

    // The incident timeline shows every step, in order, with timestamps.
    const kinds = mitigated.timeline.map((e: any) => e.kind);
    for (const k of ['detected', 'contained', 'validation', 'rollback']) expect(kinds).toContain(k);
    const order = ['detected', 'contained', 'validation'].map((k) => kinds.indexOf(k));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(mitigated.timeline.every((e: any) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    const statuses = mitigated.timeline.filter((e: any) => e.kind === 'status').map((e: any) => e.data.to);
    expect(statuses).toEqual(['contained', 'mitigated']);
    expect(mitigated.actions.map((a: any) => a.kind)).toEqual(['contain', 'rollback']);
  });

  it('tries M-2 when M-1 fails its golden set', async () => {
    const s = (stack = await startRollbackStack({ route: { v3: 100 }, containment: { playbook: { SEV2: { contain: 'auto', rollback: 'off' } } } }));
    s.sims.v2.setFaults({ wrongOutputRate: 1 });
    const open = await s.api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', severity: 'SEV2', title: 'v3 broken' });
    const id = open.body.incident.id;
    await waitFor(async () => (await incidentDetail(s, id)).status === 'contained');
    const res = await s.api('POST', '/api/v1/models/support-bot/rollback', { incidentId: id, reason: 'v3 broken' });
    expect(res.status).toBe(200);
    expect(res.body.rollback).toMatchObject({ from: 'v3', to: 'v1', status: 'succeeded', validation: { passed: true, version: 'v1' } });
    expect(res.body.rollback.validations.map((v: any) => [v.version, v.passed])).toEqual([
      ['v2', false],
      ['v1', true],
    ]);
    const route = (await s.api('GET', '/api/v1/models/support-bot/route')).body.route;
    expect(route).toMatchObject({ mode: 'serving', weights: { v1: 100, v2: 0, v3: 0 } });
    expect((await incidentDetail(s, id)).status).toBe('mitigated');
  });

  it('with no version passing: stays contained in fallback mode, escalates, answers 409 with the reports', async () => {
    const s = (stack = await startRollbackStack({
      route: { v3: 100 },
      model: { fallbacks: { static: 'We are fixing this; please retry shortly.' } },
      containment: { playbook: { SEV2: { contain: 'auto', rollback: 'off' } } },
    }));
    s.sims.v1.setFaults({ errorRate: 1 });
    s.sims.v2.setFaults({ wrongOutputRate: 1 });
    const id = (await s.api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', severity: 'SEV2', title: 'v3 broken' })).body.incident.id;
    await waitFor(async () => (await incidentDetail(s, id)).status === 'contained');
    const before = (await s.api('GET', '/api/v1/models/support-bot/route')).body.route;

    const res = await s.api('POST', '/api/v1/models/support-bot/rollback', { incidentId: id });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('VALIDATION_GATE_FAILED');
    expect(res.body.rollback.validations.map((v: any) => [v.version, v.passed])).toEqual([
      ['v2', false],
      ['v1', false],
    ]);
    expect(res.body.rollback.status).toBe('failed');
    const route = (await s.api('GET', '/api/v1/models/support-bot/route')).body.route;
    expect(route.mode).toBe('fallback');
    expect(Object.values(route.weights).every((w) => w === 0)).toBe(true);
    expect(route.revision).toBeGreaterThan(before.revision);

    const chat = await fetch(`${s.fs.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(1)) });
    expect(chat.status).toBe(200);
    expect(chat.headers.get('x-failsafe-fallback')).toBe('static');

    const detail = await incidentDetail(s, id);
    expect(detail.status).toBe('contained');
    expect(detail.timeline.some((e: any) => e.kind === 'escalated')).toBe(true);
    expect((await s.api('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('refuses bad targets with 404/409 and moves no traffic', async () => {
    const s = (stack = await startRollbackStack({ route: { v2: 100 } }));
    const before = (await s.api('GET', '/api/v1/models/support-bot/route')).body.route;
    const unknown = await s.api('POST', '/api/v1/models/support-bot/rollback', { to: 'v9' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('VERSION_NOT_FOUND');
    await s.api('POST', '/api/v1/models/support-bot/versions/v3/isolate', { reason: 'bad build' });
    const faulty = await s.api('POST', '/api/v1/models/support-bot/rollback', { to: 'v3' });
    expect(faulty.status).toBe(409);
    expect(faulty.body.error).toMatchObject({ code: 'INVALID_STATE' });
    expect(faulty.body.error.message).toMatch(/v3 is faulty/);
    expect((await s.api('POST', '/api/v1/models/nope/rollback', {})).status).toBe(404);
    // Rolling back from v2 leaves v1; rolling back from v1 afterwards leaves nothing stable.
    const first = await s.api('POST', '/api/v1/models/support-bot/rollback', { from: 'v2' });
    expect(first.body.rollback).toMatchObject({ from: 'v2', to: 'v1' });
    const none = await s.api('POST', '/api/v1/models/support-bot/rollback', { from: 'v1' });
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('NO_STABLE_VERSION');
    const after = (await s.api('GET', '/api/v1/models/support-bot/route')).body.route;
    expect(after.weights).toEqual({ v1: 100, v2: 0 });
    expect(before.weights).toEqual({ v2: 100 });
    const list = (await s.api('GET', '/api/v1/models/support-bot/rollbacks')).body.rollbacks;
    expect(list).toHaveLength(1); // refused requests write nothing
  });

  it('lets requests in flight finish on the version they started on while the route switches', async () => {
    const s = (stack = await startRollbackStack({ route: { v3: 100 } }));
    s.sims.v3.setFaults({ latencyMs: 600 });
    const inflight = fetch(`${s.fs.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(7)) });
    await sleep(100);
    const res = await s.api('POST', '/api/v1/models/support-bot/rollback', { reason: 'switch while a request is in flight' });
    expect(res.body.rollback).toMatchObject({ status: 'succeeded', from: 'v3', to: 'v2' });
    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-failsafe-version')).toBe('v3');
    const next = await fetch(`${s.fs.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(8)) });
    expect(next.headers.get('x-failsafe-version')).toBe('v2');
  });

  it('opens the incident from real detection (the monitoring runner) when the composition root has one', async (t) => {
    const s = (stack = await startRollbackStack({ containment: selfHealing }));
    if (!Object.keys(s.fs.ctx.services).some((k) => /monitor/i.test(k))) {
      t.skip(); // SKIPPED until the monitoring runner is wired into src/main.ts; then this runs the full loop.
      return;
    }
    const { load } = await runBadDeploy(s, async () => undefined);
    const incident = await waitFor(async () => (await s.api('GET', '/api/v1/incidents?model=support-bot')).body.incidents[0], 5_000);
    await waitFor(async () => (await incidentDetail(s, incident.id)).status === 'mitigated', 10_000);
    const result = await load;
    expect(result.failed).toBe(0);
  });
});
