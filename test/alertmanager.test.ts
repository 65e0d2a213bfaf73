// End to end with a real Prometheus Alertmanager (Debian package prometheus-alertmanager, installed
// by .ci/setup-deps.sh): its webhook receiver points at a Failsafe server on 127.0.0.1 with a bearer
// key; an alert pushed to Alertmanager's API opens an incident, and the same alert resolved resolves it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSupportBot } from './helpers/foundation.ts';
import { startIncidentServer, type IncidentServer } from './helpers/incident-server.ts';

const BINARY = process.env.FAILSAFE_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';
const available = existsSync(BINARY);
if (!available) console.warn(`[failsafe tests] ${BINARY} not found: the Alertmanager end-to-end test is SKIPPED (apt-get install prometheus-alertmanager)`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

describe.skipIf(!available)('Prometheus Alertmanager → Failsafe', () => {
  let server: IncidentServer;
  let failsafeUrl: string;
  let am: ChildProcess | undefined;
  let amUrl: string;
  let dir: string;
  let amLog = '';

  beforeAll(async () => {
    server = await startIncidentServer({ clockStart: Date.now() });
    await seedSupportBot(server.f);
    failsafeUrl = await server.listen();
    const key = (await server.f.apiKeys.create({ name: 'alertmanager', role: 'operator' }, { actor: 'test' })).secret;

    dir = mkdtempSync(join(tmpdir(), 'failsafe-am-'));
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      [
        'global:',
        '  resolve_timeout: 5s',
        'route:',
        '  receiver: failsafe',
        "  group_by: ['alertname', 'model', 'version']",
        '  group_wait: 100ms',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: failsafe',
        '    webhook_configs:',
        `      - url: ${failsafeUrl}/api/v1/alerts/alertmanager`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        '            type: Bearer',
        `            credentials: ${key}`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(
      BINARY,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am.stdout!.on('data', (d) => (amLog += d));
    am.stderr!.on('data', (d) => (amLog += d));
    await waitFor('Alertmanager to be ready', async () => {
      if (am!.exitCode !== null) throw new Error(`alertmanager exited: ${amLog.slice(-500)}`);
      const res = await fetch(`${amUrl}/-/ready`);
      return res.ok ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (am.exitCode === null) am.kill('SIGKILL');
    }
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const labels = { alertname: 'HighErrorRate', model: 'support-bot', version: 'v2', severity: 'critical' };

  async function pushAlert(body: unknown): Promise<void> {
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  }

  async function incidents(): Promise<any[]> {
    const res = await fetch(`${failsafeUrl}/api/v1/incidents?model=support-bot`, { headers: { authorization: `Bearer ${server.keys.viewer}` } });
    expect(res.status).toBe(200);
    return (await res.json()).incidents;
  }

  it('opens an incident when the alert fires and resolves it when the alert resolves', async () => {
    const startsAt = new Date(Date.now() - 30_000).toISOString();
    await pushAlert([{ labels, annotations: { summary: '5xx rate above 5% for 2m' }, startsAt }]);

    const opened = await waitFor('the incident to open', async () => {
      const list = await incidents();
      return list.length ? list[0] : undefined;
    });
    expect(opened).toMatchObject({ model: 'support-bot', version: 'v2', severity: 'SEV1', status: 'open', source: 'alertmanager' });
    expect(opened.title).toBe('HighErrorRate: 5xx rate above 5% for 2m');

    await pushAlert([{ labels, annotations: { summary: '5xx rate above 5% for 2m' }, startsAt, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    const resolved = await waitFor('the incident to resolve', async () => {
      const list = await incidents();
      return list.find((i) => i.id === opened.id && i.status === 'resolved');
    });
    expect(resolved.resolvedAt).not.toBeNull();
    expect(await incidents()).toHaveLength(1);

    const detail = await (await fetch(`${failsafeUrl}/api/v1/incidents/${opened.id}`, { headers: { authorization: `Bearer ${server.keys.viewer}` } })).json();
    const kinds = detail.incident.timeline.map((e: any) => e.kind);
    expect(kinds[0]).toBe('detected');
    expect(kinds).toContain('alert_resolved');
    expect(kinds.at(-1)).toBe('status');
    // the alert's identity at Alertmanager is its fingerprint, kept on the incident
    expect(Object.keys(detail.incident.sources)[0]).toMatch(/^alertmanager:[0-9a-f]{16}$/);
  }, 60_000);
});
