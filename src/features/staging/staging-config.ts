// Staging gates per model in failsafe.yaml (`staging:` beside `golden:`): what a version must
// achieve on its golden set before it may take traffic (promotion, rollback target, canary).
import { z } from 'zod';

export const DEFAULT_MIN_PASS_RATE = 0.95;
export const DEFAULT_LATENCY_BUDGET_MS = 2_000;
export const DEFAULT_STAGING_CONCURRENCY = 4;
export const DEFAULT_STAGING_TIMEOUT_MS = 10_000;

export const stagingConfigSchema = z.strictObject({
  /** Share of golden cases that must pass (0..1). */
  minPassRate: z.number().min(0).max(1).default(DEFAULT_MIN_PASS_RATE),
  /** p95 latency budget over the replay, in ms. */
  latencyBudgetMs: z.number().positive().default(DEFAULT_LATENCY_BUDGET_MS),
  /** Golden cases in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(DEFAULT_STAGING_CONCURRENCY),
  /** Per-case timeout; a case that times out fails. */
  timeoutMs: z.number().int().positive().max(600_000).default(DEFAULT_STAGING_TIMEOUT_MS),
  /** Also run the model's output validators on each answer; block/fallback failures fail the case. */
  useModelValidators: z.boolean().default(true),
});

export type StagingConfig = z.output<typeof stagingConfigSchema>;

/** Gates with defaults filled in, for models whose config has no `staging:` section. */
export function resolveStagingConfig(s?: Partial<StagingConfig>): StagingConfig {
  return stagingConfigSchema.parse(s ?? {});
}
