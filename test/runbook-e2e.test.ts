// End to end: the rollback scenario on a real Failsafe (startFailsafe over SQLite, three simulated
// upstreams under load, a webhook receiver for notifications). A bad deploy (v3) fails, the
// monitors open an incident, the playbook (with approval) contains v3 and rolls back to the
// validated M-1, RCA and the postmortem run, and the people's steps are completed through the CLI. Every SOP-001 step
// ends done (the pause step is skipped: the model is not critical), in the runbook's order, with
// timestamps, each automatic step linked to the timeline event (or audit entry) that completed it;
// the compliance report says so and ties it to the audit chain.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../examples/sim-server/sim-server.ts';
import { runCli } from '../src/cli/program.ts';
import { parseConfig } from '../src/config.ts';
import { startFailsafe, type RunningFailsafe } from '../src/main.ts';
import { runLoad } from '../examples/sim-server/load-client.ts';
import { ADMIN_KEY, chatBody, stackConfig, waitFor } from './helpers/rollback-stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fs: RunningFailsafe;
let sims: Record<'v1' | 'v2' | 'v3', SimServer>;
let receiver: Server;
let dir: string;
const hooks: { event: string; body: any }[] = [];

const api = async (method: string, path: string, body?: unknown, accept = 'application/json') => {
  const res = await fetch(`${fs.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, accept, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: accept === 'application/json' && text ? JSON.parse(text) : text };
};

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { env: { FAILSAFE_URL: fs.url, FAILSAFE_TOKEN: ADMIN_KEY }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ event: String(req.headers['x-failsafe-event']), body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  sims = {
    v1: await startSimServer({ name: 'v1', seed: 1 }),
    v2: await startSimServer({ name: 'v2', seed: 2 }),
    v3: await startSimServer({ name: 'v3', seed: 3 }),
  };
  dir = mkdtempSync(join(tmpdir(), 'failsafe-runbook-e2e-'));
  const raw = {
    // Contain and roll back after approval, whatever severity the monitors judge.
    ...stackConfig(sims, join(dir, 'failsafe.db'), {
      route: { v2: 100 },
      containment: { playbook: Object.fromEntries(['SEV1', 'SEV2', 'SEV3', 'SEV4'].map((sev) => [sev, { contain: 'approval', rollback: 'approval' }])) },
    }),
    notifications: { channels: [{ name: 'ops-hook', type: 'webhook', url: `http://127.0.0.1:${port}/hook` }], retry: { attempts: 2, initialDelayMs: 10 } },
  };
  fs = await startFailsafe({
    config: { config: parseConfig(raw, {}), baseDir: dir },
    host: '127.0.0.1',
    port: 0,
    env: { FAILSAFE_ADMIN_KEY: ADMIN_KEY },
    logger: pino({ level: process.env.FAILSAFE_TEST_LOG ?? 'silent' }),
  });
}, 30_000);

afterAll(async () => {
  await fs?.close();
  await Promise.all(Object.values(sims ?? {}).map((s) => s.close()));
  await new Promise((r) => receiver?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('SOP-001 followed end to end in the rollback scenario', () => {
  it('completes every step in order, automatic steps linked to their events, and reports it', async () => {
    // The bad deploy: all traffic to v3, which then fails half its requests, under steady load.
    // Healthy traffic first: RCA compares the failing version with what served before the onset.
    const load = runLoad({ url: fs.url, path: '/v1/chat/completions', body: chatBody, rps: 50, durationMs: 5_000, timeoutMs: 10_000 });
    await sleep(2_000);
    expect((await api('PUT', '/api/v1/models/support-bot/route', { weights: { v3: 100 }, reason: 'deploy v3' })).status).toBe(200);
    await sleep(300);
    sims.v3.setFaults({ errorRate: 0.5 });

    // 1. Detection: the monitors open an errors incident.
    const opened = await waitFor(async () => {
      const list = (await api('GET', '/api/v1/incidents?model=support-bot&active=true')).body.incidents as any[];
      return list.find((i) => i.version === 'v3' && i.family === 'errors');
    }, 10_000);
    const id: string = opened.id;
    // The playbook waits for approval, so the fault runs long enough for RCA to see it.
    await load;
    await sleep(300); // traces flush every 100 ms

    // 2. Containment, approved: v3 out of rotation.
    const pending = async (kind: string) =>
      waitFor(async () => ((await api('GET', `/api/v1/incidents/${id}/actions`)).body.actions as any[]).find((a) => a.kind === kind && a.status === 'pending'), 5_000);
    const contain = await pending('contain');
    expect((await api('POST', `/api/v1/incidents/${id}/actions/${contain.id}/approve`, { reason: 'v3 failing' })).status).toBe(200);

    // 3. RCA records its best hypothesis (what the auto-analysis 10 s after opening would do).
    const rca = await api('GET', `/api/v1/incidents/${id}/rca`);
    expect(rca.status).toBe(200);

    // 4. The validated rollback to M-1 (v2), approved.
    const rollback = await pending('rollback');
    expect((await api('POST', `/api/v1/incidents/${id}/actions/${rollback.id}/approve`, { reason: 'roll back to M-1' })).status).toBe(200);
    await waitFor(async () => (await api('GET', `/api/v1/incidents/${id}`)).body.incident.status === 'mitigated', 10_000);

    // 5. The postmortem draft, stored on the timeline.
    const pm = await api('GET', `/api/v1/incidents/${id}/postmortem`);
    expect(pm.status).toBe(200);

    // Automatic steps settle as their events arrive (notifications are delivered off the caller's path).
    const auto = ['detect', 'alert-on-call', 'isolate', 'notify-stakeholders', 'rca', 'identify-m1', 'validate-m1', 'push-live', 'audit-log', 'postmortem'];
    await waitFor(async () => {
      const items = (await api('GET', `/api/v1/incidents/${id}/checklist`)).body.checklist as any[];
      return auto.every((s) => items.find((i) => i.id === s)?.status === 'done');
    }, 10_000).catch(async (err) => {
      const items = (await api('GET', `/api/v1/incidents/${id}/checklist`)).body.checklist as any[];
      throw new Error(`${(err as Error).message}: ${items.map((i) => `${i.id}=${i.status}`).join(' ')}; rca: ${JSON.stringify(rca.body.hypotheses?.map((h: any) => [h.category, h.confidence]))}`);
    });

    // People's steps, through the CLI, with their evidence.
    const steps: string[][] = [
      ['document-issue', '--note', 'v3 failed 50% of requests from the deploy until the rollback; all support-bot traffic'],
      ['review-detected-earlier', '--answer', 'yes', '--note', 'a canary would have caught it'],
      ['review-thresholds', '--answer', 'no'],
      ['review-fallbacks', '--answer', 'yes', '--note', 'retries on v2 answered every client'],
      ['lessons-applied', '--link', 'https://git.example.com/ops/monitors/pull/42'],
    ];
    for (const [step, ...flags] of steps) {
      const r = await cli(['checklist', 'complete', id, step!, ...flags]);
      expect({ step, code: r.code, err: r.err }).toEqual({ step, code: 0, err: '' });
    }

    // Every step closed: done, except the pause step, which does not apply to a non-critical model.
    const detail = (await api('GET', `/api/v1/incidents/${id}`)).body.incident;
    const items = detail.checklist as any[];
    expect(detail.runbook).toEqual({ id: 'SOP-001', version: 1 });
    expect(items.map((i) => [i.id, i.status])).toEqual([
      ['detect', 'done'],
      ['alert-on-call', 'done'],
      ['isolate', 'done'],
      ['pause-api', 'skipped'],
      ['notify-stakeholders', 'done'],
      ['rca', 'done'],
      ['document-issue', 'done'],
      ['identify-m1', 'done'],
      ['validate-m1', 'done'],
      ['push-live', 'done'],
      ['audit-log', 'done'],
      ['postmortem', 'done'],
      ['review-detected-earlier', 'done'],
      ['review-thresholds', 'done'],
      ['review-fallbacks', 'done'],
      ['lessons-applied', 'done'],
    ]);

    // Automatic steps link to the real events that completed them.
    const timeline = new Map<number, any>(detail.timeline.map((e: any) => [e.id, e]));
    const linked = (stepId: string) => {
      const item = items.find((i) => i.id === stepId)!;
      const ev = timeline.get(item.eventId);
      expect(ev, `${stepId} → event ${item.eventId}`).toBeDefined();
      expect(item.completedAt).toBe(ev.at);
      return ev;
    };
    expect(linked('detect').kind).toBe('detected');
    expect(linked('alert-on-call')).toMatchObject({ kind: 'notified', data: { ok: true, event: 'opened', channel: 'ops-hook' } });
    expect(linked('isolate')).toMatchObject({ kind: 'contained', data: { action: 'isolate', version: 'v3' } });
    expect(linked('notify-stakeholders')).toMatchObject({ kind: 'notified', data: { ok: true } });
    expect(['rca', 'root_cause']).toContain(linked('rca').kind);
    expect(linked('identify-m1')).toMatchObject({ kind: 'rollback', data: { candidates: expect.arrayContaining(['v2']) } });
    expect(linked('validate-m1')).toMatchObject({ kind: 'validation', data: { version: 'v2', passed: true } });
    expect(linked('push-live')).toMatchObject({ kind: 'rollback', data: { from: 'v3', to: 'v2' } });
    expect(linked('postmortem').kind).toBe('postmortem');
    const auditStep = items.find((i) => i.id === 'audit-log')!;
    const succeeded = (await api('GET', '/api/v1/audit?limit=500')).body;
    const entry = (succeeded.entries ?? succeeded.audit).find((e: any) => e.action === 'rollback.succeeded');
    expect(auditStep.audit).toEqual({ seq: entry.seq, hash: entry.hash });
    expect(hooks.map((h) => h.event)).toEqual(expect.arrayContaining(['opened', 'contained', 'mitigated']));

    // In order, with timestamps: no step completed before a step it comes after.
    for (const item of items.filter((i) => i.status === 'done')) {
      expect(Number.isNaN(Date.parse(item.completedAt))).toBe(false);
      for (const dep of item.after as string[]) {
        const before = items.find((i) => i.id === dep)!;
        if (before.status === 'skipped') continue;
        expect(Date.parse(before.completedAt), `${dep} before ${item.id}`).toBeLessThanOrEqual(Date.parse(item.completedAt));
        if (before.eventId !== null && item.eventId !== null) expect(before.eventId, `${dep} before ${item.id}`).toBeLessThanOrEqual(item.eventId);
      }
      expect(item.deviation).toBeNull();
      expect(item.outOfOrder).toEqual([]);
    }

    // The compliance report: complete, no deviations, tied to a verifying audit chain.
    const report = (await api('GET', `/api/v1/incidents/${id}/compliance`)).body.compliance;
    expect(report.summary).toMatchObject({ steps: 16, done: 15, skipped: 1, pending: 0, deviations: 0, complete: true });
    expect(report.audit.seqs).toContain(entry.seq);
    expect((await api('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
    const out = join(dir, 'compliance.md');
    expect((await cli(['compliance', id, '--out', out])).code).toBe(0);
    const md = readFileSync(out, 'utf8');
    expect(md).toContain('**15 of 16 steps done, 1 skipped, 0 open; ');
    expect(md).toContain('Every step is closed.');
    expect(md).toContain('https://git.example.com/ops/monitors/pull/42');
    expect(md).toContain(report.audit.sha256);
  }, 60_000);
});
