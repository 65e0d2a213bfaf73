import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.ts';
import { createContainmentKit } from '../containment/containment-test-kit.ts';
import { RollbackService } from './rollback-service.ts';
import type { RollbackRecord } from './rollback-store.ts';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function hookServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, res, body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('RollbackService', () => {
  it('validates M-1, switches in one audited change, marks the source faulty, mitigates the incident', async () => {
    const k = await createContainmentKit();
    const id = await k.open('v3');
    const rb = await k.rollback.rollback('bot', { actor: 'key:ops', incidentId: id, reason: 'errors' });
    expect(rb).toMatchObject({ status: 'succeeded', from: 'v3', to: 'v2', candidates: ['v2', 'v1'], routeBefore: { v3: 100 } });
    expect(k.validated).toEqual(['v2']);
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 0, v2: 100 });
    expect((await k.f.stores.versions.get('bot', 'v3'))!.state).toBe('faulty');
    expect(await k.f.stores.rollbacks.get(rb.id)).toEqual(rb);
    expect((await k.incidents.get(id)).status).toBe('mitigated');
    const audit = await k.f.audit.list();
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['rollback.start', 'rollback', 'version.state', 'rollback.succeeded']));
    expect((audit.find((e) => e.action === 'rollback.succeeded')!.after as any).validation[0]).toMatchObject({ version: 'v2', passed: true });
    expect((await k.f.audit.verify()).ok).toBe(true);
  });

  it('switches in configured steps, keeping the rest on the versions that serve', async () => {
    const k = await createContainmentKit({ route: { v1: 100 }, model: { rollback: { steps: [25, 50, 100] } } });
    const rb = await k.rollback.rollback('bot', { actor: 'ops', to: 'v2', from: 'v3' });
    expect(rb.to).toBe('v2');
    const history = (await k.f.routing.history('bot')).reverse().map((h) => h.weights);
    expect(history.slice(-3)).toEqual([
      { v1: 75, v3: 0, v2: 25 },
      { v1: 50, v3: 0, v2: 50 },
      { v1: 0, v3: 0, v2: 100 },
    ]);
  });

  it('runs the deploy hook and waits for readiness before moving traffic', async () => {
    let polls = 0;
    const calls: unknown[] = [];
    const url = await hookServer((req, res, body) => {
      if (req.method === 'POST') {
        calls.push(JSON.parse(body));
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"deploying"}');
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(++polls < 3 ? '{"ready":false}' : '{"ready":true}');
    });
    const k = await createContainmentKit({ model: { rollback: { deployHook: { url: `${url}/deploy`, readyUrl: `${url}/ready`, pollIntervalMs: 10, timeoutMs: 5000 } } } });
    const rb = await k.rollback.rollback('bot', { actor: 'ops' });
    expect(rb.deploy).toMatchObject({ ok: true, ready: true, attempts: 1 });
    expect(polls).toBe(3);
    expect(calls[0]).toMatchObject({ event: 'failsafe.rollback', model: 'bot', version: 'v2', from: 'v3', rollbackId: rb.id });
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 0, v2: 100 });
  });

  it('leaves traffic where it was when the deploy hook answers 5xx or times out, and records why', async () => {
    let posts = 0;
    const failing = await hookServer((_req, res) => {
      posts++;
      res.writeHead(503).end('pipeline down');
    });
    const k = await createContainmentKit({ model: { rollback: { deployHook: { url: failing, retries: 2, timeoutMs: 5000 } } } });
    await expect(k.rollback.rollback('bot', { actor: 'ops' })).rejects.toMatchObject({ code: 'UPSTREAM_ERROR', message: expect.stringMatching(/deploy hook answered HTTP 503: pipeline down; traffic was not moved/) });
    expect(posts).toBe(3);
    expect(k.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 100 });
    expect((await k.f.stores.versions.get('bot', 'v3'))!.state).not.toBe('faulty');
    const [row] = await k.f.stores.rollbacks.list();
    expect(row).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_ERROR' }, deploy: { ok: false, attempts: 3, status: 503 } });

    const hanging = await hookServer(() => {});
    const k2 = await createContainmentKit({ model: { rollback: { deployHook: { url: hanging, retries: 0, timeoutMs: 200 } } } });
    await expect(k2.rollback.rollback('bot', { actor: 'ops' })).rejects.toThrow(/deploy hook timed out after 200 ms/);
    expect(k2.f.sink.models.get('bot')!.route.weights).toEqual({ v3: 100 });
    expect((await k2.f.audit.list()).map((e) => e.action)).toContain('rollback.failed');
  });

  it('refuses a second rollback of the same model while one runs, and reports progress', async () => {
    const k = await createContainmentKit();
    const first = k.rollback.rollback('bot', { actor: 'ops' });
    await expect(k.rollback.rollback('bot', { actor: 'ops' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(k.rollback.progress('bot')).toMatchObject({ model: 'bot' });
    await first;
    expect(k.rollback.progress('bot')).toBeUndefined();
  });

  it('fails the gate after the configured depth: fallback mode, escalation, reports in the error', async () => {
    const k = await createContainmentKit({ versions: { v0: 'stable', v1: 'stable', v2: 'stable', v3: 'candidate' }, model: { rollback: { validationDepth: 2 } } });
    k.failing.add('v2');
    k.failing.add('v1');
    const id = await k.open('v3');
    const err = await k.rollback.rollback('bot', { actor: 'ops', incidentId: id }).catch((e) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_GATE_FAILED' });
    expect(err.details.rollback.validations.map((v: any) => v.version)).toEqual(['v2', 'v1']);
    expect(k.validated).toEqual(['v2', 'v1']); // v0 is beyond the depth
    expect(k.f.sink.models.get('bot')!.route).toMatchObject({ mode: 'fallback', weights: { v3: 0 } });
    expect(k.notified.map((n) => n.kind)).toContain('escalation');
    expect((await k.incidents.timeline(id)).map((e) => e.kind)).toContain('escalated');
  });
});

describe('RollbackService recovery', () => {
  type Kit = Awaited<ReturnType<typeof createContainmentKit>>;
  const othersRollback = (k: Kit): RollbackRecord => ({
    id: 'RB-other',
    model: 'bot',
    from: 'v3',
    status: 'running',
    phase: 'validating',
    actor: 'system',
    candidates: ['v2'],
    validations: [],
    startedAt: k.f.clock.now(),
    owner: 'another-replica',
    heartbeatAt: k.f.clock.now(),
  });
  const service = (k: Kit, extra: Partial<ConstructorParameters<typeof RollbackService>[0]> = {}) =>
    new RollbackService({ stores: k.f.stores, routing: k.f.routing, audit: k.f.audit, clock: k.f.clock, loaded: { config: parseConfig({}, {}), baseDir: '.' }, ...extra });

  it('leaves a rollback another replica is running alone, and marks it once its heartbeat lapses', async () => {
    const k = await createContainmentKit();
    await k.f.stores.rollbacks.insert(othersRollback(k));
    expect(await k.rollback.recoverInterrupted({ startup: true })).toEqual([]);
    k.f.clock.advance(29_000);
    expect(await k.rollback.recoverInterrupted()).toEqual([]);
    // Its owner is still running it: a new rollback of the model is refused.
    await expect(k.rollback.rollback('bot', { actor: 'ops' })).rejects.toMatchObject({ code: 'CONFLICT' });
    k.f.clock.advance(2_000);
    expect((await k.rollback.recoverInterrupted()).map((r) => r.id)).toEqual(['RB-other']);
    expect(await k.f.stores.rollbacks.get('RB-other')).toMatchObject({ status: 'interrupted', phase: 'done', error: { code: 'INTERRUPTED' } });
    const entry = (await k.f.audit.list()).find((e) => e.action === 'rollback.interrupted')!;
    expect(entry.reason).toMatch(/stopped renewing/);
    expect((await k.f.audit.verify()).ok).toBe(true);
  });

  it('with a store of its own (SQLite), takes every running rollback at startup for an orphan', async () => {
    const k = await createContainmentKit();
    await k.f.stores.rollbacks.insert(othersRollback(k));
    const recovered = await service(k, { exclusiveStore: true }).recoverInterrupted({ startup: true });
    expect(recovered.map((r) => r.id)).toEqual(['RB-other']);
    expect((await k.f.stores.rollbacks.get('RB-other'))!.status).toBe('interrupted');
  });

  it('renews its heartbeat while it runs; a heartbeat never undoes the end', async () => {
    const k = await createContainmentKit();
    const beats: Array<{ status: string; heartbeatAt?: number }> = [];
    const store = k.f.stores.rollbacks;
    const updateIfRunning = store.updateIfRunning.bind(store);
    store.updateIfRunning = async (r) => {
      beats.push({ status: r.status, heartbeatAt: r.heartbeatAt });
      return updateIfRunning(r);
    };
    const rb = service(k, {
      leaseMs: 60,
      validator: async ({ version }) => {
        // A slow validation: the heartbeat (every 20 ms) keeps the row alive meanwhile.
        for (let i = 0; i < 5; i++) {
          k.f.clock.advance(1000);
          await new Promise((r) => setTimeout(r, 30));
        }
        const now = k.f.clock.now();
        return { version: version.version, kind: 'golden', passed: true, summary: 'ok', report: {}, startedAt: now, finishedAt: now };
      },
    });
    const done = await rb.rollback('bot', { actor: 'ops' });
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((b) => b.status === 'running')).toBe(true);
    expect(beats.at(-1)!.heartbeatAt).toBeGreaterThan(done.startedAt);
    const stored = (await store.get(done.id))!;
    expect(stored).toMatchObject({ status: 'succeeded', owner: rb.instanceId });
    // A heartbeat that arrives after the end changes nothing.
    expect(await updateIfRunning({ ...stored, status: 'running', heartbeatAt: stored.heartbeatAt! + 1 })).toBe(false);
    expect((await store.get(done.id))!.status).toBe('succeeded');
    // No heartbeat timer is left behind.
    const after = beats.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(beats.length).toBe(after);
  });
});
