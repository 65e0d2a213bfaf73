// What the chat and predict handlers share: the runtime they run in, the per-request state
// (Exchange), answering errors and fallbacks in the surface's shape with the right headers, and
// turning a finished request into its trace.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { FIRST_UPSTREAM_HOST_TAG, type ApiKey, type Clock, type ModelKind, type Trace, type TraceStatus, type ValidatorResult } from '../../core/types.ts';
import type { AttemptRecord } from '../telemetry/attempt.ts';
import type { TelemetryService } from '../telemetry/telemetry-service.ts';
import type { FallbackAnswer, FallbackReason, GatewayHooks, ValidationOutcome } from './gateway-hooks.ts';
import { apiError, chatCompletionBody, errorJson, sseFromText, type ApiError } from './openai-shapes.ts';
import { pickFrom, type CompiledRoute, type CompiledVersion, type RouteTable } from './route-table.ts';
import { upstreamErrorMessage, type UpstreamClient, type UpstreamError } from './upstream-client.ts';

export interface GatewayLogger {
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface GatewayRuntime {
  routes: RouteTable;
  upstream: UpstreamClient;
  telemetry: TelemetryService;
  hooks: GatewayHooks;
  clock: Clock;
  logger: GatewayLogger;
  /** Characters of input/output text kept on a trace before it is queued (the recorder caps again at flush). */
  inputTextCap: number;
  captureInput: boolean;
  captureOutput: boolean;
  /** Seconds sent in Retry-After with a paused model's 503. */
  retryAfterSeconds: number;
  random: () => number;
}

/** A data-plane request as a handler sees it, and the response it answers on. */
export interface GatewayCall {
  /** x-request-id of this request (the client's when it is sane, else a new one). */
  readonly requestId: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  readonly body: unknown;
  /** The body text as received, for pass-through without re-serializing. */
  readonly rawBody: string;
  /** The client key, when client auth is on. */
  readonly apiKey: ApiKey | undefined;
  readonly res: ServerResponse;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/** Per-request state, one object per request. */
export class Exchange {
  readonly t0 = performance.now();
  readonly startedAt: number;
  readonly attempts: AttemptRecord[] = [];
  version: CompiledVersion | undefined;
  firstVersion: string | undefined;
  inputText = '';
  inputChars = 0;
  stream = false;
  ttfbMs: number | undefined;
  validators: ValidatorResult[] | undefined;
  client: string | undefined;
  upstreamHost: string | undefined;
  /** A shadow copy: recorded under its own id, never answered to a client. */
  shadow = false;

  constructor(
    readonly rt: GatewayRuntime,
    readonly requestId: string,
    readonly kind: ModelKind,
    readonly route: CompiledRoute,
    readonly request: Record<string, unknown>,
    readonly pinned: string | undefined,
  ) {
    this.startedAt = rt.clock.now();
  }

  get name(): string {
    return this.route.name;
  }

  elapsed(): number {
    return performance.now() - this.t0;
  }

  /** The version to retry on after `failed` failed: the stable one, unless the client pinned a version. */
  retryTarget(failed: CompiledVersion): CompiledVersion | undefined {
    if (this.pinned !== undefined) return undefined;
    const stable = this.route.stable;
    return stable && stable !== failed ? stable : undefined;
  }

  addValidatorResults(outcome: ValidationOutcome | undefined): void {
    if (!outcome || outcome.results.length === 0) return;
    if (this.validators) for (const r of outcome.results) this.validators.push(r);
    else this.validators = [...outcome.results];
  }

  /** Records the finished request: trace to the recorder, attempts to windows and Prometheus. */
  finish(fields: {
    httpStatus: number;
    status: TraceStatus;
    errorClass?: string;
    errorMessage?: string;
    output?: string;
    outputChars?: number;
    promptTokens?: number;
    completionTokens?: number;
    fallback?: FallbackAnswer['source'];
    fallbackVersion?: string;
    prediction?: string;
    features?: number[];
  }): void {
    const rt = this.rt;
    const served = this.version;
    const trace: Trace = {
      requestId: this.requestId,
      model: this.route.name,
      version: fields.fallback ? fields.fallbackVersion : served?.name,
      kind: this.kind,
      startedAt: this.startedAt,
      latencyMs: this.elapsed(),
      httpStatus: fields.httpStatus,
      status: fields.status,
      stream: this.stream,
      retried: this.attempts.length > 1,
      inputChars: this.inputChars,
      outputChars: fields.outputChars ?? fields.output?.length ?? 0,
    };
    if (this.firstVersion !== undefined && (this.attempts.length > 1 || fields.fallback)) trace.firstVersion = this.firstVersion;
    if (this.ttfbMs !== undefined) trace.ttfbMs = this.ttfbMs;
    if (fields.errorClass !== undefined) trace.errorClass = fields.errorClass;
    // An answer after a retry carries the first attempt's error class (the JSON paths pass it; the
    // streaming path does not), so RCA can tell an upstream failure from any other.
    else if (fields.status === 'ok' && this.attempts.length > 1 && this.attempts[0].errorClass !== undefined) trace.errorClass = this.attempts[0].errorClass;
    if (fields.errorMessage !== undefined) trace.errorMessage = fields.errorMessage;
    if (this.upstreamHost !== undefined) trace.upstreamHost = this.upstreamHost;
    if (this.attempts.length > 1) {
      // upstreamHost is the last attempt's; the failure RCA looks for happened on the first.
      const firstHost = this.route.versions.get(this.attempts[0].version)?.host;
      if (firstHost !== undefined) trace.tags = { [FIRST_UPSTREAM_HOST_TAG]: firstHost };
    }
    if (fields.fallback) trace.fallback = fields.fallback;
    if (fields.promptTokens !== undefined) trace.promptTokens = fields.promptTokens;
    if (fields.completionTokens !== undefined) trace.completionTokens = fields.completionTokens;
    if (rt.captureInput && this.inputText) trace.input = this.inputText;
    // Capped here too (the recorder caps for good, after redaction): a queued trace stays small.
    if (rt.captureOutput && fields.output !== undefined) {
      trace.output = fields.output.length > rt.inputTextCap ? fields.output.slice(0, rt.inputTextCap) : fields.output;
    }
    if (this.client !== undefined) trace.client = this.client;
    if (fields.prediction !== undefined) trace.prediction = fields.prediction;
    if (fields.features !== undefined) trace.features = fields.features;
    if (this.validators) trace.validators = this.validators;
    if (this.shadow) trace.shadow = true;
    try {
      rt.telemetry.observe(trace, this.attempts);
    } catch (err) {
      rt.logger.error({ err, requestId: this.requestId }, 'telemetry failed for a request');
    }
  }
}

/**
 * Runs a validator hook. One that throws counts as no verdict (logged): a broken guardrail must
 * not turn every answer into a 500.
 */
export async function runValidator<C>(
  ex: Exchange,
  hook: ((ctx: C) => ValidationOutcome | undefined | Promise<ValidationOutcome | undefined>) | undefined,
  ctx: C,
): Promise<ValidationOutcome | undefined> {
  if (!hook) return undefined;
  try {
    return await hook(ctx);
  } catch (err) {
    ex.rt.logger.warn({ err, requestId: ex.requestId, model: ex.name }, 'validator hook failed; answer not checked');
    return undefined;
  }
}

/** Answers with a JSON body and the data plane's headers (x-request-id, x-failsafe-version when a version answered). */
export function sendJson(res: ServerResponse, status: number, requestId: string, version: string | undefined, body: string, extra?: Record<string, string>): void {
  // Headers as a flat list: Node writes them as given, without building a header map.
  const headers = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId];
  if (version !== undefined) headers.push('x-failsafe-version', version);
  if (extra) for (const k in extra) headers.push(k, extra[k]);
  res.writeHead(status, headers);
  res.end(body);
}

export function sendApiError(res: ServerResponse, requestId: string, e: ApiError, version?: string): void {
  sendJson(res, e.status, requestId, version, errorJson(e), e.headers);
}

/** Starts an SSE answer. */
export function writeSseHead(res: ServerResponse, requestId: string, version: string | undefined, fallback?: FallbackAnswer['source']): void {
  const headers = ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache', 'x-request-id', requestId];
  if (version !== undefined) headers.push('x-failsafe-version', version);
  if (fallback !== undefined) headers.push('x-failsafe-fallback', fallback);
  res.writeHead(200, headers);
}

/** The client-facing error for a failed upstream call (after any retry). */
export function upstreamFailure(err: UpstreamError, version: string): ApiError {
  const upstreamMsg = upstreamErrorMessage(err.body);
  switch (err.errorClass) {
    case 'timeout':
      return apiError(504, `model version ${version} did not answer in time: ${err.message}`, 'upstream_timeout');
    case 'context_length_exceeded':
      return apiError(400, upstreamMsg ?? 'the input is longer than the model context window', 'context_length_exceeded', 'messages');
    case 'upstream_4xx': {
      const s = err.status ?? 400;
      // An upstream 401/403 is the gateway's credential problem, not the client's: report a bad gateway.
      if (s === 401 || s === 403 || s === 407) return apiError(502, `model version ${version} refused the gateway (HTTP ${s})`, 'upstream_error');
      return apiError(s, upstreamMsg ?? `model version ${version} rejected the request (HTTP ${s})`, 'upstream_4xx');
    }
    case 'malformed_output':
      return apiError(502, `model version ${version} returned a malformed answer: ${err.message}`, 'upstream_malformed_output');
    case 'upstream_5xx':
      return apiError(502, `model version ${version} failed (HTTP ${err.status ?? '?'})${upstreamMsg ? `: ${upstreamMsg}` : ''}`, 'upstream_error');
    default:
      return apiError(502, `model version ${version} is unreachable: ${err.message}`, 'upstream_error');
  }
}

/**
 * The version this request goes to, or undefined when it was answered here: a model that is paused
 * or in fallback mode, or has no version serving, gets a fallback answer or a 503 (with
 * Retry-After when paused or in fallback mode); an unknown pinned version gets a 404.
 */
export async function chooseVersion(ex: Exchange, call: GatewayCall, features?: number[]): Promise<CompiledVersion | undefined> {
  const { rt, route, name } = ex;
  const { res, requestId } = call;
  if (route.mode !== 'serving') {
    const paused = route.mode === 'paused';
    const answer = await askFallback(ex, paused ? 'paused' : 'fallback_mode');
    if (answer) return void sendFallback(ex, res, answer);
    ex.finish({ httpStatus: 503, status: 'error', errorClass: paused ? 'paused' : 'fallback_unavailable', features });
    const e = paused
      ? apiError(503, `model ${name} is paused; try again later`, 'model_paused')
      : apiError(503, `model ${name} is in fallback mode and no fallback answer is available`, 'fallback_unavailable');
    return void sendApiError(res, requestId, { ...e, headers: { 'retry-after': String(rt.retryAfterSeconds) } });
  }
  const pick = pickFrom(route, { pinnedVersion: ex.pinned, stickyValue: stickyValueOf(route, call.headers, ex.request) }, rt.random);
  if (pick.ok) return pick.version;
  if (pick.reason === 'unknown_version') {
    return void sendApiError(res, requestId, apiError(404, `model '${name}' has no version '${ex.pinned}' (or it is retired)`, 'version_not_found', 'model'));
  }
  const answer = await askFallback(ex, 'no_version');
  if (answer) return void sendFallback(ex, res, answer);
  ex.finish({ httpStatus: 503, status: 'error', errorClass: 'no_version', features });
  return void sendApiError(res, requestId, apiError(503, `model ${name} has no version serving traffic`, 'no_serving_version'));
}

/** Asks the fallback hook for an answer; a throwing hook counts as none. */
export async function askFallback(
  ex: Exchange,
  reason: FallbackReason,
  extra: { errorClass?: string; version?: string; validators?: ValidatorResult[] } = {},
): Promise<FallbackAnswer | undefined> {
  const hook = ex.rt.hooks.fallback;
  if (!hook) return undefined;
  try {
    return await hook({
      requestId: ex.requestId,
      model: ex.name,
      kind: ex.kind,
      reason,
      request: ex.request,
      inputText: ex.inputText,
      stream: ex.stream,
      version: extra.version,
      errorClass: extra.errorClass,
      validators: extra.validators,
    });
  } catch (err) {
    ex.rt.logger.warn({ err, requestId: ex.requestId, model: ex.name }, 'fallback hook failed');
    return undefined;
  }
}

/** Sends a fallback answer in the surface's shape and records the request. */
export function sendFallback(ex: Exchange, res: ServerResponse, answer: FallbackAnswer, errorClass?: string, errorMessage?: string): void {
  const now = ex.rt.clock.now();
  const version = answer.source === 'model' ? answer.version : undefined;
  const fallbackHeader = { 'x-failsafe-fallback': answer.source };
  let outputText: string;
  if (ex.kind === 'chat') {
    outputText = answer.text ?? fallbackBodyText(answer.body) ?? '';
    if (ex.stream) {
      writeSseHead(res, ex.requestId, version, answer.source);
      res.end(sseFromText(ex.requestId, ex.name, outputText, now));
    } else {
      const body = answer.body ? { ...answer.body, model: ex.name } : chatCompletionBody(ex.requestId, ex.name, outputText, now);
      sendJson(res, 200, ex.requestId, version, JSON.stringify(body), fallbackHeader);
    }
  } else {
    const body = answer.body ?? { predictions: answer.predictions ?? [] };
    outputText = JSON.stringify(body);
    sendJson(res, 200, ex.requestId, version, outputText, fallbackHeader);
  }
  ex.finish({
    httpStatus: 200,
    status: 'fallback',
    fallback: answer.source,
    fallbackVersion: version,
    output: outputText,
    errorClass,
    errorMessage,
  });
}

function fallbackBodyText(body: Record<string, unknown> | undefined): string | undefined {
  const choices = body?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const content = (choices[0] as { message?: { content?: unknown } })?.message?.content;
  return typeof content === 'string' ? content : undefined;
}

/** The value that keeps this client on one arm, per the route's stickyKey. */
function stickyValueOf(route: CompiledRoute, headers: IncomingHttpHeaders, body: Record<string, unknown>): string | undefined {
  const s = route.sticky;
  if (!s) return undefined;
  const v = s.kind === 'body' ? body[s.field] : headers[s.name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
