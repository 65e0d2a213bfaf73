// Runbooks: versioned procedure definitions, and the checklist every incident follows.
//
// - Versions: loading a changed YAML (a file at startup, or `PUT /runbooks/{id}`) stores version
//   N+1 with an audit entry; older versions stay.
// - Checklists: on `incident.opened` the runbook version in force is copied onto the incident
//   (later edits never rewrite it). Automatic steps complete themselves from the incident's
//   timeline events (runbook-bindings.ts), linked to the event; people complete manual steps with
//   evidence. Overdue steps are escalated once through the notifier from `tick(now)`.
// - Compliance: a report per incident or time range (compliance-report.ts).
//
// Work on one incident's checklist is serialised in this process and stored by compare-and-set,
// so replicas sharing PostgreSQL never overwrite each other's steps.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import { isActive } from '../../core/incident-lifecycle.ts';
import { isoTime } from '../../core/iso-time.ts';
import type { Audience, AuditEntry, Clock, EpochMs, Incident, Role, TimelineEvent } from '../../core/types.ts';
import type { AuditInput } from '../audit/audit-service.ts';
import type { IncidentService } from '../incidents/incident-service.ts';
import type { NotificationEvent } from '../notifications/notifier.ts';
import type { Stores } from '../stores.ts';
import { actionBindings, boundKinds } from './runbook-bindings.ts';
import {
  applyEvents,
  checklistView,
  closeDeclined,
  completeByHand,
  createChecklist,
  overdueSteps,
  retarget,
  skipByHand,
  type AuditLink,
  type ChecklistItemView,
} from './runbook-checklist.ts';
import {
  buildComplianceReport,
  buildRangeReport,
  concernsIncident,
  incidentWindow,
  type ComplianceReport,
  type RangeComplianceReport,
} from './compliance-report.ts';
import { packagePath } from '../../package-root.ts';
import { DEFAULT_RUNBOOK_ID, describeRule, selectRunbook, type RunbookRule } from './runbook-config.ts';
import { checkRunbookDefinition, parseRunbookYaml, runbookHash, type RunbookDefinition } from './runbook-definition.ts';
import type { Checklist, StepEvidence, StoredRunbook } from './runbook-store.ts';

/** Where the built-in runbooks live (runbooks/ at the repository root). */
export const builtinRunbookDir = packagePath('runbooks');

const ACTOR = 'runbook';

export interface RunbookAudit {
  lock(tx: Stores): Promise<void>;
  append(tx: Stores, input: AuditInput): Promise<unknown>;
}

export type RunbookIncidents = Pick<IncidentService, 'get' | 'list' | 'timeline' | 'addTimelineEvent' | 'setRunbook' | 'addDetailProvider'>;

export interface RunbookServiceOptions {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  audit: RunbookAudit;
  incidents: RunbookIncidents;
  /** Overdue steps go out through it (Notifier.notify). */
  notifier?: { notify(incident: Incident, event: NotificationEvent, audience?: Audience): unknown };
  /** The runbook new incidents follow when no `select` rule matches (default SOP-001). */
  defaultRunbookId?: string;
  /** Rules choosing a runbook per incident family, severity or model; the first match wins. */
  select?: RunbookRule[];
  onError?: (err: unknown, what: string) => void;
}

export interface Who {
  actor: string;
  role: Role;
  requestId?: string;
}

export interface CompletionInput {
  evidence?: StepEvidence;
  deviation?: string;
}

export interface StepChange {
  step: ChecklistItemView;
  checklist: ChecklistItemView[];
}

export interface VersionResult {
  runbook: StoredRunbook;
  created: boolean;
}

export class RunbookService {
  private readonly stores: Stores;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private readonly audit: RunbookAudit;
  private readonly incidents: RunbookIncidents;
  private readonly notifier?: RunbookServiceOptions['notifier'];
  readonly defaultRunbookId: string;
  private readonly select: RunbookRule[];
  private readonly onError: (err: unknown, what: string) => void;
  private readonly tails = new Map<string, Promise<unknown>>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(options: RunbookServiceOptions) {
    this.stores = options.stores;
    this.clock = options.clock;
    this.bus = options.bus;
    this.audit = options.audit;
    this.incidents = options.incidents;
    this.notifier = options.notifier;
    this.defaultRunbookId = options.defaultRunbookId ?? DEFAULT_RUNBOOK_ID;
    this.select = options.select ?? [];
    this.onError = options.onError ?? (() => {});
  }

  /** Throws, naming the setting, when the default or a `select` rule names a runbook that is not loaded. */
  async assertSelectable(): Promise<void> {
    const named: Array<[string, string]> = [['runbooks.default', this.defaultRunbookId], ...this.select.map((r, i): [string, string] => [`runbooks.select[${i}].runbook`, r.runbook])];
    for (const [path, id] of named) {
      if (!(await this.stores.runbooks.getVersion(id))) {
        const loaded = (await this.stores.runbooks.listLatest()).map((r) => r.id);
        throw new FailsafeError('VALIDATION_FAILED', `${path}: no runbook "${id}" is loaded (loaded: ${loaded.join(', ') || 'none'})`);
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Versions

  async list(): Promise<StoredRunbook[]> {
    return this.stores.runbooks.listLatest();
  }

  async get(id: string, version?: number): Promise<StoredRunbook> {
    const r = await this.stores.runbooks.getVersion(id, version);
    if (!r) throw new FailsafeError('RUNBOOK_NOT_FOUND', version === undefined ? `no runbook "${id}"` : `runbook "${id}" has no version ${version}`);
    return r;
  }

  versions(id: string): Promise<StoredRunbook[]> {
    return this.stores.runbooks.listVersions(id);
  }

  /**
   * Stores a runbook as a new version when its content differs from the latest (`PUT`). With
   * `ifUnknown`, only when no stored version has this content (loading files at startup: a file
   * left as it was never reverts a version uploaded since).
   */
  async putVersion(definition: RunbookDefinition, yaml: string, ctx: { actor: string; requestId?: string; ifUnknown?: boolean; reason?: string }): Promise<VersionResult> {
    const hash = runbookHash(definition);
    return this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      const versions = await tx.runbooks.listVersions(definition.id);
      const latest = versions[versions.length - 1];
      const same = ctx.ifUnknown ? versions.find((v) => v.hash === hash) : latest?.hash === hash ? latest : undefined;
      if (same) return { runbook: same, created: false };
      const version = (latest?.version ?? 0) + 1;
      const runbook: StoredRunbook = {
        id: definition.id,
        version,
        title: definition.title,
        hash,
        yaml,
        definition: { ...definition, version },
        createdAt: this.clock.now(),
        createdBy: ctx.actor,
      };
      await tx.runbooks.insertVersion(runbook);
      await this.audit.append(tx, {
        actor: ctx.actor,
        action: 'runbook.version',
        target: `runbook:${definition.id}`,
        ...(latest ? { before: { version: latest.version, hash: latest.hash } } : {}),
        after: { version, hash, title: definition.title, steps: definition.steps.map((s) => s.id) },
        reason: ctx.reason,
        requestId: ctx.requestId,
      });
      return { runbook, created: true };
    });
  }

  /** Validates YAML (or JSON) text and stores it as a new version (`PUT /runbooks/{id}`). */
  async upload(id: string, text: string, ctx: { actor: string; requestId?: string; source?: string }): Promise<VersionResult> {
    const definition = parseRunbookYaml(text, ctx.source ?? 'request body');
    if (definition.id !== id) {
      throw new FailsafeError('VALIDATION_FAILED', `${ctx.source ?? 'request body'}: id: the runbook says "${definition.id}" but was uploaded as "${id}"`);
    }
    return this.putVersion(definition, text, { actor: ctx.actor, requestId: ctx.requestId, reason: 'uploaded' });
  }

  /** Stores an already parsed definition (a JSON body); the YAML kept is its JSON. */
  async uploadDefinition(id: string, raw: unknown, ctx: { actor: string; requestId?: string }): Promise<VersionResult> {
    const withId = raw && typeof raw === 'object' && !Array.isArray(raw) && (raw as { id?: unknown }).id === undefined ? { ...(raw as object), id } : raw;
    const definition = checkRunbookDefinition(withId, 'request body');
    if (definition.id !== id) throw new FailsafeError('VALIDATION_FAILED', `request body: id: the runbook says "${definition.id}" but was uploaded as "${id}"`);
    return this.putVersion(definition, `${JSON.stringify(withId, null, 2)}\n`, { actor: ctx.actor, requestId: ctx.requestId, reason: 'uploaded' });
  }

  /** Loads one YAML file; a new content becomes a new version. Errors name the file and the path. */
  async loadFile(path: string, ctx: { actor?: string; displayPath?: string } = {}): Promise<VersionResult> {
    const text = readFileSync(path, 'utf8');
    const definition = parseRunbookYaml(text, ctx.displayPath ?? path);
    return this.putVersion(definition, text, { actor: ctx.actor ?? 'config', ifUnknown: true, reason: `loaded from ${ctx.displayPath ?? path}` });
  }

  /** Loads every `*.yaml` / `*.yml` in a directory, in name order. */
  async loadDirectory(dir: string = builtinRunbookDir, ctx: { actor?: string } = {}): Promise<VersionResult[]> {
    const files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/i.test(f))
      .sort();
    const out: VersionResult[] = [];
    for (const f of files) {
      const path = join(dir, f);
      const shown = relative(process.cwd(), path);
      out.push(await this.loadFile(path, { actor: ctx.actor, displayPath: shown.startsWith('..') ? path : shown }));
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Checklists: listening

  /**
   * Subscribes to incident events and adds `checklist` to the incident detail. Call once from the
   * composition root; returns the unsubscribe.
   */
  start(): () => void {
    this.incidents.addDetailProvider('checklist', async (incident) => this.checklistItems(incident.id));
    const offs = [
      this.bus.on('incident.opened', ({ incident }) => {
        this.enqueue(incident.id, () => this.ensureChecklist(incident.id, { always: true }));
      }),
      this.bus.on('incident.timeline', ({ event }) => {
        if (!boundKinds.has(event.kind)) return;
        this.enqueue(event.incidentId, () => this.onEvent(event));
      }),
      this.bus.on('incident.updated', ({ incident, change }) => {
        if (change === 'severity') this.enqueue(incident.id, () => this.followSeverity(incident.id));
        if (change === 'declined') this.enqueue(incident.id, () => this.onDeclined(incident));
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Resolves when the events received so far have been applied (tests, shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(incidentId: string, fn: () => Promise<unknown>): void {
    this.inFlight++;
    void this.serial(incidentId, fn)
      .catch((err) => this.onError(err, `runbook checklist of ${incidentId}`))
      .finally(() => {
        if (--this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
      });
  }

  /** Runs fn after the work already queued for this incident. */
  private serial<T>(incidentId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(incidentId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(incidentId, tail);
    void tail.then(() => {
      if (this.tails.get(incidentId) === tail) this.tails.delete(incidentId);
    });
    return next;
  }

  private async onEvent(event: TimelineEvent): Promise<void> {
    const existing = await this.stores.runbooks.getChecklist(event.incidentId);
    if (!existing) {
      // An incident opened before this process listened (or on another replica): only active ones
      // start a checklist late; the scan inside picks up this event too.
      await this.ensureChecklist(event.incidentId, { always: false, extra: [event] });
      return;
    }
    await this.applyAndSave(event.incidentId, [event]);
  }

  /**
   * The incident's checklist, created from the runbook in force when there is none. Creating one
   * pins the version on the incident and catches up with the timeline so far.
   */
  async ensureChecklist(incidentId: string, options: { always?: boolean; extra?: TimelineEvent[] } = {}): Promise<Checklist | undefined> {
    const existing = await this.stores.runbooks.getChecklist(incidentId);
    if (existing) return existing;
    const incident = await this.incidents.get(incidentId);
    if (options.always === false && !isActive(incident.status)) return undefined;
    const chosen = selectRunbook(incident, this.select, this.defaultRunbookId);
    const runbook = await this.stores.runbooks.getVersion(chosen.id);
    if (!runbook) {
      this.onError(new FailsafeError('RUNBOOK_NOT_FOUND', `no runbook "${chosen.id}" is loaded`), `checklist for ${incidentId}`);
      return undefined;
    }
    const model = await this.stores.models.get(incident.model).catch(() => undefined);
    const checklist = createChecklist({ runbook, incident, modelTags: model?.tags ?? [], now: this.clock.now() });
    try {
      await this.stores.runbooks.insertChecklist(checklist);
    } catch (err) {
      if (err instanceof FailsafeError && err.code === 'CONFLICT') return this.stores.runbooks.getChecklist(incidentId);
      throw err;
    }
    try {
      const why = chosen.rule === undefined ? 'the default runbook' : `chosen by runbooks.select[${chosen.rule}] (${describeRule(this.select[chosen.rule])})`;
      await this.incidents.setRunbook(incidentId, { id: runbook.id, version: runbook.version }, { actor: ACTOR, reason: `${why}, in force when the incident opened` });
    } catch (err) {
      this.onError(err, `pinning runbook on ${incidentId}`);
    }
    await this.catchUp(incidentId, options.extra ?? []);
    return this.stores.runbooks.getChecklist(incidentId);
  }

  /** Applies every bound event on the timeline so far (idempotent: an event counts once). */
  private async catchUp(incidentId: string, extra: TimelineEvent[] = []): Promise<void> {
    const events = await this.incidents.timeline(incidentId, { kinds: [...boundKinds] });
    const ids = new Set(events.map((e) => e.id));
    await this.applyAndSave(incidentId, [...events, ...extra.filter((e) => !ids.has(e.id))]);
  }

  private async applyAndSave(incidentId: string, events: TimelineEvent[]): Promise<string[]> {
    if (!events.length) return [];
    const audits = await this.auditLinks(incidentId, events);
    let completed: string[] = [];
    await this.updateChecklist(incidentId, (current) => {
      const r = applyEvents(current, events, { audits, now: this.clock.now() });
      completed = r.completed;
      return r.completed.length ? r.checklist : undefined;
    });
    return completed;
  }

  /** The audit entries `audit` steps need, per event id. */
  private async auditLinks(incidentId: string, events: TimelineEvent[]): Promise<Map<number, AuditLink>> {
    const out = new Map<number, AuditLink>();
    let model: string | undefined;
    for (const event of events) {
      for (const binding of Object.values(actionBindings)) {
        if (!binding.audit || !binding.matches(event)) continue;
        model ??= (await this.incidents.get(incidentId)).model;
        const lookup = binding.audit(event, model);
        if (!lookup) continue;
        // The entry commits before the event is written; look back a while for slow rollbacks.
        const entries = await this.stores.audit.list({ target: lookup.target, action: lookup.action, from: event.at - 3_600_000, limit: 1000 });
        const entry = entries.find((e) => lookup.matches(e));
        if (entry) out.set(event.id, { seq: entry.seq, hash: entry.hash });
      }
    }
    return out;
  }

  /** Read, change, compare-and-set; retried when another writer got there first. */
  private async updateChecklist(incidentId: string, change: (current: Checklist) => Checklist | undefined): Promise<Checklist | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.stores.runbooks.getChecklist(incidentId);
      if (!current) return undefined;
      const next = change(current);
      if (!next) return current;
      const stored = { ...next, revision: current.revision + 1 };
      try {
        await this.stores.runbooks.updateChecklist(stored, current.revision);
        return stored;
      } catch (err) {
        if (!(err instanceof FailsafeError && err.code === 'CONFLICT') || attempt >= 5) throw err;
      }
    }
  }

  private async followSeverity(incidentId: string): Promise<void> {
    const incident = await this.incidents.get(incidentId);
    const model = await this.stores.models.get(incident.model).catch(() => undefined);
    await this.updateChecklist(incidentId, (current) => {
      const r = retarget(current, { severity: incident.severity, tags: model?.tags ?? [], now: this.clock.now() });
      return r.changed ? r.checklist : undefined;
    });
  }

  private async onDeclined(incident: Incident): Promise<void> {
    const current = await this.incidents.get(incident.id);
    await this.updateChecklist(incident.id, (c) => {
      const r = closeDeclined(c, { reason: current.declineReason, actor: ACTOR, now: this.clock.now() });
      return r.skipped.length ? r.checklist : undefined;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Checklists: reading and people

  async checklist(incidentId: string): Promise<Checklist | undefined> {
    return this.stores.runbooks.getChecklist(incidentId);
  }

  /** The `checklist` section of the incident detail ([] for an incident without one). */
  async checklistItems(incidentId: string): Promise<ChecklistItemView[]> {
    const c = await this.stores.runbooks.getChecklist(incidentId);
    return c ? checklistView(c, this.clock.now()) : [];
  }

  private async requireChecklist(tx: Stores, incidentId: string): Promise<Checklist> {
    const c = await tx.runbooks.getChecklist(incidentId);
    if (c) return c;
    if (!(await tx.incidents.get(incidentId))) throw new FailsafeError('INCIDENT_NOT_FOUND', `no incident with id "${incidentId}"`);
    throw new FailsafeError('STEP_NOT_FOUND', `incident ${incidentId} has no runbook checklist`);
  }

  /**
   * A person completes a step (see completeByHand for what is refused). The checklist, a timeline
   * event and an audit entry commit together; a refused call changes nothing.
   */
  async complete(incidentId: string, stepId: string, input: CompletionInput, who: Who): Promise<StepChange> {
    const result = await this.serial(incidentId, () =>
      this.stores.transaction(async (tx) => {
        await this.audit.lock(tx);
        const current = await this.requireChecklist(tx, incidentId);
        const at = this.clock.now();
        const r = completeByHand(current, { stepId, actor: who.actor, role: who.role, evidence: input.evidence, deviation: input.deviation, at });
        const next: Checklist = { ...r.checklist, revision: current.revision + 1 };
        await tx.runbooks.updateChecklist(next, current.revision);
        const detail = { step: stepId, runbook: current.runbook, evidence: r.state.evidence, deviation: r.state.deviation, outOfOrder: r.state.outOfOrder };
        await this.incidents.addTimelineEvent(
          incidentId,
          {
            kind: 'checklist',
            actor: who.actor,
            message: `runbook step "${r.step.title}" (${stepId}) completed by ${who.actor}${r.state.deviation ? ` — deviation: ${r.state.deviation}` : ''}`,
            data: { action: 'complete', ...detail },
            at,
          },
          tx,
        );
        await this.audit.append(tx, {
          actor: who.actor,
          action: 'runbook.step.complete',
          target: `incident:${incidentId}`,
          before: { step: stepId, status: current.states[stepId]!.status },
          after: { status: 'done', ...detail },
          reason: r.state.deviation,
          requestId: who.requestId,
        });
        return next;
      }),
    );
    await this.serial(incidentId, () => this.catchUp(incidentId)).catch((err) => this.onError(err, `checklist catch-up ${incidentId}`));
    return this.stepChange(incidentId, stepId, result);
  }

  /** A person marks an open step as not needed, with the reason. */
  async skip(incidentId: string, stepId: string, reason: string, who: Who): Promise<StepChange> {
    const result = await this.serial(incidentId, () =>
      this.stores.transaction(async (tx) => {
        await this.audit.lock(tx);
        const current = await this.requireChecklist(tx, incidentId);
        const at = this.clock.now();
        const r = skipByHand(current, { stepId, actor: who.actor, role: who.role, reason, at });
        const next: Checklist = { ...r.checklist, revision: current.revision + 1 };
        await tx.runbooks.updateChecklist(next, current.revision);
        await this.incidents.addTimelineEvent(
          incidentId,
          {
            kind: 'checklist',
            actor: who.actor,
            message: `runbook step "${r.step.title}" (${stepId}) skipped by ${who.actor}: ${r.state.skipReason}`,
            data: { action: 'skip', step: stepId, runbook: current.runbook, reason: r.state.skipReason },
            at,
          },
          tx,
        );
        await this.audit.append(tx, {
          actor: who.actor,
          action: 'runbook.step.skip',
          target: `incident:${incidentId}`,
          before: { step: stepId, status: current.states[stepId]!.status },
          after: { step: stepId, status: 'skipped' },
          reason: r.state.skipReason,
          requestId: who.requestId,
        });
        return next;
      }),
    );
    // A skipped prerequisite imposes no order: events already recorded may now complete later steps.
    await this.serial(incidentId, () => this.catchUp(incidentId)).catch((err) => this.onError(err, `checklist catch-up ${incidentId}`));
    return this.stepChange(incidentId, stepId, result);
  }

  private async stepChange(incidentId: string, stepId: string, fallback: Checklist): Promise<StepChange> {
    const latest = (await this.stores.runbooks.getChecklist(incidentId)) ?? fallback;
    const items = checklistView(latest, this.clock.now());
    return { step: items.find((i) => i.id === stepId)!, checklist: items };
  }

  // ------------------------------------------------------------------------------------------
  // Overdue steps

  /**
   * Escalates every step open past its due time, once: marked first (compare-and-set, so one
   * replica wins), then a timeline event `escalated` and a notification to the owner's audience.
   */
  async tick(now: EpochMs = this.clock.now()): Promise<{ incidentId: string; stepId: string }[]> {
    const out: { incidentId: string; stepId: string }[] = [];
    for (const c of await this.stores.runbooks.listDue(now)) {
      try {
        out.push(...(await this.serial(c.incidentId, () => this.escalate(c.incidentId, now))));
      } catch (err) {
        this.onError(err, `escalating overdue steps of ${c.incidentId}`);
      }
    }
    return out;
  }

  private async escalate(incidentId: string, now: EpochMs): Promise<{ incidentId: string; stepId: string }[]> {
    let steps: ReturnType<typeof overdueSteps> = [];
    const stored = await this.updateChecklist(incidentId, (current) => {
      steps = overdueSteps(current, now);
      if (!steps.length) return undefined;
      const next = structuredClone(current);
      for (const s of steps) next.states[s.id] = { ...next.states[s.id]!, escalatedAt: now };
      next.updatedAt = now;
      return next;
    });
    if (!stored || !steps.length) return [];
    const incident = await this.incidents.get(incidentId);
    for (const step of steps) {
      const dueAt = stored.states[step.id]!.dueAt!;
      const message = `runbook step "${step.title}" (${step.id}) is overdue: due ${isoTime(dueAt)}, owner ${step.owner.role} (${step.owner.audience})`;
      try {
        await this.incidents.addTimelineEvent(incidentId, {
          kind: 'escalated',
          actor: ACTOR,
          message,
          data: { step: step.id, dueAt: isoTime(dueAt), owner: step.owner, runbook: stored.runbook },
          at: now,
        });
      } catch (err) {
        this.onError(err, `timeline of ${incidentId}`);
      }
      this.notifier?.notify(incident, { kind: 'reminder', message, data: { step: step.id, title: step.title, dueAt: isoTime(dueAt), owner: step.owner } }, step.owner.audience);
    }
    return steps.map((s) => ({ incidentId, stepId: s.id }));
  }

  // ------------------------------------------------------------------------------------------
  // Compliance

  async compliance(incidentId: string): Promise<ComplianceReport> {
    const incident = await this.incidents.get(incidentId);
    const checklist = await this.stores.runbooks.getChecklist(incidentId);
    const now = this.clock.now();
    const window = incidentWindow(incident, checklist, now, isActive(incident.status));
    const entries = await this.auditEntriesFor(incident, window);
    return buildComplianceReport({ incident, checklist, auditEntries: entries, window, now });
  }

  /** Incidents detected in [from, to). */
  async complianceRange(from: EpochMs, to: EpochMs): Promise<RangeComplianceReport> {
    if (!(to > from)) throw new FailsafeError('VALIDATION_FAILED', 'to: must be after from');
    const incidents = await this.incidents.list({ since: from, before: to, limit: 1000 });
    const reports: ComplianceReport[] = [];
    for (const i of [...incidents].sort((a, b) => a.detectedAt - b.detectedAt || (a.id < b.id ? -1 : 1))) {
      reports.push(await this.compliance(i.id));
    }
    return buildRangeReport({ from, to, now: this.clock.now(), reports });
  }

  private async auditEntriesFor(incident: Incident, window: { from: EpochMs; to: EpochMs }): Promise<AuditEntry[]> {
    const bySeq = new Map<number, AuditEntry>();
    const page = 1000;
    const collect = async (q: { target?: string; from?: number; to?: number }) => {
      let afterSeq: number | undefined;
      for (;;) {
        const batch = await this.stores.audit.list({ ...q, afterSeq, limit: page });
        for (const e of batch) if (concernsIncident(e, incident, window)) bySeq.set(e.seq, e);
        if (batch.length < page) break;
        afterSeq = batch[batch.length - 1]!.seq;
      }
    };
    await collect({ target: `incident:${incident.id}` });
    await collect({ from: window.from, to: window.to });
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
}

export const createRunbookService = (options: RunbookServiceOptions): RunbookService => new RunbookService(options);
