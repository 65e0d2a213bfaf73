// `runbooks:` in failsafe.yaml through a real Failsafe: an organization's runbook directory next to
// the config file is loaded, incidents follow the runbook their rule selects, and a rule naming a
// runbook that is not there stops the start with the setting's path.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { builtinRunbookDir } from '../src/features/runbooks/runbook-service.ts';
import { startFailsafe, type RunningFailsafe } from '../src/main.ts';

const ADMIN_KEY = 'fsk_runbook_select_admin_key_0123456789';
let dir: string;
let fs: RunningFailsafe | undefined;

afterEach(async () => {
  await fs?.close();
  fs = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function configWith(runbooks: Record<string, unknown>) {
  return parseConfig({
    storage: `sqlite:${join(dir, 'failsafe.db')}`,
    runbooks,
    models: [{ name: 'support-bot', kind: 'chat', versions: [{ version: 'v1', upstream: { url: 'http://127.0.0.1:9/v1' }, stable: true }], route: { v1: 100 } }],
  });
}

const start = (runbooks: Record<string, unknown>) =>
  startFailsafe({ config: { config: configWith(runbooks), baseDir: dir }, host: '127.0.0.1', port: 0, env: { FAILSAFE_ADMIN_KEY: ADMIN_KEY }, logger: pino({ level: 'silent' }) });

describe('runbooks in the configuration', () => {
  it('loads runbooks.dirs next to the config and opens each incident with the runbook its rule selects', async () => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-runbook-select-'));
    mkdirSync(join(dir, 'our-runbooks'));
    const drift = readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8').replace(/^id: SOP-001$/m, 'id: SOP-DRIFT');
    writeFileSync(join(dir, 'our-runbooks', 'sop-drift.yaml'), drift);
    fs = await start({ dirs: ['our-runbooks'], select: [{ runbook: 'SOP-DRIFT', families: ['drift'] }] });
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${fs!.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const open = async (family: string) => {
      const r = await api('POST', '/api/v1/incidents', { model: 'support-bot', version: 'v1', family, severity: 'SEV3', title: `${family} on v1` });
      expect(r.status).toBe(201);
      return r.body.incident.id as string;
    };
    const runbookOf = async (id: string) => {
      for (let i = 0; i < 50; i++) {
        const r = await api('GET', `/api/v1/incidents/${id}`);
        if (r.body.incident.runbook) return r.body.incident.runbook;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`incident ${id} got no runbook`);
    };
    expect(await runbookOf(await open('drift'))).toEqual({ id: 'SOP-DRIFT', version: 1 });
    expect(await runbookOf(await open('errors'))).toEqual({ id: 'SOP-001', version: 1 });
    const listed = await api('GET', '/api/v1/runbooks');
    expect(listed.status).toBe(200);
    expect(listed.body.runbooks.map((r: { id: string }) => r.id).sort()).toEqual(['SOP-001', 'SOP-DRIFT']);
  });

  it('refuses to start when a rule names a runbook that is not loaded', async () => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-runbook-select-'));
    await expect(start({ select: [{ runbook: 'SOP-404', severities: ['SEV1'] }] })).rejects.toThrow('runbooks.select[0].runbook: no runbook "SOP-404" is loaded (loaded: SOP-001)');
  });
});
