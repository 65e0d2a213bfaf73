// Fallback answers for the gateway's `fallback` hook, tried in order: a cached good answer of a
// stable version for the same request, another Failsafe model (called through the route table and
// the gateway's upstream client, so its breaker applies), a static reply. Used when a model is in
// fallback mode, when a request failed on its version and on the retry, when a validator asked
// for a fallback, or when no version can serve. A model paused without fallback gets its 503.
//
// The `onAnswer` hook fills the cache from successful non-stream answers of stable versions.
import { performance } from 'node:perf_hooks';
import type { Clock, ModelKind } from '../../core/types.ts';
import { upstreamChatBody } from '../gateway/chat-handler.ts';
import type { AnswerContext, FallbackAnswer, FallbackContext, GatewayHooks } from '../gateway/gateway-hooks.ts';
import { completionText, isPlainObject } from '../gateway/openai-shapes.ts';
import type { RouteTable } from '../gateway/route-table.ts';
import type { UpstreamClient } from '../gateway/upstream-client.ts';
import { AnswerCache, answerCacheKey, type AnswerCacheStats } from './answer-cache.ts';
import type { FallbacksConfig } from './fallbacks-config.ts';

export interface FallbackServiceOptions {
  routes: RouteTable;
  upstream: UpstreamClient;
  clock: Clock;
  /** A model's fallbacks (per-model `fallbacks:` or the defaults); undefined: none. */
  policyFor: (model: string) => FallbacksConfig | undefined;
  logger?: { warn(obj: unknown, msg?: string): void };
}

export interface FallbackStats {
  served: { cache: number; model: number; static: number };
  /** Asked, but nothing was available. */
  none: number;
  modelErrors: number;
  caches: Record<string, AnswerCacheStats>;
}

export class FallbackService {
  /** null: the model has no answer cache (remembered, so onAnswer costs one lookup). */
  private readonly caches = new Map<string, AnswerCache | null>();
  private readonly served = { cache: 0, model: 0, static: 0 };
  private none = 0;
  private modelErrors = 0;

  constructor(private readonly options: FallbackServiceOptions) {}

  /** The hooks to install with `gateway.setHooks(...)`. */
  hooks(): Pick<GatewayHooks, 'fallback' | 'onAnswer'> {
    return {
      fallback: (ctx) => this.fallback(ctx),
      onAnswer: (ctx) => this.onAnswer(ctx),
    };
  }

  async fallback(ctx: FallbackContext): Promise<FallbackAnswer | undefined> {
    // `paused` is the clean 503; fallback answers are what mode `fallback` is for.
    if (ctx.reason === 'paused') return undefined;
    const policy = this.options.policyFor(ctx.model);
    if (!policy) return undefined;
    const answer = this.fromCache(ctx, policy) ?? (await this.fromModel(ctx, policy)) ?? this.fromStatic(ctx, policy);
    if (answer) this.served[answer.source]++;
    else this.none++;
    return answer;
  }

  onAnswer(ctx: AnswerContext): void {
    const cache = this.cacheFor(ctx.model);
    if (!cache || !ctx.response) return;
    // Only what a stable version said is worth replaying when things go wrong.
    if (this.options.routes.get(ctx.model)?.versions.get(ctx.version)?.spec.state !== 'stable') return;
    const key = answerCacheKey(ctx.model, ctx.kind, ctx.request);
    if (key === undefined) return;
    const now = this.options.clock.now();
    if (ctx.kind === 'chat') cache.set(key, { text: ctx.outputText, version: ctx.version, storedAt: now });
    else cache.set(key, { body: ctx.response as Record<string, unknown>, version: ctx.version, storedAt: now });
  }

  stats(): FallbackStats {
    const caches: Record<string, AnswerCacheStats> = {};
    for (const [model, c] of this.caches) if (c) caches[model] = c.snapshot();
    return { served: { ...this.served }, none: this.none, modelErrors: this.modelErrors, caches };
  }

  private cacheFor(model: string): AnswerCache | undefined {
    const existing = this.caches.get(model);
    if (existing !== undefined) return existing ?? undefined;
    const cfg = this.options.policyFor(model)?.cache;
    const cache = cfg ? new AnswerCache(cfg.maxEntries, cfg.ttlSeconds * 1000) : null;
    this.caches.set(model, cache);
    return cache ?? undefined;
  }

  /** Forgets per-model caches (after a configuration change in tests). */
  resetCaches(): void {
    this.caches.clear();
  }

  private fromCache(ctx: FallbackContext, policy: FallbacksConfig): FallbackAnswer | undefined {
    if (!policy.cache) return undefined;
    const key = answerCacheKey(ctx.model, ctx.kind, ctx.request);
    const hit = key === undefined ? undefined : this.cacheFor(ctx.model)?.get(key, this.options.clock.now());
    if (!hit) return undefined;
    return ctx.kind === 'chat' ? { source: 'cache', text: hit.text ?? '' } : { source: 'cache', body: hit.body };
  }

  private async fromModel(ctx: FallbackContext, policy: FallbacksConfig): Promise<FallbackAnswer | undefined> {
    const other = policy.model;
    if (!other || other === ctx.model) return undefined;
    const pick = this.options.routes.pick(other);
    if (!pick.ok || pick.route.mode !== 'serving' || pick.route.kind !== ctx.kind) return undefined;
    const v = pick.version;
    const t0 = performance.now();
    try {
      const body = ctx.kind === 'chat' ? upstreamChatBody({ ...ctx.request, stream: false }, v, other) : JSON.stringify(ctx.request);
      const res = await this.options.upstream.postJson(v, body);
      const parsed: unknown = JSON.parse(res.text);
      if (ctx.kind === 'chat') {
        const text = completionText(parsed);
        if (text === undefined) throw new Error('fallback model answered without choices[0].message');
        return { source: 'model', text, version: `${other}@${v.name}` };
      }
      if (!isPlainObject(parsed) || !Array.isArray(parsed.predictions)) throw new Error('fallback model answered without "predictions"');
      return { source: 'model', body: parsed, version: `${other}@${v.name}` };
    } catch (err) {
      this.modelErrors++;
      this.options.logger?.warn({ err, model: ctx.model, fallbackModel: other, ms: Math.round(performance.now() - t0) }, 'fallback model failed');
      return undefined;
    }
  }

  private fromStatic(ctx: FallbackContext, policy: FallbacksConfig): FallbackAnswer | undefined {
    return staticAnswer(ctx.kind, policy);
  }
}

export function staticAnswer(kind: ModelKind, policy: FallbacksConfig): FallbackAnswer | undefined {
  if (kind === 'chat') return policy.static !== undefined ? { source: 'static', text: policy.static } : undefined;
  return policy.staticPredictions !== undefined ? { source: 'static', predictions: policy.staticPredictions } : undefined;
}

export const createFallbackService = (options: FallbackServiceOptions): FallbackService => new FallbackService(options);
