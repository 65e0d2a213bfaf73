import { afterEach, describe, expect, it } from 'vitest';
import { seedSupportBot } from '../../../test/helpers/foundation.ts';
import { startIncidentServer, type IncidentServer } from '../../../test/helpers/incident-server.ts';
import { hmacSha256Hex, signAlertRequest } from '../notifications/webhook-signature.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 0);
const SECRET = 'alert-secret-0123456789';

/** A webhook body as Alertmanager 0.25 sends it. */
const amPayload = (status: 'firing' | 'resolved', over: { labels?: Record<string, string>; fingerprint?: string } = {}) => ({
  receiver: 'failsafe',
  status,
  alerts: [
    {
      status,
      labels: { alertname: 'HighErrorRate', job: 'support-bot', model: 'support-bot', version: 'v2', severity: 'critical', ...over.labels },
      annotations: { summary: '5xx rate above 5% for 2m', runbook_url: 'https://runbooks.example/5xx' },
      startsAt: '2025-03-14T08:58:00.000Z',
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2025-03-14T09:05:00.000Z',
      generatorURL: 'http://prometheus.local:9090/graph?g0.expr=rate%28http_5xx%5B5m%5D%29',
      fingerprint: over.fingerprint ?? 'c6b3a7e1f0f0a1b2',
    },
  ],
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', model: 'support-bot' },
  commonAnnotations: { summary: '5xx rate above 5% for 2m' },
  externalURL: 'http://alertmanager.local:9093',
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  truncatedAlerts: 0,
});

let s: IncidentServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function server(config: unknown = {}): Promise<IncidentServer> {
  s = await startIncidentServer({ clockStart: T0, config });
  await seedSupportBot(s.f);
  return s;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

describe('POST /api/v1/alerts/alertmanager', () => {
  it('opens on firing, absorbs re-sends, resolves on resolved', async () => {
    const { app, keys, feature } = await server();
    const fire = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload: amPayload('firing') });
    expect(fire.statusCode).toBe(200);
    expect(fire.json()).toEqual({
      received: 1,
      results: [{ key: 'c6b3a7e1f0f0a1b2', status: 'firing', action: 'opened', incident: 'INC-20250314-001' }],
    });
    const inc = await feature.incidents.get('INC-20250314-001');
    expect(inc).toMatchObject({
      model: 'support-bot',
      version: 'v2',
      family: 'external',
      severity: 'SEV1',
      source: 'alertmanager',
      status: 'open',
      title: 'HighErrorRate: 5xx rate above 5% for 2m',
      onsetAt: Date.UTC(2025, 2, 14, 8, 58),
    });

    const again = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload: amPayload('firing') });
    expect(again.json().results[0].action).toBe('unchanged');

    const resolved = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload: amPayload('resolved') });
    expect(resolved.json().results[0]).toMatchObject({ action: 'resolved', incident: 'INC-20250314-001' });
    expect((await feature.incidents.get('INC-20250314-001')).status).toBe('resolved');
    const timeline = await feature.incidents.timeline('INC-20250314-001');
    expect(timeline.map((e) => e.kind)).toEqual(['detected', 'alert_resolved', 'status']);
  });

  it('maps failsafe_* labels, warning severity and a family label', async () => {
    const { app, keys, feature } = await server();
    const payload = amPayload('firing', {
      labels: { model: '', failsafe_model: 'support-bot', version: '', failsafe_version: 'v1', severity: 'warning', family: 'latency' },
    });
    const res = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload });
    const inc = await feature.incidents.get(res.json().results[0].incident);
    expect(inc).toMatchObject({ model: 'support-bot', version: 'v1', severity: 'SEV3', family: 'latency', dedupKey: 'support-bot/v1/latency' });
  });

  it('ignores alerts without a model label or for unknown models, and says why', async () => {
    const { app, keys, feature } = await server();
    const payload = amPayload('firing');
    payload.alerts.push({ ...payload.alerts[0]!, labels: { alertname: 'DiskFull', severity: 'warning' } as any, fingerprint: 'aa' });
    payload.alerts.push({ ...payload.alerts[0]!, labels: { alertname: 'X', model: 'ghost-model' } as any, fingerprint: 'bb' });
    const res = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload });
    expect(res.statusCode).toBe(200);
    expect(res.json().results.map((r: any) => [r.action, r.reason])).toEqual([
      ['opened', undefined],
      ['ignored', 'no model label (model or failsafe_model)'],
      ['ignored', 'unknown model "ghost-model"'],
    ]);
    expect(await feature.incidents.list()).toHaveLength(1);
  });

  it('refuses unauthenticated, under-privileged and malformed requests without changing anything', async () => {
    const { app, keys, feature } = await server();
    const post = (headers: Record<string, string>, payload: unknown) =>
      app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers, payload: payload as any });
    const none = await post({ 'content-type': 'application/json' }, amPayload('firing'));
    expect(none.statusCode).toBe(401);
    expect(none.json().error.message).toContain('unsigned alert');
    expect((await post(bearer('fsk_wrong'), amPayload('firing'))).statusCode).toBe(401);
    expect((await post(bearer(keys.viewer), amPayload('firing'))).statusCode).toBe(403);
    const malformed = await post(bearer(keys.operator), '{"version": "4", "alerts": [');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toContain('malformed JSON body');
    const v3 = await post(bearer(keys.operator), { ...amPayload('firing'), version: '3' });
    expect(v3.statusCode).toBe(400);
    expect(v3.json().error.code).toBe('VALIDATION_FAILED');
    const noAlerts = await post(bearer(keys.operator), { ...amPayload('firing'), alerts: [] });
    expect(noAlerts.statusCode).toBe(400);
    const badStatus = await post(bearer(keys.operator), { ...amPayload('firing'), alerts: [{ ...amPayload('firing').alerts[0], status: 'burning' }] });
    expect(badStatus.statusCode).toBe(400);
    const text = await app.inject({
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    // text/plain bodies are read as raw text too (some senders label JSON so); this one is not JSON
    expect(text.statusCode).toBe(400);
    expect(text.json().error.message).toContain('malformed JSON body');
    const empty = await post(bearer(keys.operator), '');
    expect(empty.statusCode).toBe(400);
    expect(await feature.incidents.list()).toEqual([]);
  });

  it('takes a dedicated lower role when configured', async () => {
    const { app, keys } = await server({ alerts: { bearerRole: 'client' } });
    const res = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.client), payload: amPayload('firing') });
    expect(res.statusCode).toBe(200);
  });

  it('answers 413 in the API error shape for bodies over the limit', async () => {
    const { app, keys, feature } = await server({ server: { bodyLimitBytes: 2048 } });
    const payload = amPayload('firing');
    payload.alerts[0]!.annotations.summary = 'x'.repeat(4096);
    const res = await app.inject({ method: 'POST', url: '/api/v1/alerts/alertmanager', headers: bearer(keys.operator), payload });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await feature.incidents.list()).toEqual([]);
  });

  it('leaves the rest of /api/v1 parsing JSON normally', async () => {
    const { app, keys } = await server();
    const res = await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: bearer(keys.operator), payload: { model: 'support-bot', title: 'x' } });
    expect(res.statusCode).toBe(201);
  });
});

describe('POST /api/v1/alerts (generic JSON)', () => {
  it('opens and resolves by the sender dedup key', async () => {
    const { app, keys, feature } = await server();
    const body = { source: 'datadog', model: 'support-bot', version: 'v2', severity: 'warning', title: 'p95 latency > 2s', dedupKey: 'dd-monitor-42', family: 'latency', details: { monitorId: 42 } };
    const open = await app.inject({ method: 'POST', url: '/api/v1/alerts', headers: bearer(keys.operator), payload: body });
    expect(open.statusCode).toBe(201);
    expect(open.json()).toMatchObject({ action: 'opened', incident: { source: 'webhook', severity: 'SEV3', family: 'latency', model: 'support-bot' } });
    const id = open.json().incident.id;
    expect((await feature.incidents.get(id)).sources).toHaveProperty('datadog:dd-monitor-42');
    const resolved = await app.inject({ method: 'POST', url: '/api/v1/alerts', headers: bearer(keys.operator), payload: { ...body, status: 'resolved' } });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({ action: 'resolved', incident: { id, status: 'resolved' } });
  });

  it('refuses unknown models, bad severities and missing fields', async () => {
    const { app, keys, feature } = await server();
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/v1/alerts', headers: bearer(keys.operator), payload: payload as any });
    const unknown = await post({ source: 'sentry', model: 'ghost', title: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('MODEL_NOT_FOUND');
    const sev = await post({ source: 'sentry', model: 'support-bot', title: 'x', severity: 'apocalyptic' });
    expect(sev.statusCode).toBe(400);
    expect(sev.json().error.message).toContain('severity');
    expect((await post({ source: 'sentry', model: 'support-bot' })).statusCode).toBe(400);
    expect((await post({ source: 'bad source!', model: 'support-bot', title: 'x' })).statusCode).toBe(400);
    expect(await feature.incidents.list()).toEqual([]);
  });
});

describe('HMAC-signed alerts', () => {
  const signedPost = (srv: IncidentServer, body: string, signature: string | undefined) =>
    srv.app.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-failsafe-signature': signature } : {}) },
      payload: body,
    });
  const body = JSON.stringify({ source: 'wandb', model: 'support-bot', title: 'eval accuracy dropped to 0.71', severity: 'SEV2' });

  it('accepts a valid signature once, refuses a replay, a wrong one and a stale one', async () => {
    const srv = await server({ alerts: { hmac: { secrets: ['old-secret-0123456789', SECRET] } } });
    const sig = signAlertRequest(SECRET, body, srv.f.clock.now());
    const ok = await signedPost(srv, body, sig);
    expect(ok.statusCode).toBe(201);
    expect(ok.json().incident.severity).toBe('SEV2');

    const replay = await signedPost(srv, body, sig);
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.message).toContain('replayed');

    const t = Math.floor(srv.f.clock.now() / 1000);
    const wrong = await signedPost(srv, body, `t=${t},v1=${hmacSha256Hex('not-the-secret-123456', `${t}.${body}`)}`);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toContain('does not match');

    // the body was changed after signing
    const tampered = await signedPost(srv, body.replace('0.71', '0.99'), signAlertRequest(SECRET, body, srv.f.clock.now() + 1000));
    expect(tampered.statusCode).toBe(401);

    const stale = signAlertRequest(SECRET, body, srv.f.clock.now() - 6 * 60_000);
    const old = await signedPost(srv, body, stale);
    expect(old.statusCode).toBe(401);
    expect(old.json().error.message).toMatch(/360 s old \(limit 300 s\)/);

    const garbage = await signedPost(srv, body, 'sha256=abc');
    expect(garbage.statusCode).toBe(401);
    expect(garbage.json().error.message).toContain('malformed x-failsafe-signature');

    // only the first request changed anything
    const list = await srv.feature.incidents.list();
    expect(list).toHaveLength(1);
    expect(list[0]!.evidenceCount).toBe(1);

    // an older rotated secret still works, with a fresh timestamp
    srv.f.clock.advance(2000);
    const rotated = await signedPost(srv, body, signAlertRequest('old-secret-0123456789', body, srv.f.clock.now()));
    expect(rotated.statusCode).toBe(200);
  });

  it('refuses signed requests when no secret is configured', async () => {
    const srv = await server();
    const res = await signedPost(srv, body, signAlertRequest(SECRET, body, srv.f.clock.now()));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toContain('signed alerts are not enabled');
  });

  it('signs Alertmanager-shaped bodies too', async () => {
    const srv = await server({ alerts: { hmac: { secrets: [SECRET] } } });
    const raw = JSON.stringify(amPayload('firing'));
    const res = await srv.app.inject({
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-failsafe-signature': signAlertRequest(SECRET, raw, srv.f.clock.now()) },
      payload: raw,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().results[0].action).toBe('opened');
  });
});
