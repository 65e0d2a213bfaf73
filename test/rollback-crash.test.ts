// Crash safety: a real server process is SIGKILLed in the middle of a rollback (while it validates
// the target on a deliberately slow golden-set replay) and restarted on the same SQLite file.
// Afterwards the rollback row says `interrupted`, the route is whole (the containment route it had,
// never half-switched), the incident is still contained, the audit chain verifies, and a new
// rollback completes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../examples/sim-server/sim-server.ts';
import { ADMIN_KEY, stackConfig, waitFor } from './helpers/rollback-stack.ts';

const SCRIPT = resolve(import.meta.dirname, 'fixtures/failsafe-process.ts');
let sims: Record<'v1' | 'v2' | 'v3', SimServer>;
let dir: string;
let configPath: string;
const children: ChildProcess[] = [];

function startProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, configPath], {
    env: { ...process.env, FAILSAFE_ADMIN_KEY: ADMIN_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolvePromise({ child, url: JSON.parse(line).url });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
}

const api = async (url: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  sims = {
    v1: await startSimServer({ name: 'v1' }),
    v2: await startSimServer({ name: 'v2' }),
    v3: await startSimServer({ name: 'v3' }),
  };
  dir = mkdtempSync(join(tmpdir(), 'failsafe-crash-'));
  const config = stackConfig(sims, join(dir, 'failsafe.db'), {
    route: { v3: 100 },
    // Contain automatically; the rollback is started by hand so the test controls when it runs.
    containment: { playbook: { SEV2: { contain: 'auto', rollback: 'off' } } },
    model: { staging: { concurrency: 1 } },
  });
  configPath = join(dir, 'failsafe.json');
  writeFileSync(configPath, JSON.stringify(config));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(Object.values(sims ?? {}).map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rollback crash safety', () => {
  it('survives SIGKILL mid-rollback: interrupted row, whole route, coherent incident, verified audit', async () => {
    const first = await startProcess();
    const open = await api(first.url, 'POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', severity: 'SEV2', title: 'v3 failing' });
    const id = open.body.incident.id;
    await waitFor(async () => (await api(first.url, 'GET', `/api/v1/incidents/${id}`)).body.incident.status === 'contained');
    const contained = (await api(first.url, 'GET', '/api/v1/models/support-bot/route')).body.route;
    expect(contained.weights).toEqual({ v3: 0, v2: 100 });

    // Slow the target's golden replay down (32 cases one at a time), start the rollback, and kill
    // the process while it validates.
    sims.v2.setFaults({ latencyMs: 150 });
    void api(first.url, 'POST', '/api/v1/models/support-bot/rollback', { incidentId: id, reason: 'crash test' }).catch(() => undefined);
    await waitFor(async () => {
      const p = (await api(first.url, 'GET', '/api/v1/models/support-bot/rollback/progress')).body.progress;
      return p && p.phase === 'validating' && p.done >= 3;
    }, 15_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    sims.v2.setFaults({});
    const second = await startProcess();
    const rollbacks = (await api(second.url, 'GET', '/api/v1/models/support-bot/rollbacks')).body.rollbacks;
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ status: 'interrupted', phase: 'done', from: 'v3', error: { code: 'INTERRUPTED' } });
    const route = (await api(second.url, 'GET', '/api/v1/models/support-bot/route')).body.route;
    expect(route.weights).toEqual(contained.weights);
    expect(route.revision).toBe(contained.revision);
    const versions = (await api(second.url, 'GET', '/api/v1/models/support-bot/versions')).body.versions;
    expect(Object.fromEntries(versions.map((v: any) => [v.version, v.state]))).toEqual({ v1: 'stable', v2: 'stable', v3: 'faulty' });
    const incident = (await api(second.url, 'GET', `/api/v1/incidents/${id}`)).body.incident;
    expect(incident.status).toBe('contained');
    expect(incident.timeline.some((e: any) => e.kind === 'rollback' && /interrupted/.test(e.message))).toBe(true);
    expect((await api(second.url, 'GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
    const audit = (await api(second.url, 'GET', '/api/v1/audit?limit=500')).body;
    const actions = (audit.entries ?? audit.audit ?? []).map((e: any) => e.action);
    expect(actions).toContain('rollback.start');
    expect(actions).toContain('rollback.interrupted');

    // The model can still be rolled back.
    const again = await api(second.url, 'POST', '/api/v1/models/support-bot/rollback', { incidentId: id });
    expect(again.status).toBe(200);
    expect(again.body.rollback).toMatchObject({ status: 'succeeded', to: 'v2' });
    expect((await api(second.url, 'GET', `/api/v1/incidents/${id}`)).body.incident.status).toBe('mitigated');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
