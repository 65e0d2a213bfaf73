// Incidents: opened from findings and external alerts, de-duplicated (one active incident per
// model + version + signal family), moved through their life cycle by people and automation.
// Every change commits together with its timeline event and (for changes people care about) its
// audit entry; bus events go out after the commit, so listeners never see a change that rolled back.
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import {
  dedupKeyFor,
  escalatedSeverity,
  formatIncidentId,
  incidentIdPrefix,
  initialSeverity,
  isActive,
  isMoreSevere,
  setSeverityByHuman,
  transition,
  type SeverityRules,
} from '../../core/incident-lifecycle.ts';
import type {
  Actor,
  Clock,
  EpochMs,
  Evidence,
  Finding,
  ImpactScope,
  Incident,
  IncidentSignal,
  IncidentStatus,
  Severity,
  TimelineEvent,
} from '../../core/types.ts';
import type { AuditInput } from '../audit/audit-service.ts';
import type { Stores } from '../stores.ts';
import type { IncidentQuery, TimelineQuery } from './incident-store.ts';
import { defaultSeverityRules } from '../../core/incident-lifecycle.ts';

/** An alert from outside (Alertmanager, W&B, LangSmith, Datadog, Sentry, Zapier, ...). */
export interface ExternalAlertInput {
  kind: 'alert';
  /** Incident source: `alertmanager` for its webhook, `webhook` for generic JSON alerts. */
  source: 'alertmanager' | 'webhook';
  /** Who sent it (`alertmanager`, `datadog`, `wandb`, ...). */
  origin: string;
  /** The alert's identity at its source (Alertmanager fingerprint, the sender's dedup key). */
  alertKey: string;
  model: string;
  version?: string;
  /** Signal family; `external` unless the alert names one (errors, latency, ...). */
  family?: string;
  severity?: Severity;
  title: string;
  status: 'firing' | 'resolved';
  startsAt?: EpochMs;
  endsAt?: EpochMs;
  details?: Record<string, unknown>;
}

export interface ManualIncidentInput {
  kind: 'manual';
  model: string;
  version?: string;
  family?: string;
  severity?: Severity;
  title: string;
  details?: string;
}

export type IncidentSignalInput = Finding | ExternalAlertInput | ManualIncidentInput;

export interface OpenOrUpdateResult {
  /** Undefined when the input opens nothing (a finding that is not a breach, a resolve for no incident). */
  incident?: Incident;
  created: boolean;
  /** False when the input was absorbed without a write (repeats within the evidence interval). */
  changed: boolean;
}

export interface ChangeOptions {
  actor: Actor;
  reason?: string;
  requestId?: string;
  /** Extra data recorded on the timeline event. */
  data?: unknown;
}

export interface TimelineInput {
  kind: string;
  actor: Actor;
  message: string;
  data?: unknown;
  at?: EpochMs;
}

/** What `GET /incidents/{id}` shows beyond the incident: its timeline and what providers add. */
export interface IncidentDetail {
  incident: Incident;
  timeline: TimelineEvent[];
  extra: Record<string, unknown>;
}

export type DetailProvider = (incident: Incident) => Promise<unknown>;

/** The part of the audit log the service needs (src/features/audit/audit-service.ts AuditLog). */
export interface IncidentAudit {
  lock(tx: Stores): Promise<void>;
  append(tx: Stores, input: AuditInput): Promise<unknown>;
}

export interface IncidentServiceOptions {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  audit?: IncidentAudit;
  severityRules?: SeverityRules;
  /** The same source's evidence is recorded at most once per this interval (ms). */
  evidenceIntervalMs?: number;
  /** Newest evidence items kept on the incident itself (the timeline keeps all). */
  maxEvidence?: number;
  onError?: (err: unknown, what: string) => void;
}

type Emit = () => void;

const STATUS_ACTION: Record<Exclude<IncidentStatus, 'open'>, string> = {
  acknowledged: 'incident.acknowledge',
  contained: 'incident.contain',
  mitigated: 'incident.mitigate',
  resolved: 'incident.resolve',
  reviewed: 'incident.review',
  declined: 'incident.decline',
};

const isFinding = (input: IncidentSignalInput): input is Finding => !('kind' in input) && 'monitor' in input;

const describeEvidence = (e: Evidence): string => {
  const parts: string[] = [];
  if (e.observed !== undefined) parts.push(`observed ${round(e.observed)}`);
  if (e.baseline !== undefined) parts.push(`baseline ${round(e.baseline)}`);
  if (e.statistic !== undefined) parts.push(`${e.test} ${round(e.statistic)}`);
  else parts.push(e.test);
  if (e.threshold !== undefined) parts.push(`threshold ${round(e.threshold)}`);
  if (e.sampleSize !== undefined) parts.push(`n=${e.sampleSize}`);
  return parts.join(', ');
};

const round = (n: number): string => (Number.isInteger(n) ? String(n) : Number(n.toPrecision(4)).toString());

/** A short headline; the full evidence (test, bounds, windows) stays on the incident and its timeline. */
export function titleForFinding(f: Finding): string {
  const { observed, baseline } = f.evidence;
  const figures =
    observed === undefined
      ? describeEvidence(f.evidence)
      : `${formatFigure(observed)}${baseline === undefined ? '' : ` vs baseline ${formatFigure(baseline)}`}`;
  return `${f.family} breach on ${f.model}@${f.version}: ${figures} (${f.monitor})`;
}

const formatFigure = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3))));

/** Serialises work per key inside this process, so concurrent callers do not race into conflicts. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

export class IncidentService {
  private readonly stores: Stores;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private readonly audit?: IncidentAudit;
  private readonly rules: SeverityRules;
  private readonly evidenceIntervalMs: number;
  private readonly maxEvidence: number;
  private readonly mutex = new KeyedMutex();
  private readonly detailProviders = new Map<string, DetailProvider>();
  private readonly onError: (err: unknown, what: string) => void;

  constructor(options: IncidentServiceOptions) {
    this.stores = options.stores;
    this.clock = options.clock;
    this.bus = options.bus;
    this.audit = options.audit;
    this.rules = options.severityRules ?? defaultSeverityRules;
    this.evidenceIntervalMs = options.evidenceIntervalMs ?? 60_000;
    this.maxEvidence = options.maxEvidence ?? 50;
    this.onError = options.onError ?? (() => {});
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  async get(id: string): Promise<Incident> {
    const incident = await this.stores.incidents.get(id);
    if (!incident) throw new FailsafeError('INCIDENT_NOT_FOUND', `no incident with id "${id}"`);
    return incident;
  }

  list(query: IncidentQuery = {}): Promise<Incident[]> {
    return this.stores.incidents.list({ ...query, limit: Math.min(Math.max(query.limit ?? 100, 1), 1000) });
  }

  async timeline(id: string, query?: TimelineQuery): Promise<TimelineEvent[]> {
    await this.get(id);
    return this.stores.incidents.timeline(id, query);
  }

  /** The active incident for a model/version/family, if any. */
  findActive(model: string, version: string | undefined, family: string): Promise<Incident | undefined> {
    return this.stores.incidents.findActive(dedupKeyFor(model, version, family));
  }

  /**
   * Others add sections to the incident detail (runbooks: `checklist`). A failing provider leaves
   * its section out rather than failing the whole answer.
   */
  addDetailProvider(name: string, provider: DetailProvider): void {
    this.detailProviders.set(name, provider);
  }

  async detail(id: string): Promise<IncidentDetail> {
    const incident = await this.get(id);
    const timeline = await this.stores.incidents.timeline(id);
    const extra: Record<string, unknown> = {};
    for (const [name, provider] of this.detailProviders) {
      try {
        extra[name] = await provider(incident);
      } catch (err) {
        this.onError(err, `detail provider ${name}`);
      }
    }
    return { incident, timeline, extra };
  }

  // ------------------------------------------------------------------------------------------
  // Opening and de-duplication

  /**
   * Opens an incident for a breach finding, a firing alert or a manual report, or appends the new
   * evidence to the active incident with the same dedup key (raising its severity as evidence
   * grows). A resolved alert resolves the incident it opened. Findings that are not breaches
   * open nothing.
   */
  async openOrUpdate(input: IncidentSignalInput, options: { actor?: Actor; requestId?: string } = {}): Promise<OpenOrUpdateResult> {
    if (isFinding(input) && input.status !== 'breach') return { created: false, changed: false };
    if (!isFinding(input) && input.kind === 'alert' && input.status === 'resolved') return this.resolveAlert(input, options);
    const signal = this.describeSignal(input, options.actor);
    return this.mutex.run(signal.dedupKey, () => this.withConflictRetry(() => this.openOrAppend(signal, options.requestId)));
  }

  /** Opens a new incident by hand (`source: manual`), or adds to the active one for the same key. */
  openManual(input: Omit<ManualIncidentInput, 'kind'>, options: { actor: Actor; requestId?: string }): Promise<OpenOrUpdateResult> {
    return this.openOrUpdate({ ...input, kind: 'manual' }, options);
  }

  private describeSignal(input: IncidentSignalInput, actor?: Actor) {
    const now = this.clock.now();
    if (isFinding(input)) {
      return {
        model: input.model,
        version: input.version,
        family: input.family,
        dedupKey: dedupKeyFor(input.model, input.version, input.family),
        sourceKey: `monitor:${input.monitor}`,
        sourceKind: 'monitor' as const,
        source: 'monitor' as const,
        severity: input.severity,
        title: titleForFinding(input),
        at: input.at ?? now,
        onsetAt: input.onsetAt,
        evidence: input.evidence,
        actor: actor ?? `monitor:${input.monitor}`,
        message: `${input.monitor}: ${input.evidence.detail ?? describeEvidence(input.evidence)}`,
        data: { monitor: input.monitor, evidence: input.evidence },
      };
    }
    if (input.kind === 'alert') {
      const family = input.family ?? 'external';
      const evidence: Evidence = {
        test: `${input.origin} alert`,
        detail: input.title,
        window: input.startsAt !== undefined ? { from: input.startsAt, to: now } : undefined,
      };
      if (!evidence.window) delete evidence.window;
      return {
        model: input.model,
        version: input.version,
        family,
        dedupKey: dedupKeyFor(input.model, input.version, family),
        sourceKey: `${input.origin}:${input.alertKey}`,
        sourceKind: 'alert' as const,
        source: input.source,
        severity: input.severity,
        title: input.title,
        at: now,
        onsetAt: input.startsAt,
        evidence,
        actor: actor ?? input.origin,
        message: `${input.origin} alert firing: ${input.title}`,
        data: { origin: input.origin, alertKey: input.alertKey, details: input.details, startsAt: input.startsAt },
      };
    }
    const family = input.family ?? 'manual';
    return {
      model: input.model,
      version: input.version,
      family,
      dedupKey: dedupKeyFor(input.model, input.version, family),
      sourceKey: `manual:${actor ?? 'unknown'}:${now}`,
      sourceKind: 'alert' as const,
      source: 'manual' as const,
      severity: input.severity,
      title: input.title,
      at: now,
      onsetAt: undefined,
      evidence: { test: 'manual report', detail: input.details ?? input.title } as Evidence,
      actor: actor ?? 'unknown',
      message: `reported by ${actor ?? 'unknown'}: ${input.title}`,
      data: { details: input.details },
    };
  }

  private async openOrAppend(signal: ReturnType<IncidentService['describeSignal']>, requestId?: string): Promise<OpenOrUpdateResult> {
    // Most signals repeat what the active incident already has (a monitor re-evaluating every
    // second): a plain read settles those without taking the write locks.
    const peek = await this.stores.incidents.findActive(signal.dedupKey);
    if (peek && this.isRepeat(peek, signal)) return { incident: peek, created: false, changed: false };
    const emits: Emit[] = [];
    const result = await this.stores.transaction(async (tx) => {
      await this.audit?.lock(tx);
      await tx.incidents.lock(signal.dedupKey);
      const existing = await tx.incidents.findActive(signal.dedupKey);
      if (!existing) return this.create(tx, signal, requestId, emits);
      return this.append(tx, existing, signal, requestId, emits);
    });
    for (const emit of emits) emit();
    return result;
  }

  /**
   * Repeats (a monitor re-evaluating every second, Alertmanager re-sending a firing group) are
   * absorbed: the same monitor adds evidence at most once per interval, a firing alert once
   * (unless it now says the incident is more severe).
   */
  private isRepeat(current: Incident, s: ReturnType<IncidentService['describeSignal']>): boolean {
    const prev = current.sources?.[s.sourceKey];
    if (!prev) return false;
    if (s.sourceKind === 'monitor') return s.at - prev.lastAt < this.evidenceIntervalMs;
    return prev.status === 'firing' && !(s.severity && isMoreSevere(s.severity, current.severity));
  }

  private async create(
    tx: Stores,
    s: ReturnType<IncidentService['describeSignal']>,
    requestId: string | undefined,
    emits: Emit[],
  ): Promise<OpenOrUpdateResult> {
    const model = await tx.models.get(s.model).catch(() => undefined);
    const severity = initialSeverity({ severity: s.severity, family: s.family, modelTags: model?.tags }, this.rules);
    const id = formatIncidentId(s.at, await tx.incidents.nextSequence(incidentIdPrefix(s.at)));
    const sources: Record<string, IncidentSignal> = {
      [s.sourceKey]: { kind: s.sourceKind, firstAt: s.at, lastAt: s.at, count: 1, ...(s.sourceKind === 'alert' && s.source !== 'manual' ? { status: 'firing' as const } : {}) },
    };
    const incident: Incident = {
      id,
      model: s.model,
      ...(s.version !== undefined ? { version: s.version } : {}),
      family: s.family,
      title: s.title,
      severity,
      status: 'open',
      source: s.source,
      dedupKey: s.dedupKey,
      detectedAt: s.at,
      ...(s.onsetAt !== undefined ? { onsetAt: s.onsetAt } : {}),
      impact: {},
      evidence: [s.evidence],
      evidenceCount: 1,
      sources,
      severityBasis: { severity, evidenceCount: 1, setBy: 'system', at: s.at },
      updatedAt: s.at,
    };
    await tx.incidents.insert(incident);
    const event = await tx.incidents.appendTimeline({
      incidentId: id,
      at: s.at,
      kind: 'detected',
      actor: s.actor,
      message: `${severity} incident opened: ${s.message}`,
      data: { ...s.data as object, severity, dedupKey: s.dedupKey },
    });
    await this.audit?.append(tx, {
      actor: s.actor,
      action: 'incident.open',
      target: `incident:${id}`,
      after: { model: incident.model, version: incident.version, family: incident.family, severity, status: 'open', source: incident.source },
      requestId,
    });
    emits.push(() => this.bus.emit('incident.timeline', { event }));
    emits.push(() => this.bus.emit('incident.opened', { incident }));
    return { incident, created: true, changed: true };
  }

  private async append(
    tx: Stores,
    current: Incident,
    s: ReturnType<IncidentService['describeSignal']>,
    requestId: string | undefined,
    emits: Emit[],
  ): Promise<OpenOrUpdateResult> {
    const prev = current.sources?.[s.sourceKey];
    if (this.isRepeat(current, s)) return { incident: current, created: false, changed: false };
    const evidenceCount = (current.evidenceCount ?? current.evidence.length) + 1;
    const sources = {
      ...current.sources,
      [s.sourceKey]: {
        kind: s.sourceKind,
        firstAt: prev?.firstAt ?? s.at,
        lastAt: s.at,
        count: (prev?.count ?? 0) + 1,
        ...(s.sourceKind === 'alert' && s.source !== 'manual' ? { status: 'firing' as const } : {}),
      },
    };
    const basis = current.severityBasis ?? { severity: current.severity, evidenceCount: 1 };
    const severity = escalatedSeverity(current.severity, basis, evidenceCount, this.rules, s.severity);
    const raised = severity !== current.severity;
    const onsetAt =
      s.onsetAt !== undefined && (current.onsetAt === undefined || s.onsetAt < current.onsetAt) ? s.onsetAt : current.onsetAt;
    const incident: Incident = {
      ...current,
      severity,
      evidence: [...current.evidence, s.evidence].slice(-this.maxEvidence),
      evidenceCount,
      sources,
      updatedAt: s.at,
      ...(onsetAt !== undefined ? { onsetAt } : {}),
    };
    await tx.incidents.update(incident);
    const events: TimelineEvent[] = [];
    events.push(
      await tx.incidents.appendTimeline({
        incidentId: incident.id,
        at: s.at,
        kind: 'evidence',
        actor: s.actor,
        message: s.message,
        data: s.data,
      }),
    );
    if (raised) {
      events.push(
        await tx.incidents.appendTimeline({
          incidentId: incident.id,
          at: s.at,
          kind: 'severity_raised',
          actor: 'system',
          message: `severity raised ${current.severity} → ${severity} (${evidenceCount} evidence items)`,
          data: { from: current.severity, to: severity, evidenceCount },
        }),
      );
      await this.audit?.append(tx, {
        actor: 'system',
        action: 'incident.severity',
        target: `incident:${incident.id}`,
        before: { severity: current.severity },
        after: { severity },
        reason: `evidence grew to ${evidenceCount} items`,
        requestId,
      });
    }
    for (const event of events) emits.push(() => this.bus.emit('incident.timeline', { event }));
    emits.push(() => this.bus.emit('incident.updated', { incident, change: raised ? 'severity' : 'evidence' }));
    return { incident, created: false, changed: true };
  }

  /**
   * A resolved alert marks its source resolved on the active incident; when every alert that fed an
   * incident opened by alerts has resolved, the incident resolves. Incidents a monitor opened stay
   * for the monitor (or a person) to close.
   */
  private async resolveAlert(input: ExternalAlertInput, options: { actor?: Actor; requestId?: string }): Promise<OpenOrUpdateResult> {
    const family = input.family ?? 'external';
    const dedupKey = dedupKeyFor(input.model, input.version, family);
    const sourceKey = `${input.origin}:${input.alertKey}`;
    const actor = options.actor ?? input.origin;
    return this.mutex.run(dedupKey, () =>
      this.withConflictRetry(async () => {
        const emits: Emit[] = [];
        const result = await this.stores.transaction(async (tx): Promise<OpenOrUpdateResult> => {
          await this.audit?.lock(tx);
          await tx.incidents.lock(dedupKey);
          const current = await tx.incidents.findActive(dedupKey);
          const prev = current?.sources?.[sourceKey];
          if (!current || !prev || prev.status === 'resolved') return { incident: current, created: false, changed: false };
          const at = this.clock.now();
          const sources = { ...current.sources, [sourceKey]: { ...prev, lastAt: at, status: 'resolved' as const } };
          let incident: Incident = { ...current, sources, updatedAt: at };
          const events: TimelineEvent[] = [
            await tx.incidents.appendTimeline({
              incidentId: incident.id,
              at,
              kind: 'alert_resolved',
              actor,
              message: `${input.origin} alert resolved: ${input.title}`,
              data: { origin: input.origin, alertKey: input.alertKey, endsAt: input.endsAt },
            }),
          ];
          const openedByAlerts = current.source === 'alertmanager' || current.source === 'webhook';
          const stillFiring = Object.values(sources).some((src) => src.kind === 'alert' && src.status === 'firing');
          const monitorFed = Object.values(sources).some((src) => src.kind === 'monitor');
          let change = 'alert_resolved';
          if (openedByAlerts && !stillFiring && !monitorFed) {
            const r = transition(incident, 'resolved', at);
            incident = r.incident;
            change = 'resolved';
            events.push(
              await tx.incidents.appendTimeline({
                incidentId: incident.id,
                at,
                kind: 'status',
                actor,
                message: `resolved: every alert that opened it has resolved at ${input.origin}`,
                data: { from: r.from, to: 'resolved' },
              }),
            );
            await this.audit?.append(tx, {
              actor,
              action: STATUS_ACTION.resolved,
              target: `incident:${incident.id}`,
              before: { status: r.from },
              after: { status: 'resolved' },
              reason: `alert resolved at ${input.origin}`,
              requestId: options.requestId,
            });
          }
          await tx.incidents.update(incident);
          for (const event of events) emits.push(() => this.bus.emit('incident.timeline', { event }));
          emits.push(() => this.bus.emit('incident.updated', { incident, change }));
          return { incident, created: false, changed: true };
        });
        for (const emit of emits) emit();
        return result;
      }),
    );
  }

  /** Two replicas (or a lost race) inserting the same key or id: the loser retries and finds the winner. */
  private async withConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof FailsafeError && err.code === 'CONFLICT') || attempt >= 4) throw err;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Life cycle

  acknowledge(id: string, options: ChangeOptions): Promise<Incident> {
    return this.changeStatus(id, 'acknowledged', options);
  }

  contain(id: string, options: ChangeOptions): Promise<Incident> {
    return this.changeStatus(id, 'contained', options);
  }

  mitigate(id: string, options: ChangeOptions): Promise<Incident> {
    return this.changeStatus(id, 'mitigated', options);
  }

  resolve(id: string, options: ChangeOptions): Promise<Incident> {
    return this.changeStatus(id, 'resolved', options);
  }

  review(id: string, options: ChangeOptions): Promise<Incident> {
    return this.changeStatus(id, 'reviewed', options);
  }

  async decline(id: string, options: ChangeOptions & { reason: string }): Promise<Incident> {
    if (!options.reason?.trim()) throw new FailsafeError('VALIDATION_FAILED', 'reason: say why this is a false alarm');
    return this.changeStatus(id, 'declined', options);
  }

  /** Moves the incident; re-asking for its current status changes nothing and records nothing. */
  async changeStatus(id: string, to: IncidentStatus, options: ChangeOptions): Promise<Incident> {
    if (to === 'open') throw new FailsafeError('INVALID_STATE', `incident ${id}: an incident cannot be reopened; open a new one`);
    return this.mutated(id, options, async (_tx, current, at) => {
      const r = transition(current, to, at);
      if (!r.changed) return undefined;
      let incident = r.incident;
      if (to === 'declined') incident = { ...incident, declineReason: options.reason };
      const message = r.statusChanged
        ? `${to} by ${options.actor}${options.reason ? `: ${options.reason}` : ''}`
        : `acknowledged by ${options.actor} (status stays ${current.status})`;
      return {
        incident,
        change: to,
        timeline: {
          kind: 'status',
          message,
          data: { from: r.from, to: incident.status, ...(options.reason ? { reason: options.reason } : {}), ...(options.data !== undefined ? { detail: options.data } : {}) },
        },
        audit: { action: STATUS_ACTION[to], before: { status: r.from }, after: { status: incident.status } },
      };
    });
  }

  /** A human sets the severity either way; automation then escalates from this choice only. */
  async setSeverity(id: string, severity: Severity, options: ChangeOptions): Promise<Incident> {
    return this.mutated(id, options, async (_tx, current, at) => {
      if (!isActive(current.status)) {
        throw new FailsafeError('INVALID_STATE', `incident ${id} is ${current.status}; its severity can no longer change`);
      }
      if (current.severity === severity) return undefined;
      const incident = setSeverityByHuman(current, severity, options.actor, at);
      return {
        incident,
        change: 'severity',
        timeline: {
          kind: 'severity',
          message: `severity ${current.severity} → ${severity} by ${options.actor}${options.reason ? `: ${options.reason}` : ''}`,
          data: { from: current.severity, to: severity },
        },
        audit: { action: 'incident.severity', before: { severity: current.severity }, after: { severity } },
      };
    });
  }

  /** Merges impact figures (traffic share, failed requests, clients, since). */
  async setImpact(id: string, impact: ImpactScope, options: ChangeOptions): Promise<Incident> {
    return this.mutated(id, options, async (_tx, current, at) => {
      const merged: ImpactScope = { ...current.impact };
      for (const [k, v] of Object.entries(impact)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
      return {
        incident: { ...current, impact: merged, updatedAt: at },
        change: 'impact',
        timeline: { kind: 'impact', message: `impact updated by ${options.actor}`, data: { impact: merged } },
        audit: { action: 'incident.impact', before: { impact: current.impact }, after: { impact: merged } },
      };
    });
  }

  async setRootCause(id: string, rootCause: NonNullable<Incident['rootCause']>, options: ChangeOptions): Promise<Incident> {
    return this.mutated(id, options, async (_tx, current, at) => ({
      incident: { ...current, rootCause, updatedAt: at },
      change: 'root_cause',
      timeline: {
        kind: 'root_cause',
        message: `root cause (${rootCause.category}, confidence ${round(rootCause.confidence)}): ${rootCause.summary}`,
        data: rootCause,
      },
      audit: { action: 'incident.root_cause', before: { rootCause: current.rootCause }, after: { rootCause } },
    }));
  }

  /** Pins the runbook version this incident follows (the one in force when it opened). */
  async setRunbook(id: string, runbook: NonNullable<Incident['runbook']>, options: ChangeOptions): Promise<Incident> {
    return this.mutated(id, options, async (_tx, current, at) => {
      if (current.runbook?.id === runbook.id && current.runbook.version === runbook.version) return undefined;
      return {
        incident: { ...current, runbook, updatedAt: at },
        change: 'runbook',
        timeline: { kind: 'runbook', message: `follows runbook ${runbook.id} v${runbook.version}${options.reason ? `: ${options.reason}` : ''}`, data: runbook },
        audit: { action: 'incident.runbook', before: { runbook: current.runbook }, after: { runbook } },
      };
    });
  }

  async addNote(id: string, text: string, options: Omit<ChangeOptions, 'reason'>): Promise<TimelineEvent> {
    const trimmed = text.trim();
    if (!trimmed) throw new FailsafeError('VALIDATION_FAILED', 'text: a note needs some text');
    const { events } = await this.mutate(id, options, async (_tx, current) => ({
      incident: current,
      change: 'note',
      skipUpdate: true,
      timeline: { kind: 'note', message: trimmed },
      audit: { action: 'incident.note', after: { note: trimmed } },
    }));
    return events[0]!;
  }

  /**
   * Appends to an incident's timeline: containment, rollback, RCA, runbooks and notifications
   * record what they did here. No audit entry (the caller audits its own change). Inside your own
   * `stores.transaction`, pass its `tx` (on SQLite the root stores would wait for that transaction's
   * connection); the `incident.timeline` event is then emitted before your commit.
   */
  async addTimelineEvent(incidentId: string, input: TimelineInput, tx?: Stores): Promise<TimelineEvent> {
    const event = await (tx ?? this.stores).incidents.appendTimeline({
      incidentId,
      at: input.at ?? this.clock.now(),
      kind: input.kind,
      actor: input.actor,
      message: input.message,
      ...(input.data !== undefined ? { data: input.data } : {}),
    });
    this.bus.emit('incident.timeline', { event });
    return event;
  }

  private async mutated(id: string, options: ChangeOptions, fn: Parameters<IncidentService['mutate']>[2]): Promise<Incident> {
    return (await this.mutate(id, options, fn)).incident;
  }

  /**
   * One read-modify-write of an incident, serialised per incident, in one transaction with its
   * timeline event and audit entry. `fn` returns undefined when nothing changes.
   */
  private async mutate(
    id: string,
    options: Omit<ChangeOptions, 'reason'> & { reason?: string },
    fn: (
      tx: Stores,
      current: Incident,
      at: EpochMs,
    ) => Promise<
      | {
          incident: Incident;
          change: string;
          timeline?: { kind: string; message: string; data?: unknown };
          audit?: { action: string; before?: unknown; after?: unknown };
          /** Only the timeline (and audit) get written: notes. */
          skipUpdate?: boolean;
        }
      | undefined
    >,
  ): Promise<{ incident: Incident; events: TimelineEvent[] }> {
    return this.mutex.run(`id:${id}`, async () => {
      const emits: Emit[] = [];
      const result = await this.stores.transaction(async (tx) => {
        await this.audit?.lock(tx);
        await tx.incidents.lock(id);
        const current = await tx.incidents.get(id);
        if (!current) throw new FailsafeError('INCIDENT_NOT_FOUND', `no incident with id "${id}"`);
        const at = this.clock.now();
        const out = await fn(tx, current, at);
        if (!out) return { incident: current, events: [] };
        if (!out.skipUpdate) await tx.incidents.update(out.incident);
        const events: TimelineEvent[] = [];
        if (out.timeline) {
          events.push(
            await tx.incidents.appendTimeline({
              incidentId: id,
              at,
              kind: out.timeline.kind,
              actor: options.actor,
              message: out.timeline.message,
              ...(out.timeline.data !== undefined ? { data: out.timeline.data } : {}),
            }),
          );
        }
        if (out.audit) {
          await this.audit?.append(tx, {
            actor: options.actor,
            action: out.audit.action,
            target: `incident:${id}`,
            before: out.audit.before,
            after: out.audit.after,
            reason: options.reason,
            requestId: options.requestId,
          });
        }
        for (const event of events) emits.push(() => this.bus.emit('incident.timeline', { event }));
        if (!out.skipUpdate) emits.push(() => this.bus.emit('incident.updated', { incident: out.incident, change: out.change }));
        return { incident: out.incident, events };
      });
      for (const emit of emits) emit();
      return result;
    });
  }

  /**
   * Subscribes to `finding` bus events so monitors need not know about incidents. Call once from
   * the composition root (not if monitors call openOrUpdate themselves). Returns the unsubscribe.
   */
  subscribeToFindings(): () => void {
    return this.bus.on('finding', async ({ finding }) => {
      try {
        await this.openOrUpdate(finding);
      } catch (err) {
        this.onError(err, `finding ${finding.monitor}`);
      }
    });
  }
}
