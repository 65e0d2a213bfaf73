// Database row types, kept apart from domain types (src/core/types.ts); stores convert between them.
// Conventions, identical on SQLite and PostgreSQL so one store implementation serves both:
// - times are integer milliseconds since the epoch (bigint on PostgreSQL, parsed back to number);
// - JSON is stored as text and parsed in the store (see json.ts);
// - booleans are integers 0/1.
import type { Generated } from 'kysely';

export interface ModelsTable {
  name: string;
  kind: string;
  tags: string; // JSON string[]
  created_at: number;
}

export interface VersionsTable {
  model: string;
  version: string;
  state: string;
  upstream: string; // JSON Upstream
  prompt: string | null;
  params: string | null; // JSON
  metadata: string | null; // JSON
  content_hash: string;
  created_at: number;
  state_changed_at: number;
  live_since: number | null;
  stable_since: number | null;
}

export interface RoutesTable {
  model: string;
  weights: string; // JSON Record<string, number>
  shadow: string | null; // JSON {version, percent}
  sticky_key: string | null;
  mode: string;
  revision: number;
  updated_at: number;
  updated_by: string;
  reason: string | null;
}

export interface RouteHistoryTable {
  id: Generated<number>;
  model: string;
  revision: number;
  weights: string;
  shadow: string | null;
  mode: string;
  actor: string;
  reason: string | null;
  at: number;
}

export interface TracesTable {
  request_id: string;
  model: string;
  version: string | null;
  first_version: string | null;
  kind: string;
  started_at: number;
  latency_ms: number;
  ttfb_ms: number | null;
  http_status: number;
  status: string;
  error_class: string | null;
  error_message: string | null;
  upstream_host: string | null;
  stream: number;
  retried: number;
  fallback: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  input_chars: number;
  output_chars: number;
  input: string | null;
  output: string | null;
  client: string | null;
  tags: string | null; // JSON
  features: string | null; // JSON number[]
  prediction: string | null;
  validators: string | null; // JSON ValidatorResult[]
  shadow: number;
}

export interface FeedbackTable {
  id: Generated<number>;
  request_id: string;
  model: string;
  version: string | null;
  request_at: number;
  received_at: number;
  rating: number | null;
  score: number | null;
  label: string | null;
  comment: string | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  prefix: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AuditLogTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
  reason: string | null;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface IncidentsTable {
  id: string;
  model: string;
  version: string | null;
  family: string;
  title: string;
  severity: string;
  status: string;
  source: string;
  dedup_key: string;
  /** The dedup key while the incident is active, NULL once closed; unique, so one active incident per key. */
  open_key: string | null;
  detected_at: number;
  onset_at: number | null;
  acknowledged_at: number | null;
  contained_at: number | null;
  mitigated_at: number | null;
  resolved_at: number | null;
  reviewed_at: number | null;
  declined_at: number | null;
  updated_at: number | null;
  impact: string; // JSON ImpactScope
  evidence: string; // JSON Evidence[]
  evidence_count: number;
  root_cause: string | null; // JSON
  runbook: string | null; // JSON {id, version}
  sources: string | null; // JSON Record<string, IncidentSignal>
  severity_basis: string | null; // JSON
  decline_reason: string | null;
}

export interface IncidentTimelineTable {
  id: Generated<number>;
  incident_id: string;
  at: number;
  kind: string;
  actor: string;
  message: string;
  data: string | null; // JSON
}

export interface SignedRequestsTable {
  signature: string;
  seen_at: number;
}

export interface RollbacksTable {
  id: string;
  model: string;
  status: string;
  incident_id: string | null;
  started_at: number;
  finished_at: number | null;
  record: string; // JSON RollbackRecord
}

export interface PlaybookActionsTable {
  id: string;
  incident_id: string;
  model: string;
  status: string;
  created_at: number;
  record: string; // JSON PlaybookAction
}

export interface RunbooksTable {
  id: string;
  version: number;
  title: string;
  hash: string;
  yaml: string;
  definition: string; // JSON RunbookDefinition
  created_at: number;
  created_by: string;
}

export interface RunbookChecklistsTable {
  incident_id: string;
  runbook_id: string;
  runbook_version: number;
  revision: number;
  next_due_at: number | null;
  created_at: number;
  updated_at: number;
  record: string; // JSON Checklist
}

export interface MonitorTuningTable {
  model: string;
  monitor: string;
  settings: string; // JSON MonitorSettingsPatch
  updated_at: number;
  updated_by: string;
  reason: string | null;
}

export interface MetricDeltasTable {
  id: Generated<number>;
  replica: string;
  at: number;
  buckets: string; // JSON SerializedBucket[]
}

export interface DeploymentsTable {
  id: string;
  model: string;
  version: string;
  status: string;
  created_at: number;
  updated_at: number;
  record: string; // JSON DeploymentRecord
}

export interface DeploymentAnalysesTable {
  deployment_id: string;
  seq: number;
  at: number;
  decision: string;
  record: string; // JSON DeploymentAnalysisRecord
}

export interface ExperimentsTable {
  id: string;
  model: string;
  status: string;
  started_at: number;
  record: string; // JSON ExperimentRecord
}

/** Every table. Feature migrations add theirs here. */
export interface Database {
  models: ModelsTable;
  versions: VersionsTable;
  routes: RoutesTable;
  route_history: RouteHistoryTable;
  traces: TracesTable;
  feedback: FeedbackTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  incidents: IncidentsTable;
  incident_timeline: IncidentTimelineTable;
  signed_requests: SignedRequestsTable;
  rollbacks: RollbacksTable;
  playbook_actions: PlaybookActionsTable;
  runbooks: RunbooksTable;
  runbook_checklists: RunbookChecklistsTable;
  deployments: DeploymentsTable;
  deployment_analyses: DeploymentAnalysesTable;
  experiments: ExperimentsTable;
  monitor_tuning: MonitorTuningTable;
  metric_deltas: MetricDeltasTable;
}
