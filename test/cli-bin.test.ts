// The installed `failsafe` binary: a real process, as a user or CI/CD pipeline runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = resolve('bin/failsafe.js');
const dir = mkdtempSync(join(tmpdir(), 'failsafe-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => done({ code, out, err }));
  });
}

describe('bin/failsafe.js', () => {
  it('prints help and exits 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: failsafe/);
    for (const cmd of ['serve', 'demo', 'models', 'versions', 'route', 'pause', 'resume', 'keys', 'audit']) expect(help.out).toContain(cmd);
  });

  it('refuses a bad configuration with the path and a non-zero exit', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'models:\n  - name: x\n    kind: chat\n    versions:\n      - version: v1\n        upstream: { url: nope }\n');
    const res = await run(['serve', '--config', 'bad.yaml', '--port', '0']);
    expect(res.code).not.toBe(0);
    expect(res.err).toContain('models[0].versions[0].upstream.url: expected a URL');
    expect(res.err.trim().split('\n')).toHaveLength(1);
  });

  it('serves, answers health checks, and stops on SIGTERM', async () => {
    writeFileSync(join(dir, 'failsafe.yaml'), `storage: sqlite:${join(dir, 'serve.db')}\n`);
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, FAILSAFE_ADMIN_KEY: 'fsk_bin_test_admin_key_000000000001', FAILSAFE_LOG_LEVEL: 'silent' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no "serving on" line: ${err}`)), 30_000);
      child.stderr.on('data', () => {
        const m = /serving on (http:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          done(m[1]!);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const models = await fetch(`${url}/api/v1/models`, { headers: { authorization: 'Bearer fsk_bin_test_admin_key_000000000001' } });
    expect(await models.json()).toEqual({ models: [] });
    const exited = new Promise<number | null>((done) => child.on('close', done));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
