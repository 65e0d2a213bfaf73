// A real Failsafe (startFailsafe) over a SQLite file in a temp dir, in front of three simulated
// upstreams (v1 and v2 stable, v3 the new version), with the support-bot golden set: what the
// rollback end-to-end tests, the crash test and the benchmark drive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { startSimServer, type SimServer } from '../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../src/config.ts';
import { startFailsafe, type RunningFailsafe } from '../../src/main.ts';

export const ADMIN_KEY = 'fsk_rollback_e2e_admin_key_0123456789';
export const GOLDEN = resolve(import.meta.dirname, '../../examples/golden/support-bot.jsonl');

export interface RollbackStack {
  fs: RunningFailsafe;
  sims: Record<'v1' | 'v2' | 'v3', SimServer>;
  dir: string;
  dbPath: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export interface RollbackStackOptions {
  /** Extra keys on the support-bot model config (fallbacks, playbook, rollback, ...). */
  model?: Record<string, unknown>;
  containment?: Record<string, unknown>;
  /** Route at start (default all traffic on v2, the last stable version). */
  route?: Record<string, number>;
  dir?: string;
  sims?: Record<'v1' | 'v2' | 'v3', SimServer>;
  /** Storage URL (default: a SQLite file in the stack's directory). */
  storage?: string;
}

export function stackConfig(sims: Record<'v1' | 'v2' | 'v3', { url: string }>, dbPath: string, options: RollbackStackOptions = {}) {
  return {
    storage: options.storage ?? `sqlite:${dbPath}`,
    traces: { flushIntervalMs: 100 },
    containment: options.containment ?? {},
    models: [
      {
        name: 'support-bot',
        kind: 'chat',
        versions: [
          { version: 'v1', upstream: { url: `${sims.v1.url}/v1`, model: 'sim-chat' }, stable: true },
          { version: 'v2', upstream: { url: `${sims.v2.url}/v1`, model: 'sim-chat' }, stable: true },
          { version: 'v3', upstream: { url: `${sims.v3.url}/v1`, model: 'sim-chat' } },
        ],
        route: options.route ?? { v2: 100 },
        golden: GOLDEN,
        ...options.model,
      },
    ],
  };
}

export async function startRollbackStack(options: RollbackStackOptions = {}): Promise<RollbackStack> {
  const sims = options.sims ?? {
    v1: await startSimServer({ name: 'v1', seed: 1 }),
    v2: await startSimServer({ name: 'v2', seed: 2 }),
    v3: await startSimServer({ name: 'v3', seed: 3 }),
  };
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'failsafe-rollback-'));
  const dbPath = join(dir, 'failsafe.db');
  const config = parseConfig(stackConfig(sims, dbPath, options), {});
  const fs = await startFailsafe({
    config: { config, baseDir: dir },
    host: '127.0.0.1',
    port: 0,
    env: { FAILSAFE_ADMIN_KEY: ADMIN_KEY },
    logger: pino({ level: process.env.FAILSAFE_TEST_LOG ?? 'silent' }),
  });
  const api = async <T = any>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fs.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return {
    fs,
    sims,
    dir,
    dbPath,
    api,
    close: async () => {
      await fs.close();
      if (!options.sims) await Promise.all(Object.values(sims).map((s) => s.close()));
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until fn returns a truthy value (or throws after timeoutMs). */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const chatBody = (i: number) => ({ model: 'support-bot', messages: [{ role: 'user', content: `How do I reset my password? (#${i % 25})` }] });
