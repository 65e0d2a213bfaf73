// A whole Failsafe for the dashboard's browser tests (and for looking at the dashboard by hand):
// two simulated model servers, a real server from startFailsafe on a temp SQLite file, keys of
// every role, and a steady trickle of chat traffic with some feedback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimServer } from '../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../src/config.ts';
import { startFailsafe, type RunningFailsafe } from '../../src/main.ts';
import { supportBotModel } from './detection-stack.ts';

type SimServer = Awaited<ReturnType<typeof startSimServer>>;

export interface DashboardStack {
  url: string;
  failsafe: RunningFailsafe;
  /** v1 (stable) and v2 (live, the one faults are injected into) of support-bot. */
  sims: { v1: SimServer; v2: SimServer; scorer: SimServer };
  keys: { admin: string; operator: string; viewer: string; client: string };
  /** Sends chat requests to support-bot at about `rps` (and rates one in five). */
  startTraffic(rps?: number): void;
  stopTraffic(): Promise<void>;
  sent: () => number;
  api(path: string, init?: { method?: string; body?: unknown; key?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startDashboardStack(options: { extraConfig?: Record<string, unknown>; port?: number } = {}): Promise<DashboardStack> {
  const dir = mkdtempSync(join(tmpdir(), 'failsafe-dash-'));
  const sims = {
    v1: await startSimServer({ port: 0, seed: 1, baseLatencyMs: 5 }),
    v2: await startSimServer({ port: 0, seed: 2, baseLatencyMs: 8 }),
    scorer: await startSimServer({ port: 0, seed: 3, baseLatencyMs: 2 }),
  };
  const adminSecret = `fsk_dashboard_admin_${Math.random().toString(36).slice(2)}`;
  const env = { ...process.env, FAILSAFE_ADMIN_KEY: adminSecret, FAILSAFE_LOG_LEVEL: 'warn' };
  const raw = {
    storage: `sqlite:${join(dir, 'failsafe.db')}`,
    models: [
      supportBotModel(sims, { route: { v2: 100 } }),
      {
        name: 'fraud-scorer',
        kind: 'predict',
        versions: [{ version: 'v1', upstream: { url: `${sims.scorer.url}/v1/models/fraud:predict` }, stable: true }],
        route: { v1: 100 },
      },
    ],
    ...options.extraConfig,
  };
  const failsafe = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: options.port ?? 0, host: '127.0.0.1', env });
  const url = failsafe.url;

  const api = async (path: string, init: { method?: string; body?: unknown; key?: string } = {}) => {
    const res = await fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? adminSecret}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  };

  const createKey = async (name: string, role: string) => {
    const r = await api('/api/v1/keys', { method: 'POST', body: { name, role } });
    if (r.status !== 201) throw new Error(`creating the ${role} key failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.secret as string;
  };
  const keys = {
    admin: adminSecret,
    operator: await createKey('dash-operator', 'operator'),
    viewer: await createKey('dash-viewer', 'viewer'),
    client: await createKey('dash-client', 'client'),
  };

  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  const one = async (i: number) => {
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: `question ${i}: how do I reset my password?` }] }),
    }).catch(() => undefined);
    const requestId = chat?.headers.get('x-request-id');
    await chat?.arrayBuffer().catch(() => undefined);
    if (requestId && i % 5 === 0) {
      await fetch(`${url}/api/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestId, rating: i % 15 === 0 ? -1 : 1 }),
      })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    }
    if (i % 3 === 0) {
      await fetch(`${url}/v1/models/fraud-scorer:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [[Math.random() - 0.5, Math.random() - 0.5]] }),
      })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    }
  };

  const stopTraffic = async () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    await Promise.all([...inflight]);
  };

  return {
    url,
    failsafe,
    sims,
    keys,
    api,
    sent: () => sent,
    startTraffic(rps = 20) {
      if (timer) clearInterval(timer);
      const perTick = Math.max(1, Math.round(rps / 10));
      timer = setInterval(() => {
        for (let k = 0; k < perTick; k++) {
          const p = one(sent++).finally(() => inflight.delete(p));
          inflight.add(p);
        }
      }, 100);
    },
    stopTraffic,
    async close() {
      await stopTraffic();
      await failsafe.close();
      await Promise.all([sims.v1.close(), sims.v2.close(), sims.scorer.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
