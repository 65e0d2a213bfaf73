// Simulated model server: OpenAI Chat Completions and KServe V1 predict with run-time fault
// injection. It shares the benchmark machine with the gateway, so it is plain node:http with one
// JSON.parse and one JSON.stringify per request and no work on the healthy path beyond that.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Draw,
  drawUniform,
  parseSimFaults,
  simDelayMs,
  simProfiles,
  type SimFaults,
  type SimFaultsInput,
  type SimProfileName,
} from './sim-faults.ts';
import {
  estimateTokens,
  inputChars,
  instanceScore,
  simChatContent,
  simPrediction,
  wantsJson,
  type SimChatMessage,
  type SimPredictOutput,
} from './sim-replies.ts';

export interface SimServerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Seed of the fault draws (default 1). */
  seed?: number;
  /** Starting faults from a named profile; `faults` are applied on top. */
  profile?: SimProfileName;
  faults?: SimFaults;
  /** Latency of every chat/predict answer before faults (default 0, so benchmarks measure the gateway). */
  baseLatencyMs?: number;
  /** Pause between SSE chunks (default 0: the whole stream is written at once). */
  streamChunkDelayMs?: number;
  /** Ids listed by GET /v1/models and used when a request names no model (default ['sim-chat']). */
  models?: string[];
  /** Predict answers: 'label' ("positive"/"negative", default) or 'score' (logistic of the feature sum). */
  predictOutput?: SimPredictOutput;
  /** A name shown in stats, e.g. the version this server plays. */
  name?: string;
  /** Request bodies larger than this get 413 (default 20 MB). */
  maxBodyBytes?: number;
}

export type SimFaultCounter =
  | 'reset'
  | 'hang'
  | 'contextOverflow'
  | 'error'
  | 'malformed'
  | 'wrongOutput'
  | 'empty'
  | 'refusal'
  | 'cutStream'
  | 'pii'
  | 'slowLongInput';

export interface SimStats {
  name: string;
  /** Requests received outside /_sim. */
  requests: number;
  byPath: Record<string, number>;
  byStatus: Record<string, number>;
  /** How many times each fault fired. */
  faults: Record<SimFaultCounter, number>;
  /** Requests currently held open by hangRate. */
  hanging: number;
}

export interface SimRecordedRequest {
  seq: number;
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface SimServer {
  /** http://127.0.0.1:PORT (no trailing slash); the OpenAI base URL is url + '/v1'. */
  url: string;
  port: number;
  /** Replaces all faults (a profile name, or faults optionally with `profile`); returns the new faults. */
  setFaults(faults: SimFaultsInput | SimProfileName): SimFaults;
  getFaults(): SimFaults;
  stats(): SimStats;
  resetStats(): void;
  /** The last 50 chat/predict requests with their parsed bodies, oldest first. */
  recentRequests(): SimRecordedRequest[];
  /** Restarts the fault sequence (optionally with a new seed) and clears stats and recorded requests; faults stay. */
  reset(options?: { seed?: number }): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json';
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const RECENT_MAX = 50;
const PREDICT_PREFIX = '/v1/models/';
const PREDICT_SUFFIX = ':predict';

function emptyFaultCounters(): Record<SimFaultCounter, number> {
  return {
    reset: 0,
    hang: 0,
    contextOverflow: 0,
    error: 0,
    malformed: 0,
    wrongOutput: 0,
    empty: 0,
    refusal: 0,
    cutStream: 0,
    pii: 0,
    slowLongInput: 0,
  };
}

function openAIErrorBody(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

// What OpenAI answers for these statuses, so clients and the gateway see the real shapes.
function openAIErrorFor(status: number): string {
  if (status === 429) {
    return openAIErrorBody('Rate limit reached for requests. Please try again later.', 'requests', null, 'rate_limit_exceeded');
  }
  if (status === 503) {
    return openAIErrorBody('The engine is currently overloaded, please try again later.', 'server_error', null, null);
  }
  if (status >= 500) {
    return openAIErrorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null, null);
  }
  if (status === 401) return openAIErrorBody('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
  return openAIErrorBody(`Simulated error ${status}.`, 'invalid_request_error', null, null);
}

/** Splits content into word-sized pieces whose concatenation is exactly the content. */
function streamPieces(content: string): string[] {
  return content.match(/\s*\S+\s*/g) ?? (content ? [content] : []);
}

export async function startSimServer(options: SimServerOptions = {}): Promise<SimServer> {
  const host = options.host ?? '127.0.0.1';
  const baseLatencyMs = options.baseLatencyMs ?? 0;
  const chunkDelayMs = options.streamChunkDelayMs ?? 0;
  const models = options.models?.length ? options.models : ['sim-chat'];
  const defaultModel = models[0];
  const predictOutput = options.predictOutput ?? 'label';
  const maxBodyBytes = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const name = options.name ?? 'sim';
  const startedAt = Math.floor(Date.now() / 1000);

  let seed = options.seed ?? 1;
  let seq = 0;
  let faults: SimFaults = parseSimFaults({ ...(options.faults ?? {}), profile: options.profile });
  let requests = 0;
  let byPath: Record<string, number> = {};
  let byStatus: Record<string, number> = {};
  let faultCounts = emptyFaultCounters();
  let recent: SimRecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<http.ServerResponse>();
  let idTag = '';

  const draw = (n: number, kind: number, rate: number | undefined, sub = 0): boolean =>
    rate !== undefined && rate > 0 && drawUniform(seed, n, kind, sub) < rate;

  function send(res: http.ServerResponse, status: number, body: string, contentType = JSON_TYPE): void {
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function record(n: number, req: http.IncomingMessage, path: string, body: unknown): void {
    if (recent.length >= RECENT_MAX) recent.shift();
    recent.push({ seq: n, at: Date.now(), method: req.method ?? '', path, headers: req.headers, body });
  }

  function later(delay: number, res: http.ServerResponse, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!res.destroyed) fn();
    }, delay);
    timers.add(t);
  }

  function hang(res: http.ServerResponse): void {
    faultCounts.hang++;
    hanging.add(res);
    res.on('close', () => hanging.delete(res));
  }

  function reset(req: http.IncomingMessage): void {
    faultCounts.reset++;
    req.socket.destroy();
  }

  function readBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onBody: (raw: Buffer) => void,
    tooLarge: () => void,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > maxBodyBytes) {
        over = true;
        chunks.length = 0;
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.destroyed) return;
      if (over) return tooLarge();
      onBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
  }

  // ---- OpenAI chat completions ----

  function onChat(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: Buffer): void {
    let body: any;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(
        res,
        400,
        openAIErrorBody(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
          'invalid_request_error',
          null,
          null,
        ),
      );
    }
    const messages: unknown = body?.messages;
    if (!Array.isArray(messages) || messages.length === 0) {
      return send(
        res,
        400,
        openAIErrorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'messages', 'missing_required_parameter'),
      );
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (m === null || typeof m !== 'object' || typeof m.role !== 'string') {
        return send(
          res,
          400,
          openAIErrorBody(`Invalid value for 'messages[${i}]': expected an object with a 'role'.`, 'invalid_request_error', `messages[${i}]`, 'invalid_value'),
        );
      }
    }
    const n = seq++;
    record(n, req, path, body);
    const f = faults;
    if (draw(n, Draw.Reset, f.resetRate)) return reset(req);
    if (draw(n, Draw.Hang, f.hangRate)) return hang(res);

    const chars = inputChars(messages as SimChatMessage[]);
    const promptTokens = estimateTokens(chars);
    const maxTokensRaw = body.max_completion_tokens ?? body.max_tokens;
    const maxTokens = typeof maxTokensRaw === 'number' && maxTokensRaw >= 0 ? maxTokensRaw : undefined;
    const overflow = chatOverflow(f, chars, promptTokens, maxTokens);
    if (overflow) {
      faultCounts.contextOverflow++;
      return send(res, 400, openAIErrorBody(overflow, 'invalid_request_error', 'messages', 'context_length_exceeded'));
    }
    const delay = delayFor(f, n, chars);
    if (delay > 0) later(delay, res, () => answerChat(res, n, body, f, promptTokens, maxTokens));
    else answerChat(res, n, body, f, promptTokens, maxTokens);
  }

  function chatOverflow(f: SimFaults, chars: number, promptTokens: number, maxTokens: number | undefined): string | null {
    if (f.longInputFailureChars !== undefined && chars > f.longInputFailureChars) {
      const limit = estimateTokens(f.longInputFailureChars);
      return `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`;
    }
    if (f.contextWindowTokens !== undefined && promptTokens + (maxTokens ?? 0) > f.contextWindowTokens) {
      const asked = maxTokens ? ` (${promptTokens} in the messages, ${maxTokens} in the completion)` : ' in the messages';
      return `This model's maximum context length is ${f.contextWindowTokens} tokens. However, you requested ${promptTokens + (maxTokens ?? 0)} tokens${asked}. Please reduce the length of the messages or completion.`;
    }
    return null;
  }

  function delayFor(f: SimFaults, n: number, chars: number): number {
    if (f.slowOnLongInputChars !== undefined && chars > f.slowOnLongInputChars) faultCounts.slowLongInput++;
    return simDelayMs(f, baseLatencyMs, seed, n, chars);
  }

  function answerChat(
    res: http.ServerResponse,
    n: number,
    body: any,
    f: SimFaults,
    promptTokens: number,
    maxTokens: number | undefined,
  ): void {
    if (draw(n, Draw.Error, f.errorRate)) {
      faultCounts.error++;
      const status = f.errorStatus ?? 500;
      return send(res, status, openAIErrorFor(status));
    }
    const messages = body.messages as SimChatMessage[];
    const json = wantsJson(body);
    const empty = draw(n, Draw.Empty, f.emptyRate);
    const refusal = !empty && draw(n, Draw.Refusal, f.refusalRate);
    const wrong = !empty && !refusal && draw(n, Draw.Wrong, f.wrongOutputRate);
    const pii = !empty && !refusal && draw(n, Draw.Pii, f.piiRate);
    const malformed = draw(n, Draw.Malformed, f.malformedRate);
    if (empty) faultCounts.empty++;
    if (refusal) faultCounts.refusal++;
    if (wrong) faultCounts.wrongOutput++;
    if (pii) faultCounts.pii++;
    if (malformed) faultCounts.malformed++;

    let content = empty ? '' : simChatContent(messages, { json, wrong, refusal, pii });
    // In JSON mode the model "writes" broken JSON; otherwise the wire format itself is broken below.
    if (malformed && json) content = content.slice(0, Math.max(1, Math.floor(content.length * 0.6)));
    let finishReason = 'stop';
    if (maxTokens !== undefined && estimateTokens(content.length) > maxTokens) {
      content = content.slice(0, maxTokens * 4);
      finishReason = 'length';
    }
    const model = typeof body.model === 'string' && body.model ? body.model : defaultModel;
    const id = `chatcmpl-${idTag}${n.toString(36).padStart(8, '0')}`;
    const created = Math.floor(Date.now() / 1000);
    const completionTokens = estimateTokens(content.length);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };

    if (body.stream === true) {
      const cut = draw(n, Draw.CutStream, f.cutStreamRate);
      if (cut) faultCounts.cutStream++;
      const includeUsage = body.stream_options?.include_usage === true;
      return streamChat(res, { id, created, model, content, finishReason, usage: includeUsage ? usage : null, cut, malformed: malformed && !json });
    }

    let payload = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
      service_tier: 'default',
      system_fingerprint: null,
    });
    if (malformed && !json) payload = payload.slice(0, payload.length >> 1);
    send(res, 200, payload);
  }

  interface StreamPlan {
    id: string;
    created: number;
    model: string;
    content: string;
    finishReason: string;
    usage: object | null;
    cut: boolean;
    malformed: boolean;
  }

  function streamChat(res: http.ServerResponse, p: StreamPlan): void {
    const head = `data: {"id":${JSON.stringify(p.id)},"object":"chat.completion.chunk","created":${p.created},"model":${JSON.stringify(p.model)},"system_fingerprint":null,"choices":`;
    const frame = (delta: object, finish: string | null): string =>
      `${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
    const frames: string[] = [frame({ role: 'assistant', content: '', refusal: null }, null)];
    for (const piece of streamPieces(p.content)) frames.push(frame({ content: piece }, null));
    const contentEnd = frames.length;
    frames.push(frame({}, p.finishReason));
    if (p.usage) frames.push(`${head}[],"usage":${JSON.stringify(p.usage)}}\n\n`);
    frames.push('data: [DONE]\n\n');

    if (p.malformed) {
      // One frame cut in half: the client's SSE parser meets invalid JSON in an otherwise normal stream.
      const i = Math.max(1, contentEnd >> 1);
      frames[i] = `${frames[i].slice(0, frames[i].length >> 1)}\n\n`;
    }
    // A cut stream keeps the role frame and about half of the content, then the socket goes away.
    const stopAt = p.cut ? Math.max(1, Math.ceil(contentEnd / 2)) : frames.length;

    byStatus[200] = (byStatus[200] ?? 0) + 1;
    res.writeHead(200, SSE_HEADERS);
    if (chunkDelayMs <= 0) {
      const text = stopAt === frames.length ? frames.join('') : frames.slice(0, stopAt).join('');
      if (p.cut) res.write(text, () => res.destroy());
      else res.end(text);
      return;
    }
    let i = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (i >= stopAt) {
        if (p.cut) res.destroy();
        else res.end();
        return;
      }
      res.write(frames[i++]);
      later(chunkDelayMs, res, step);
    };
    step();
  }

  // ---- KServe V1 predict ----

  function onPredict(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: Buffer): void {
    let body: any;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, JSON.stringify({ error: 'Unrecognized request format: body is not valid JSON' }));
    }
    const instances: unknown = body?.instances;
    if (!Array.isArray(instances)) {
      return send(res, 400, JSON.stringify({ error: 'Expected "instances" to be a list' }));
    }
    const sums = new Array<number>(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const s = instanceScore(instances[i]);
      if (s === null) {
        return send(res, 400, JSON.stringify({ error: `instances[${i}] must be a list of numbers (or {"features": [...]})` }));
      }
      sums[i] = s;
    }
    const n = seq++;
    record(n, req, path, body);
    const f = faults;
    if (draw(n, Draw.Reset, f.resetRate)) return reset(req);
    if (draw(n, Draw.Hang, f.hangRate)) return hang(res);
    const chars = raw.length;
    if (
      (f.longInputFailureChars !== undefined && chars > f.longInputFailureChars) ||
      (f.contextWindowTokens !== undefined && estimateTokens(chars) > f.contextWindowTokens)
    ) {
      faultCounts.contextOverflow++;
      return send(res, 400, JSON.stringify({ error: `Input too large: ${chars} characters exceeds the model's input limit` }));
    }
    const delay = delayFor(f, n, chars);
    if (delay > 0) later(delay, res, () => answerPredict(res, n, f, sums));
    else answerPredict(res, n, f, sums);
  }

  function answerPredict(res: http.ServerResponse, n: number, f: SimFaults, sums: number[]): void {
    if (draw(n, Draw.Error, f.errorRate)) {
      faultCounts.error++;
      const status = f.errorStatus ?? 500;
      return send(res, status, JSON.stringify({ error: status >= 500 ? 'Internal Server Error' : `Simulated error ${status}` }));
    }
    let predictions: Array<string | number> = [];
    if (draw(n, Draw.Empty, f.emptyRate)) faultCounts.empty++;
    else {
      predictions = new Array(sums.length);
      for (let i = 0; i < sums.length; i++) {
        // Drawn per instance so a batch shows the configured share of wrong labels.
        const wrong = draw(n, Draw.Wrong, f.wrongOutputRate, i + 1);
        if (wrong) faultCounts.wrongOutput++;
        predictions[i] = simPrediction(sums[i], predictOutput, wrong);
      }
    }
    let payload = JSON.stringify({ predictions });
    if (draw(n, Draw.Malformed, f.malformedRate)) {
      faultCounts.malformed++;
      payload = payload.slice(0, payload.length >> 1);
    }
    send(res, 200, payload);
  }

  // ---- control API ----

  function onControl(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    const method = req.method ?? 'GET';
    const withBody = (fn: (value: unknown) => void): void =>
      readBody(
        req,
        res,
        (raw) => {
          let value: unknown = {};
          if (raw.length > 0) {
            try {
              value = JSON.parse(raw.toString('utf8'));
            } catch {
              return controlError(res, 400, 'body is not valid JSON');
            }
          }
          try {
            fn(value);
          } catch (err) {
            controlError(res, 400, (err as Error).message);
          }
        },
        () => controlError(res, 413, 'body too large'),
      );

    if (path === '/_sim/faults') {
      if (method === 'GET') return sendJson(res, faults);
      if (method === 'PUT') return withBody((v) => sendJson(res, server.setFaults(v as SimFaultsInput)));
      if (method === 'PATCH') return withBody((v) => sendJson(res, patchFaults(v)));
      if (method === 'DELETE') return sendJson(res, server.setFaults({}));
    } else if (path === '/_sim/stats') {
      if (method === 'GET') return sendJson(res, server.stats());
      if (method === 'DELETE') {
        server.resetStats();
        return sendJson(res, server.stats());
      }
    } else if (path === '/_sim/requests' && method === 'GET') {
      return sendJson(res, { requests: recent });
    } else if (path === '/_sim/profiles' && method === 'GET') {
      return sendJson(res, simProfiles);
    } else if (path === '/_sim/reset' && method === 'POST') {
      return withBody((v) => {
        const s = (v as { seed?: unknown } | null)?.seed;
        if (s !== undefined && (typeof s !== 'number' || !Number.isInteger(s))) throw new Error('seed must be an integer');
        server.reset({ seed: s as number | undefined });
        sendJson(res, { seed, faults });
      });
    }
    req.resume();
    controlError(res, 404, `no control route ${method} ${path}`);
  }

  function patchFaults(v: unknown): SimFaults {
    const parsed = parseSimFaults(v);
    const merged: Record<string, unknown> = { ...faults, ...parsed };
    // null removes a fault, so one PATCH can both add and clear.
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (val === null) delete merged[k];
    faults = parseSimFaults(merged);
    return faults;
  }

  function sendJson(res: http.ServerResponse, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function controlError(res: http.ServerResponse, status: number, message: string): void {
    const body = JSON.stringify({ error: { message } });
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  // ---- dispatch ----

  const httpServer = http.createServer({ noDelay: true, keepAliveTimeout: 60_000, headersTimeout: 65_000, requestTimeout: 120_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith('/_sim/')) return onControl(req, res, path);
    requests++;
    byPath[path] = (byPath[path] ?? 0) + 1;
    const method = req.method;
    const tooLarge = (): void =>
      send(res, 413, openAIErrorBody(`Request body exceeds ${maxBodyBytes} bytes.`, 'invalid_request_error', null, 'request_too_large'));
    if (method === 'POST') {
      if (path === '/v1/chat/completions') return readBody(req, res, (raw) => onChat(req, res, path, raw), tooLarge);
      if (path.startsWith(PREDICT_PREFIX) && path.endsWith(PREDICT_SUFFIX)) {
        return readBody(req, res, (raw) => onPredict(req, res, path, raw), tooLarge);
      }
    } else if (method === 'GET') {
      if (path === '/healthz') return send(res, 200, '{"status":"ok"}');
      if (path === '/v1/models') {
        return send(
          res,
          200,
          JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: startedAt, owned_by: 'failsafe-sim' })) }),
        );
      }
      if (path.startsWith(PREDICT_PREFIX) && path.length > PREDICT_PREFIX.length) {
        // Answers both OpenAI's "retrieve model" and KServe V1's model readiness.
        const id = decodeURIComponent(path.slice(PREDICT_PREFIX.length));
        return send(res, 200, JSON.stringify({ id, object: 'model', created: startedAt, owned_by: 'failsafe-sim', name: id, ready: true }));
      }
    }
    req.resume();
    send(res, 404, openAIErrorBody(`Unknown request URL: ${method} ${path}.`, 'invalid_request_error', null, 'unknown_url'));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  idTag = `sim${port.toString(36)}`;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;

  const server: SimServer = {
    url: `http://${hostForUrl}:${port}`,
    port,
    setFaults(input) {
      faults = parseSimFaults(typeof input === 'string' ? { profile: input } : input);
      return faults;
    },
    getFaults: () => ({ ...faults }),
    stats: () => ({
      name,
      requests,
      byPath: { ...byPath },
      byStatus: { ...byStatus },
      faults: { ...faultCounts },
      hanging: hanging.size,
    }),
    resetStats() {
      requests = 0;
      byPath = {};
      byStatus = {};
      faultCounts = emptyFaultCounters();
    },
    recentRequests: () => recent.slice(),
    reset(opts = {}) {
      if (opts.seed !== undefined) seed = opts.seed;
      seq = 0;
      recent = [];
      server.resetStats();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      return closing;
    },
  };
  return server;
}
