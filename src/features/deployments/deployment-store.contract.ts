// Contract for DeploymentStore and ExperimentStore, run on memory, SQLite and PostgreSQL by
// src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import { canarySettings } from '../../core/canary/canary-settings.ts';
import { planDeployment } from '../../core/canary/deployment-plan.ts';
import type { Stores } from '../stores.ts';
import type { DeploymentAnalysisRecord, DeploymentRecord, ExperimentRecord } from './deployment-store.ts';

const T = Date.UTC(2025, 0, 1);
const deployment = (id: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  id,
  model: 'support-bot',
  version: 'v2',
  baseline: 'v1',
  status: 'running',
  phase: 'validating',
  plan: planDeployment({ version: 'v2' }, { minSamples: 200 }),
  settings: canarySettings(),
  stepIndex: -1,
  step: 0,
  phaseStartedAt: T,
  deadlineAt: T + 600_000,
  reason: 'validating',
  actor: 'key:ops',
  routeBefore: { weights: { v1: 100 } },
  requests: { candidate: 0, stable: 0 },
  history: [{ at: T, event: 'created', phase: 'validating', step: 0, actor: 'key:ops' }],
  analysisCount: 0,
  createdAt: T,
  updatedAt: T,
  ...extra,
});
const analysis = (deploymentId: string, seq: number): DeploymentAnalysisRecord => ({
  deploymentId,
  seq,
  at: T + seq * 1000,
  phase: 'canary',
  step: 5,
  decision: seq === 3 ? 'breach' : 'insufficient_data',
  action: seq === 3 ? 'abort' : 'wait',
  reason: `look ${seq}`,
  window: { from: T, to: T + seq * 1000 },
  monitors: [
    { monitor: 'error-rate', family: 'errors', status: 'insufficient_data', required: true, test: 'msprt-two-sample', pValue: 0.5, nCandidate: seq * 10, nStable: seq * 190, summary: 'n', detail: 'd' },
  ],
});
const experiment = (id: string, extra: Partial<ExperimentRecord> = {}): ExperimentRecord => ({
  id,
  model: 'support-bot',
  versions: { v1: 50, v2: 50 },
  control: 'v1',
  stickyKey: 'user',
  durationSeconds: 60,
  status: 'running',
  actor: 'key:ops',
  routeBefore: { weights: { v1: 100 } },
  startedAt: T,
  endsAt: T + 60_000,
  ...extra,
});

export function deploymentStoreContract(getStores: () => Stores): void {
  describe('DeploymentStore', () => {
    it('inserts, updates and reads back records; refuses duplicates and unknown ids', async () => {
      const s = getStores().deployments;
      await s.insert(deployment('dep-1'));
      await expect(s.insert(deployment('dep-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
      const aborted = deployment('dep-1', { status: 'aborted', phase: 'done', step: 5, stepIndex: 0, reason: 'error-rate breach', finishedAt: T + 9, updatedAt: T + 9 });
      await s.update(aborted);
      expect(await s.get('dep-1')).toEqual(aborted);
      await expect(s.update(deployment('dep-404'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await s.get('dep-404')).toBeUndefined();
    });

    it('lists newest first, by model and status', async () => {
      const s = getStores().deployments;
      await s.insert(deployment('dep-a', { createdAt: T + 1, status: 'aborted' }));
      await s.insert(deployment('dep-b', { createdAt: T + 2 }));
      await s.insert(deployment('dep-c', { createdAt: T + 3, model: 'other' }));
      expect((await s.list()).map((d) => d.id)).toEqual(['dep-c', 'dep-b', 'dep-a']);
      expect((await s.list({ model: 'support-bot' })).map((d) => d.id)).toEqual(['dep-b', 'dep-a']);
      expect((await s.list({ status: ['running', 'paused'] })).map((d) => d.id)).toEqual(['dep-c', 'dep-b']);
      expect((await s.list({ limit: 1 })).map((d) => d.id)).toEqual(['dep-c']);
    });

    it('keeps every analysis with its numbers and returns the newest, oldest first', async () => {
      const s = getStores().deployments;
      await s.insert(deployment('dep-x'));
      for (let i = 1; i <= 3; i++) await s.addAnalysis(analysis('dep-x', i));
      await expect(s.addAnalysis(analysis('dep-x', 2))).rejects.toMatchObject({ code: 'CONFLICT' });
      const all = await s.listAnalyses('dep-x');
      expect(all.map((a) => a.seq)).toEqual([1, 2, 3]);
      expect(all[2]).toEqual(analysis('dep-x', 3));
      expect((await s.listAnalyses('dep-x', { limit: 2 })).map((a) => a.seq)).toEqual([2, 3]);
      expect(await s.listAnalyses('dep-none')).toEqual([]);
    });

    it('joins transactions: a failed one leaves nothing', async () => {
      const stores = getStores();
      await expect(
        stores.transaction(async (tx) => {
          await tx.deployments.insert(deployment('dep-tx'));
          await tx.deployments.addAnalysis(analysis('dep-tx', 1));
          await tx.experiments.insert(experiment('exp-tx'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await stores.deployments.get('dep-tx')).toBeUndefined();
      expect(await stores.deployments.listAnalyses('dep-tx')).toEqual([]);
      expect(await stores.experiments.get('exp-tx')).toBeUndefined();
    });
  });

  describe('ExperimentStore', () => {
    it('inserts, updates, lists newest first', async () => {
      const s = getStores().experiments;
      await s.insert(experiment('exp-1'));
      await s.insert(experiment('exp-2', { startedAt: T + 5, model: 'other' }));
      await expect(s.insert(experiment('exp-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
      const done = experiment('exp-1', { status: 'completed', finishedAt: T + 60_000, report: { arms: { v1: { requests: 10 } }, comparisons: [], from: T, to: T + 60_000 } });
      await s.update(done);
      expect(await s.get('exp-1')).toEqual(done);
      expect((await s.list()).map((e) => e.id)).toEqual(['exp-2', 'exp-1']);
      expect((await s.list({ model: 'support-bot', status: ['completed'] })).map((e) => e.id)).toEqual(['exp-1']);
      await expect(s.update(experiment('exp-404'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
