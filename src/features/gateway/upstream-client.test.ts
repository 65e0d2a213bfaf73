import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamClient, UpstreamError, classifyError, classifyStatus, upstreamErrorMessage, type UpstreamTarget } from './upstream-client.ts';

// One scripted upstream: the path says how to misbehave.
let server: http.Server;
let origin: string;
const hanging = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      switch (req.url) {
        case '/ok':
          return send(200, JSON.stringify({ echo: JSON.parse(Buffer.concat(chunks).toString()), accept: req.headers.accept, auth: req.headers.authorization ?? null }));
        case '/500':
          return send(500, JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
        case '/503-text':
          return send(503, 'overloaded', 'text/plain');
        case '/404':
          return send(404, JSON.stringify({ error: { message: 'The model `x` does not exist', type: 'invalid_request_error' } }));
        case '/context':
          return send(
            400,
            JSON.stringify({
              error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", code: 'context_length_exceeded' },
            }),
          );
        case '/400':
          return send(400, JSON.stringify({ error: { message: 'temperature must be <= 2' } }));
        case '/reset':
          return req.socket.destroy();
        case '/hang':
          hanging.add(res);
          return;
        case '/big':
          return send(200, JSON.stringify({ data: 'x'.repeat(5000) }));
        case '/stream':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"a":1}\n\n');
          return res.end('data: [DONE]\n\n');
        default:
          return send(418, 'teapot');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const target = (path: string, extra: Partial<UpstreamTarget> = {}): UpstreamTarget => ({ origin, path, ...extra });

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error('expected a failure');
}

describe('UpstreamClient', () => {
  const client = new UpstreamClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 2000, maxResponseBytes: 1000 });
  afterAll(() => client.close());

  it('posts JSON over keep-alive and returns the answer text, with version headers', async () => {
    const r = await client.postJson(target('/ok', { headers: { authorization: 'Bearer up-key' } }), '{"q":1}');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ echo: { q: 1 }, accept: 'application/json', auth: 'Bearer up-key' });
  });

  it('classifies 5xx, 4xx and context-length 400s', async () => {
    const e500 = await failure(client.postJson(target('/500'), '{}'));
    expect(e500).toMatchObject({ errorClass: 'upstream_5xx', status: 500 });
    expect(upstreamErrorMessage(e500.body)).toBe('boom');
    expect((await failure(client.postJson(target('/503-text'), '{}'))).errorClass).toBe('upstream_5xx');
    const e404 = await failure(client.postJson(target('/404'), '{}'));
    expect(e404).toMatchObject({ errorClass: 'upstream_4xx', status: 404 });
    expect((await failure(client.postJson(target('/400'), '{}'))).errorClass).toBe('upstream_4xx');
    const ctx = await failure(client.postJson(target('/context'), '{}'));
    expect(ctx).toMatchObject({ errorClass: 'context_length_exceeded', status: 400 });
  });

  it('classifies a reset socket and a refused connection as connection errors', async () => {
    expect((await failure(client.postJson(target('/reset'), '{}'))).errorClass).toBe('connection');
    // A port nobody listens on: take a free one and close it again.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const refused = await failure(client.postJson({ origin: `http://127.0.0.1:${port}`, path: '/x' }, '{}'));
    expect(refused.errorClass).toBe('connection');
    expect(refused.message).toMatch(/ECONNREFUSED/);
  });

  it('times out a hanging upstream at the version timeout (total, not per chunk)', async () => {
    const t0 = Date.now();
    const e = await failure(client.postJson(target('/hang', { timeoutMs: 150 }), '{}'));
    expect(e.errorClass).toBe('timeout');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1500);
  });

  it('refuses an answer larger than the read limit as malformed output', async () => {
    expect((await failure(client.postJson(target('/big'), '{}'))).errorClass).toBe('malformed_output');
  });

  it('opens a stream and hands the body over; stream errors before headers are classified', async () => {
    const s = await client.postStream(target('/stream'), '{}');
    expect(s.contentType).toContain('text/event-stream');
    expect(await s.body.text()).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
    expect((await failure(client.postStream(target('/500'), '{}'))).errorClass).toBe('upstream_5xx');
    expect((await failure(client.postStream(target('/hang', { timeoutMs: 150 }), '{}'))).errorClass).toBe('timeout');
  });

  it('classifies raw transport errors and statuses', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('connection');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe('connection');
    expect(classifyStatus(502, '')).toBe('upstream_5xx');
    expect(classifyStatus(429, '{"error":{"message":"rate limit"}}')).toBe('upstream_4xx');
    expect(classifyStatus(400, '{"error":{"code":"context_length_exceeded"}}')).toBe('context_length_exceeded');
    expect(classifyStatus(400, 'prompt is too long: 210000 tokens > 200000 maximum')).toBe('context_length_exceeded');
  });
});
