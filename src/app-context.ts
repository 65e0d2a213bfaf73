// What every feature's routes and services may reach. Built once in src/main.ts (composition root).
// Feature areas add their service to `Services` (additive edits only).
import type { Logger } from 'pino';
import type { LoadedConfig } from './config.ts';
import type { EventBus } from './core/events.ts';
import type { Clock } from './core/types.ts';
import type { RequireRole } from './http/auth.ts';
import type { Stores } from './features/stores.ts';
import type { StorageHandle } from './storage/database.ts';
import type { IncidentService } from './features/incidents/incident-service.ts';
import type { Notifier } from './features/notifications/notifier.ts';
import type { AuditLog } from './features/audit/audit-service.ts';
import type { ApiKeyService } from './features/auth/api-key-service.ts';
import type { RegistryService } from './features/registry/registry-service.ts';
import type { RoutingService } from './features/routing/routing-service.ts';
import type { FeedbackService } from './features/feedback/feedback-service.ts';
import type { RcaService } from './features/rca/rca-service.ts';
import type { MonitorRunner } from './features/monitoring/monitor-runner.ts';
import type { PostmortemService } from './features/review/postmortem-service.ts';
import type { ContainmentService } from './features/containment/containment-service.ts';
import type { RollbackService } from './features/rollback/rollback-service.ts';
import type { PlaybookRunner } from './features/playbooks/playbook-runner.ts';
import type { FallbackService } from './features/fallbacks/fallback-service.ts';
import type { RunbookService } from './features/runbooks/runbook-service.ts';
import type { DeploymentService } from './features/deployments/deployment-service.ts';
import type { ExperimentService } from './features/deployments/experiment-service.ts';

export interface Services {
  incidents: IncidentService;
  notifier: Notifier;
  audit: AuditLog;
  apiKeys: ApiKeyService;
  registry: RegistryService;
  routing: RoutingService;
  feedback: FeedbackService;
  /** Optional: composition roots and test kits without RCA leave it out (src/features/rca). */
  rca?: RcaService;
  /** Optional (src/features/containment, rollback, playbooks, fallbacks): isolate/pause/resume, validated rollback, playbooks, fallbacks and breakers. */
  containment?: ContainmentService;
  rollback?: RollbackService;
  playbooks?: PlaybookRunner;
  fallbacks?: FallbackService;
  /** Optional (src/features/runbooks): runbook versions, incident checklists, compliance reports. */
  runbooks?: RunbookService;
  /** Optional (src/features/review): postmortems and applying their monitor tuning. */
  review?: PostmortemService;
  /** Optional (src/features/monitoring): the monitor runner — latest findings, applyTuning, replay. */
  monitors?: MonitorRunner;
  /** Optional (src/features/deployments): canary deployments (activeCandidate tells monitors which version a canary judges) and A/B tests. */
  deployments?: DeploymentService;
  experiments?: ExperimentService;
}

export interface AppContext {
  loaded: LoadedConfig;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  storage: StorageHandle;
  stores: Stores;
  requireRole: RequireRole;
  services: Services;
}
