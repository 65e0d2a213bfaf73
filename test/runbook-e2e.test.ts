// End to end: the rollback scenario on a real Failsafe (startFailsafe over SQLite, three simulated
// upstreams, a webhook receiver for notifications). A bad deploy (v3) fails, an incident opens, the
// SEV2 playbook contains v3 and rolls back to the validated M-1, RCA and the postmortem run, and the
// people's steps are completed through the CLI. Every SOP-001 step ends done (the pause step is
// skipped: the model is not critical), in the runbook's order, with timestamps, each automatic
// step linked to the timeline event (or audit entry) that completed it; the compliance report
// says so and ties it to the audit chain.
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
import { ADMIN_KEY, chatBody, stackConfig, waitFor } from './helpers/rollback-stack.ts';

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
    ...stackConfig(sims, join(dir, 'failsafe.db'), { route: { v2: 100 } }),
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
    // The bad deploy: all traffic to v3, which then fails half its requests.
    expect((await api('PUT', '/api/v1/models/support-bot/route', { weights: { v3: 100 }, reason: 'deploy v3' })).status).toBe(200);
    sims.v3.setFaults({ errorRate: 0.5 });
    for (let i = 0; i < 60; i++) {
      await fetch(`${fs.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody(i)) });
    }
    await new Promise((r) => setTimeout(r, 300)); // traces flush every 100 ms

    // 1. Detection: the incident comes in as an alert would.
    const opened = await api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', family: 'errors', severity: 'SEV2', title: 'v3 error rate 50%' });
    expect(opened.status).toBe(201);
    const id: string = opened.body.incident.id;

    // 2 and 4. The SEV2 playbook contains v3 and rolls back to the validated M-1 (v2).
    await waitFor(async () => (await api('GET', `/api/v1/incidents/${id}`)).body.incident.status === 'mitigated', 15_000);

    // 3. RCA records its best hypothesis (what the 10 s auto-analysis would do).
    const rca = await api('GET', `/api/v1/incidents/${id}/rca`);
    expect(rca.status).toBe(200);

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
      throw new Error(`${(err as Error).message}: ${items.map((i) => `${i.id}=${i.status}`).join(' ')}`);
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
