// In-memory Stores for unit tests and `storage: memory`-style fixtures. Transactions run one at a
// time (like SQLite's single writer) and roll back their own writes when fn throws.
import { MemoryApiKeyStore } from './auth/memory-api-key-store.ts';
import { MemoryAuditStore } from './audit/memory-audit-store.ts';
import { MemoryDeploymentStore, MemoryExperimentStore } from './deployments/memory-deployment-store.ts';
import { MemoryFeedbackStore } from './feedback/memory-feedback-store.ts';
import { MemoryIncidentStore } from './incidents/memory-incident-store.ts';
import { UndoJournal, type UndoLog } from './memory-undo.ts';
import { MemoryMonitorTuningStore } from './monitoring/memory-monitor-tuning-store.ts';
import { MemoryModelStore, MemoryVersionStore } from './registry/memory-registry-store.ts';
import { MemoryRouteStore } from './routing/memory-route-store.ts';
import { MemoryPlaybookActionStore, MemoryRollbackStore } from './rollback/memory-rollback-store.ts';
import { MemoryRunbookStore } from './runbooks/memory-runbook-store.ts';
import type { Stores } from './stores.ts';
import { MemoryTraceStore } from './telemetry/memory-trace-store.ts';

interface MemoryParts {
  models: MemoryModelStore;
  versions: MemoryVersionStore;
  routes: MemoryRouteStore;
  traces: MemoryTraceStore;
  feedback: MemoryFeedbackStore;
  apiKeys: MemoryApiKeyStore;
  audit: MemoryAuditStore;
  incidents: MemoryIncidentStore;
  rollbacks: MemoryRollbackStore;
  playbookActions: MemoryPlaybookActionStore;
  runbooks: MemoryRunbookStore;
  deployments: MemoryDeploymentStore;
  experiments: MemoryExperimentStore;
  monitorTuning: MemoryMonitorTuningStore;
}

const bind = (parts: MemoryParts, undo: UndoLog): MemoryParts => ({
  models: parts.models.bound(undo),
  versions: parts.versions.bound(undo),
  routes: parts.routes.bound(undo),
  traces: parts.traces.bound(undo),
  feedback: parts.feedback.bound(undo),
  apiKeys: parts.apiKeys.bound(undo),
  audit: parts.audit.bound(undo),
  incidents: parts.incidents.bound(undo),
  rollbacks: parts.rollbacks.bound(undo),
  playbookActions: parts.playbookActions.bound(undo),
  runbooks: parts.runbooks.bound(undo),
  deployments: parts.deployments.bound(undo),
  experiments: parts.experiments.bound(undo),
  monitorTuning: parts.monitorTuning.bound(undo),
});

export function createMemoryStores(): Stores {
  const models = new MemoryModelStore();
  const exists = (name: string) => models.has(name);
  const root: MemoryParts = {
    models,
    versions: new MemoryVersionStore(exists),
    routes: new MemoryRouteStore(exists),
    traces: new MemoryTraceStore(),
    feedback: new MemoryFeedbackStore(),
    apiKeys: new MemoryApiKeyStore(),
    audit: new MemoryAuditStore(),
    incidents: new MemoryIncidentStore(),
    rollbacks: new MemoryRollbackStore(),
    playbookActions: new MemoryPlaybookActionStore(),
    runbooks: new MemoryRunbookStore(),
    deployments: new MemoryDeploymentStore(),
    experiments: new MemoryExperimentStore(),
    monitorTuning: new MemoryMonitorTuningStore(),
  };

  let queue: Promise<unknown> = Promise.resolve();
  const transaction = <T>(fn: (tx: Stores) => Promise<T>): Promise<T> => {
    const run = async (): Promise<T> => {
      const journal = new UndoJournal();
      const tx: Stores = { ...bind(root, journal), transaction: (inner) => inner(tx) };
      try {
        return await fn(tx);
      } catch (err) {
        journal.rollback();
        throw err;
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  };

  return { ...root, transaction };
}
