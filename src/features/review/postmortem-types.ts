// Shapes of a postmortem (SOP step 5): what the builder takes in (data gathered by the service)
// and what it hands out (JSON with ISO 8601 UTC times, rendered to Markdown as is). Every section
// carries a status; a section without enough data says why instead of showing a figure.
import type { EpochMs, Feedback, Incident, Severity, TimelineEvent, Trace } from '../../core/types.ts';

// ------------------------------------------------------------------------------------------
// Input

/** A runbook checklist item as the incident detail shows it. */
export interface ChecklistItemInput {
  id: string;
  title: string;
  status: string;
  kind?: string;
  /** A name, or the runbook's `{role, audience}`. */
  owner?: string | { role?: string; audience?: string } | null;
  dueAt?: string | number | null;
  completedAt?: string | number | null;
}

/** A root-cause hypothesis (RCA engine or its stored timeline event). */
export interface HypothesisInput {
  category: string;
  confidence: number;
  summary: string;
  evidence?: unknown;
}

/** One validation of a version (a rollback target, or the faulty version itself). */
export interface ValidationInput {
  version: string;
  passed: boolean;
  summary: string;
  kind?: 'golden' | 'smoke';
  passRate?: number;
  total?: number;
  passedCases?: number;
  /** Gate values: pass rate and p95 latency, measured against threshold. */
  gates?: {
    passRate?: { value: number | null; threshold: number; passed: boolean };
    latencyP95?: { value: number | null; threshold: number; passed: boolean };
  };
  errors?: Record<string, number>;
  at?: EpochMs;
  /** Where the report comes from: `audit` (recorded validation), `deployment`, `rollback`, `replay` (run for this postmortem), `postmortem` (an earlier run). */
  source: string;
  /** The version's content hash the report is about, when known. */
  contentHash?: string;
}

export interface RollbackInput {
  id: string;
  from?: string;
  to?: string;
  status: string;
  actor: string;
  startedAt: EpochMs;
  switchedAt?: EpochMs;
  finishedAt?: EpochMs;
  durationMs?: number;
  validations: ValidationInput[];
  error?: { code: string; message: string };
}

/** One replayed configuration of a monitor over recorded history. */
export interface ReplayTrial {
  /** `current` for the settings in force, otherwise what was tightened. */
  label: string;
  /** The settings change relative to the current ones (empty for `current`). */
  patch: Record<string, unknown>;
  /** First evaluation in the incident span that would have breached. */
  firstBreachAt?: EpochMs;
  /**
   * Alarms (runs of breaches that would have opened an incident) on healthy history; null when
   * not checked (a setting that fires no earlier needs no false-alarm check).
   */
  falseAlarms: number | null;
  /** Breaching evaluations on healthy history (null: not checked). */
  breachingEvaluations: number | null;
  /** Evaluations on healthy history that had enough data to judge (null: not checked). */
  healthyEvaluations: number | null;
}

export interface HealthySpan {
  description: string;
  version: string;
  from: EpochMs;
  to: EpochMs;
  requests: number;
}

/** What replaying the detecting monitor over recorded traffic found. */
export interface DetectionReplayInput {
  monitor: string;
  model: string;
  version: string;
  /** Where the replay's history came from (e.g. `recorded traces`). */
  source: string;
  /** The span judged as the incident: from onset to detection. */
  incidentSpan: { from: EpochMs; to: EpochMs };
  healthy: HealthySpan[];
  trials: ReplayTrial[];
  notes?: string[];
}

export interface AppliedTuningInput {
  suggestionId: string;
  at: EpochMs;
  actor: string;
}

export interface PostmortemInput {
  now: EpochMs;
  incident: Incident;
  timeline: TimelineEvent[];
  checklist?: ChecklistItemInput[];
  /** The last known stable version other than the faulty one. */
  stableVersion?: string;
  /** Owner of the model (version metadata `owner`/`author`), for action items. */
  modelOwner?: string;
  /** Traces of the model in the impact window; absent with the reason when they could not be read. */
  traces?: { items: Trace[]; from: EpochMs; to: EpochMs; truncated: boolean } | { unavailable: string };
  /** Feedback on requests in the impact window. */
  feedback?: Feedback[];
  /** Onset estimated by RCA when the incident has none. */
  estimatedOnsetAt?: EpochMs;
  rca?: { hypotheses: HypothesisInput[]; source: string } | { unavailable: string };
  rollbacks?: RollbackInput[];
  /** How the faulty version scored on its golden set vs the gate. */
  validation?: ValidationInput | { unavailable: string };
  replay?: DetectionReplayInput | { unavailable: string };
  applied?: AppliedTuningInput[];
}

// ------------------------------------------------------------------------------------------
// Output (JSON, ISO times)

export type SectionStatus = 'complete' | 'partial' | 'insufficient_data' | 'not_applicable';

export interface Section {
  status: SectionStatus;
  /** Why a section is partial or lacks data (empty when complete). */
  reasons: string[];
}

export interface ImpactFigures {
  requests: number;
  /** Requests with any bad outcome (failed first attempt, error, fallback answer, failed validator, negative rating). */
  affectedRequests: number;
  /** First attempts that failed (the client may still have got a retry or fallback answer). */
  failedFirstAttempts: number;
  /** Errors the client saw (status error or blocked; not refused input or client disconnects). */
  clientErrors: number;
  fallbackAnswers: number;
  fallbackByKind: Record<string, number>;
  /** Failed first attempts answered by the stable version on retry. */
  retriedOnStable: number;
  /** Answers that came back but failed a validator, got a negative rating or disagreed with a label. */
  qualityFailures: number;
  /** Requests refused because the model was paused (containment). */
  refusedWhilePaused: number;
  errorClasses: Record<string, number>;
  /** Distinct clients with an affected request; null when traces carry no client id. */
  clientsAffected: number | null;
  clients: number | null;
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
}

export interface ImpactSection extends Section {
  window: { from: string; to: string; durationMs: number } | null;
  /** From onset (or detection) to resolution, or to now while open. */
  incidentDurationMs: number | null;
  /** When the fault reached users: onset (or detection) to containment/mitigation. */
  userImpactMs: number | null;
  faultyVersion: (ImpactFigures & { version: string }) | null;
  overall: ImpactFigures | null;
  /** True when the trace cap was hit: the figures are lower bounds. */
  lowerBounds: boolean;
  /** How the incident recorded its own impact (monitor estimate), for comparison. */
  recorded: Incident['impact'];
  exampleRequestIds: string[];
}

export interface TimelineEntry {
  at: string;
  kind: string;
  actor: string;
  message: string;
}

export interface Duration {
  ms: number | null;
  /** How it is computed, or why it is missing. */
  note: string;
}

export interface DetectionSection extends Section {
  source: Incident['source'];
  monitor: string | null;
  family: string;
  evidence: Record<string, unknown> | null;
  onsetAt: string | null;
  onsetEstimated: boolean;
  detectedAt: string;
  mttd: Duration;
}

export interface ResponseSection extends Section {
  acknowledgedAt: string | null;
  containedAt: string | null;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  mtta: Duration;
  timeToContain: Duration;
  mttr: Duration;
  timeToResolve: Duration;
}

export interface RootCauseSection extends Section {
  category: string | null;
  summary: string | null;
  confidence: number | null;
  /** Who set it (RCA or a person), when the timeline says. */
  setBy: string | null;
  hypotheses: HypothesisInput[];
}

export interface ResolutionSection extends Section {
  rollback: {
    id: string;
    from: string | null;
    to: string | null;
    status: string;
    actor: string;
    startedAt: string;
    switchedAt: string | null;
    durationMs: number | null;
    validation: (Omit<ValidationInput, 'at'> & { at: string | null }) | null;
    error: { code: string; message: string } | null;
  } | null;
  otherRollbacks: number;
  summary: string;
}

export interface ReplayTrialView {
  label: string;
  patch: Record<string, unknown>;
  firstBreachAt: string | null;
  /** How much earlier than the real detection (positive: earlier). */
  leadMs: number | null;
  falseAlarms: number | null;
  breachingEvaluations: number | null;
  healthyEvaluations: number | null;
}

export interface TuningSuggestion {
  id: string;
  monitor: string;
  model: string;
  version: string;
  patch: Record<string, unknown>;
  rationale: string;
  leadMs: number;
  falseAlarms: number;
  status: 'suggested' | 'applied';
  appliedAt: string | null;
  appliedBy: string | null;
}

export interface EarlierDetectionAnswer extends Section {
  answer: 'yes' | 'no' | 'unknown';
  summary: string;
  monitor: string | null;
  healthyHistory: Array<{ description: string; version: string; from: string; to: string; requests: number }>;
  trials: ReplayTrialView[];
  notes: string[];
}

export interface ThresholdsAnswer extends Section {
  answer: 'too_loose' | 'not_validated' | 'gate_held' | 'golden_set_gap' | 'unknown';
  summary: string;
  report: (Omit<ValidationInput, 'at'> & { at: string | null }) | null;
  /** A gate that would have refused the version, when one exists. */
  suggestedGate: { minPassRate: number } | null;
}

export interface FallbacksAnswer extends Section {
  answer: 'yes' | 'partly' | 'no' | 'not_triggered' | 'unknown';
  summary: string;
  failedFirstAttempts: number | null;
  rescued: number | null;
  retriedOnStable: number | null;
  fallbackAnswers: number | null;
  goodFallbackAnswers: number | null;
  clientErrors: number | null;
  rescueRate: number | null;
  /** Quality failures no automated fallback can catch (answers that came back but were bad). */
  uncaughtQualityFailures: number | null;
}

export interface ActionItem {
  id: string;
  title: string;
  owner: string;
  status: 'open' | 'done';
  source: string;
}

export interface Postmortem {
  incidentId: string;
  title: string;
  summary: string;
  severity: Severity;
  status: Incident['status'];
  model: string;
  version: string | null;
  family: string;
  generatedAt: string;
  /** True once the incident is resolved (or reviewed): later drafts change only if data changes. */
  final: boolean;
  /** Sections that lack data, with the reasons, in one place. */
  missingData: Array<{ section: string; reasons: string[] }>;
  impact: ImpactSection;
  timeline: TimelineEntry[];
  detection: DetectionSection;
  response: ResponseSection;
  rootCause: RootCauseSection;
  resolution: ResolutionSection;
  questions: {
    detectedEarlier: EarlierDetectionAnswer;
    validationThresholds: ThresholdsAnswer;
    fallbacks: FallbacksAnswer;
  };
  actionItems: ActionItem[];
  lessons: string[];
  tuning: TuningSuggestion[];
}
