// Domain types shared by every feature. Database row shapes live in src/storage/schema.ts
// and are converted to these in the stores; HTTP answers are built from these.

export type ModelKind = 'chat' | 'predict';
export type RouteMode = 'serving' | 'paused' | 'fallback';
export type VersionState = 'candidate' | 'validated' | 'live' | 'stable' | 'faulty' | 'retired';
export type Role = 'admin' | 'operator' | 'viewer' | 'client';
export type Severity = 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4';
export type IncidentStatus =
  | 'open'
  | 'acknowledged'
  | 'contained'
  | 'mitigated'
  | 'resolved'
  | 'reviewed'
  | 'declined';
export type Audience = 'engineering' | 'compliance' | 'product';

/** Milliseconds since the epoch. Every clock in the system speaks this unit. */
export type EpochMs = number;

export interface Clock {
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Model {
  name: string;
  kind: ModelKind;
  /** Free-form tags, e.g. `critical`, used by runbook conditions and playbooks. */
  tags: string[];
  createdAt: EpochMs;
}

export interface Upstream {
  url: string;
  /** Upstream model id sent to the provider (`gpt-4o-mini`, `sim-chat`). */
  model?: string;
  provider: string;
  /** Optional extra headers (e.g. an upstream API key reference); never returned by the API. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Context window of the upstream model in tokens, when known (used by RCA). */
  contextWindow?: number;
}

export interface VersionSpec {
  version: string;
  upstream: Upstream;
  prompt?: string;
  params?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface ModelVersion extends VersionSpec {
  model: string;
  state: VersionState;
  /** sha256 of the canonical JSON of the spec: registering the same id with other content is refused. */
  contentHash: string;
  createdAt: EpochMs;
  stateChangedAt: EpochMs;
  /** When the version first served live traffic (for soak and RCA). */
  liveSince?: EpochMs;
  /** When it earned `stable`. */
  stableSince?: EpochMs;
}

export interface Route {
  model: string;
  /** version -> weight; non-negative integers summing to 100 while serving. */
  weights: Record<string, number>;
  shadow?: { version: string; percent: number };
  /** Request field or header that keeps a client on one arm (`user`, `header:x-client-id`). */
  stickyKey?: string;
  mode: RouteMode;
  revision: number;
  updatedAt: EpochMs;
  updatedBy: string;
  reason?: string;
}

export interface RouteChange {
  model: string;
  revision: number;
  weights: Record<string, number>;
  shadow?: { version: string; percent: number };
  mode: RouteMode;
  actor: string;
  reason?: string;
  at: EpochMs;
}

export type TraceStatus = 'ok' | 'error' | 'fallback' | 'blocked';

export interface ValidatorResult {
  validator: string;
  passed: boolean;
  action: 'flag' | 'fallback' | 'block';
  message?: string;
  checkpoint?: string;
}

export interface Trace {
  requestId: string;
  model: string;
  /** Version whose answer the client got (after a retry, the retried one); absent when none did. */
  version?: string;
  /** Version first chosen, when a retry or fallback moved the request elsewhere. */
  firstVersion?: string;
  kind: ModelKind;
  startedAt: EpochMs;
  latencyMs: number;
  ttfbMs?: number;
  httpStatus: number;
  status: TraceStatus;
  /** `upstream_5xx`, `timeout`, `connection`, `circuit_open`, `malformed_output`, `validator`, ... */
  errorClass?: string;
  errorMessage?: string;
  upstreamHost?: string;
  stream: boolean;
  retried: boolean;
  fallback?: 'cache' | 'model' | 'static';
  promptTokens?: number;
  completionTokens?: number;
  /** Input size in characters, kept even when the input text is capped or redacted. */
  inputChars: number;
  outputChars: number;
  input?: string;
  output?: string;
  client?: string;
  /** Route arm / metadata tags used by segment analysis (and FIRST_UPSTREAM_HOST_TAG after a retry). */
  tags?: Record<string, string>;
  /** Numeric features of predict requests (first instance), for drift. */
  features?: number[];
  /** Predicted class/label for predict models or classification-like chat outputs. */
  prediction?: string;
  validators?: ValidatorResult[];
  shadow?: boolean;
}

/**
 * Trace tag with the upstream host of a retried request's first attempt. `upstreamHost` names the
 * host that answered last (after a retry, the stable version's); RCA blames a failure on the first
 * attempt, so it needs that host too. A tag, so the trace tables need no new column.
 */
export const FIRST_UPSTREAM_HOST_TAG = 'firstUpstreamHost';

export interface Feedback {
  id: number;
  requestId: string;
  model: string;
  version?: string;
  /** Time of the request the feedback is about: a late label counts at this time. */
  requestAt: EpochMs;
  receivedAt: EpochMs;
  rating?: 1 | -1;
  score?: number;
  label?: string;
  comment?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  /** First characters of the key, safe to show (`fsk_ab12`). */
  prefix: string;
  createdAt: EpochMs;
  expiresAt?: EpochMs;
  revokedAt?: EpochMs;
  lastUsedAt?: EpochMs;
}

/** Who did something: an API key's name, `system`, `playbook:<id>`, `config`. */
export type Actor = string;

export interface AuditEntry {
  seq: number;
  at: EpochMs;
  actor: Actor;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
  reason?: string;
  requestId?: string;
  prevHash: string;
  hash: string;
}

export type FindingStatus = 'ok' | 'breach' | 'insufficient_data';

/** Every automated decision shows its numbers. */
export interface Evidence {
  test: string;
  statistic?: number;
  threshold?: number;
  pValue?: number;
  bound?: number;
  window?: { from: EpochMs; to: EpochMs };
  sampleSize?: number;
  baselineSampleSize?: number;
  observed?: number;
  baseline?: number;
  detail?: string;
  /** Size of the fault that the severity was computed from (unit per family: see core/detectors/severity.ts). */
  magnitude?: number;
}

export interface Finding {
  monitor: string;
  /** Signal family used for incident de-duplication: errors, latency, validity, feedback, accuracy, drift, external. */
  family: string;
  model: string;
  version: string;
  status: FindingStatus;
  at: EpochMs;
  severity?: Severity;
  evidence: Evidence;
  /** Estimated onset time of the fault. */
  onsetAt?: EpochMs;
}

export interface ImpactScope {
  trafficShare?: number;
  requests?: number;
  failedRequests?: number;
  clients?: number;
  since?: EpochMs;
}

export interface Incident {
  id: string;
  model: string;
  version?: string;
  family: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  source: 'monitor' | 'alertmanager' | 'webhook' | 'manual';
  dedupKey: string;
  detectedAt: EpochMs;
  onsetAt?: EpochMs;
  acknowledgedAt?: EpochMs;
  containedAt?: EpochMs;
  mitigatedAt?: EpochMs;
  resolvedAt?: EpochMs;
  reviewedAt?: EpochMs;
  declinedAt?: EpochMs;
  impact: ImpactScope;
  evidence: Evidence[];
  rootCause?: { category: string; summary: string; confidence: number };
  runbook?: { id: string; version: number };
  /** Every signal that fed this incident, keyed `monitor:<name>` or `<source>:<alert key>`. */
  sources?: Record<string, IncidentSignal>;
  /** Evidence items received in total (`evidence` keeps only the newest ones; the timeline has all). */
  evidenceCount?: number;
  /** What automatic escalation counts from: set on open and whenever a human sets the severity. */
  severityBasis?: { severity: Severity; evidenceCount: number; setBy: Actor; at: EpochMs };
  declineReason?: string;
  updatedAt?: EpochMs;
}

/** One signal that fed an incident: a monitor, or an alert from outside. */
export interface IncidentSignal {
  kind: 'monitor' | 'alert';
  firstAt: EpochMs;
  lastAt: EpochMs;
  count: number;
  /** Alerts only: whether the source still reports it firing. */
  status?: 'firing' | 'resolved';
}

export interface TimelineEvent {
  id: number;
  incidentId: string;
  at: EpochMs;
  /** `detected`, `evidence`, `severity_raised`, `status`, `note`, `contained`, `notified`, `rollback`, ... */
  kind: string;
  actor: Actor;
  message: string;
  data?: unknown;
}
