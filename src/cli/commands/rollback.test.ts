// The rollback CLI against a real server (startFailsafe over SQLite, simulated upstreams).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startRollbackStack, waitFor, type RollbackStack } from '../../../test/helpers/rollback-stack.ts';
import { runCli } from '../program.ts';

let s: RollbackStack;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { env: { FAILSAFE_URL: s.fs.url, FAILSAFE_TOKEN: ADMIN_KEY }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  s = await startRollbackStack({ route: { v3: 100 }, containment: { playbook: { SEV3: { contain: 'approval', rollback: 'off' } } } });
});
afterAll(async () => {
  await s?.close();
});

describe('failsafe rollback / isolate / approve', () => {
  it('refuses without --yes when there is no terminal, and exits non-zero on a bad target', async () => {
    const noYes = await cli(['rollback', 'support-bot']);
    expect(noYes.code).toBe(2);
    expect(noYes.err).toBe('failsafe: no terminal to confirm on: pass --yes\n');
    const bad = await cli(['rollback', 'support-bot', '--to', 'v9', '--yes']);
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/^failsafe: support-bot has no version "v9"/);
    expect((await s.api('GET', '/api/v1/models/support-bot/route')).body.route.weights).toEqual({ v3: 100 });
  });

  it('approves and denies pending playbook actions', async () => {
    const a = (await s.api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', severity: 'SEV3', title: 'slow v3', family: 'latency' })).body.incident.id;
    const listed = await waitFor(async () => {
      const r = await cli(['--json', 'actions', a]);
      const actions = JSON.parse(r.out).actions;
      return actions.length ? actions : undefined;
    });
    expect(listed[0]).toMatchObject({ kind: 'contain', mode: 'approval', status: 'pending' });
    const table = await cli(['actions', a]);
    expect(table.out).toMatch(/contain\s+approval\s+pending\s+v3/);

    const b = (await s.api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v3', severity: 'SEV3', title: 'odd v3', family: 'validity' })).body.incident.id;
    const other = await waitFor(async () => (await s.api('GET', `/api/v1/incidents/${b}/actions`)).body.actions[0]);
    const denied = await cli(['deny', b, other.id, '--reason', 'false alarm']);
    expect(denied).toMatchObject({ code: 0, out: `${other.id} (contain) is denied\n` });
    expect((await cli(['deny', b, other.id])).code).toBe(5);

    const approved = await cli(['approve', a, listed[0].id]);
    expect(approved).toMatchObject({ code: 0, out: `${listed[0].id} (contain) is succeeded\n` });
    expect((await s.api('GET', '/api/v1/models/support-bot/route')).body.route.weights).toEqual({ v3: 0, v2: 100 });
    expect((await s.api('GET', `/api/v1/incidents/${a}`)).body.incident.status).toBe('contained');
  });

  it('rolls back with --yes and prints what it validated; isolates; lists history', async () => {
    const res = await cli(['rollback', 'support-bot', '--to', 'v1', '--yes', '--reason', 'cli test']);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^rolled back support-bot from v3 to v1 in \d+ ms \(RB-/);
    expect(res.out).toMatch(/passed golden: support-bot@v1 passed staging: 32\/32 passed/);
    const json = await cli(['--json', 'rollbacks', 'support-bot']);
    expect(JSON.parse(json.out).rollbacks[0]).toMatchObject({ to: 'v1', status: 'succeeded', reason: 'cli test' });

    const iso = await cli(['isolate', 'support-bot', 'v1', '--reason', 'cli isolate']);
    expect(iso.code).toBe(0);
    expect(iso.out).toMatch(/all traffic on the last known stable version v2\nsupport-bot: v3:0 v2:100 v1:0 \(serving/);
    const paused = await cli(['pause', 'support-bot', '--fallback', '--reason', 'maintenance']);
    expect(paused).toMatchObject({ code: 0, out: 'support-bot: fallback\n' });
    const chat = await fetch(`${s.fs.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(chat.status).toBe(503); // no fallbacks configured for this model
    expect((await chat.json()).error.code).toBe('fallback_unavailable');
    expect(await cli(['resume', 'support-bot'])).toMatchObject({ code: 0, out: 'support-bot: serving\n' });
    const badIncident = await s.api('POST', '/api/v1/models/support-bot/versions/v2/isolate', { incidentId: 'INC-nope' });
    expect(badIncident.status).toBe(404);
    expect((await s.api('GET', '/api/v1/models/support-bot/route')).body.route.weights.v2).toBe(100);
    const breakers = await cli(['--json', 'breakers']);
    expect(breakers.code).toBe(0);
    expect(JSON.parse(breakers.out)).toHaveProperty('breakers');
  });
});
