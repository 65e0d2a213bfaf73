import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatRequest, drive, startCanaryStack, type CanaryStack } from '../../../test/helpers/canary-stack.ts';
import { runCli } from '../program.ts';
import { parseSteps } from './deploy.ts';

let s: CanaryStack;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { env: { FAILSAFE_URL: s.url, FAILSAFE_TOKEN: s.adminKey }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

/** Runs a CLI command while traffic flows to the model. */
async function withTraffic(model: string, args: string[]) {
  let settled = false;
  const run = cli(args).finally(() => (settled = true));
  const load = await drive(s.url, chatRequest(model), 200, async () => settled, 60_000);
  return { ...(await run), load };
}

beforeAll(async () => {
  s = await startCanaryStack([
    { model: 'good', candidate: {} },
    { model: 'slow', candidate: { baseLatencyMs: 28 } },
  ]);
}, 30_000);
afterAll(async () => {
  await s?.close();
});

describe('failsafe deploy / deployments / validate', () => {
  it('parses --steps', () => {
    expect(parseSteps('5,25,50,100')).toEqual([5, 25, 50, 100]);
    expect(() => parseSteps('5;25')).toThrow('--steps: expected percentages');
  });

  it('validates a version on its golden set and exits 0', async () => {
    const r = await cli(['validate', 'good', 'v2', '--poll-ms', '50']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^good@v2 passed staging: 32\/32 passed/);
    expect(JSON.parse((await cli(['--json', 'validate', 'good', 'v2'])).out).validation.status).toBe('passed');
    const missing = await cli(['validate', 'good', 'v9']);
    expect(missing.code).toBe(3);
  });

  it('deploy --wait follows a good candidate to promotion and exits 0', async () => {
    const r = await withTraffic('good', ['deploy', 'good', 'v2', '--steps', '50,100', '--step-seconds', '1', '--wait', '--poll-ms', '200']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^deployment dep-\S+ of good v2: 50 → 100%, 1 s per step/);
    expect(r.out).toContain('step 50%');
    expect(r.out).toMatch(/promoted: good v2 \(\d+ candidate and \d+ stable requests\)\n$/);
    expect(r.load.failed).toBe(0);
    const id = /deployment (dep-\S+)/.exec(r.out)![1];
    const show = await cli(['deployments', 'show', id]);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`${id}  good v2 (vs v1)  promoted  promoted`);
    expect(show.out).toContain('History:');
    expect(show.out).toMatch(/Last analysis \(#\d+, .*, pass\):/);
    expect(show.out).toMatch(/error-rate\s+ok\s+yes/);
    const list = await cli(['deployments', 'list', 'good']);
    expect(list.out).toMatch(new RegExp(`^ID\\s+VERSION\\s+STATUS[\\s\\S]*${id}\\s+v2\\s+promoted`));
  });

  it('deploy --wait exits 1 with the reason when the candidate is aborted', async () => {
    const r = await withTraffic('slow', ['deploy', 'slow', 'v2', '--steps', '10,100', '--step-seconds', '1', '--wait', '--poll-ms', '200']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^failsafe: deployment dep-\S+ aborted: step 10%: latency breach: /);
    expect(r.load.failed).toBe(0);
  });

  it('refuses impossible steps with exit code 2 and the server’s message; steers by id', async () => {
    const bad = await cli(['deploy', 'good', 'v1', '--steps', '50,25,100']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('failsafe: steps[1]: 25 does not increase on the step before it (50); steps must increase\n');
    // After the promotion above, good serves v2: v1 can be deployed again.
    const started = await cli(['deploy', 'good', 'v1', '--steps', '5,100']);
    expect(started.code).toBe(0);
    const id = /deployment (dep-\S+)/.exec(started.out)![1];
    const paused = await cli(['deployments', 'pause', id, '--reason', 'looking']);
    expect(paused.out).toMatch(new RegExp(`^${id} is paused`));
    const aborted = await cli(['deployments', 'abort', id]);
    expect(aborted.out).toMatch(new RegExp(`^${id} is aborted`));
    const again = await cli(['deployments', 'abort', id]);
    expect(again.code).toBe(5);
    expect(again.err).toContain('is aborted; there is nothing to abort');
  });
});
