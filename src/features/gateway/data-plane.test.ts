// The data plane's own router over real HTTP: what it does itself (body limits without a
// Content-Length, clients that leave mid-body, URL decoding, methods, HEAD, unexpected failures)
// and the Fastify forward that app.inject goes through.
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { parseJsonBody } from './data-plane.ts';
import { servingModel, startTestGateway, type TestGateway } from './gateway-test-kit.ts';

let upstream: SimServer;
let g: TestGateway;

beforeAll(async () => {
  upstream = await startSimServer({ name: 'v1' });
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(async () => {
  g = await startTestGateway({ bodyLimitBytes: 16 * 1024 });
  g.gateway.routeTable.apply(servingModel('bot', 'chat', { v1: { url: `${upstream.url}/v1`, model: 'sim-chat' } }, { v1: 100 }, { stable: 'v1' }));
});
afterEach(async () => {
  await g.close();
});

const chatBody = JSON.stringify({ model: 'bot', messages: [{ role: 'user', content: 'hello' }] });

/** A raw HTTP/1.1 request, so the test controls framing (chunked bodies, HEAD). */
function request(method: string, path: string, body?: string | string[], headers: Record<string, string> = {}) {
  const { port } = new URL(g.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    for (const part of Array.isArray(body) ? body : body === undefined ? [] : [body]) req.write(part);
    req.end();
  });
}

function expectOpenAiError(text: string, status: number, code: string) {
  const body = JSON.parse(text);
  expect(body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(status).toBeGreaterThanOrEqual(400);
}

describe('data plane router', () => {
  it('answers 413 for a chunked body that grows past the limit, and keeps serving', async () => {
    const chunk = 'x'.repeat(4096);
    const r = await request('POST', '/v1/chat/completions', [`{"model":"bot","messages":[{"role":"user","content":"`, chunk, chunk, chunk, chunk, chunk, '"}]}'], {
      'transfer-encoding': 'chunked',
    });
    expect(r.status).toBe(413);
    expectOpenAiError(r.text, r.status, 'payload_too_large');
    expect(r.headers['x-request-id']).toMatch(/^req_/);
    const ok = await request('POST', '/v1/chat/completions', chatBody);
    expect(ok.status).toBe(200);
  });

  it('survives a client that leaves mid-body and records nothing for it', async () => {
    const { port } = new URL(g.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nx-request-id: gone-1\r\n\r\n{"model":"bot"`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const ok = await request('POST', '/v1/chat/completions', chatBody);
    expect(ok.status).toBe(200);
    await g.gateway.telemetry.flush();
    expect(await g.stores.traces.get('gone-1')).toBeUndefined();
    expect(await g.stores.traces.get(String(ok.headers['x-request-id']))).toBeDefined();
  });

  it('refuses a path that is not valid percent-encoding with a 400', async () => {
    const r = await request('GET', '/v1/models/%E0%A4%A');
    expect(r.status).toBe(400);
    expectOpenAiError(r.text, r.status, 'bad_request');
  });

  it('decodes the model in the path', async () => {
    const r = await request('GET', '/v1/models/bot%40v1');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ id: 'bot', object: 'model' });
  });

  it('serves HEAD like GET without a body, and 404s other methods and paths in OpenAI shape', async () => {
    const head = await request('HEAD', '/v1/models');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['content-type']).toContain('application/json');
    for (const [method, path] of [
      ['GET', '/v1/chat/completions'],
      ['DELETE', '/v1/models/bot'],
      ['GET', '/v1'],
      ['GET', '/v1/models/bot/extra'],
      ['GET', '/v1/models/'],
    ]) {
      const r = await request(method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expectOpenAiError(r.text, r.status, 'not_found');
      expect(JSON.parse(r.text).error.message).toContain(`${method} ${path}`);
    }
  });

  it('leaves paths that only start with /v1 to Fastify', async () => {
    const r = await request('GET', '/v1x');
    expect(r.status).toBe(404);
    // Fastify's not-found answer is in the admin API's shape, not OpenAI's.
    expect(JSON.parse(r.text).error).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('answers an unexpected failure with a 500 in OpenAI shape and stays up', async () => {
    const routes = g.gateway.routeTable;
    const get = routes.get.bind(routes);
    routes.get = () => {
      throw new Error('boom');
    };
    const r = await request('POST', '/v1/chat/completions', chatBody, { 'x-request-id': 'boom-1' });
    routes.get = get;
    expect(r.status).toBe(500);
    expectOpenAiError(r.text, r.status, 'internal');
    expect(JSON.parse(r.text).error.message).not.toContain('boom');
    expect(r.headers['x-request-id']).toBe('boom-1');
    expect((await request('POST', '/v1/chat/completions', chatBody)).status).toBe(200);
  });

  it('serves app.inject through the same router (bodies included)', async () => {
    const ok = await g.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody, headers: { 'content-type': 'application/json' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['x-failsafe-version']).toBe('v1');
    expect(ok.json().model).toBe('bot');
    const bad = await g.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: '{"model":', headers: { 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('bad_request');
  });
});

describe('parseJsonBody', () => {
  it('parses JSON and names the problem otherwise', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    expect(() => parseJsonBody('')).toThrow(/empty/);
    expect(() => parseJsonBody('{"a":')).toThrow(/malformed JSON body/);
  });
});
