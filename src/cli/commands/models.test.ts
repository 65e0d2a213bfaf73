// The foundation CLI against a real server built by the composition root (real SQLite file).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../config.ts';
import { startFailsafe, type RunningFailsafe } from '../../main.ts';
import { runCli } from '../program.ts';

const ADMIN = 'fsk_cli_test_admin_0123456789abcdef';
let dir: string;
let sim: SimServer;
let server: RunningFailsafe;

async function cli(args: string[], env: NodeJS.ProcessEnv = { FAILSAFE_URL: server.url, FAILSAFE_TOKEN: ADMIN }) {
  let out = '';
  let err = '';
  const code = await runCli(args, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'failsafe-cli-'));
  sim = await startSimServer({ port: 0 });
  const config = parseConfig(
    {
      storage: `sqlite:${join(dir, 'failsafe.db')}`,
      models: [
        {
          name: 'support-bot',
          kind: 'chat',
          versions: [
            { version: 'v1', upstream: { url: `${sim.url}/v1`, model: 'sim-chat' }, stable: true },
            { version: 'v2', upstream: { url: `${sim.url}/v1`, model: 'sim-chat' } },
          ],
          route: { v1: 100 },
        },
      ],
    },
    {},
  );
  server = await startFailsafe({ config: { config, baseDir: dir }, port: 0, background: false, env: { FAILSAFE_ADMIN_KEY: ADMIN, FAILSAFE_LOG_LEVEL: 'silent' } });
});

afterAll(async () => {
  await server?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('failsafe models, versions, route', () => {
  it('lists models as a table and as JSON', async () => {
    const table = await cli(['models']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^NAME\s+KIND\s+MODE\s+WEIGHTS\n/);
    expect(table.out).toMatch(/support-bot\s+chat\s+serving\s+v1:100/);
    const json = JSON.parse((await cli(['--json', 'models'])).out);
    expect(json.models[0]).toMatchObject({ name: 'support-bot', kind: 'chat', mode: 'serving', weights: { v1: 100 } });
  });

  it('registers a model and a version, refuses the same id with other content', async () => {
    expect((await cli(['models', 'register', 'fraud-scorer', '--kind', 'predict'])).code).toBe(0);
    const reg = await cli(['versions', 'register', 'fraud-scorer', 'v1', '--upstream', `${sim.url}/v1/models/fraud:predict`]);
    expect(reg.err).toBe('');
    expect(reg).toMatchObject({ code: 0, out: 'registered fraud-scorer@v1\n' });
    const again = await cli(['versions', 'register', 'fraud-scorer', 'v1', '--upstream', `${sim.url}/v1/models/other:predict`]);
    expect(again.code).toBe(5);
    expect(again.err).toMatch(/^failsafe: .*v1.*\n$/);
    const list = await cli(['versions', 'fraud-scorer']);
    expect(list.out).toMatch(/v1\s+candidate/);
  });

  it('sets weights, shows the route and its history with who and why', async () => {
    const set = await cli(['route', 'set', 'support-bot', 'v1=90', 'v2=10', '--reason', 'A/B test']);
    expect(set.code).toBe(0);
    expect(set.out).toContain('support-bot: v1:90 v2:10');
    const show = await cli(['route', 'show', 'support-bot']);
    expect(show.out).toMatch(/weights:\s+v1:90 v2:10/);
    const history = JSON.parse((await cli(['--json', 'route', 'history', 'support-bot'])).out).history;
    expect(history[0]).toMatchObject({ weights: { v1: 90, v2: 10 }, reason: 'A/B test', actor: 'key:bootstrap-admin' });
  });

  it('pauses and resumes a model', async () => {
    expect((await cli(['pause', 'support-bot', '--reason', 'drill'])).out).toBe('support-bot: paused\n');
    expect((await cli(['resume', 'support-bot'])).out).toBe('support-bot: serving\n');
  });

  it('verifies the audit chain and lists keys without secrets', async () => {
    const verify = await cli(['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/^audit chain OK: \d+ entries\n$/);
    const created = await cli(['keys', 'create', 'ci', '--role', 'viewer']);
    const secret = created.out.trim().split('\n').pop()!;
    expect(secret).toMatch(/^fsk_/);
    const keys = await cli(['keys']);
    expect(keys.out).toContain('ci');
    expect(keys.out).not.toContain(secret);
    // A viewer may read but not change routes: exit 4 with the server's reason on one line.
    const denied = await cli(['route', 'set', 'support-bot', 'v1=100'], { FAILSAFE_URL: server.url, FAILSAFE_TOKEN: secret });
    expect(denied.code).toBe(4);
    expect(denied.err).toMatch(/^failsafe: .*operator.*\n$/);
  });

  it('fails with one line and a meaningful exit code', async () => {
    const unknown = await cli(['route', 'show', 'nope']);
    expect(unknown.code).toBe(3);
    expect(unknown.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect((await cli(['route', 'set', 'support-bot', 'v1=abc'])).code).toBe(2);
    const noKey = await cli(['models'], { FAILSAFE_URL: server.url });
    expect(noKey.code).toBe(4);
    const down = await cli(['models'], { FAILSAFE_URL: 'http://127.0.0.1:1', FAILSAFE_TOKEN: ADMIN });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^failsafe: cannot reach Failsafe at http:\/\/127\.0\.0\.1:1/);
    expect((await cli(['no-such-command'])).code).toBe(2);
  });
});
