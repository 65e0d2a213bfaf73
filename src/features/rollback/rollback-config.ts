// `rollback:` in failsafe.yaml (per model, or as defaults under `containment:`).
import { z } from 'zod';

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const deployHookConfigSchema = z.strictObject({
  /** POSTed `{model, version, from, rollbackId, reason}` before traffic moves. */
  url,
  /** Total time the hook may take, readiness included. */
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  /** Further attempts after a failed POST (5xx, timeout, connection). */
  retries: z.number().int().min(0).max(10).default(2),
  /** Polled with GET until it answers 2xx (and not `{"ready":false}`). */
  readyUrl: url.optional(),
  pollIntervalMs: z.number().int().positive().default(250),
  headers: z.record(z.string(), z.string()).optional(),
});

export const rollbackConfigSchema = z.strictObject({
  /** Stable versions tried, newest first (M-1, M-2, ...), when the one before fails validation. */
  validationDepth: z.number().int().min(1).max(10).default(2),
  deployHook: deployHookConfigSchema.optional(),
  /** Traffic percentages of a stepped switch (e.g. [25, 50, 100]); one atomic change when absent. */
  steps: z.array(z.number().int().min(1).max(100)).optional(),
  /** Wait between steps. */
  stepSeconds: z.number().min(0).default(0),
  /** Requests sent to a target when its model has no golden set. */
  smokeRequests: z.number().int().min(1).max(100).default(3),
});

export type RollbackConfig = z.output<typeof rollbackConfigSchema>;
export type DeployHookConfig = z.output<typeof deployHookConfigSchema>;
