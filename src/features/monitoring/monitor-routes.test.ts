// The monitors API in-process (startFailsafe on a temp SQLite file, background loops off, the runner
// ticked by hand): listing, findings, run-time tuning with audit, replays, roles and error shapes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../../examples/sim-server/load-client.ts';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../config.ts';
import { startFailsafe, type RunningFailsafe } from '../../main.ts';

const ADMIN = `fsk_monitors_admin_${Math.random().toString(36).slice(2)}`;
let dir: string;
let sim: SimServer;
let fs: RunningFailsafe;
let viewer: string;
let started: number;

async function call(method: string, url: string, body?: unknown, token = ADMIN) {
  const res = await fs.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    payload: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, body: res.json() as any };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'failsafe-monitors-'));
  sim = await startSimServer({ seed: 3 });
  const env = { ...process.env, FAILSAFE_ADMIN_KEY: ADMIN, FAILSAFE_LOG_LEVEL: 'silent' };
  const raw = {
    storage: `sqlite:${join(dir, 'failsafe.db')}`,
    traces: { flushIntervalMs: 20 },
    monitors: { latency: { thresholdsMs: { p99: 5000 } } },
    models: [
      {
        name: 'support-bot',
        kind: 'chat',
        versions: [
          { version: 'v1', upstream: { url: `${sim.url}/v1`, model: 'sim-chat' }, stable: true },
          { version: 'v2', upstream: { url: `${sim.url}/v1`, model: 'sim-chat' } },
        ],
        route: { v1: 50, v2: 50 },
        monitors: { 'input-length': { enabled: false } },
      },
    ],
  };
  fs = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: 0, host: '127.0.0.1', env, background: false });
  viewer = (await fs.ctx.services.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret;
  started = Date.now();
  await runLoad({ url: fs.url, path: '/v1/chat/completions', body: (i) => ({ model: 'support-bot', messages: [{ role: 'user', content: `hello ${i}` }] }), rps: 100, durationMs: 1000 });
  await fs.ctx.services.monitors!.tick();
  await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  await fs?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('monitors API', () => {
  it('GET /api/v1/monitors lists every monitor of every model with its settings and last finding per version (viewer)', async () => {
    const r = await call('GET', '/api/v1/monitors', undefined, viewer);
    expect(r.status).toBe(200);
    expect(r.body.leader).toBe(true);
    expect(r.body.intervalMs).toBe(1000);
    expect(Date.parse(r.body.lastTickAt)).toBeGreaterThanOrEqual(started);
    const errors = r.body.monitors.find((m: any) => m.model === 'support-bot' && m.monitor === 'error-rate');
    expect(errors).toMatchObject({ kind: 'rate', family: 'errors', enabled: true, tuning: null });
    expect(errors.versions.map((v: any) => v.version)).toEqual(['v1', 'v2']);
    const f = errors.versions[1].lastFinding;
    expect(f).toMatchObject({ monitor: 'error-rate', model: 'support-bot', version: 'v2', family: 'errors' });
    expect(['ok', 'insufficient_data']).toContain(f.status);
    expect(f.evidence.window.from).toMatch(/Z$/);
    expect(f.evidence.sampleSize).toBeGreaterThan(0);
    // Global defaults and the model's own section both show.
    expect(r.body.monitors.find((m: any) => m.monitor === 'latency').settings.thresholdsMs).toEqual({ p99: 5000 });
    expect(r.body.monitors.find((m: any) => m.monitor === 'input-length')).toMatchObject({ enabled: false, versions: [] });
    expect(r.body.monitors.filter((m: any) => m.model === 'support-bot')).toHaveLength(10);
  });

  it('GET /api/v1/models/{name}/findings filters by version and status; unknown models are 404', async () => {
    const r = await call('GET', '/api/v1/models/support-bot/findings?version=v1', undefined, viewer);
    expect(r.status).toBe(200);
    expect(r.body.findings.length).toBe(9);
    expect(r.body.findings.every((f: any) => f.version === 'v1')).toBe(true);
    expect(r.body.recentBreaches).toEqual([]);
    const none = await call('GET', '/api/v1/models/support-bot/findings?status=breach', undefined, viewer);
    expect(none.body.findings).toEqual([]);
    const missing = await call('GET', '/api/v1/models/nobody/findings');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('MODEL_NOT_FOUND');
    expect((await call('GET', '/api/v1/monitors')).status).toBe(200);
    expect((await fs.app.inject({ method: 'GET', url: '/api/v1/monitors' })).statusCode).toBe(401);
  });

  it('PUT …/monitors/{monitor}/tuning changes settings at run time, audited; DELETE removes it', async () => {
    const denied = await call('PUT', '/api/v1/models/support-bot/monitors/error-rate/tuning', { settings: { absoluteThreshold: 0.1 } }, viewer);
    expect(denied.status).toBe(403);
    const bad = await call('PUT', '/api/v1/models/support-bot/monitors/error-rate/tuning', { settings: { alpha: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bad.body.error.message).toContain('settings.alpha');
    expect((await call('PUT', '/api/v1/models/support-bot/monitors/nope/tuning', { settings: {} })).body.error.code).toBe('MONITOR_NOT_FOUND');

    const ok = await call('PUT', '/api/v1/models/support-bot/monitors/error-rate/tuning', { settings: { absoluteThreshold: 0.1, windows: [5, 30] }, reason: 'postmortem INC-7' });
    expect(ok.status).toBe(200);
    expect(ok.body.monitor.settings).toMatchObject({ absoluteThreshold: 0.1, windows: [5, 30] });
    expect(ok.body.monitor.tuning).toMatchObject({ settings: { absoluteThreshold: 0.1, windows: [5, 30] }, updatedBy: 'key:bootstrap-admin', reason: 'postmortem INC-7' });
    expect(fs.ctx.services.monitors!.settingsFor('support-bot', 'error-rate')).toMatchObject({ absoluteThreshold: 0.1 });
    const audit = await call('GET', '/api/v1/audit?action=monitor.tune');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('monitor:support-bot/error-rate');
    expect((await call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);

    const removed = await call('DELETE', '/api/v1/models/support-bot/monitors/error-rate/tuning', { reason: 'back to config' });
    expect(removed.status).toBe(200);
    expect(removed.body.monitor.tuning).toBeNull();
    expect(removed.body.monitor.settings.absoluteThreshold).toBe(0.05);
  });

  it('POST …/monitors/{monitor}/replay replays recorded traces with other settings', async () => {
    const now = Date.now();
    const r = await call('POST', '/api/v1/models/support-bot/monitors/error-rate/replay', {
      version: 'v2',
      windows: [{ from: new Date(started - 1000).toISOString(), to: now, kind: 'healthy' }],
      settings: { minSamples: 5, minBaselineSamples: 5 },
    });
    expect(r.status).toBe(200);
    expect(r.body.replay).toMatchObject({ model: 'support-bot', version: 'v2', monitor: 'error-rate', falseAlarms: 0, detected: false });
    expect(r.body.replay.tracesRead).toBeGreaterThanOrEqual(90);
    expect(r.body.replay.windows[0].evaluations).toBeGreaterThan(0);
    expect(r.body.replay.settings.minSamples).toBe(5);
    const bad = await call('POST', '/api/v1/models/support-bot/monitors/error-rate/replay', { version: 'v2', windows: [{ from: 'yesterday', to: now, kind: 'healthy' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('windows[0].from');
  });
});
