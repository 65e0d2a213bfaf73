// Shapes of the root-cause analysis engine. The engine is a pure function of data
// (traces, route history, versions, feedback, incident, clock) so every scenario can be
// replayed from synthetic traces in a test.
import type { EpochMs, Feedback, ModelVersion, RouteChange, Trace } from '../types.ts';

/** The six root-cause categories; the order is the tie-break order when confidences are equal. */
export const rcaCategories = [
  'version_change',
  'pipeline_conflict',
  'prompt_context_overflow',
  'upstream_dependency',
  'data_label_mismatch',
  'input_drift',
] as const;
export type RcaCategory = (typeof rcaCategories)[number];

export interface RcaIncidentInfo {
  model: string;
  /** The version the incident was opened on, when known. */
  version?: string;
  detectedAt: EpochMs;
  /** Estimated onset from the detector; when absent the engine estimates it from the traces. */
  onsetAt?: EpochMs;
  /** Signal family: errors, latency, validity, feedback, accuracy, drift, external. */
  family: string;
}

export interface RcaOptions {
  /** How far before the onset a deploy or route change still counts as "near" (default 60 min). */
  changeLookbackMs?: number;
  /** Slack after the onset for changes (onset estimates are coarse; default 2 min). */
  changeSlackMs?: number;
  /** Two route changes closer than this by different actors are a conflict (default 5 min). */
  conflictWindowMs?: number;
  /** Family-wise significance level for segment and drift tests (default 0.01). */
  alpha?: number;
  /** Minimum requests in a segment before it is tested (default 20). */
  minSegmentRequests?: number;
  /** At most this many sample trace ids per piece of evidence (default 5). */
  maxSamples?: number;
}

export interface RcaInput {
  incident: RcaIncidentInfo;
  /** Traces of the incident window and a baseline window before the onset (all versions, stable included). */
  traces: Trace[];
  versions: ModelVersion[];
  routeHistory: RouteChange[];
  feedback: Feedback[];
  /** The last known stable version (M-1), when there is one. */
  lastStable?: ModelVersion;
  /** version -> content hash that staging validation saw. */
  validatedHashes?: Record<string, string>;
  now: EpochMs;
  options?: RcaOptions;
}

export interface TimeRange {
  from: EpochMs;
  to: EpochMs;
}

export interface HypothesisEvidence {
  /** Every number behind the claim (test, statistic, p-value, sample sizes, rates); strings for ids and ISO times. */
  figures: Record<string, number | string>;
  timeRange?: TimeRange;
  /** Real request ids from the input that show the pattern. */
  sampleTraceIds: string[];
  detail?: string;
}

export interface Hypothesis {
  category: RcaCategory;
  /** 0..1, comparable across categories (see scoring.ts). */
  confidence: number;
  /** Plain language, one or two sentences. */
  summary: string;
  evidence: HypothesisEvidence;
}

export interface SegmentFinding {
  /** `inputLength`, `client`, `version`, `upstreamHost`, `tag:<key>`. */
  dimension: string;
  value: string;
  requests: number;
  failures: number;
  failureRate: number;
  /** Failure rate of every request outside the segment. */
  restFailureRate: number;
  /** failureRate / overall failure rate. */
  lift: number;
  /** Share of all failures that fall in this segment. */
  shareOfFailures: number;
  /** One-sided Fisher exact test that the segment fails more than the rest. */
  pValue: number;
  /** Bonferroni-adjusted over every segment tested. */
  adjustedPValue: number;
  significant: boolean;
  sampleTraceIds: string[];
}

export interface ErrorCluster {
  /** Normalised message: numbers, ids, hex, uuids, quoted strings, urls replaced by tokens. */
  template: string;
  errorClass?: string;
  count: number;
  /** Share of all clustered failures. */
  share: number;
  sampleMessage: string;
  sampleTraceIds: string[];
  /** version -> count (the version first tried). */
  versions: Record<string, number>;
  /** host -> count (the first attempt's host). */
  upstreamHosts: Record<string, number>;
  firstAt: EpochMs;
  lastAt: EpochMs;
}

/** Older name used in the brief. */
export type Cluster = ErrorCluster;

export interface DiffEntry {
  /** Dotted path: `prompt`, `upstream.url`, `upstream.model`, `params.temperature`, `metadata.gitSha`. */
  field: string;
  change: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export interface VersionDiff {
  from: string;
  to: string;
  changes: DiffEntry[];
  /** Line diff of the prompt (`-`/`+`/` ` prefixed, context trimmed), when the prompt changed. */
  promptDiff?: string[];
  identicalContent: boolean;
}

export interface Impact {
  from: EpochMs;
  to: EpochMs;
  requests: number;
  failedRequests: number;
  /** Distinct clients with at least one failed request. */
  clients: number;
}

/** A route change between the lookback before the onset and now: "what changed near the onset". */
export interface ChangeNearOnset {
  at: EpochMs;
  actor: string;
  revision: number;
  mode: string;
  weights: Record<string, number>;
  reason?: string;
  /** version -> [weight before, weight after] for versions it gave more traffic. */
  gains: Record<string, [number, number]>;
  /** Negative when the change came after the onset (e.g. containment). */
  minutesBeforeOnset: number;
}

export interface NotEvaluated {
  category: RcaCategory;
  reason: string;
}

export interface RcaResult {
  /** Best first. Categories that could not be evaluated are listed in `notEvaluated` instead. */
  hypotheses: Hypothesis[];
  segments: SegmentFinding[];
  errorClusters: ErrorCluster[];
  versionDiff?: VersionDiff;
  impact: Impact;
  /** Route changes from the lookback window before the onset until now, oldest first. */
  changes: ChangeNearOnset[];
  onset: { at: EpochMs; estimated: boolean };
  windows: { baseline: TimeRange & { requests: number; failures: number }; incident: TimeRange & { requests: number; failures: number } };
  /** What counted as a failed request for this incident family. */
  failureDefinition: string;
  notEvaluated: NotEvaluated[];
}
