// The set of stores a service sees. `transaction` hands the callback a set bound to one database
// transaction, so a change and its audit entry commit together or not at all.
import type { ApiKeyStore } from './auth/api-key-store.ts';
import type { AuditStore } from './audit/audit-store.ts';
import type { DeploymentStore, ExperimentStore } from './deployments/deployment-store.ts';
import type { FeedbackStore } from './feedback/feedback-store.ts';
import type { IncidentStore } from './incidents/incident-store.ts';
import type { MonitorTuningStore } from './monitoring/monitor-tuning-store.ts';
import type { PlaybookActionStore } from './playbooks/playbook-action-store.ts';
import type { RollbackStore } from './rollback/rollback-store.ts';
import type { ModelStore, VersionStore } from './registry/registry-store.ts';
import type { RouteStore } from './routing/route-store.ts';
import type { RunbookStore } from './runbooks/runbook-store.ts';
import type { TraceStore } from './telemetry/trace-store.ts';

export interface Stores {
  models: ModelStore;
  versions: VersionStore;
  routes: RouteStore;
  traces: TraceStore;
  feedback: FeedbackStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  incidents: IncidentStore;
  rollbacks: RollbackStore;
  playbookActions: PlaybookActionStore;
  runbooks: RunbookStore;
  deployments: DeploymentStore;
  experiments: ExperimentStore;
  monitorTuning: MonitorTuningStore;
  /** Runs fn in one transaction. Nested calls join the outer transaction. */
  transaction<T>(fn: (tx: Stores) => Promise<T>): Promise<T>;
}
