// A whole Failsafe for canary tests and the canary benchmark: one chat model per scenario, each
// with a stable v1 and a candidate v2 on their own simulated model servers, a real server from
// startFailsafe on a temp SQLite file, and a load driver that keeps traffic flowing until a
// deployment finishes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { runLoad, type LoadResult } from '../../examples/sim-server/load-client.ts';
import { startSimServer, type SimServer, type SimServerOptions } from '../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../src/config.ts';
import { startFailsafe, type RunningFailsafe } from '../../src/main.ts';

export interface ScenarioSpec {
  model: string;
  /** The candidate's simulated server (faults, base latency). */
  candidate: SimServerOptions;
  /** Base latency of the stable version's server (default 20 ms). */
  stableLatencyMs?: number;
  /** Requests ask for JSON (response_format) and a json_schema validator flags invalid answers. */
  json?: boolean;
}

export interface CanaryStack {
  fs: RunningFailsafe;
  url: string;
  /** Secret of the bootstrap admin key. */
  adminKey: string;
  sims: Record<string, { v1: SimServer; v2: SimServer }>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export const GOLDEN = resolve(import.meta.dirname, '../../examples/golden/support-bot.jsonl');
const LONG_TEXT = `Please summarise this long support transcript. ${'The customer wrote again about the same delayed parcel and asked for a refund. '.repeat(20)}`;

export async function startCanaryStack(scenarios: ScenarioSpec[], options: { traces?: Record<string, unknown> } = {}): Promise<CanaryStack> {
  const dir = mkdtempSync(join(tmpdir(), 'failsafe-canary-'));
  const sims: CanaryStack['sims'] = {};
  for (const [i, s] of scenarios.entries()) {
    sims[s.model] = {
      v1: await startSimServer({ port: 0, seed: 100 + i, baseLatencyMs: s.stableLatencyMs ?? 20, name: `${s.model}-v1` }),
      v2: await startSimServer({ port: 0, seed: 200 + i, baseLatencyMs: s.stableLatencyMs ?? 20, name: `${s.model}-v2`, ...s.candidate }),
    };
  }
  const admin = `fsk_canary_admin_${Math.random().toString(36).slice(2)}`;
  const env = { ...process.env, FAILSAFE_ADMIN_KEY: admin };
  const raw = {
    storage: `sqlite:${join(dir, 'failsafe.db')}`,
    ...(options.traces ? { traces: options.traces } : {}),
    models: scenarios.map((s) => ({
      name: s.model,
      kind: 'chat',
      golden: GOLDEN,
      ...(s.json ? { validators: [{ type: 'json_schema', action: 'flag', schema: { type: 'object', required: ['answer', 'label'] } }] } : {}),
      versions: [
        { version: 'v1', upstream: { url: `${sims[s.model].v1.url}/v1`, model: 'sim-chat' }, stable: true },
        { version: 'v2', upstream: { url: `${sims[s.model].v2.url}/v1`, model: 'sim-chat' } },
      ],
      route: { v1: 100 },
    })),
  };
  const fs = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: 0, host: '127.0.0.1', env, logger: pino({ level: 'silent' }) });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fs.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    fs,
    url: fs.url,
    adminKey: admin,
    sims,
    api,
    async close() {
      await fs.close();
      for (const s of Object.values(sims)) {
        await s.v1.close();
        await s.v2.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Chat request i: a sticky user, a long input every `longEvery` requests, JSON mode if asked. */
export function chatRequest(model: string, o: { json?: boolean; longEvery?: number } = {}) {
  return (i: number) => ({
    model,
    user: `user-${i % 97}`,
    messages: [{ role: 'user', content: o.longEvery && i % o.longEvery === 0 ? LONG_TEXT : `Question ${i % 50}: where is my order?` }],
    ...(o.json ? { response_format: { type: 'json_object' } } : {}),
  });
}

export interface DriveResult {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  elapsedMs: number;
}

/** Keeps `rps` of traffic on a model, in 1-second chunks, until `done()` or `maxMs`. */
export async function drive(url: string, body: (i: number) => unknown, rps: number, done: () => Promise<boolean>, maxMs: number): Promise<DriveResult> {
  const total: DriveResult = { sent: 0, ok: 0, failed: 0, statuses: {}, errors: {}, elapsedMs: 0 };
  const start = Date.now();
  let offset = 0;
  while (Date.now() - start < maxMs) {
    const chunk: LoadResult = await runLoad({ url, path: '/v1/chat/completions', body: (i) => body(offset + i), rps, durationMs: 1000, timeoutMs: 10_000 });
    offset += chunk.sent;
    total.sent += chunk.sent;
    total.ok += chunk.ok;
    total.failed += chunk.failed;
    for (const [k, v] of Object.entries(chunk.statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(chunk.errors)) total.errors[k] = (total.errors[k] ?? 0) + v;
    if (await done()) break;
  }
  total.elapsedMs = Date.now() - start;
  return total;
}
