// The admin API of registry, routing, audit, keys and feedback, in process (app.inject) over a real SQLite file.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFoundationServer, type FoundationServer } from '../../test/helpers/foundation-server.ts';
import { hashSecret } from './auth/api-key-service.ts';

let s: FoundationServer;
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, role: keyof FoundationServer['keys'] | null, body?: unknown) {
  const res = await s.app.inject({
    method,
    url,
    headers: role ? bearer(s.keys[role]) : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

async function registerSupportBot() {
  expect((await call('POST', '/api/v1/models', 'operator', { name: 'support-bot', kind: 'chat' })).status).toBe(201);
  for (const [version, port] of [['v1', 9001], ['v2', 9002]] as const) {
    const res = await call('POST', '/api/v1/models/support-bot/versions', 'operator', {
      version,
      upstream: { url: `http://127.0.0.1:${port}/v1`, model: 'sim-chat' },
    });
    expect(res.status).toBe(201);
  }
}

describe('admin API: models, versions, routes', () => {
  beforeEach(async () => {
    s = await startFoundationServer();
  });
  afterEach(async () => s.close());

  it('401 without a key, 401 with a wrong key, 403 for a viewer on operator routes', async () => {
    const none = await call('GET', '/api/v1/models', null);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    const wrong = await s.app.inject({ method: 'GET', url: '/api/v1/models', headers: bearer('fsk_nope') });
    expect(wrong.statusCode).toBe(401);
    const viewer = await call('POST', '/api/v1/models', 'viewer', { name: 'x', kind: 'chat' });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.code).toBe('FORBIDDEN');
    expect((await call('GET', '/api/v1/models', 'viewer')).status).toBe(200);
    expect((await call('GET', '/api/v1/models', 'client')).status).toBe(403);
  });

  it('registers a model and versions, lists them with the route as it serves now', async () => {
    await registerSupportBot();
    expect((await call('POST', '/api/v1/models', 'operator', { name: 'support-bot', kind: 'chat' })).body.error.code).toBe('MODEL_EXISTS');
    const put = await call('PUT', '/api/v1/models/support-bot/route', 'operator', { weights: { v1: 90, v2: 10 }, reason: 'canary' });
    expect(put.status).toBe(200);
    expect(put.body.route).toMatchObject({ weights: { v1: 90, v2: 10 }, revision: 1, updatedBy: 'key:ops', reason: 'canary' });
    const list = await call('GET', '/api/v1/models', 'viewer');
    expect(list.body.models).toEqual([expect.objectContaining({ name: 'support-bot', kind: 'chat', mode: 'serving', weights: { v1: 90, v2: 10 } })]);
    const versions = await call('GET', '/api/v1/models/support-bot/versions', 'viewer');
    expect(versions.body.versions.map((v: { version: string; state: string; weight: number }) => [v.version, v.state, v.weight])).toEqual([
      ['v1', 'live', 90],
      ['v2', 'live', 10],
    ]);
    expect(versions.body.versions[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const one = await call('GET', '/api/v1/models/support-bot', 'viewer');
    expect(one.body).toMatchObject({ model: { name: 'support-bot' }, route: { revision: 1 }, versions: [{ version: 'v1' }, { version: 'v2' }] });
    // The gateway already serves it.
    expect(s.f.sink.models.get('support-bot')!.route.weights).toEqual({ v1: 90, v2: 10 });
  });

  it('answers version registration idempotently (200) and conflicts with 409 VERSION_CONFLICT', async () => {
    await registerSupportBot();
    const same = await call('POST', '/api/v1/models/support-bot/versions', 'operator', {
      version: 'v1',
      upstream: { model: 'sim-chat', url: 'http://127.0.0.1:9001/v1' },
    });
    expect(same.status).toBe(200);
    expect(same.body.created).toBe(false);
    const other = await call('POST', '/api/v1/models/support-bot/versions', 'operator', {
      version: 'v1',
      upstream: { url: 'http://127.0.0.1:9999/v1', model: 'sim-chat' },
    });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'VERSION_CONFLICT', message: expect.stringContaining('upstream.url') });
  });

  it('validates bodies with errors that name the field', async () => {
    await registerSupportBot();
    const badKind = await call('POST', '/api/v1/models', 'operator', { name: 'x', kind: 'vision' });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('kind') });
    const badUrl = await call('POST', '/api/v1/models/support-bot/versions', 'operator', { version: 'v3', upstream: { url: 'not a url' } });
    expect(badUrl.body.error.message).toContain('upstream.url');
    const sum = await call('PUT', '/api/v1/models/support-bot/route', 'operator', { weights: { v1: 50, v2: 49 } });
    expect(sum.status).toBe(400);
    expect(sum.body.error).toEqual({ code: 'INVALID_ROUTE', message: 'weights must sum to 100, got 99' });
    const unknown = await call('PUT', '/api/v1/models/nope/route', 'operator', { weights: { v1: 100 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('MODEL_NOT_FOUND');
    const malformed = await s.app.inject({
      method: 'PUT',
      url: '/api/v1/models/support-bot/route',
      headers: { ...bearer(s.keys.operator), 'content-type': 'application/json' },
      payload: '{"weights":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body).error.code).toBe('BAD_REQUEST');
  });

  it('pauses and resumes, keeps route history newest first, and changes version states', async () => {
    await registerSupportBot();
    await call('PUT', '/api/v1/models/support-bot/route', 'operator', { weights: { v1: 100 } });
    expect((await call('POST', '/api/v1/models/support-bot/pause', 'operator', { reason: 'incident 7' })).body.route.mode).toBe('paused');
    expect((await call('GET', '/api/v1/models', 'viewer')).body.models[0].mode).toBe('paused');
    expect((await call('POST', '/api/v1/models/support-bot/resume', 'operator')).body.route.mode).toBe('serving');
    const history = await call('GET', '/api/v1/models/support-bot/route/history', 'viewer');
    expect(history.body.history.map((h: { revision: number; mode: string }) => [h.revision, h.mode])).toEqual([
      [3, 'serving'],
      [2, 'paused'],
      [1, 'serving'],
    ]);
    expect(history.body.history[1].reason).toBe('incident 7');
    const state = await call('PUT', '/api/v1/models/support-bot/versions/v1/state', 'operator', { state: 'stable' });
    expect(state.body.version).toMatchObject({ state: 'stable', stableSince: expect.any(String) });
    const bad = await call('PUT', '/api/v1/models/support-bot/versions/v1/state', 'operator', { state: 'candidate' });
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('INVALID_STATE');
    expect((await call('GET', '/api/v1/models/support-bot', 'viewer')).body.model.stableVersion).toBe('v1');
  });
});

describe('admin API: audit', () => {
  beforeEach(async () => {
    s = await startFoundationServer();
  });
  afterEach(async () => s.close());

  it('lists entries with filters and verifies the chain; tampering turns verify to ok:false', async () => {
    await registerSupportBot();
    const list = await call('GET', '/api/v1/audit?target=model:support-bot', 'viewer');
    expect(list.body.entries.map((e: { action: string }) => e.action)).toEqual(['model.register']);
    // 4 key creations by the test server, then the model and its two versions.
    const newest = await call('GET', '/api/v1/audit?order=desc&limit=2', 'viewer');
    expect(newest.body.entries.map((e: { seq: number; action: string }) => [e.seq, e.action])).toEqual([
      [7, 'version.register'],
      [6, 'version.register'],
    ]);
    expect((await call('GET', '/api/v1/audit?from=yesterday', 'viewer')).status).toBe(400);
    const verify = await call('GET', '/api/v1/audit/verify', 'viewer');
    expect(verify.body).toEqual({ ok: true, entries: 7 });
    await sql`update audit_log set actor = 'key:someone-else' where seq = 4`.execute(s.storage.handle.db);
    const tampered = await call('GET', '/api/v1/audit/verify', 'viewer');
    expect(tampered.body).toMatchObject({ ok: false, firstBadSeq: 4 });
    expect((await call('GET', '/api/v1/audit/verify', null)).status).toBe(401);
  });
});

describe('admin API: keys', () => {
  beforeEach(async () => {
    s = await startFoundationServer();
  });
  afterEach(async () => s.close());

  it('is admin only; shows a secret exactly once; never returns hashes', async () => {
    expect((await call('GET', '/api/v1/keys', 'operator')).status).toBe(403);
    const created = await call('POST', '/api/v1/keys', 'admin', { name: 'deployer', role: 'operator', expiresInDays: 30 });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^fsk_[A-Za-z0-9]{32}$/);
    expect(created.body.key).toMatchObject({ name: 'deployer', role: 'operator', prefix: secret.slice(0, 8), expiresAt: expect.any(String) });
    const list = await call('GET', '/api/v1/keys', 'admin');
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(secret);
    for (const k of Object.values(s.keys)) {
      expect(text).not.toContain(k);
      expect(text).not.toContain(hashSecret(k));
    }
    expect(list.body.keys.map((k: { name: string }) => k.name).sort()).toEqual(['app', 'bootstrap-admin', 'deployer', 'ops', 'watcher']);
    expect(Object.keys(list.body.keys[0]).sort()).toEqual(['createdAt', 'id', 'name', 'prefix', 'role']);
    // The new key works at once with its role.
    const me = await s.app.inject({ method: 'GET', url: '/api/v1/keys/me', headers: bearer(secret) });
    expect(JSON.parse(me.body).key.name).toBe('deployer');
    const audit = await call('GET', '/api/v1/audit?target=key:deployer', 'admin');
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it('rotates and revokes; the old secret stops working', async () => {
    const created = await call('POST', '/api/v1/keys', 'admin', { name: 'deployer', role: 'operator' });
    const id = created.body.key.id;
    const rotated = await call('POST', `/api/v1/keys/${id}/rotate`, 'admin', { reason: 'quarterly' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.previous.revokedAt).toEqual(expect.any(String));
    const old = await s.app.inject({ method: 'GET', url: '/api/v1/models', headers: bearer(created.body.secret) });
    expect(old.statusCode).toBe(401);
    const fresh = await s.app.inject({ method: 'GET', url: '/api/v1/models', headers: bearer(rotated.body.secret) });
    expect(fresh.statusCode).toBe(200);
    const revoked = await call('DELETE', `/api/v1/keys/${rotated.body.key.id}`, 'admin');
    expect(revoked.body.key.revokedAt).toEqual(expect.any(String));
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/models', headers: bearer(rotated.body.secret) })).statusCode).toBe(401);
    expect((await call('DELETE', '/api/v1/keys/key_nope', 'admin')).status).toBe(404);
  });
});

describe('feedback API', () => {
  afterEach(async () => s.close());

  it('is open without client auth, 404s unknown ids, 201 with the stored feedback', async () => {
    const recent = new Map([['req-1', { model: 'support-bot', version: 'v1', startedAt: Date.UTC(2025, 0, 1) }]]);
    s = await startFoundationServer({ recentRequests: (id) => recent.get(id) });
    const ok = await call('POST', '/api/v1/feedback', null, { requestId: 'req-1', rating: 1, comment: 'great' });
    expect(ok.status).toBe(201);
    expect(ok.body.feedback).toMatchObject({ requestId: 'req-1', model: 'support-bot', version: 'v1', rating: 1, requestAt: '2025-01-01T00:00:00.000Z' });
    const missing = await call('POST', '/api/v1/feedback', null, { requestId: 'nope', rating: 1 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('REQUEST_NOT_FOUND');
    const empty = await call('POST', '/api/v1/feedback', null, { requestId: 'req-1' });
    expect(empty.status).toBe(400);
    const badRating = await call('POST', '/api/v1/feedback', null, { requestId: 'req-1', rating: 5 });
    expect(badRating.status).toBe(400);
    expect((await call('GET', '/api/v1/feedback?requestId=req-1', null)).status).toBe(401);
    const listed = await call('GET', '/api/v1/feedback?requestId=req-1', 'viewer');
    expect(listed.body.feedback).toHaveLength(1);
  });

  it('needs a client key or higher when client auth is enabled', async () => {
    const recent = new Map([['req-1', { model: 'support-bot', startedAt: 1 }]]);
    s = await startFoundationServer({ config: { server: { clientAuth: true } }, recentRequests: (id) => recent.get(id) });
    expect((await call('POST', '/api/v1/feedback', null, { requestId: 'req-1', score: 0.5 })).status).toBe(401);
    expect((await call('POST', '/api/v1/feedback', 'client', { requestId: 'req-1', score: 0.5 })).status).toBe(201);
    expect((await call('POST', '/api/v1/feedback', 'operator', { requestId: 'req-1', label: 'ok' })).status).toBe(201);
  });
});
