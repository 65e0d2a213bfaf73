// `fallbacks:` and `circuitBreaker:` in failsafe.yaml (per model, or as defaults under `containment:`).
import { z } from 'zod';

export const answerCacheConfigSchema = z.strictObject({
  /** Answers kept (least recently used go first). */
  maxEntries: z.number().int().min(1).max(1_000_000).default(1_000),
  /** How long a cached answer may be served. */
  ttlSeconds: z.number().positive().default(3_600),
});

export const fallbacksConfigSchema = z.strictObject({
  /** Good answers of stable versions, replayed for the same request (exact match). */
  cache: answerCacheConfigSchema.optional(),
  /** Another Failsafe model (a simpler or older one) that answers instead. */
  model: z.string().min(1).max(64).optional(),
  /** Chat: a fixed reply. */
  static: z.string().optional(),
  /** Predict: fixed predictions. */
  staticPredictions: z.array(z.unknown()).optional(),
});

export const circuitBreakerConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Opens after this many failures in a row. */
  consecutiveFailures: z.number().int().min(1).default(5),
  /** Or when this share of calls in the window failed... */
  errorRate: z.number().gt(0).max(1).default(0.5),
  /** ...over at least this many calls... */
  minRequests: z.number().int().min(1).default(20),
  /** ...in this rolling window. */
  windowSeconds: z.number().positive().default(10),
  /** Open this long before half-open probes are let through. */
  openSeconds: z.number().positive().default(5),
  /** Probes in flight at once while half-open; this many successes close it again. */
  halfOpenProbes: z.number().int().min(1).default(1),
});

export type FallbacksConfig = z.output<typeof fallbacksConfigSchema>;
export type AnswerCacheConfig = z.output<typeof answerCacheConfigSchema>;
export type CircuitBreakerConfig = z.output<typeof circuitBreakerConfigSchema>;

export const defaultCircuitBreakerConfig = (): CircuitBreakerConfig => circuitBreakerConfigSchema.parse({});
