// The deployments, experiments and validations API in-process (app.inject): shapes, roles and
// error answers. Traffic and verdicts are covered by deployment-service.test.ts and
// test/deployments.test.ts.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFoundation, seedSupportBot, type Foundation } from '../../../test/helpers/foundation.ts';
import type { AppContext, Services } from '../../app-context.ts';
import { parseConfig } from '../../config.ts';
import { makeRequireRole } from '../../http/auth.ts';
import { buildServer } from '../../http/server.ts';
import type { StorageHandle } from '../../storage/database.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import { createDeploymentsFeature, type DeploymentsFeature } from './deployments-feature.ts';

let f: Foundation;
let feature: DeploymentsFeature;
let app: Awaited<ReturnType<typeof buildServer>>;
const keys = { operator: '', viewer: '' };

beforeAll(async () => {
  f = createFoundation();
  await seedSupportBot(f);
  feature = createDeploymentsFeature({
    loaded: { config: parseConfig({}, {}), baseDir: process.cwd() },
    stores: f.stores,
    clock: f.clock,
    audit: f.audit,
    routing: f.routing,
    registry: f.registry,
    windows: new MetricWindows(),
    validator: async ({ version }) => ({ kind: 'golden', passed: true, summary: `${version.version} passed staging: 3/3`, passRate: 1, total: 3, versionContentHash: version.contentHash, startedAt: 0, finishedAt: 0 }),
    background: false,
  });
  await feature.start();
  const ctx: AppContext = {
    loaded: { config: parseConfig({}, {}), baseDir: process.cwd() },
    clock: f.clock,
    bus: f.bus,
    logger: pino({ level: 'silent' }),
    storage: {} as StorageHandle,
    stores: f.stores,
    requireRole: makeRequireRole(f.apiKeys),
    services: { audit: f.audit, apiKeys: f.apiKeys, registry: f.registry, routing: f.routing, feedback: f.feedback } as Services,
  };
  app = await buildServer(ctx, { bodyLimitBytes: 1024 * 1024, adminPlugins: feature.adminPlugins, rootPlugins: [] });
  keys.operator = (await f.apiKeys.create({ name: 'ops', role: 'operator' }, { actor: 'test' })).secret;
  keys.viewer = (await f.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret;
});
afterAll(async () => {
  await app?.close();
  await feature?.close();
});

const call = async (method: 'GET' | 'POST', url: string, body?: unknown, key = keys.operator) => {
  const res = await app.inject({ method, url, payload: body as object | undefined, headers: { authorization: `Bearer ${key}` } });
  return { status: res.statusCode, body: res.json() };
};

describe('deployments API', () => {
  it('creates a deployment (201 with id and status), shows it with its analyses, lists it, steers it', async () => {
    const created = await call('POST', '/api/v1/models/support-bot/deployments', { version: 'v2', steps: [20, 100], stepSeconds: 5, reason: 'release 2' });
    expect(created.status).toBe(201);
    expect(created.body.deployment).toMatchObject({ status: 'running', model: 'support-bot', version: 'v2', phase: 'validating', step: 0, steps: [20, 100] });
    const id = created.body.deployment.id;
    expect(id).toMatch(/^dep-\d{8}-[0-9a-f]{8}$/);
    for (let i = 0; i < 20 && (await call('GET', `/api/v1/deployments/${id}`)).body.deployment.phase === 'validating'; i++) await new Promise((r) => setImmediate(r));
    f.clock.advance(1500);
    await feature.deployments.tick();
    const shown = await call('GET', `/api/v1/deployments/${id}`, undefined, keys.viewer);
    expect(shown.status).toBe(200);
    const d = shown.body.deployment;
    expect(d).toMatchObject({ id, model: 'support-bot', version: 'v2', status: 'running', step: 20, phase: 'canary' });
    expect(d.reason).toMatch(/^step 20%: insufficient data: error-rate n=0 < 200/);
    expect(d.analyses).toHaveLength(1);
    expect(d.analyses[0].monitors.map((m: { monitor: string }) => m.monitor)).toEqual(['error-rate', 'latency', 'output-validity', 'negative-feedback', 'accuracy', 'segment:input-length']);
    expect(d.analyses[0].monitors[0]).toMatchObject({ status: 'insufficient_data', nCandidate: 0, test: 'msprt-two-sample', required: true });
    expect(d.validation).toMatchObject({ passed: true, kind: 'golden' });
    expect((await call('GET', '/api/v1/models/support-bot/deployments', undefined, keys.viewer)).body.deployments[0]).toMatchObject({ id, status: 'running' });
    expect((await call('GET', '/api/v1/deployments?status=running', undefined, keys.viewer)).body.deployments.map((x: { id: string }) => x.id)).toEqual([id]);
    expect((await call('GET', '/api/v1/deployments?status=odd')).status).toBe(400);

    // Viewers read, operators steer.
    expect((await call('POST', `/api/v1/deployments/${id}/pause`, {}, keys.viewer)).status).toBe(403);
    expect((await call('POST', `/api/v1/deployments/${id}/pause`, { reason: 'lunch' })).body.deployment).toMatchObject({ status: 'paused', reason: 'paused by key:ops: lunch at step 20%' });
    expect((await call('POST', `/api/v1/deployments/${id}/resume`)).body.deployment.status).toBe('running');
    const promoted = await call('POST', `/api/v1/deployments/${id}/promote`, { reason: 'looks fine' });
    expect(promoted.body.deployment).toMatchObject({ status: 'promoted', step: 100 });
    expect(f.routing.serving('support-bot')!.route.weights).toEqual({ v2: 100 });
    const again = await call('POST', `/api/v1/deployments/${id}/abort`);
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({ code: 'INVALID_STATE', message: `deployment ${id} is promoted; there is nothing to abort` });
  });

  it('answers bad input in the API error shape', async () => {
    const bad = await call('POST', '/api/v1/models/support-bot/deployments', { version: 'v1', steps: [5, 25, 50] });
    expect(bad).toEqual({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'steps: must end at 100 (reaching 100 is the promotion), ends at 50' } } });
    expect((await call('POST', '/api/v1/models/support-bot/deployments', { version: 'v1', extra: 1 })).status).toBe(400);
    expect((await call('POST', '/api/v1/models/support-bot/deployments', {})).status).toBe(400);
    expect((await call('POST', '/api/v1/models/support-bot/deployments', { version: 'v7' })).body.error.code).toBe('VERSION_NOT_FOUND');
    expect((await call('GET', '/api/v1/models/ghost/deployments')).status).toBe(404);
    expect((await call('GET', '/api/v1/deployments/dep-x')).body.error.code).toBe('DEPLOYMENT_NOT_FOUND');
  });
});

describe('experiments and validations API', () => {
  it('starts an A/B test (201), shows an interim report while it runs, stops it', async () => {
    const created = await call('POST', '/api/v1/models/support-bot/experiments', { versions: { v1: 50, v2: 50 }, durationSeconds: 300 });
    expect(created.status).toBe(201);
    const e = created.body.experiment;
    expect(e).toMatchObject({ status: 'running', versions: { v1: 50, v2: 50 }, stickyKey: 'user', durationSeconds: 300 });
    const shown = (await call('GET', `/api/v1/experiments/${e.id}`, undefined, keys.viewer)).body.experiment;
    expect(shown.report.interim).toBe(true);
    expect(shown.report.comparisons[0].metrics.map((m: { metric: string }) => m.metric)).toEqual(['error-rate', 'invalid-rate', 'negative-feedback', 'accuracy', 'latency-p50']);
    expect((await call('POST', '/api/v1/models/support-bot/experiments', { versions: { v1: 50, v2: 50 }, durationSeconds: 300 })).status).toBe(409);
    const stopped = (await call('POST', `/api/v1/experiments/${e.id}/stop`)).body.experiment;
    expect(stopped).toMatchObject({ status: 'stopped' });
    expect(stopped.report.interim).toBe(false);
    expect((await call('POST', '/api/v1/models/support-bot/experiments', { versions: { v1: 100 }, durationSeconds: 10 })).body.error.message).toContain('at least two versions');
    expect((await call('GET', '/api/v1/experiments/exp-x')).status).toBe(404);
  });

  it('validates a version in the background and audits the result', async () => {
    const started = await call('POST', '/api/v1/models/support-bot/versions/v1/validate');
    expect(started.status).toBe(202);
    let job = started.body.validation;
    for (let i = 0; i < 20 && job.status === 'running'; i++) {
      await new Promise((r) => setImmediate(r));
      job = (await call('GET', `/api/v1/validations/${job.id}`, undefined, keys.viewer)).body.validation;
    }
    expect(job).toMatchObject({ status: 'passed', model: 'support-bot', version: 'v1', result: { passed: true } });
    const audit = await f.audit.list({ target: 'version:support-bot@v1', action: 'version.validate' });
    expect(audit.at(-1)!.after).toMatchObject({ passed: true, versionContentHash: (await f.registry.getVersion('support-bot', 'v1')).contentHash });
    expect((await call('POST', '/api/v1/models/support-bot/versions/v9/validate')).status).toBe(404);
  });
});
