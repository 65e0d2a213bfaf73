// What staging a version of a configured model means: its golden set (resolved against the
// config file's directory), its gates and its validators. Rollback, canary and the CLI call this
// so they all judge a version the same way.
import { isAbsolute, resolve } from 'node:path';
import type { ModelConfig } from '../../config.ts';
import type { ModelVersion } from '../../core/types.ts';
import type { ValidatorEngine } from '../validators/validator-engine.ts';
import { createValidatorEngine } from '../validators/validator-engine.ts';
import { resolveStagingConfig, type StagingConfig } from './staging-config.ts';
import { validateVersion, type StagedVersion, type StagingProgress, type StagingReport, type ValidateVersionOptions } from './validate-version.ts';

export interface StagingPlan {
  model: string;
  kind: ModelConfig['kind'];
  /** Absolute path of the golden set. */
  golden: string;
  config: StagingConfig;
  validators?: ValidatorEngine;
}

/** The plan for a model, or undefined when it has no golden set (nothing to validate against). */
export function stagingPlanFor(
  model: Pick<ModelConfig, 'name' | 'kind' | 'golden' | 'staging' | 'validators'>,
  baseDir: string,
  engine?: ValidatorEngine,
): StagingPlan | undefined {
  if (!model.golden) return undefined;
  const config = resolveStagingConfig(model.staging);
  const validators = config.useModelValidators ? (engine ?? (model.validators?.length ? createValidatorEngine(model.validators) : undefined)) : undefined;
  return {
    model: model.name,
    kind: model.kind,
    golden: isAbsolute(model.golden) ? model.golden : resolve(baseDir, model.golden),
    config,
    validators,
  };
}

/** Runs a plan against one version. */
export function runStagingPlan(
  plan: StagingPlan,
  version: StagedVersion | ModelVersion,
  extra: Pick<ValidateVersionOptions, 'onProgress' | 'signal' | 'clock' | 'dispatcher'> & { onProgress?: StagingProgress } = {},
): Promise<StagingReport> {
  return validateVersion({
    version: { ...version, model: version.model ?? plan.model },
    kind: plan.kind,
    golden: plan.golden,
    gates: { minPassRate: plan.config.minPassRate, latencyBudgetMs: plan.config.latencyBudgetMs, validators: plan.validators },
    concurrency: plan.config.concurrency,
    timeoutMs: plan.config.timeoutMs,
    ...extra,
  });
}
