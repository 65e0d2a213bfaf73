// A bounded LRU with a TTL of good answers, keyed by the normalised request: the model, the
// messages (or instances) and the parameters that change an answer. Filled only from successful
// non-stream answers of stable versions, so a fallback never replays what a faulty version said.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.ts';
import type { EpochMs, ModelKind } from '../../core/types.ts';

/** Request fields that change what a chat model answers. Transport and bookkeeping fields do not. */
const CHAT_PARAMS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'response_format',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'reasoning_effort',
] as const;

/** The model name without a `@version` pin: any stable version's answer is a good answer. */
const baseName = (model: string): string => {
  const at = model.indexOf('@');
  return at < 0 ? model : model.slice(0, at);
};

/** The cache key of a request (sha256 of its canonical JSON), or undefined when it cannot be cached. */
export function answerCacheKey(model: string, kind: ModelKind, request: Readonly<Record<string, unknown>>): string | undefined {
  let norm: Record<string, unknown>;
  if (kind === 'chat') {
    const messages = request.messages;
    if (!Array.isArray(messages)) return undefined;
    norm = {
      m: baseName(model),
      msgs: messages.map((msg) => {
        const x = (msg ?? {}) as Record<string, unknown>;
        return { role: x.role, content: x.content, name: x.name, tool_calls: x.tool_calls, tool_call_id: x.tool_call_id };
      }),
    };
    for (const p of CHAT_PARAMS) if (request[p] !== undefined) norm[p] = request[p];
  } else {
    const instances = request.instances ?? request.inputs;
    if (instances === undefined) return undefined;
    norm = { m: baseName(model), i: instances };
  }
  return createHash('sha256').update(canonicalJson(norm)).digest('base64url');
}

export interface CachedAnswer {
  /** Chat: the assistant text. */
  text?: string;
  /** Predict: the answer body (`{"predictions": [...]}`). */
  body?: Record<string, unknown>;
  /** The version that produced it. */
  version: string;
  storedAt: EpochMs;
}

export interface AnswerCacheStats {
  size: number;
  hits: number;
  misses: number;
  stores: number;
  expired: number;
  evicted: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private readonly stats = { hits: 0, misses: 0, stores: 0, expired: 0, evicted: 0 };

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
  ) {}

  get(key: string, now: EpochMs): CachedAnswer | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.stats.misses++;
      return undefined;
    }
    if (now - e.storedAt > this.ttlMs) {
      this.entries.delete(key);
      this.stats.expired++;
      this.stats.misses++;
      return undefined;
    }
    // Map order is recency order: re-inserting marks it most recently used.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.stats.hits++;
    return e;
  }

  set(key: string, answer: CachedAnswer): void {
    this.entries.delete(key);
    this.entries.set(key, answer);
    this.stats.stores++;
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
      this.stats.evicted++;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  snapshot(): AnswerCacheStats {
    return { size: this.entries.size, ...this.stats };
  }
}
