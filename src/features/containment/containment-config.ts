// Containment, fallbacks, circuit breakers, playbooks, rollback and soak in failsafe.yaml:
// defaults for every model under `containment:`, and the same keys on a model, whose sections
// replace the defaults' (a model's `playbook:` is its whole playbook).
import { z } from 'zod';
import type { FailsafeConfig } from '../../config.ts';
import { circuitBreakerConfigSchema, fallbacksConfigSchema, type CircuitBreakerConfig, type FallbacksConfig } from '../fallbacks/fallbacks-config.ts';
import { playbookConfigSchema, type PlaybookConfig } from '../playbooks/playbook-config.ts';
import { rollbackConfigSchema, type RollbackConfig } from '../rollback/rollback-config.ts';

export const DEFAULT_SOAK_SECONDS = 600;

/** How long a version serves with no breach before it earns `stable`. */
export const soakSecondsSchema = z.number().min(0);

export const containmentConfigSchema = z.strictObject({
  soakSeconds: soakSecondsSchema.default(DEFAULT_SOAK_SECONDS),
  circuitBreaker: circuitBreakerConfigSchema.prefault({}),
  playbook: playbookConfigSchema.prefault({}),
  rollback: rollbackConfigSchema.prefault({}),
  fallbacks: fallbacksConfigSchema.optional(),
});

/** The keys a model may set for itself (plugged into the model schema in src/config.ts). */
export const modelContainmentShape = {
  soakSeconds: soakSecondsSchema.optional(),
  circuitBreaker: circuitBreakerConfigSchema.optional(),
  playbook: playbookConfigSchema.optional(),
  rollback: rollbackConfigSchema.optional(),
  fallbacks: fallbacksConfigSchema.optional(),
};

export type ContainmentConfig = z.output<typeof containmentConfigSchema>;

export interface ModelPolicy {
  soakMs: number;
  circuitBreaker: CircuitBreakerConfig;
  playbook: PlaybookConfig;
  rollback: RollbackConfig;
  fallbacks?: FallbacksConfig;
}

type ModelContainmentConfig = { [K in keyof typeof modelContainmentShape]?: z.output<(typeof modelContainmentShape)[K]> };

/** Reads the sections without requiring src/config.ts to know them (tests may pass plain objects). */
export function modelPolicy(config: Pick<FailsafeConfig, 'models'> & { containment?: ContainmentConfig }, model: string): ModelPolicy {
  const defaults = config.containment ?? containmentConfigSchema.parse({});
  const mc = (config.models.find((m) => m.name === model) ?? {}) as ModelContainmentConfig;
  return {
    soakMs: (mc.soakSeconds ?? defaults.soakSeconds) * 1000,
    circuitBreaker: mc.circuitBreaker ?? defaults.circuitBreaker,
    playbook: mc.playbook ?? defaults.playbook,
    rollback: mc.rollback ?? defaults.rollback,
    fallbacks: mc.fallbacks ?? defaults.fallbacks,
  };
}
