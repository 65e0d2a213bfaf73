// Post-incident review (SOP step 5): gathers what the postmortem builder needs — the incident and
// its timeline, the traces and feedback of the impact window, RCA, rollbacks, the faulty version's
// validation, a replay of the detecting monitor — builds the postmortem and stores it on the
// incident's timeline (`postmortem` events), and applies a suggested monitor tuning on request.
//
// The two expensive parts are computed once per incident and reused from the stored postmortem:
// the monitor replay (its spans are fixed once the incident is detected) and a golden-set run
// against the faulty version (fixed for that version's content). `refresh` recomputes them.
import { createHash } from 'node:crypto';
import type { LoadedConfig } from '../../config.ts';
import { FailsafeError } from '../../core/errors.ts';
import { lastKnownStable } from '../../core/last-stable.ts';
import { estimateOnset as estimateOnsetPoint } from '../../core/rca/estimate-onset.ts';
import { armOf, failedValidator, isOperationalFailure } from '../../core/rca/failure-judge.ts';
import type { Clock, EpochMs, Incident, ModelVersion, TimelineEvent } from '../../core/types.ts';
import type { AuditInput } from '../audit/audit-service.ts';
import type { IncidentDetail } from '../incidents/incident-service.ts';
import type { RcaService } from '../rca/rca-service.ts';
import { hypothesisView } from '../rca/rca-views.ts';
import type { RollbackRecord, RollbackValidation } from '../rollback/rollback-store.ts';
import { stagingPlanFor, runStagingPlan } from '../staging/staging-plan.ts';
import type { StagingReport } from '../staging/validate-version.ts';
import type { Stores } from '../stores.ts';
import { MONITOR_FOR_FAMILY, replayDetection, type ReviewMonitoring } from './detection-replay.ts';
import { buildPostmortem, impactWindow } from './postmortem.ts';
import type {
  AppliedTuningInput,
  ChecklistItemInput,
  DetectionReplayInput,
  HypothesisInput,
  Postmortem,
  PostmortemInput,
  RollbackInput,
  TuningSuggestion,
  ValidationInput,
} from './postmortem-types.ts';
import type { MonitorKindName } from './tuning-trials.ts';

/** The part of the incident service the review uses. */
export interface ReviewIncidents {
  detail(id: string): Promise<IncidentDetail>;
  addTimelineEvent(incidentId: string, input: { kind: string; actor: string; message: string; data?: unknown }, tx?: Stores): Promise<TimelineEvent>;
}

export interface ReviewAudit {
  lock(tx: Stores): Promise<void>;
  append(tx: Stores, input: AuditInput): Promise<unknown>;
}

/** Runs the golden set against a version; undefined when the model has none. */
export type VersionValidator = (model: string, version: ModelVersion) => Promise<StagingReport | undefined>;

export interface PostmortemServiceOptions {
  stores: Stores;
  clock: Clock;
  incidents: ReviewIncidents;
  audit: ReviewAudit;
  /** Resolved at use: features built after this one (RCA, monitoring) may not exist yet. */
  rca?: () => RcaService | undefined;
  monitoring?: () => ReviewMonitoring | undefined;
  /** The kind of each monitor id (rate, latency, drift, mean); unknown ids are not replayed. */
  monitorKind?: (monitorId: string) => MonitorKindName | undefined;
  /** For the golden-set run against the faulty version (models' `golden:` and `staging:`). */
  loaded?: LoadedConfig;
  /** Overrides the golden-set run (tests). */
  validateVersion?: VersionValidator;
  /** Healthy history replayed before the onset (default 60 min). */
  healthyHistoryMs?: number;
  /** Traces read for the impact figures, at most (default 200,000). */
  maxTraces?: number;
  /** While an incident is open, a new draft is stored at most this often (default 60 s). */
  draftIntervalMs?: number;
  onError?: (err: unknown, what: string) => void;
}

export interface GenerateOptions {
  /** Store the result as a `postmortem` timeline event (default true; only when it changed). */
  store?: boolean;
  /** Recompute the replay and the golden-set run instead of reusing the stored ones. */
  refresh?: boolean;
  /** Run the golden set against the faulty version when no report is stored (default true). */
  validate?: boolean;
  actor?: string;
  /** Store even within the draft interval (after an apply: the stored draft must show it). */
  forceStore?: boolean;
  /**
   * How long to wait for the slow parts (monitor replay, golden-set run) before answering without
   * them (default: until they finish). They keep running; their result is stored when it is in.
   */
  waitMs?: number;
}

/** What a `postmortem` timeline event keeps. */
interface StoredPostmortem {
  fingerprint: string;
  postmortem: Postmortem;
  inputs: { replay?: DetectionReplayInput | { unavailable: string }; validation?: ValidationInput | { unavailable: string } };
}

export const REVIEW_ACTOR = 'review';
export const POSTMORTEM_EVENT = 'postmortem';
export const TUNING_APPLIED_EVENT = 'tuning_applied';

/** A rollback validation as the postmortem shows it. */
export function validationInput(v: RollbackValidation, source: string): ValidationInput {
  const r = v.report as Partial<StagingReport>;
  return {
    version: v.version,
    passed: v.passed,
    summary: v.summary,
    kind: v.kind,
    ...(typeof r.passRate === 'number' ? { passRate: r.passRate } : {}),
    ...(typeof r.total === 'number' ? { total: r.total } : {}),
    ...(typeof r.passedCases === 'number' ? { passedCases: r.passedCases } : {}),
    ...(r.gates ? { gates: r.gates } : {}),
    ...(r.errors ? { errors: r.errors } : {}),
    ...(typeof r.versionContentHash === 'string' ? { contentHash: r.versionContentHash } : {}),
    at: v.finishedAt,
    source,
  };
}

export function stagingReportInput(r: StagingReport, source: string): ValidationInput {
  return {
    version: r.version,
    passed: r.passed,
    summary: r.summary,
    kind: 'golden',
    passRate: r.passRate,
    total: r.total,
    passedCases: r.passedCases,
    gates: r.gates,
    errors: r.errors,
    at: r.finishedAt,
    source,
    ...(r.versionContentHash ? { contentHash: r.versionContentHash } : {}),
  };
}

function rollbackInput(r: RollbackRecord): RollbackInput {
  return {
    id: r.id,
    ...(r.from !== undefined ? { from: r.from } : {}),
    ...(r.to !== undefined ? { to: r.to } : {}),
    status: r.status,
    actor: r.actor,
    startedAt: r.startedAt,
    ...(r.switchedAt !== undefined ? { switchedAt: r.switchedAt } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    validations: r.validations.map((v) => validationInput(v, 'rollback')),
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Without the parts that change on every call of an open incident (generation time, window end). */
function fingerprintOf(p: Postmortem): string {
  const { generatedAt: _g, ...rest } = p;
  const stable = { ...rest, impact: { ...rest.impact, window: rest.impact.window ? { from: rest.impact.window.from } : null, incidentDurationMs: null } };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex').slice(0, 16);
}

export class PostmortemService {
  private readonly o: PostmortemServiceOptions;
  /** Slow parts in progress and their finished results not yet stored, by incident and key. */
  private readonly running = new Map<string, { startedAt: EpochMs; promise: Promise<unknown>; waiting: number }>();
  private readonly finished = new Map<string, unknown>();
  private readonly followUps = new Set<Promise<void>>();
  private readonly storing = new Map<string, Promise<unknown>>();

  constructor(options: PostmortemServiceOptions) {
    this.o = options;
  }

  /** Waits for every slow part in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.followUps.size > 0) {
      await Promise.allSettled([...[...this.running.values()].map((r) => r.promise), ...this.followUps]);
    }
  }

  /**
   * Runs a slow part once per key: waits up to `waitMs` for it, else answers that it is still
   * running. When it finishes after the caller gave up, the postmortem is generated and stored
   * again with it, so the next reader finds it on the timeline.
   */
  private async inBackground<T extends object>(
    incidentId: string,
    key: string,
    what: string,
    options: GenerateOptions,
    waitMs: number,
    fn: () => Promise<T | { unavailable: string }>,
  ): Promise<T | { unavailable: string }> {
    const fullKey = `${incidentId}|${key}`;
    if (options.refresh && !this.running.has(fullKey)) this.finished.delete(fullKey);
    if (this.finished.has(fullKey)) return this.finished.get(fullKey) as T | { unavailable: string };
    let entry = this.running.get(fullKey);
    if (!entry) {
      const startedAt = this.o.clock.now();
      const promise = fn().then(
        (value) => {
          this.finished.set(fullKey, value);
          this.running.delete(fullKey);
          return value;
        },
        (err: unknown) => {
          this.running.delete(fullKey);
          this.o.onError?.(err, `postmortem ${incidentId}: ${what}`);
          return { unavailable: `${what} failed: ${(err as Error).message}` };
        },
      );
      const created = { startedAt, promise, waiting: 0 };
      entry = created;
      this.running.set(fullKey, entry);
      // Whoever is not waiting for it any more: store the postmortem with it when it is in.
      const chain = promise
        .then(async () => {
          // A caller still waiting gets the result and stores the postmortem itself.
          if (created.waiting === 0 && options.store !== false) {
            await this.generate(incidentId, { actor: options.actor ?? REVIEW_ACTOR, forceStore: true, ...(options.validate === false ? { validate: false } : {}) });
          }
        })
        .catch((err: unknown) => this.o.onError?.(err, `postmortem ${incidentId}: storing after ${what}`))
        .finally(() => {
          this.finished.delete(fullKey);
          this.followUps.delete(chain);
        });
      this.followUps.add(chain);
    }
    const timeout = Number.isFinite(waitMs) ? new Promise<undefined>((r) => setTimeout(() => r(undefined), Math.max(0, waitMs)).unref?.()) : undefined;
    entry.waiting++;
    const value = (await (timeout ? Promise.race([entry.promise, timeout]) : entry.promise)) as T | { unavailable: string } | undefined;
    if (value !== undefined) return value;
    entry.waiting--;
    return { unavailable: `${what} is still running (started ${new Date(entry.startedAt).toISOString()}); the postmortem is stored again when it finishes` };
  }

  /** The newest stored postmortem of an incident, if any. */
  async latest(incidentId: string): Promise<Postmortem | undefined> {
    return (await this.latestStored(incidentId))?.stored.postmortem;
  }

  private async latestStored(incidentId: string, timeline?: TimelineEvent[]): Promise<{ event: TimelineEvent; stored: StoredPostmortem } | undefined> {
    const events = timeline ?? (await this.o.stores.incidents.timeline(incidentId, { kinds: [POSTMORTEM_EVENT] }));
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      const data = e.data as StoredPostmortem | undefined;
      if (e.kind === POSTMORTEM_EVENT && data?.postmortem) return { event: e, stored: data };
    }
    return undefined;
  }

  /** Builds the postmortem from the data as it is now, and stores it when it changed. */
  async generate(incidentId: string, options: GenerateOptions = {}): Promise<Postmortem> {
    const { incidents, stores, clock } = this.o;
    const detail = await incidents.detail(incidentId);
    const { incident } = detail;
    const now = clock.now();
    const previous = await this.latestStored(incidentId, detail.timeline);
    const timeline = detail.timeline.filter((e) => e.kind !== POSTMORTEM_EVENT);

    const versions = await stores.versions.list(incident.model).catch(() => [] as ModelVersion[]);
    const faulty = incident.version !== undefined ? versions.find((v) => v.version === incident.version) : undefined;
    const stable = lastKnownStable(versions, { exclude: incident.version ? [incident.version] : [] });

    const rca = await this.rcaData(incident, timeline);
    const estimatedOnsetAt = incident.onsetAt === undefined ? await this.estimateOnset(incident) : undefined;
    const w = impactWindow(incident, now, estimatedOnsetAt);
    const cap = this.o.maxTraces ?? 200_000;

    let traces: PostmortemInput['traces'];
    let feedback: PostmortemInput['feedback'] = [];
    try {
      const items = await stores.traces.query({ model: incident.model, from: w.from, to: w.to, order: 'asc', limit: cap + 1, bodies: false });
      traces = { items: items.slice(0, cap), from: w.from, to: w.to, truncated: items.length > cap };
      feedback = await stores.feedback.query({ model: incident.model, from: w.from, to: w.to, limit: 1_000_000 });
    } catch (err) {
      this.o.onError?.(err, `postmortem ${incidentId}: traces`);
      traces = { unavailable: `reading traces failed: ${(err as Error).message}` };
    }

    const rollbacks = (await stores.rollbacks.list({ model: incident.model, since: incident.detectedAt - 60 * 60_000, limit: 200 }))
      .filter((r) => r.incidentId === incident.id || (r.incidentId === undefined && r.from !== undefined && r.from === incident.version && r.startedAt >= incident.detectedAt && r.startedAt <= (incident.resolvedAt ?? now)))
      .map(rollbackInput);

    const reuse = options.refresh ? undefined : previous?.stored.inputs;
    const onsetForReplay = incident.onsetAt ?? estimatedOnsetAt;
    const waitMs = options.waitMs ?? Infinity;
    const replay =
      reuse?.replay && this.replayStillValid(reuse.replay, incident, onsetForReplay)
        ? reuse.replay
        : await this.inBackground(incident.id, `replay|${incident.version}|${onsetForReplay}`, 'the monitor replay', options, waitMs, () => this.replayData(incident, onsetForReplay, stable?.version));
    const validation =
      reuse?.validation && this.validationStillValid(reuse.validation, faulty)
        ? reuse.validation
        : await this.inBackground(incident.id, `validation|${faulty?.version}|${faulty?.contentHash}|${options.validate !== false}`, 'the golden-set run', options, waitMs, () =>
            this.validationData(incident, faulty, options.validate !== false),
          );

    const checklist = Array.isArray(detail.extra.checklist) ? (detail.extra.checklist as ChecklistItemInput[]) : undefined;
    const applied: AppliedTuningInput[] = timeline
      .filter((e) => e.kind === TUNING_APPLIED_EVENT)
      .flatMap((e) => {
        const id = (e.data as { suggestionId?: unknown } | undefined)?.suggestionId;
        return typeof id === 'string' ? [{ suggestionId: id, at: e.at, actor: e.actor }] : [];
      });
    const meta = faulty?.metadata ?? {};
    const owner = typeof meta.owner === 'string' ? meta.owner : typeof meta.author === 'string' ? meta.author : undefined;

    const input: PostmortemInput = {
      now,
      incident,
      timeline,
      ...(checklist ? { checklist } : {}),
      ...(stable ? { stableVersion: stable.version } : {}),
      ...(owner ? { modelOwner: owner } : {}),
      traces,
      feedback,
      ...(estimatedOnsetAt !== undefined ? { estimatedOnsetAt } : {}),
      rca: rca.data,
      rollbacks,
      validation,
      replay,
      applied,
    };
    const postmortem = buildPostmortem(input);
    if (options.store !== false) await this.store(incident, postmortem, { replay, validation }, options.actor ?? REVIEW_ACTOR, options.forceStore === true);
    return postmortem;
  }

  private async store(
    incident: Incident,
    postmortem: Postmortem,
    inputs: StoredPostmortem['inputs'],
    actor: string,
    force: boolean,
  ): Promise<void> {
    // One store decision at a time per incident, against the newest stored postmortem (two slow
    // parts finishing together must not store the same postmortem twice).
    const prior = this.storing.get(incident.id) ?? Promise.resolve();
    const mine = prior.then(() => this.storeNow(incident, postmortem, inputs, actor, force));
    const tail = mine.catch(() => undefined);
    this.storing.set(incident.id, tail);
    void tail.then(() => {
      if (this.storing.get(incident.id) === tail) this.storing.delete(incident.id);
    });
    await mine;
  }

  private async storeNow(incident: Incident, postmortem: Postmortem, inputs: StoredPostmortem['inputs'], actor: string, force: boolean): Promise<void> {
    const previous = await this.latestStored(incident.id);
    const fingerprint = fingerprintOf(postmortem);
    if (previous) {
      if (previous.stored.fingerprint === fingerprint) return;
      const sameStatus = previous.stored.postmortem.status === postmortem.status;
      // An open incident's figures move with its traffic: keep a draft a minute, not every read.
      if (!force && !postmortem.final && sameStatus && this.o.clock.now() - previous.event.at < (this.o.draftIntervalMs ?? 60_000)) return;
    }
    const data: StoredPostmortem = { fingerprint, postmortem, inputs };
    await this.o.incidents.addTimelineEvent(incident.id, {
      kind: POSTMORTEM_EVENT,
      actor,
      message: `postmortem ${postmortem.final ? 'written' : 'drafted'}: ${postmortem.actionItems.length} action items, ${postmortem.tuning.length} tuning suggestions${postmortem.missingData.length ? `, ${postmortem.missingData.length} sections lacking data` : ''}`,
      data,
    });
  }

  // ------------------------------------------------------------------------------------------
  // RCA

  // RCA's own onset is not used: without a change point it falls back to a default span, and a
  // postmortem must not turn a default into an MTTD. The onset is estimated below instead.
  private async rcaData(incident: Incident, timeline: TimelineEvent[]): Promise<{ data: PostmortemInput['rca'] }> {
    const stored = [...timeline].reverse().find((e) => e.kind === 'rca' && Array.isArray((e.data as { hypotheses?: unknown } | undefined)?.hypotheses));
    if (stored) {
      const d = stored.data as { hypotheses: HypothesisInput[] };
      return { data: { hypotheses: d.hypotheses, source: `RCA recorded at ${new Date(stored.at).toISOString()}` } };
    }
    const rca = this.o.rca?.();
    if (!rca) return { data: { unavailable: 'RCA is not enabled on this server and none was recorded' } };
    try {
      const report = await rca.analyzeIncident(incident.id, { record: false });
      const r = report.result;
      return { data: { hypotheses: r.hypotheses.slice(0, 3).map(hypothesisView), source: 'RCA run for this postmortem (not recorded)' } };
    } catch (err) {
      this.o.onError?.(err, `postmortem ${incident.id}: rca`);
      return { data: { unavailable: `RCA failed: ${(err as Error).message}` } };
    }
  }

  /**
   * The onset when the incident has none: the change point of the failure series of the incident's
   * version (or model) in the 30 minutes before detection, only when the series really changes
   * there (core/rca estimateOnset's likelihood-ratio threshold); otherwise none.
   */
  private async estimateOnset(incident: Incident): Promise<EpochMs | undefined> {
    const traces = await this.o.stores.traces.query({ model: incident.model, from: incident.detectedAt - 30 * 60_000, to: incident.detectedAt + 1, order: 'asc', limit: 50_000, bodies: false });
    const scope = incident.version !== undefined ? traces.filter((t) => armOf(t) === incident.version) : traces;
    return estimateOnsetPoint(scope.map((t) => ({ at: t.startedAt, failed: isOperationalFailure(t) || failedValidator(t) })))?.at;
  }

  // ------------------------------------------------------------------------------------------
  // (a) Could it have been detected earlier?

  private monitorFor(incident: Incident, timeline?: TimelineEvent[]): string | undefined {
    const monitors = Object.entries(incident.sources ?? {})
      .filter(([key, s]) => s.kind === 'monitor' && key.startsWith('monitor:'))
      .sort((a, b) => a[1].firstAt - b[1].firstAt);
    if (monitors[0]) return monitors[0][0].slice('monitor:'.length);
    const detected = timeline?.find((e) => e.kind === 'detected');
    const m = (detected?.data as { monitor?: unknown } | undefined)?.monitor;
    if (typeof m === 'string') return m;
    return MONITOR_FOR_FAMILY[incident.family];
  }

  private replayStillValid(r: DetectionReplayInput | { unavailable: string }, incident: Incident, onset: EpochMs | undefined): boolean {
    if ('unavailable' in r) return false;
    return onset !== undefined && r.incidentSpan.from === onset && r.version === incident.version;
  }

  private async replayData(incident: Incident, onsetAt: EpochMs | undefined, stableVersion: string | undefined): Promise<DetectionReplayInput | { unavailable: string }> {
    const monitoring = this.o.monitoring?.();
    if (!monitoring) return { unavailable: 'no monitor runner on this server to replay with' };
    if (incident.version === undefined) return { unavailable: 'the incident names no version to replay a monitor on' };
    if (onsetAt === undefined) return { unavailable: 'no onset time (neither the detector nor RCA estimated one), so there is no span to detect earlier in' };
    const monitor = this.monitorFor(incident);
    if (!monitor) return { unavailable: `no built-in monitor watches the ${incident.family} signal` };
    const kind = this.o.monitorKind?.(monitor);
    if (!kind) return { unavailable: `monitor ${monitor} is not one the replay knows` };
    try {
      return await replayDetection({
        monitoring,
        stores: this.o.stores,
        incident,
        monitor,
        kind,
        onsetAt,
        ...(stableVersion ? { stableVersion } : {}),
        ...(this.o.healthyHistoryMs !== undefined ? { healthyMs: this.o.healthyHistoryMs } : {}),
      });
    } catch (err) {
      this.o.onError?.(err, `postmortem ${incident.id}: replay`);
      return { unavailable: `the replay failed: ${(err as Error).message}` };
    }
  }

  // ------------------------------------------------------------------------------------------
  // (b) Were validation thresholds too loose?

  private validationStillValid(v: ValidationInput | { unavailable: string }, faulty: ModelVersion | undefined): boolean {
    if ('unavailable' in v) return false;
    return faulty !== undefined && v.version === faulty.version && (v.contentHash === undefined || v.contentHash === faulty.contentHash);
  }

  private async validationData(incident: Incident, faulty: ModelVersion | undefined, run: boolean): Promise<ValidationInput | { unavailable: string }> {
    if (incident.version === undefined) return { unavailable: 'the incident names no version' };
    if (!faulty) return { unavailable: `version ${incident.version} is not registered` };
    const stored = await this.storedValidation(incident.model, faulty);
    if (stored) return stored;
    if (!run) return { unavailable: `no validation of ${faulty.version} is recorded (golden-set run not requested)` };
    const validate = this.o.validateVersion ?? this.defaultValidator();
    if (!validate) return { unavailable: `no validation of ${faulty.version} is recorded and ${incident.model} has no golden set to run` };
    try {
      const report = await validate(incident.model, faulty);
      if (!report) return { unavailable: `no validation of ${faulty.version} is recorded and ${incident.model} has no golden set (golden: in failsafe.yaml)` };
      return stagingReportInput({ ...report, versionContentHash: report.versionContentHash ?? faulty.contentHash }, 'replay');
    } catch (err) {
      this.o.onError?.(err, `postmortem ${incident.id}: staging`);
      return { unavailable: `running the golden set against ${faulty.version} failed: ${(err as Error).message}` };
    }
  }

  /** A validation recorded before: an audit entry with a staging report, or a rollback that validated this version. */
  private async storedValidation(model: string, v: ModelVersion): Promise<ValidationInput | undefined> {
    const entries = await this.o.stores.audit.list({ target: `version:${model}@${v.version}`, limit: 500 });
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (!/validat/i.test(e.action) || !e.after || typeof e.after !== 'object') continue;
      const r = e.after as Partial<StagingReport> & { contentHash?: string };
      if (typeof r.passed !== 'boolean') continue;
      return {
        version: v.version,
        passed: r.passed,
        summary: typeof r.summary === 'string' ? r.summary : `${e.action} ${r.passed ? 'passed' : 'failed'}`,
        kind: 'golden',
        ...(typeof r.passRate === 'number' ? { passRate: r.passRate } : {}),
        ...(typeof r.total === 'number' ? { total: r.total } : {}),
        ...(typeof r.passedCases === 'number' ? { passedCases: r.passedCases } : {}),
        ...(r.gates ? { gates: r.gates } : {}),
        ...(r.errors ? { errors: r.errors } : {}),
        ...(typeof (r.versionContentHash ?? r.contentHash) === 'string' ? { contentHash: (r.versionContentHash ?? r.contentHash)! } : {}),
        at: e.at,
        source: `audit (${e.action} by ${e.actor})`,
      };
    }
    const rollbacks = await this.o.stores.rollbacks.list({ model, limit: 200 });
    for (const r of rollbacks) {
      const found = [...r.validations].reverse().find((x) => x.version === v.version && x.kind === 'golden');
      if (found) return validationInput(found, `rollback ${r.id}`);
    }
    return undefined;
  }

  private defaultValidator(): VersionValidator | undefined {
    const loaded = this.o.loaded;
    if (!loaded) return undefined;
    return async (model, version) => {
      const mc = loaded.config.models.find((m) => m.name === model);
      const plan = mc ? stagingPlanFor(mc, loaded.baseDir) : undefined;
      if (!plan) return undefined;
      return runStagingPlan(plan, version, { clock: this.o.clock });
    };
  }

  // ------------------------------------------------------------------------------------------
  // Applying a suggested tuning

  /**
   * Applies one tuning suggestion of the incident's postmortem through the monitoring feature
   * (which persists and audits the monitor change), then records on the incident that the
   * postmortem's suggestion was applied (timeline + audit entry in one transaction).
   */
  async applyTuning(
    incidentId: string,
    suggestionId: string,
    options: { actor: string; reason?: string; requestId?: string },
  ): Promise<{ suggestion: TuningSuggestion; monitor: unknown; postmortem: Postmortem }> {
    let postmortem = (await this.latest(incidentId)) ?? (await this.generate(incidentId, { actor: options.actor }));
    let suggestion = postmortem.tuning.find((t) => t.id === suggestionId);
    if (!suggestion) {
      postmortem = await this.generate(incidentId, { actor: options.actor });
      suggestion = postmortem.tuning.find((t) => t.id === suggestionId);
    }
    if (!suggestion) {
      const known = postmortem.tuning.map((t) => t.id);
      throw new FailsafeError('NOT_FOUND', `the postmortem of ${incidentId} has no tuning suggestion "${suggestionId}"${known.length ? ` (it has ${known.join(', ')})` : ' (it has none)'}`);
    }
    // The timeline is the record of what was applied (a stored draft may predate the last apply).
    const done = (await this.o.stores.incidents.timeline(incidentId, { kinds: [TUNING_APPLIED_EVENT] })).find(
      (e) => (e.data as { suggestionId?: unknown } | undefined)?.suggestionId === suggestionId,
    );
    if (done) throw new FailsafeError('INVALID_STATE', `suggestion ${suggestionId} was applied at ${new Date(done.at).toISOString()} by ${done.actor}`);
    const monitoring = this.o.monitoring?.();
    if (!monitoring) throw new FailsafeError('INVALID_STATE', 'monitor tuning is not available: this server runs no monitor runner');
    const before = monitoring.settingsFor(suggestion.model, suggestion.monitor);
    const reason = options.reason ?? `postmortem ${incidentId}: ${suggestion.rationale}`;
    const monitor = await monitoring.applyTuning(suggestion.model, suggestion.monitor, suggestion.patch, { actor: options.actor, reason, ...(options.requestId ? { requestId: options.requestId } : {}) });
    const after = monitoring.settingsFor(suggestion.model, suggestion.monitor);
    const applied = suggestion;
    await this.o.stores.transaction(async (tx) => {
      await this.o.audit.lock(tx);
      await this.o.audit.append(tx, {
        actor: options.actor,
        action: 'postmortem.tuning.apply',
        target: `incident:${incidentId}`,
        before: { suggestionId, monitor: applied.monitor, model: applied.model, settings: before },
        after: { suggestionId, monitor: applied.monitor, model: applied.model, patch: applied.patch, settings: after },
        reason,
        ...(options.requestId ? { requestId: options.requestId } : {}),
      });
      await this.o.incidents.addTimelineEvent(
        incidentId,
        { kind: TUNING_APPLIED_EVENT, actor: options.actor, message: `applied tuning ${suggestionId} to ${applied.monitor} on ${applied.model}: ${JSON.stringify(applied.patch)}`, data: { suggestionId, monitor: applied.monitor, model: applied.model, patch: applied.patch } },
        tx,
      );
    });
    const updated = await this.generate(incidentId, { actor: options.actor, forceStore: true });
    return { suggestion: updated.tuning.find((t) => t.id === suggestionId) ?? { ...suggestion, status: 'applied' }, monitor, postmortem: updated };
  }
}
