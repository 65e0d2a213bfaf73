// Extension points of the data plane. Containment (fallbacks) and validators (guardrails) plug in
// here without the gateway importing them. Every hook is optional; with none set the gateway
// serves plain pass-through with retry-on-stable, and paused models get a clean 503.
//
// Hooks are read from the object on every request, so a feature created after the gateway can
// fill them in later (`gateway.setHooks({...})` or by assigning to `gateway.hooks`).
import type { ModelKind, ValidatorResult } from '../../core/types.ts';

export type FallbackSource = 'cache' | 'model' | 'static';

/** Why the gateway asks for a fallback answer. */
export type FallbackReason =
  /** The model's route is in mode `paused`. */
  | 'paused'
  /** The model's route is in mode `fallback`: every request is answered by the fallback. */
  | 'fallback_mode'
  /** The chosen version failed and the retry on the stable version failed too (or there was none). */
  | 'upstream_failed'
  /** An output validator returned action `fallback`. */
  | 'validator'
  /** No version can serve (every arm isolated and no stable version). */
  | 'no_version';

export interface FallbackContext {
  requestId: string;
  model: string;
  kind: ModelKind;
  reason: FallbackReason;
  /** The client's parsed request body (chat: the OpenAI body; predict: `{instances}`), read-only. */
  request: Readonly<Record<string, unknown>>;
  /** Input text the gateway saw (chat: the messages' text; predict: the instances as JSON). */
  inputText: string;
  stream: boolean;
  /** The version that failed, when one did. */
  version?: string;
  errorClass?: string;
  /** Validator results that caused the fallback, when reason is `validator`. */
  validators?: ValidatorResult[];
}

/**
 * A fallback answer. For chat models set `text` (the gateway wraps it in a `chat.completion`, or
 * in an SSE stream when the client asked to stream) or `body` (sent as is, `model` rewritten).
 * For predict models set `body` (`{"predictions":[...]}`) or `predictions`.
 */
export interface FallbackAnswer {
  source: FallbackSource;
  text?: string;
  predictions?: unknown[];
  body?: Record<string, unknown>;
  /** When `source` is `model`: the version or model that produced it; sent as x-failsafe-version. */
  version?: string;
}

/** What a validator hook returns: its results, and the strongest action among failures. */
export interface ValidationOutcome {
  results: ValidatorResult[];
  /**
   * `flag`: serve the answer, record the failure. `fallback`: serve a fallback answer instead
   * (or, when none is available, block). `block`: do not serve the answer (HTTP 502
   * `output_blocked`; a stream already under way ends with finish_reason `content_filter`).
   * Absent: every validator passed.
   */
  action?: 'flag' | 'fallback' | 'block';
}

export interface OutputContext {
  requestId: string;
  model: string;
  version: string;
  kind: ModelKind;
  request: Readonly<Record<string, unknown>>;
  inputText: string;
  /** Chat: the assistant text; predict: the predictions as JSON. */
  outputText: string;
  /** The upstream answer as parsed JSON (non-streaming only). */
  response?: Readonly<Record<string, unknown>>;
  stream: boolean;
}

export interface ChunkContext {
  requestId: string;
  model: string;
  version: string;
  /** Text of this chunk's delta. */
  delta: string;
  /** Assistant text so far, this chunk included. */
  textSoFar: string;
}

/** A successful answer: the output checkpoint's context without `stream` (`response` is set for non-streaming answers). */
export type AnswerContext = Omit<OutputContext, 'stream'>;

export interface GatewayHooks {
  /**
   * Asked for an answer when a model is paused or in fallback mode, when a request failed on its
   * version and on the retry, or when a validator asked for a fallback. Return undefined to let
   * the gateway answer with its error (503 paused, 502/504 upstream failure). A hook that throws
   * counts as "no fallback". The answer carries `x-failsafe-fallback: <source>`.
   */
  fallback?(ctx: FallbackContext): Promise<FallbackAnswer | undefined>;
  /** Input checkpoint, before any upstream call. `block` answers 400 `input_blocked`; `fallback` asks for a fallback. */
  validateInput?(ctx: Omit<OutputContext, 'version' | 'outputText' | 'response'>): ValidationOutcome | undefined | Promise<ValidationOutcome | undefined>;
  /** Output checkpoint on a complete answer (non-streaming: before it is sent; streaming: after, so flag only). */
  validateOutput?(ctx: OutputContext): ValidationOutcome | undefined | Promise<ValidationOutcome | undefined>;
  /** Streaming checkpoint, synchronous, on every content chunk before it is forwarded. */
  validateChunk?(ctx: ChunkContext): ValidationOutcome | undefined;
  /** After a successful answer was sent (e.g. to fill an answer cache). Must not throw; runs after the response. */
  onAnswer?(ctx: AnswerContext): void;
}
