// POST /v1/chat/completions. The client names a Failsafe model (`name`, or `name@version` to pin);
// the route table picks a version, the request is rewritten for that version's upstream (model
// id, system prompt, default params) and the answer is passed back with `model` set to the
// Failsafe name. A version that fails before any byte reached the client is retried once on
// the last stable version.
import type { ServerResponse } from 'node:http';
import {
  Exchange,
  askFallback,
  chooseVersion,
  sendApiError,
  sendFallback,
  sendJson,
  runValidator,
  upstreamFailure,
  writeSseHead,
  type GatewayCall,
  type GatewayRuntime,
} from './exchange.ts';
import type { ValidationOutcome } from './gateway-hooks.ts';
import {
  SSE_DONE,
  apiError,
  checkChatRequest,
  completionText,
  isPlainObject,
  messagesText,
  sseErrorEvent,
  sseFromText,
  usageOf,
} from './openai-shapes.ts';
import type { CompiledVersion } from './route-table.ts';
import { SseParser } from './sse.ts';
import { UpstreamError, classifyError, describe } from './upstream-client.ts';

type ChatBody = Record<string, unknown> & { model: string; messages: Array<Record<string, unknown>> };

/** `name@version` → name and pinned version. */
export function splitModel(model: string): { name: string; pinned?: string } {
  const at = model.indexOf('@');
  return at < 0 ? { name: model } : { name: model.slice(0, at), pinned: model.slice(at + 1) };
}

/** The request as this version's upstream gets it. Client values win over version params. */
export function upstreamChatBody(body: Record<string, unknown>, v: CompiledVersion, modelName: string): string {
  const out: Record<string, unknown> = { ...body };
  const params = v.params;
  if (params) {
    for (let i = 0; i < params.length; i++) {
      const [k, val] = params[i];
      if (out[k] === undefined && k !== 'model' && k !== 'messages') out[k] = val;
    }
  }
  out.model = v.upstreamModel ?? modelName;
  if (v.prompt) out.messages = [{ role: 'system', content: v.prompt }, ...(body.messages as unknown[])];
  return JSON.stringify(out);
}

/**
 * The upstream answer with `model` set to the Failsafe name. Re-serializing the whole answer costs
 * more than the rest of the request path, so the top-level `"model":"<id>"` pair is replaced in
 * the text when it occurs exactly once: in serializer output a `"` inside a string value is
 * always escaped, so an unescaped pair can only be a key and its value. Otherwise: stringify.
 */
export function withModelName(text: string, body: Record<string, unknown>, name: string): string {
  const m = body.model;
  if (m === name) return text;
  if (typeof m === 'string') {
    const needle = `"model":${JSON.stringify(m)}`;
    const i = text.indexOf(needle);
    if (i >= 0 && text.indexOf(needle, i + needle.length) < 0) {
      return `${text.slice(0, i)}"model":${JSON.stringify(name)}${text.slice(i + needle.length)}`;
    }
  }
  return JSON.stringify({ ...body, model: name });
}

function toUpstreamError(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const cls = classifyError(err);
  return new UpstreamError(cls, describe(cls, err, 0), { cause: err });
}

export function chatHandler(rt: GatewayRuntime) {
  return async function chatCompletions(call: GatewayCall): Promise<void> {
    const { requestId, res } = call;
    const body = call.body;
    const bad = checkChatRequest(body);
    if (bad) return sendApiError(res, requestId, bad);
    const b = body as ChatBody;
    const { name, pinned } = splitModel(b.model);
    const route = rt.routes.get(name);
    if (!route) return sendApiError(res, requestId, apiError(404, `The model '${name}' does not exist`, 'model_not_found', 'model'));
    if (route.kind !== 'chat') {
      return sendApiError(res, requestId, apiError(400, `model '${name}' is a predict model: call POST /v1/models/${name}:predict`, 'wrong_model_kind', 'model'));
    }
    const ex = new Exchange(rt, requestId, 'chat', route, b, pinned);
    ex.stream = b.stream === true;
    const input = messagesText(b.messages, rt.inputTextCap);
    ex.inputText = input.text;
    ex.inputChars = input.chars;
    ex.client = call.apiKey?.name ?? (typeof b.user === 'string' ? b.user : undefined);

    const picked = await chooseVersion(ex, call);
    if (!picked) return;

    if (rt.hooks.validateInput) {
      const outcome = await runValidator(ex, rt.hooks.validateInput, { requestId, model: name, kind: 'chat', request: b, inputText: ex.inputText, stream: ex.stream });
      ex.addValidatorResults(outcome);
      if (outcome?.action === 'fallback') {
        const answer = await askFallback(ex, 'validator', { validators: outcome.results });
        if (answer) return sendFallback(ex, res, answer, 'input_validator');
      }
      if (outcome?.action === 'block' || outcome?.action === 'fallback') {
        ex.finish({ httpStatus: 400, status: 'blocked', errorClass: 'input_validator' });
        return sendApiError(res, requestId, apiError(400, 'the request failed an input check', 'input_blocked', 'messages'));
      }
    }

    ex.firstVersion = picked.name;
    return ex.stream ? serveStream(ex, picked, res) : serveJson(ex, picked, res);
  };
}

type JsonResult = { ok: true; body: Record<string, unknown>; text: string; raw: string } | { ok: false; error: UpstreamError };

async function callJson(ex: Exchange, v: CompiledVersion): Promise<JsonResult> {
  const t = performance.now();
  ex.upstreamHost = v.host;
  try {
    const res = await ex.rt.upstream.postJson(v, upstreamChatBody(ex.request, v, ex.name));
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new UpstreamError('malformed_output', 'answer is not valid JSON', { status: res.status });
    }
    const text = completionText(parsed);
    if (text === undefined) throw new UpstreamError('malformed_output', 'answer has no choices[0].message', { status: res.status });
    ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t });
    return { ok: true, body: parsed as Record<string, unknown>, text, raw: res.text };
  } catch (err) {
    const e = toUpstreamError(err);
    ex.attempts.push({ version: v.name, ok: false, errorClass: e.errorClass, latencyMs: performance.now() - t });
    return { ok: false, error: e };
  }
}

async function serveJson(ex: Exchange, first: CompiledVersion, res: ServerResponse): Promise<void> {
  const rt = ex.rt;
  let version = first;
  let r = await callJson(ex, version);
  let firstError: UpstreamError | undefined;
  if (!r.ok) {
    firstError = r.error;
    const retry = ex.retryTarget(version);
    if (retry) {
      version = retry;
      r = await callJson(ex, version);
    }
  }
  if (!r.ok) return failed(ex, res, version, r.error);
  ex.version = version;

  if (rt.hooks.validateOutput) {
    const outcome = await runValidator(ex, rt.hooks.validateOutput, {
      requestId: ex.requestId,
      model: ex.name,
      version: version.name,
      kind: 'chat',
      request: ex.request,
      inputText: ex.inputText,
      outputText: r.text,
      response: r.body,
      stream: false,
    });
    ex.addValidatorResults(outcome);
    if (outcome && (outcome.action === 'fallback' || outcome.action === 'block')) return blocked(ex, res, outcome, r.text);
  }

  const usage = usageOf(r.body);
  sendJson(res, 200, ex.requestId, version.name, withModelName(r.raw, r.body, ex.name));
  ex.finish({
    httpStatus: 200,
    status: 'ok',
    output: r.text,
    promptTokens: usage.prompt,
    completionTokens: usage.completion,
    errorClass: firstError?.errorClass,
    errorMessage: firstError ? `first attempt on ${first.name} failed: ${firstError.message}` : undefined,
  });
  afterAnswer(ex, version, r.text, r.body);
}

async function blocked(ex: Exchange, res: ServerResponse, outcome: ValidationOutcome, outputText: string): Promise<void> {
  const version = ex.version!;
  if (outcome.action === 'fallback') {
    const answer = await askFallback(ex, 'validator', { version: version.name, validators: outcome.results });
    if (answer) return sendFallback(ex, res, answer, 'validator');
  }
  ex.finish({ httpStatus: 502, status: 'blocked', errorClass: 'validator', output: outputText });
  return sendApiError(res, ex.requestId, apiError(502, `the answer of model version ${version.name} failed an output check`, 'output_blocked'), version.name);
}

async function failed(ex: Exchange, res: ServerResponse, version: CompiledVersion, err: UpstreamError): Promise<void> {
  const answer = await askFallback(ex, 'upstream_failed', { errorClass: err.errorClass, version: version.name });
  if (answer) return sendFallback(ex, res, answer, err.errorClass, err.message);
  const e = upstreamFailure(err, version.name);
  // The version whose failure the client sees is named, so a failed request is attributable.
  ex.version = version;
  ex.finish({ httpStatus: e.status, status: 'error', errorClass: err.errorClass, errorMessage: err.message });
  return sendApiError(res, ex.requestId, e, version.name);
}

function afterAnswer(ex: Exchange, version: CompiledVersion, outputText: string, response?: Record<string, unknown>): void {
  const rt = ex.rt;
  if (rt.hooks.onAnswer) {
    try {
      rt.hooks.onAnswer({ requestId: ex.requestId, model: ex.name, version: version.name, kind: 'chat', request: ex.request, inputText: ex.inputText, outputText, response });
    } catch (err) {
      rt.logger.warn({ err, requestId: ex.requestId }, 'onAnswer hook failed');
    }
  }
  const shadow = rt.routes.shadowFor(ex.route, version);
  if (shadow) void shadowCall(ex, shadow);
}

/** Sends a copy of the request to the shadow version; its answer is recorded, never returned. */
async function shadowCall(ex: Exchange, v: CompiledVersion): Promise<void> {
  const rt = ex.rt;
  const shadowEx = new Exchange(rt, `${ex.requestId}.shadow`, 'chat', ex.route, { ...ex.request, stream: false }, undefined);
  shadowEx.inputText = ex.inputText;
  shadowEx.inputChars = ex.inputChars;
  shadowEx.firstVersion = v.name;
  const r = await callJson(shadowEx, v);
  shadowEx.version = v;
  const trace = r.ok
    ? { httpStatus: 200, status: 'ok' as const, output: r.text, ...tokenFields(r.body) }
    : { httpStatus: upstreamFailure(r.error, v.name).status, status: 'error' as const, errorClass: r.error.errorClass, errorMessage: r.error.message };
  shadowEx.shadow = true;
  shadowEx.finish(trace);
}

function tokenFields(body: Record<string, unknown>) {
  const u = usageOf(body);
  return { promptTokens: u.prompt, completionTokens: u.completion };
}

// ---- streaming ----

type StreamResult = { started: true } | { started: false; error: UpstreamError };

async function serveStream(ex: Exchange, first: CompiledVersion, res: ServerResponse): Promise<void> {
  const abort = new AbortController();
  const state = { clientGone: false };
  const onClose = () => {
    if (!res.writableFinished) {
      state.clientGone = true;
      abort.abort();
    }
  };
  res.on('close', onClose);
  try {
    let version = first;
    let r = await streamAttempt(ex, version, res, abort.signal, state);
    if (!r.started && !state.clientGone) {
      const retry = ex.retryTarget(version);
      if (retry) {
        version = retry;
        r = await streamAttempt(ex, version, res, abort.signal, state);
      }
    }
    if (!r.started) {
      if (state.clientGone) {
        ex.version = version;
        ex.finish({ httpStatus: 499, status: 'error', errorClass: 'client_disconnected' });
        return;
      }
      return failed(ex, res, version, r.error);
    }
  } finally {
    res.off('close', onClose);
  }
}

function startStream(ex: Exchange, res: ServerResponse, v: CompiledVersion): void {
  writeSseHead(res, ex.requestId, v.name);
  ex.ttfbMs = ex.elapsed();
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function streamAttempt(
  ex: Exchange,
  v: CompiledVersion,
  res: ServerResponse,
  signal: AbortSignal,
  state: { clientGone: boolean },
): Promise<StreamResult> {
  const rt = ex.rt;
  const t = performance.now();
  ex.upstreamHost = v.host;
  const fail = (e: UpstreamError): StreamResult => {
    // A call cut short because the client left is not the version's failure.
    if (state.clientGone) ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t });
    else ex.attempts.push({ version: v.name, ok: false, errorClass: e.errorClass, latencyMs: performance.now() - t });
    return { started: false, error: e };
  };
  let upstreamRes;
  try {
    upstreamRes = await rt.upstream.postStream(v, upstreamChatBody(ex.request, v, ex.name), signal);
  } catch (err) {
    return fail(toUpstreamError(err));
  }

  // Some upstreams answer a stream request with one JSON body: replay it as a stream.
  if (!upstreamRes.contentType.includes('text/event-stream')) {
    let text: string | undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await upstreamRes.body.text());
      text = completionText(parsed);
    } catch (err) {
      if (!(err instanceof SyntaxError)) return fail(toUpstreamError(err));
    }
    if (text === undefined) return fail(new UpstreamError('malformed_output', 'stream request answered with neither SSE nor a chat completion'));
    ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t });
    ex.version = v;
    startStream(ex, res, v);
    res.end(sseFromText(ex.requestId, ex.name, text, rt.clock.now()));
    const usage = usageOf(parsed as Record<string, unknown>);
    ex.finish({ httpStatus: 200, status: 'ok', output: text, promptTokens: usage.prompt, completionTokens: usage.completion });
    afterAnswer(ex, v, text);
    return { started: true };
  }

  const body = upstreamRes.body;
  body.setEncoding('utf8');
  const parser = new SseParser();
  const chunkHook = rt.hooks.validateChunk;
  let started = false;
  let done = false;
  let blockedByValidator = false;
  let finishReason: string | null = null;
  let text = '';
  let promptTokens: number | undefined;
  let completionTokens: number | undefined;
  let ttfbAttempt: number | undefined;
  let error: UpstreamError | undefined;

  const handle = (data: string): string => {
    if (data === '[DONE]') {
      done = true;
      return '';
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      throw new UpstreamError('malformed_output', 'stream chunk is not valid JSON');
    }
    if (!isPlainObject(obj)) throw new UpstreamError('malformed_output', 'stream chunk is not a JSON object');
    if (obj.error !== undefined) {
      const m = (obj.error as { message?: unknown })?.message;
      throw new UpstreamError('upstream_5xx', `upstream reported an error mid-stream${typeof m === 'string' ? `: ${m}` : ''}`);
    }
    const choices = obj.choices;
    if (Array.isArray(choices) && choices.length > 0 && isPlainObject(choices[0])) {
      const c = choices[0];
      const delta = c.delta;
      if (isPlainObject(delta) && typeof delta.content === 'string' && delta.content.length > 0) {
        text += delta.content;
        if (chunkHook) {
          let outcome: ValidationOutcome | undefined;
          try {
            outcome = chunkHook({ requestId: ex.requestId, model: ex.name, version: v.name, delta: delta.content, textSoFar: text });
          } catch (err) {
            rt.logger.warn({ err, requestId: ex.requestId }, 'chunk validator failed; chunk not checked');
          }
          ex.addValidatorResults(outcome);
          if (outcome && (outcome.action === 'block' || outcome.action === 'fallback')) {
            // The chunk that failed is not forwarded; the stream ends as content-filtered.
            blockedByValidator = true;
            done = true;
            c.delta = {};
            c.finish_reason = 'content_filter';
            finishReason = 'content_filter';
          }
        }
      }
      if (typeof c.finish_reason === 'string') finishReason = c.finish_reason;
    } else if (choices !== undefined && !Array.isArray(choices)) {
      throw new UpstreamError('malformed_output', 'stream chunk has no choices array');
    }
    const usage = obj.usage;
    if (isPlainObject(usage)) {
      if (typeof usage.prompt_tokens === 'number') promptTokens = usage.prompt_tokens;
      if (typeof usage.completion_tokens === 'number') completionTokens = usage.completion_tokens;
    }
    obj.model = ex.name;
    return `data: ${JSON.stringify(obj)}\n\n`;
  };

  try {
    for await (const chunk of body) {
      if (done) continue; // read to the end so the upstream connection is reused
      const datas = parser.push(chunk as string);
      let out = '';
      for (let i = 0; i < datas.length && !done; i++) out += handle(datas[i]);
      if (out) {
        if (!started) {
          started = true;
          ttfbAttempt = performance.now() - t;
          startStream(ex, res, v);
        }
        if (!res.write(out)) await waitDrain(res);
      }
      if (blockedByValidator) break;
    }
    if (!done) {
      const tail = parser.end();
      if (tail !== undefined) {
        const out = handle(tail);
        if (out) {
          if (!started) {
            started = true;
            ttfbAttempt = performance.now() - t;
            startStream(ex, res, v);
          }
          res.write(out);
        }
      }
      // A stream that ends without [DONE] but with a finish_reason is complete; without either it was cut.
      if (!done && finishReason === null) throw new UpstreamError('connection', 'upstream stream ended before [DONE]');
      done = true;
    }
  } catch (err) {
    error = toUpstreamError(err);
    if (!body.destroyed) body.destroy();
  }

  if (state.clientGone) {
    ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t, ttfbMs: ttfbAttempt });
    ex.version = v;
    if (!res.destroyed) res.destroy();
    ex.finish({ httpStatus: 499, status: 'error', errorClass: 'client_disconnected', output: text });
    return { started: true };
  }
  if (error && !started) return fail(error);

  ex.version = v;
  if (!started) startStream(ex, res, v); // an empty but complete stream
  if (error) {
    // Bytes already reached the client: no retry is possible. End the stream with an error event so
    // the client knows the answer is incomplete, instead of a silent [DONE].
    ex.attempts.push({ version: v.name, ok: false, errorClass: error.errorClass, latencyMs: performance.now() - t, ttfbMs: ttfbAttempt });
    res.end(sseErrorEvent(`the answer of model version ${v.name} was interrupted: ${error.message}`, 'upstream_stream_interrupted'));
    ex.finish({ httpStatus: 200, status: 'error', errorClass: error.errorClass, errorMessage: `stream interrupted: ${error.message}`, output: text, promptTokens, completionTokens });
    return { started: true };
  }
  res.end(SSE_DONE);
  ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t, ttfbMs: ttfbAttempt });
  if (rt.hooks.validateOutput && !blockedByValidator) {
    const outcome = await runValidator(ex, rt.hooks.validateOutput, {
      requestId: ex.requestId,
      model: ex.name,
      version: v.name,
      kind: 'chat',
      request: ex.request,
      inputText: ex.inputText,
      outputText: text,
      stream: true,
    });
    // The stream is already out: the verdict is recorded, not enforced.
    ex.addValidatorResults(outcome);
  }
  ex.finish({
    httpStatus: 200,
    status: blockedByValidator ? 'blocked' : 'ok',
    errorClass: blockedByValidator ? 'validator' : undefined,
    output: text,
    promptTokens,
    completionTokens,
  });
  if (!blockedByValidator) afterAnswer(ex, v, text);
  return { started: true };
}
