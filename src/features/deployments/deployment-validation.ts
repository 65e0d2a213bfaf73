// The offline gate of a deployment (and of `failsafe validate`): the model's golden set replayed
// against the candidate's upstream directly (staging), or, for a model without one, a smoke check
// (a few synthetic requests that must get a well-formed answer) — the same rule rollback uses.
import type { LoadedConfig } from '../../config.ts';
import type { Clock, ModelKind, ModelVersion } from '../../core/types.ts';
import type { GoldenSet } from '../staging/golden-set.ts';
import { resolveStagingConfig } from '../staging/staging-config.ts';
import { runStagingPlan, stagingPlanFor } from '../staging/staging-plan.ts';
import { validateVersion, type StagingReport } from '../staging/validate-version.ts';
import type { DeploymentValidation } from './deployment-store.ts';

export interface ValidateCandidateInput {
  model: string;
  kind: ModelKind;
  version: ModelVersion;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Replaceable in tests (and by a CI hook that validates elsewhere). */
export type CandidateValidator = (input: ValidateCandidateInput) => Promise<DeploymentValidation>;

const SMOKE_REQUESTS = 5;

export function smokeGoldenSet(kind: ModelKind, n = SMOKE_REQUESTS): GoldenSet {
  return {
    path: '(smoke check)',
    cases: Array.from({ length: n }, (_, i) => ({
      line: i + 1,
      id: `smoke-${i + 1}`,
      input: kind === 'chat' ? `Failsafe deployment smoke check ${i + 1}: please answer briefly.` : [i % 2 === 0 ? 1 : -1],
      match: 'regex' as const,
      expected: '[\\s\\S]*',
      regex: /[\s\S]*/,
    })),
  };
}

function fromReport(kind: 'golden' | 'smoke', report: StagingReport, version: ModelVersion, note?: string): DeploymentValidation {
  return {
    kind,
    passed: report.passed,
    summary: note ? `${report.summary} [${note}]` : report.summary,
    passRate: report.passRate,
    total: report.total,
    versionContentHash: version.contentHash,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
  };
}

export function stagingValidator(loaded: LoadedConfig, clock: Clock): CandidateValidator {
  return async ({ model, kind, version, onProgress, signal }) => {
    const startedAt = clock.now();
    try {
      const mc = loaded.config.models.find((m) => m.name === model);
      const plan = mc ? stagingPlanFor(mc, loaded.baseDir) : undefined;
      if (plan) return fromReport('golden', await runStagingPlan(plan, version, { onProgress, signal, clock }), version);
      const staging = resolveStagingConfig(mc?.staging);
      const report = await validateVersion({
        version: { ...version, model },
        kind,
        golden: smokeGoldenSet(kind),
        gates: { minPassRate: 1, latencyBudgetMs: staging.latencyBudgetMs },
        timeoutMs: staging.timeoutMs,
        onProgress,
        signal,
        clock,
      });
      return fromReport('smoke', report, version, `smoke check: ${model} has no golden set`);
    } catch (err) {
      // A golden set that cannot be read fails the gate with the reason, not the deployment machinery.
      const message = (err as Error)?.message ?? String(err);
      return { kind: 'golden', passed: false, summary: `${model}@${version.version} could not be validated: ${message}`, versionContentHash: version.contentHash, startedAt, finishedAt: clock.now() };
    }
  };
}
