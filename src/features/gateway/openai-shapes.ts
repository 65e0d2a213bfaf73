// Request checks and answer shapes of the OpenAI-compatible and KServe surfaces. Checks are
// written by hand: they run on every request, and a handful of typeof tests is cheaper than a
// schema validator while giving the same precise messages (`param` names the field).
import { openAiErrorBody } from '../../http/error-mapping.ts';

export interface ApiError {
  status: number;
  message: string;
  code: string | null;
  param?: string | null;
  /** Extra headers (Retry-After). */
  headers?: Record<string, string>;
}

export const apiError = (status: number, message: string, code: string | null, param: string | null = null): ApiError => ({
  status,
  message,
  code,
  param,
});

export const errorJson = (e: ApiError): string => JSON.stringify(openAiErrorBody(e.status, e.message, e.code, e.param ?? null));

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the parts of a chat request the gateway relies on; the rest is the upstream's business. */
export function checkChatRequest(body: unknown): ApiError | undefined {
  if (!isPlainObject(body)) return apiError(400, `request body must be a JSON object, got ${typeName(body)}`, 'invalid_type');
  const model = body.model;
  if (model === undefined) return apiError(400, 'you must provide a model parameter', 'missing_required_parameter', 'model');
  if (typeof model !== 'string' || model.length === 0) {
    return apiError(400, `"model" must be a non-empty string, got ${typeName(model)}`, 'invalid_type', 'model');
  }
  const messages = body.messages;
  if (messages === undefined) return apiError(400, 'you must provide a messages parameter', 'missing_required_parameter', 'messages');
  if (!Array.isArray(messages)) return apiError(400, `"messages" must be an array, got ${typeName(messages)}`, 'invalid_type', 'messages');
  if (messages.length === 0) return apiError(400, '"messages" must contain at least one message', 'invalid_value', 'messages');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isPlainObject(m)) return apiError(400, `"messages[${i}]" must be an object, got ${typeName(m)}`, 'invalid_type', `messages[${i}]`);
    if (typeof m.role !== 'string') {
      return apiError(400, `"messages[${i}].role" must be a string, got ${typeName(m.role)}`, 'invalid_type', `messages[${i}].role`);
    }
    const c = m.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
      return apiError(400, `"messages[${i}].content" must be a string or an array of parts, got ${typeName(c)}`, 'invalid_type', `messages[${i}].content`);
    }
  }
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    return apiError(400, `"stream" must be a boolean, got ${typeName(stream)}`, 'invalid_type', 'stream');
  }
  return undefined;
}

export function checkPredictRequest(body: unknown): ApiError | undefined {
  if (!isPlainObject(body)) return apiError(400, `request body must be a JSON object, got ${typeName(body)}`, 'invalid_type');
  if (body.instances === undefined && body.inputs === undefined) {
    return apiError(400, 'you must provide "instances" (KServe V1: {"instances": [...]})', 'missing_required_parameter', 'instances');
  }
  if (body.instances !== undefined && !Array.isArray(body.instances)) {
    return apiError(400, `"instances" must be an array, got ${typeName(body.instances)}`, 'invalid_type', 'instances');
  }
  return undefined;
}

/** Text of a message content: a string, or the text parts of an array of parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let s = '';
    for (const part of content) {
      if (isPlainObject(part) && typeof part.text === 'string') s += part.text;
    }
    return s;
  }
  return '';
}

/**
 * The messages as `role: text` lines, at most `cap` characters kept, plus the total characters of
 * the contents (kept even when the text is capped).
 */
export function messagesText(messages: ReadonlyArray<Record<string, unknown>>, cap: number): { text: string; chars: number } {
  let text = '';
  let chars = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const c = contentText(m.content);
    chars += c.length;
    if (text.length < cap) {
      const line = `${i > 0 ? '\n' : ''}${String(m.role)}: ${c}`;
      text += line.length + text.length > cap ? line.slice(0, cap - text.length) : line;
    }
  }
  return { text, chars };
}

/** The assistant text of a chat.completion, or undefined when it has no usable choice (malformed). */
export function completionText(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const first = choices[0];
  if (!isPlainObject(first)) return undefined;
  const message = first.message;
  if (!isPlainObject(message)) return undefined;
  const content = message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return contentText(content);
  // Tool calls and refusals are answers too; their text is what a trace should show.
  if (Array.isArray(message.tool_calls)) return JSON.stringify(message.tool_calls);
  if (typeof message.refusal === 'string') return message.refusal;
  if (content === null || content === undefined) return '';
  return undefined;
}

export function usageOf(body: Record<string, unknown>): { prompt?: number; completion?: number } {
  const u = body.usage;
  if (!isPlainObject(u)) return {};
  return {
    prompt: typeof u.prompt_tokens === 'number' ? u.prompt_tokens : undefined,
    completion: typeof u.completion_tokens === 'number' ? u.completion_tokens : undefined,
  };
}

const secondsOf = (ms: number) => Math.floor(ms / 1000);

export function chatCompletionBody(id: string, model: string, text: string, nowMs: number, finishReason = 'stop'): Record<string, unknown> {
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: secondsOf(nowMs),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
  };
}

export function chunkEvent(id: string, model: string, created: number, delta: Record<string, unknown>, finishReason: string | null): string {
  return `data: ${JSON.stringify({
    id: `chatcmpl-${id}`,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  })}\n\n`;
}

/** A whole answer as an SSE stream: the role and text in one chunk, then the finish, then [DONE]. */
export function sseFromText(id: string, model: string, text: string, nowMs: number, finishReason = 'stop'): string {
  const created = secondsOf(nowMs);
  return (
    chunkEvent(id, model, created, { role: 'assistant', content: text }, null) +
    chunkEvent(id, model, created, {}, finishReason) +
    'data: [DONE]\n\n'
  );
}

export const SSE_DONE = 'data: [DONE]\n\n';

export function sseErrorEvent(message: string, code: string): string {
  return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`;
}

/** A predicted class from the first prediction: a label, a class index (argmax) or a rounded score. */
export function predictionLabel(predictions: unknown[]): string | undefined {
  if (predictions.length === 0) return undefined;
  const p = predictions[0];
  if (typeof p === 'string') return p;
  if (typeof p === 'boolean') return String(p);
  if (typeof p === 'number') return Number.isInteger(p) ? String(p) : p >= 0 && p <= 1 ? (p >= 0.5 ? '1' : '0') : undefined;
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'number')) {
    let best = 0;
    for (let i = 1; i < p.length; i++) if ((p[i] as number) > (p[best] as number)) best = i;
    return String(best);
  }
  if (isPlainObject(p)) {
    for (const k of ['label', 'class', 'prediction', 'category']) {
      const v = p[k];
      if (typeof v === 'string' || typeof v === 'number') return String(v);
    }
  }
  return undefined;
}

/** Numeric features of the first instance (array of numbers, or an object's numeric values), for drift. */
export function instanceFeatures(instances: unknown): number[] | undefined {
  if (!Array.isArray(instances) || instances.length === 0) return undefined;
  const first = instances[0];
  let out: number[] | undefined;
  if (Array.isArray(first)) out = first.filter((x): x is number => typeof x === 'number').slice(0, 32);
  else if (isPlainObject(first)) out = Object.values(first).filter((x): x is number => typeof x === 'number').slice(0, 32);
  else if (typeof first === 'number') out = (instances as unknown[]).filter((x): x is number => typeof x === 'number').slice(0, 32);
  return out && out.length > 0 ? out : undefined;
}
