// The data plane over real HTTP: the gateway on 127.0.0.1, simulated model servers as upstreams,
// and the real `openai` client against it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import type { Trace } from '../../core/types.ts';
import type { GatewayHooks } from './gateway-hooks.ts';
import { CLIENT_KEY, VIEWER_KEY, servingModel, startTestGateway, type TestGateway } from './gateway-test-kit.ts';

let v1: SimServer;
let v2: SimServer;
let scripted: http.Server;
let scriptedUrl: string;
/** What the scripted upstream answers next: [status, body, content-type]. */
let script: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

beforeAll(async () => {
  v1 = await startSimServer({ name: 'v1' });
  v2 = await startSimServer({ name: 'v2' });
  scripted = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => script(req, res, body));
  });
  await new Promise<void>((r) => scripted.listen(0, '127.0.0.1', r));
  scriptedUrl = `http://127.0.0.1:${(scripted.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await v1.close();
  await v2.close();
  scripted.closeAllConnections();
  await new Promise<void>((r) => scripted.close(() => r()));
});

let g: TestGateway;
let client: OpenAI;

async function start(options: Parameters<typeof startTestGateway>[0] = {}) {
  g = await startTestGateway(options);
  client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 10_000 });
  applySupportBot();
  g.gateway.routeTable.apply(
    servingModel('fraud', 'predict', { p1: { url: `${v1.url}/v1/models/fraud:predict` }, p2: { url: `${v2.url}/v1/models/fraud:predict` } }, { p2: 100 }, { stable: 'p1' }),
  );
}

function applySupportBot(weights: Record<string, number> = { v2: 100 }, extra: Parameters<typeof servingModel>[4] = {}) {
  g.gateway.routeTable.apply(
    servingModel(
      'support-bot',
      'chat',
      {
        v1: { url: `${v1.url}/v1`, model: 'sim-chat' },
        v2: { url: `${v2.url}/v1`, model: 'sim-chat', prompt: 'You are Failsafe support.', params: { temperature: 0.1, max_tokens: 200 } },
        old: { url: `${v1.url}/v1`, model: 'sim-chat', state: 'retired' },
      },
      weights,
      { stable: 'v1', ...extra },
    ),
  );
}

beforeEach(() => {
  v1.setFaults({});
  v2.setFaults({});
  v1.reset();
  v2.reset();
});
afterEach(async () => {
  await g?.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${g.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function traceOf(requestId: string): Promise<Trace> {
  await g.gateway.telemetry.flush();
  const t = await g.stores.traces.get(requestId);
  if (!t) throw new Error(`no trace for ${requestId}`);
  return t;
}

const hello = [{ role: 'user' as const, content: 'hello there, my order is late' }];

function expectOpenAiError(body: any, code?: string) {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: expect.toSatisfy((p) => p === null || typeof p === 'string'), code: code ?? expect.anything() } });
}

describe('gateway: chat completions', () => {
  beforeEach(() => start());

  it('answers through the chosen version: upstream model id, system prompt, params as defaults, model name back', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: hello, temperature: 0.7 }).withResponse();
    expect(data.model).toBe('support-bot');
    expect(data.choices[0].message.content).toMatch(/hello there/);
    expect(response.headers.get('x-failsafe-version')).toBe('v2');
    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(/^req_[0-9A-Za-z]{28}$/);
    const sent = v2.recentRequests().at(-1)!.body as any;
    expect(sent.model).toBe('sim-chat');
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'You are Failsafe support.' });
    expect(sent.messages[1]).toEqual(hello[0]);
    expect(sent.temperature).toBe(0.7); // the client's value wins
    expect(sent.max_tokens).toBe(200); // the version's default fills in
    // Known at once (feedback may come right after the answer): queued, or already stored.
    const known = g.gateway.telemetry.lookupRecent(id) ?? (await g.stores.traces.get(id));
    expect(known).toMatchObject({ model: 'support-bot', version: 'v2' });
    const t = await traceOf(id);
    expect(t).toMatchObject({ model: 'support-bot', version: 'v2', status: 'ok', httpStatus: 200, retried: false, stream: false, kind: 'chat' });
    expect(t.input).toContain('hello there');
    expect(t.output).toBe(data.choices[0].message.content);
    expect(t.inputChars).toBe(hello[0].content.length);
    expect(t.promptTokens).toBeGreaterThan(0);
  });

  it('streams chunk by chunk with [DONE], the same text as the plain answer, and records TTFB', async () => {
    const plain = await client.chat.completions.create({ model: 'support-bot', messages: hello });
    const { data: stream, response } = await client.chat.completions.create({ model: 'support-bot', messages: hello, stream: true }).withResponse();
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.model).toBe('support-bot');
      text += chunk.choices[0]?.delta?.content ?? '';
      chunks++;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(plain.choices[0].message.content);
    expect(response.headers.get('x-failsafe-version')).toBe('v2');
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const raw = await post('/v1/chat/completions', { model: 'support-bot', messages: hello, stream: true });
    expect(raw.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const t = await traceOf(response.headers.get('x-request-id')!);
    expect(t).toMatchObject({ stream: true, status: 'ok', version: 'v2', output: text });
    expect(t.ttfbMs).toBeGreaterThan(0);
    expect(t.ttfbMs).toBeLessThanOrEqual(t.latencyMs);
  });

  it('keeps a sane client x-request-id and replaces an insane one', async () => {
    const sane = await post('/v1/chat/completions', { model: 'support-bot', messages: hello }, { 'x-request-id': 'client-abc.123' });
    expect(sane.headers.get('x-request-id')).toBe('client-abc.123');
    const insane = await post('/v1/chat/completions', { model: 'support-bot', messages: hello }, { 'x-request-id': 'bad id with spaces <script>' });
    expect(insane.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('retries once on the stable version when the chosen one fails before any byte (5xx, reset, malformed, timeout)', async () => {
    for (const faults of [{ errorRate: 1 }, { resetRate: 1 }, { malformedRate: 1 }]) {
      v2.setFaults(faults);
      const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: hello }).withResponse();
      expect(response.headers.get('x-failsafe-version')).toBe('v1');
      expect(data.model).toBe('support-bot');
      const t = await traceOf(response.headers.get('x-request-id')!);
      expect(t).toMatchObject({ version: 'v1', firstVersion: 'v2', retried: true, status: 'ok' });
      expect(t.errorClass).toBe(faults.errorRate ? 'upstream_5xx' : faults.resetRate ? 'connection' : 'malformed_output');
    }
    // Streaming too, when the failure comes before the first event.
    v2.setFaults({ errorRate: 1 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'support-bot', messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(response.headers.get('x-failsafe-version')).toBe('v1');
    // A timeout on the chosen version.
    g.gateway.routeTable.apply(
      servingModel('slow', 'chat', { v1: { url: `${v1.url}/v1`, model: 'sim-chat' }, v2: { url: `${v2.url}/v1`, model: 'sim-chat', timeoutMs: 200 } }, { v2: 100 }, { stable: 'v1' }),
    );
    v2.setFaults({ hangRate: 1 });
    const slow = await post('/v1/chat/completions', { model: 'slow', messages: hello });
    expect(slow.status).toBe(200);
    expect(slow.headers.get('x-failsafe-version')).toBe('v1');
    expect((await traceOf(slow.headers.get('x-request-id')!)).errorClass).toBe('timeout');
    // The windows count the failure against v2 and the answer for v1.
    const now = Date.now();
    expect(g.gateway.telemetry.windows.snapshot('support-bot', 'v2', now - 60_000, now + 1000).errors).toBeGreaterThanOrEqual(4);
  });

  it('answers 502 in OpenAI shape when the retry fails too, naming the last version tried', async () => {
    v1.setFaults({ errorRate: 1 });
    v2.setFaults({ errorRate: 1 });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(r.status).toBe(502);
    expectOpenAiError(r.json, 'upstream_error');
    expect(r.headers.get('x-failsafe-version')).toBe('v1');
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t).toMatchObject({ status: 'error', httpStatus: 502, retried: true, firstVersion: 'v2', version: 'v1', errorClass: 'upstream_5xx' });
    await expect(client.chat.completions.create({ model: 'support-bot', messages: hello })).rejects.toMatchObject({ status: 502 });
  });

  it('passes context-length errors on as 400 context_length_exceeded', async () => {
    v1.setFaults({ longInputFailureChars: 10 });
    v2.setFaults({ longInputFailureChars: 10 });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(r.status).toBe(400);
    expectOpenAiError(r.json, 'context_length_exceeded');
    expect(r.json.error.message).toMatch(/maximum context length/);
    expect((await traceOf(r.headers.get('x-request-id')!)).errorClass).toBe('context_length_exceeded');
  });

  it('pins a version with name@version (no retry elsewhere), 404 for unknown or retired versions', async () => {
    const pinned = await client.chat.completions.create({ model: 'support-bot@v1', messages: hello }).withResponse();
    expect(pinned.response.headers.get('x-failsafe-version')).toBe('v1');
    expect(pinned.data.model).toBe('support-bot');
    v2.setFaults({ errorRate: 1 });
    const failing = await post('/v1/chat/completions', { model: 'support-bot@v2', messages: hello });
    expect(failing.status).toBe(502);
    expect(failing.headers.get('x-failsafe-version')).toBe('v2');
    for (const model of ['support-bot@v9', 'support-bot@old']) {
      const r = await post('/v1/chat/completions', { model, messages: hello });
      expect(r.status).toBe(404);
      expectOpenAiError(r.json, 'version_not_found');
      expect(r.headers.get('x-failsafe-version')).toBeNull();
    }
  });

  it('turns upstream garbage into 502 and never crashes', async () => {
    g.gateway.routeTable.apply(servingModel('junk', 'chat', { j: { url: `${scriptedUrl}/v1` } }, { j: 100 }));
    const answers: Array<[number, string, string]> = [
      [200, 'this is not json', 'application/json'],
      [200, '{"id":"x","object":"chat.completion"}', 'application/json'],
      [200, '[1,2,3]', 'application/json'],
      [500, '<html>oops</html>', 'text/html'],
    ];
    for (const [status, body, type] of answers) {
      script = (_req, res) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      const r = await post('/v1/chat/completions', { model: 'junk', messages: hello });
      expect(r.status).toBe(502);
      expectOpenAiError(r.json);
      expect(r.headers.get('x-failsafe-version')).toBe('j');
    }
    // A stream request answered with SSE garbage before any event reached the client.
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {not json}\n\n');
    };
    expect((await post('/v1/chat/completions', { model: 'junk', messages: hello, stream: true })).status).toBe(502);
    // A stream request answered with one JSON completion is replayed as a stream.
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'whole answer' }, finish_reason: 'stop' }] }));
    };
    const replay = await post('/v1/chat/completions', { model: 'junk', messages: hello, stream: true });
    expect(replay.status).toBe(200);
    expect(replay.text).toContain('whole answer');
    expect(replay.text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('ends a stream cut after bytes reached the client with an error event, records the error', async () => {
    v2.setFaults({ cutStreamRate: 1 });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello, stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-failsafe-version')).toBe('v2');
    expect(r.text).toContain('"content"');
    expect(r.text).not.toContain('[DONE]');
    expect(r.text.trim().split('\n\n').at(-1)).toMatch(/"code":"upstream_stream_interrupted"/);
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t).toMatchObject({ status: 'error', version: 'v2', retried: false, errorClass: 'connection', stream: true });
    expect(t.output!.length).toBeGreaterThan(0);
    // The openai client surfaces it as an error instead of a silently short answer.
    const stream = await client.chat.completions.create({ model: 'support-bot', messages: hello, stream: true });
    await expect(
      (async () => {
        for await (const _c of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow(/interrupted/);
  });

  it('lists models in OpenAI shape without x-failsafe-version', async () => {
    const res = await fetch(`${g.url}/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('x-failsafe-version')).toBeNull();
    const body = await res.json();
    expect(body.object).toBe('list');
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(['fraud', 'support-bot']);
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toContain('support-bot');
    expect((await client.models.retrieve('support-bot')).id).toBe('support-bot');
  });

  it('shadows a copy of the request to the shadow version and records it apart', async () => {
    applySupportBot({ v1: 100 }, { shadow: { version: 'v2', percent: 100 } });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(r.headers.get('x-failsafe-version')).toBe('v1');
    const id = r.headers.get('x-request-id')!;
    for (let i = 0; i < 50 && !(await g.stores.traces.get(`${id}.shadow`)); i++) {
      await new Promise((res) => setTimeout(res, 20));
      await g.gateway.telemetry.flush();
    }
    const shadow = await g.stores.traces.get(`${id}.shadow`);
    expect(shadow).toMatchObject({ shadow: true, version: 'v2', status: 'ok' });
    expect(v2.stats().requests).toBe(1);
    expect(g.gateway.telemetry.lookupRecent(`${id}.shadow`)).toBeUndefined();
  });

  it('keeps a sticky client on one version (header sticky key)', async () => {
    applySupportBot({ v1: 50, v2: 50 }, { stickyKey: 'header:x-client-id' });
    for (const clientId of ['alice', 'bob', 'carol', 'dave']) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello }, { 'x-client-id': clientId });
        seen.add(r.headers.get('x-failsafe-version')!);
      }
      expect(seen.size).toBe(1);
    }
  });
});

describe('gateway: bad input', () => {
  beforeEach(() => start({ bodyLimitBytes: 64 * 1024 }));

  const cases: Array<[string, unknown, number, string | null]> = [
    ['malformed JSON', '{"model": "support-bot", "messages": [', 400, 'bad_request'],
    ['empty body', '', 400, 'bad_request'],
    ['not an object', '[1,2]', 400, 'invalid_type'],
    ['missing model', { messages: hello }, 400, 'missing_required_parameter'],
    ['model not a string', { model: 42, messages: hello }, 400, 'invalid_type'],
    ['messages not an array', { model: 'support-bot', messages: 'hi' }, 400, 'invalid_type'],
    ['missing messages', { model: 'support-bot' }, 400, 'missing_required_parameter'],
    ['message without role', { model: 'support-bot', messages: [{ content: 'x' }] }, 400, 'invalid_type'],
    ['content of a wrong type', { model: 'support-bot', messages: [{ role: 'user', content: 5 }] }, 400, 'invalid_type'],
    ['stream not a boolean', { model: 'support-bot', messages: hello, stream: 'yes' }, 400, 'invalid_type'],
    ['unknown model', { model: 'nope', messages: hello }, 404, 'model_not_found'],
    ['a predict model on chat', { model: 'fraud', messages: hello }, 400, 'wrong_model_kind'],
  ];
  for (const [name, body, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const r = await post('/v1/chat/completions', body);
      expect(r.status).toBe(status);
      expectOpenAiError(r.json, code ?? undefined);
      expect(r.headers.get('x-request-id')).toMatch(/^req_/);
      expect(r.headers.get('x-failsafe-version')).toBeNull();
    });
  }

  it('413 in OpenAI shape for a body over the limit, and the server stays up', async () => {
    const big = { model: 'support-bot', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] };
    const r = await post('/v1/chat/completions', big);
    expect(r.status).toBe(413);
    expectOpenAiError(r.json);
    expect(r.headers.get('x-request-id')).toMatch(/^req_/);
    const ok = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(ok.status).toBe(200);
    await expect(client.chat.completions.create({ model: 'support-bot', messages: big.messages as never })).rejects.toMatchObject({ status: 413 });
  });

  it('unknown /v1 endpoints are OpenAI-shaped 404s; the openai client sees typed errors', async () => {
    const r = await post('/v1/embeddings', { input: 'x' });
    expect(r.status).toBe(404);
    expectOpenAiError(r.json, 'not_found');
    expect(r.headers.get('x-request-id')).toMatch(/^req_/);
    await expect(client.chat.completions.create({ model: 'nope', messages: hello })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('gateway: KServe predict', () => {
  beforeEach(() => start());

  it('passes {"instances"} through and answers {"predictions"} with headers and a trace', async () => {
    const r = await post('/v1/models/fraud:predict', { instances: [[1, 2, 3], [-5, -1, 0]] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: ['positive', 'negative'] });
    expect(r.headers.get('x-failsafe-version')).toBe('p2');
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t).toMatchObject({ kind: 'predict', version: 'p2', prediction: 'positive', features: [1, 2, 3], status: 'ok' });
    expect(v2.recentRequests().at(-1)!.body).toEqual({ instances: [[1, 2, 3], [-5, -1, 0]] });
  });

  it('retries on the stable version and handles bad input in OpenAI shape', async () => {
    v2.setFaults({ errorRate: 1 });
    const r = await post('/v1/models/fraud:predict', { instances: [[1]] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-failsafe-version')).toBe('p1');
    expect((await traceOf(r.headers.get('x-request-id')!)).retried).toBe(true);
    for (const [body, status, code] of [
      [{ inputs: 'x', instances: 'nope' }, 400, 'invalid_type'],
      [{}, 400, 'missing_required_parameter'],
      ['{oops', 400, 'bad_request'],
    ] as const) {
      const bad = await post('/v1/models/fraud:predict', body);
      expect(bad.status).toBe(status);
      expectOpenAiError(bad.json, code);
    }
    expect((await post('/v1/models/nope:predict', { instances: [] })).status).toBe(404);
    expect((await post('/v1/models/support-bot:predict', { instances: [] })).json.error.code).toBe('wrong_model_kind');
    expect((await post('/v1/models/fraud:explain', { instances: [] })).status).toBe(404);
    expect((await post('/v1/models/fraud@p1:predict', { instances: [[1]] })).headers.get('x-failsafe-version')).toBe('p1');
  });

  it('treats an answer without predictions as malformed (502)', async () => {
    g.gateway.routeTable.apply(servingModel('junk', 'predict', { j: { url: `${scriptedUrl}/v1/models/junk:predict` } }, { j: 100 }));
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"outputs":[1]}');
    };
    const r = await post('/v1/models/junk:predict', { instances: [[1]] });
    expect(r.status).toBe(502);
    expectOpenAiError(r.json, 'upstream_malformed_output');
  });
});

describe('gateway: paused, fallbacks, validators', () => {
  it('answers a paused model with a clean 503 + Retry-After, and no version header', async () => {
    await start();
    applySupportBot({ v2: 100 }, { mode: 'paused' });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(r.status).toBe(503);
    expectOpenAiError(r.json, 'model_paused');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(r.headers.get('x-failsafe-version')).toBeNull();
    expect(v1.stats().requests + v2.stats().requests).toBe(0);
    const t = await traceOf(r.headers.get('x-request-id')!);
    expect(t).toMatchObject({ status: 'error', httpStatus: 503, errorClass: 'paused' });
    expect(t.version).toBeUndefined();
  });

  it('serves fallback answers (paused model, failed retry) with x-failsafe-fallback, plain and streaming', async () => {
    const asked: string[] = [];
    const hooks: GatewayHooks = {
      fallback: async (ctx) => {
        asked.push(ctx.reason);
        if (ctx.kind === 'predict') return { source: 'static', predictions: ['negative'] };
        return ctx.reason === 'paused' ? { source: 'static', text: 'We are on it, try again soon.' } : { source: 'cache', text: 'cached answer' };
      },
    };
    await start({ hooks });
    applySupportBot({ v2: 100 }, { mode: 'paused' });
    const { data, response } = await client.chat.completions.create({ model: 'support-bot', messages: hello }).withResponse();
    expect(data.choices[0].message.content).toBe('We are on it, try again soon.');
    expect(data.model).toBe('support-bot');
    expect(response.headers.get('x-failsafe-fallback')).toBe('static');
    expect(response.headers.get('x-failsafe-version')).toBeNull();
    const stream = await client.chat.completions.create({ model: 'support-bot', messages: hello, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('We are on it, try again soon.');

    applySupportBot({ v2: 100 });
    v1.setFaults({ errorRate: 1 });
    v2.setFaults({ errorRate: 1 });
    const failed = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(failed.status).toBe(200);
    expect(failed.headers.get('x-failsafe-fallback')).toBe('cache');
    expect(failed.json.choices[0].message.content).toBe('cached answer');
    const t = await traceOf(failed.headers.get('x-request-id')!);
    expect(t).toMatchObject({ status: 'fallback', fallback: 'cache', retried: true, errorClass: 'upstream_5xx', firstVersion: 'v2' });
    expect(asked).toEqual(['paused', 'paused', 'upstream_failed']);

    g.gateway.routeTable.apply(servingModel('fraud', 'predict', { p1: { url: `${v1.url}/v1/models/fraud:predict` } }, { p1: 100 }, { mode: 'fallback' }));
    const p = await post('/v1/models/fraud:predict', { instances: [[1]] });
    expect(p.json).toEqual({ predictions: ['negative'] });
    expect(p.headers.get('x-failsafe-fallback')).toBe('static');
  });

  it('applies output validators: block answers 502 output_blocked, stream chunks end content-filtered', async () => {
    const hooks: GatewayHooks = {
      validateOutput: (ctx) =>
        ctx.outputText.includes('Signing out')
          ? { results: [{ validator: 'no-signing-out', passed: false, action: 'block' }], action: 'block' }
          : { results: [{ validator: 'no-signing-out', passed: true, action: 'block' }] },
      validateChunk: (ctx) =>
        ctx.textSoFar.includes('again')
          ? { results: [{ validator: 'no-again', passed: false, action: 'block', checkpoint: 'stream' }], action: 'block' }
          : undefined,
    };
    await start({ hooks });
    // For this input the sim answers: About "hello there, my order is late": Signing out and in again should fix it.
    const blocked = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(blocked.status).toBe(502);
    expectOpenAiError(blocked.json, 'output_blocked');
    const t = await traceOf(blocked.headers.get('x-request-id')!);
    expect(t.status).toBe('blocked');
    expect(t.validators).toEqual([{ validator: 'no-signing-out', passed: false, action: 'block' }]);

    const s = await post('/v1/chat/completions', { model: 'support-bot', messages: hello, stream: true });
    expect(s.status).toBe(200);
    expect(s.text).toContain('"finish_reason":"content_filter"');
    expect(s.text).toContain('Signing');
    expect(s.text).not.toContain('again');
    expect(s.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const st = await traceOf(s.headers.get('x-request-id')!);
    expect(st.status).toBe('blocked');
  });
});

describe('gateway: input checkpoint', () => {
  it('blocks a request that fails an input validator before any upstream call (chat and predict)', async () => {
    await start({
      hooks: {
        validateInput: (ctx) =>
          ctx.inputText.includes('forbidden')
            ? { results: [{ validator: 'deny-list', passed: false, action: 'block', checkpoint: 'input' }], action: 'block' }
            : undefined,
      },
    });
    const r = await post('/v1/chat/completions', { model: 'support-bot', messages: [{ role: 'user', content: 'a forbidden word' }] });
    expect(r.status).toBe(400);
    expectOpenAiError(r.json, 'input_blocked');
    expect(v1.stats().requests + v2.stats().requests).toBe(0);
    expect((await traceOf(r.headers.get('x-request-id')!)).status).toBe('blocked');
    const p = await post('/v1/models/fraud:predict', { instances: [['forbidden']] });
    expect(p.status).toBe(400);
    expect((await post('/v1/chat/completions', { model: 'support-bot', messages: hello })).status).toBe(200);
  });
});

describe('gateway: broken hooks', () => {
  it('answers normally when a validator or fallback hook throws', async () => {
    const boom = () => {
      throw new Error('validator crashed');
    };
    await start({ hooks: { validateInput: boom, validateOutput: boom, validateChunk: boom, fallback: async () => boom() } });
    const plain = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(plain.status).toBe(200);
    const stream = await post('/v1/chat/completions', { model: 'support-bot', messages: hello, stream: true });
    expect(stream.status).toBe(200);
    expect(stream.text.endsWith('data: [DONE]\n\n')).toBe(true);
    applySupportBot({ v2: 100 }, { mode: 'paused' });
    const paused = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(paused.status).toBe(503);
  });
});

describe('gateway: client auth and metrics', () => {
  it('requires a client key on /v1 when clientAuth is on; /metrics serves Prometheus text', async () => {
    await start({ config: { server: { clientAuth: true } } });
    const none = await post('/v1/chat/completions', { model: 'support-bot', messages: hello });
    expect(none.status).toBe(401);
    expectOpenAiError(none.json);
    expect(none.headers.get('x-request-id')).toMatch(/^req_/);
    const bad = await post('/v1/chat/completions', { model: 'support-bot', messages: hello }, { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    const ok = await client.chat.completions.create({ model: 'support-bot', messages: hello });
    expect(ok.model).toBe('support-bot');
    const viewer = await post('/v1/chat/completions', { model: 'support-bot', messages: hello }, { authorization: `Bearer ${VIEWER_KEY}` });
    expect(viewer.status).toBe(200);
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/failsafe_requests_total\{model="support-bot",version="v2",status="ok"\} 2/);
    expect(metrics).toMatch(/failsafe_request_duration_seconds_bucket/);
  });
});
