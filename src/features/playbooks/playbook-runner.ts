// Playbooks: when an incident opens (or its severity rises), do what the model's playbook says for
// that severity: contain (isolate the incident's version) and/or roll back, at once (`auto`), after
// a person approves (`approval`), or not at all. A dry run records what would be done. Automatic
// rollbacks are rate limited per model so they cannot loop, and traffic only ever moves to a
// version the containment plan or the rollback validation allows.
//
// Containment is on the fast path: the incident event reaches the route change with no database
// work in between besides the route change itself (actions are recorded after it). The latency from
// the event (and from detection) to the route being live is measured on every action.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { FailsafeError, isFailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import { isActive, isMoreSevere } from '../../core/incident-lifecycle.ts';
import { underRateLimit } from '../../core/rollback-plan.ts';
import type { Clock, Incident, Severity } from '../../core/types.ts';
import type { ContainmentService } from '../containment/containment-service.ts';
import type { IncidentService } from '../incidents/incident-service.ts';
import type { Notifier } from '../notifications/notifier.ts';
import type { RollbackService } from '../rollback/rollback-service.ts';
import type { Stores } from '../stores.ts';
import type { PlaybookAction, PlaybookActionKind } from './playbook-action-store.ts';
import type { PlaybookConfig, PlaybookStepMode } from './playbook-config.ts';

export interface PlaybookRunnerOptions {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  incidents: IncidentService;
  containment: ContainmentService;
  rollback: RollbackService;
  policyFor: (model: string) => PlaybookConfig;
  notifier?: Pick<Notifier, 'notify'>;
  onError?: (err: unknown, context: string) => void;
}

export interface ContainmentTiming {
  incidentId: string;
  model: string;
  version: string;
  /** From the incident event reaching the runner to the route being live in the gateway. */
  fromEventMs: number;
  /** From the incident's detection time to the route being live (clock time). */
  fromDetectionMs: number;
  at: number;
}

const ACTOR = 'playbook';

let actionSeq = 0;
/** Ids sort in creation order (time, then a per-process sequence), so lists show steps in order. */
const newActionId = (now: number): string =>
  `act_${now.toString(36)}${(actionSeq++ % 1296).toString(36).padStart(2, '0')}${randomBytes(3).toString('hex')}`;

export class PlaybookRunner {
  private readonly o: PlaybookRunnerOptions;
  /** Steps started per incident in this process (the store has them across restarts). */
  private readonly started = new Map<string, Set<PlaybookActionKind>>();
  /** Highest severity handled per incident. */
  private readonly handledSeverity = new Map<string, Severity>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly inflight = new Set<Promise<unknown>>();
  readonly containmentTimings: ContainmentTiming[] = [];

  constructor(options: PlaybookRunnerOptions) {
    this.o = options;
  }

  /** Listens for incidents on the bus; returns the unsubscribe. */
  start(): () => void {
    const offs = [
      this.o.bus.on('incident.opened', ({ incident }) => {
        this.track(this.enqueue(incident, performance.now(), 'opened'));
      }),
      this.o.bus.on('incident.updated', ({ incident, change }) => {
        if (change !== 'severity') return;
        const before = this.handledSeverity.get(incident.id);
        if (before && !isMoreSevere(incident.severity, before)) return;
        this.track(this.enqueue(incident, performance.now(), 'severity'));
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Resolves when every playbook run started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  actions(incidentId: string): Promise<PlaybookAction[]> {
    return this.o.stores.playbookActions.listForIncident(incidentId);
  }

  /** Runs the playbook for an incident now (what the bus listener does). */
  run(incident: Incident, trigger: 'opened' | 'severity' = 'opened'): Promise<PlaybookAction[]> {
    return this.enqueue(incident, performance.now(), trigger);
  }

  private track(p: Promise<unknown>): void {
    const settled = p.catch((err) => this.o.onError?.(err, 'playbook run failed'));
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
  }

  /** One run per incident at a time, in event order. */
  private enqueue(incident: Incident, t0: number, trigger: 'opened' | 'severity'): Promise<PlaybookAction[]> {
    const prev = this.queues.get(incident.id) ?? Promise.resolve();
    const next = prev.then(
      () => this.handle(incident, t0, trigger),
      () => this.handle(incident, t0, trigger),
    );
    const tail = next.catch(() => undefined);
    this.queues.set(incident.id, tail);
    void tail.then(() => {
      if (this.queues.get(incident.id) === tail) this.queues.delete(incident.id);
    });
    return next;
  }

  private async handle(incident: Incident, t0: number, trigger: 'opened' | 'severity'): Promise<PlaybookAction[]> {
    if (!isActive(incident.status)) return [];
    const policy = this.o.policyFor(incident.model);
    const steps = policy[incident.severity];
    this.handledSeverity.set(incident.id, incident.severity);
    let started = this.started.get(incident.id);
    if (!started) {
      started = new Set();
      this.started.set(incident.id, started);
      // After a restart, or a severity rise, the store knows what an earlier run did.
      if (trigger === 'severity') for (const a of await this.o.stores.playbookActions.listForIncident(incident.id)) started.add(a.kind);
    }
    const out: PlaybookAction[] = [];
    for (const kind of ['contain', 'rollback'] as const) {
      const mode = steps[kind];
      if (mode === 'off' || started.has(kind)) continue;
      started.add(kind);
      out.push(await this.step(incident, kind, mode, policy, t0));
    }
    return out;
  }

  private async step(incident: Incident, kind: PlaybookActionKind, mode: Exclude<PlaybookStepMode, 'off'>, policy: PlaybookConfig, t0: number): Promise<PlaybookAction> {
    const base: PlaybookAction = {
      id: newActionId(this.o.clock.now()),
      incidentId: incident.id,
      model: incident.model,
      ...(incident.version !== undefined ? { version: incident.version } : {}),
      kind,
      mode,
      status: 'pending',
      severity: incident.severity,
      createdAt: this.o.clock.now(),
    };
    const what = kind === 'contain' ? `isolate ${incident.model}${incident.version ? ` ${incident.version}` : ''}` : `roll ${incident.model} back to its last known stable version`;

    if (kind === 'contain' && incident.version === undefined) {
      return this.record({ ...base, status: 'skipped', reason: 'the incident names no version to isolate' }, `playbook skipped: ${what} (the incident names no version)`);
    }
    // Without a version, automation cannot tell which version is bad: a person rolls back (or approves).
    if (kind === 'rollback' && mode === 'auto' && incident.version === undefined && !policy.dryRun) {
      return this.record({ ...base, status: 'skipped', reason: 'the incident names no version; an automatic rollback could pick the wrong one' }, `playbook skipped: ${what} (the incident names no version; roll back by hand if needed)`);
    }
    if (policy.dryRun) {
      return this.record({ ...base, status: 'dry_run', reason: `dry run: would ${what} (${mode})` }, `dry run: the ${incident.severity} playbook would ${what}${mode === 'approval' ? ' after approval' : ''}`);
    }
    if (mode === 'approval') {
      const action = await this.record({ ...base, status: 'pending', reason: `waiting for approval to ${what}` }, `waiting for approval: ${what} (action ${base.id}; POST /api/v1/incidents/${incident.id}/actions/${base.id}/approve or deny)`, 'approval');
      this.o.notifier?.notify(incident, { kind: 'approval', message: `approval needed to ${what} (action ${base.id})`, data: { actionId: base.id, kind } });
      return action;
    }
    if (kind === 'rollback') {
      const since = this.o.clock.now() - policy.rateLimitWindowSeconds * 1000;
      const recent = await this.o.stores.rollbacks.list({ model: incident.model, since });
      const automatic = recent.filter((r) => r.actor.startsWith(ACTOR)).map((r) => r.startedAt);
      if (!underRateLimit(automatic, this.o.clock.now(), policy.maxAutoRollbacks, policy.rateLimitWindowSeconds * 1000)) {
        const reason = `rate limit: ${automatic.length} automatic rollback(s) of ${incident.model} in the last ${policy.rateLimitWindowSeconds} s (max ${policy.maxAutoRollbacks}); a person must decide`;
        const action = await this.record({ ...base, status: 'skipped', reason }, `playbook did not roll back: ${reason}`, 'escalated');
        this.o.notifier?.notify(incident, { kind: 'escalation', message: reason, data: { actionId: base.id } });
        return action;
      }
    }
    return this.execute({ ...base, status: 'running', decidedAt: this.o.clock.now(), decidedBy: ACTOR }, incident, t0, false);
  }

  /** Runs a contain or rollback action and records its outcome. */
  private async execute(action: PlaybookAction, incident: Incident, t0: number, stored: boolean): Promise<PlaybookAction> {
    const actor = action.mode === 'auto' ? `${ACTOR}:${incident.severity}` : action.decidedBy!;
    try {
      if (action.kind === 'contain') {
        const tCall = performance.now();
        const iso = await this.o.containment.isolate(action.model, action.version!, {
          actor,
          incidentId: incident.id,
          incidentKnown: true,
          reason: `${incident.severity} playbook: ${incident.title}`,
        });
        // The route is live when the route change returned (iso.durationMs); the incident's timeline
        // and status writes that follow are not part of getting traffic off the version.
        const fromEventMs = Math.round((tCall - t0 + iso.durationMs) * 100) / 100;
        const timing: ContainmentTiming = { incidentId: incident.id, model: action.model, version: action.version!, fromEventMs, fromDetectionMs: iso.at - incident.detectedAt, at: iso.at };
        if (action.mode === 'auto') {
          this.containmentTimings.push(timing);
          if (this.containmentTimings.length > 100) this.containmentTimings.shift();
        }
        const done: PlaybookAction = { ...action, status: 'succeeded', finishedAt: this.o.clock.now(), result: { ...iso, ...(action.mode === 'auto' ? { latency: timing } : {}) } };
        return await this.save(done, stored);
      }
      if (!stored) await this.o.stores.playbookActions.insert(action);
      const rb = await this.o.rollback.rollback(action.model, { incidentId: incident.id, actor, reason: `${incident.severity} playbook: ${incident.title}` });
      return await this.save({ ...action, status: 'succeeded', finishedAt: this.o.clock.now(), result: { rollbackId: rb.id, from: rb.from, to: rb.to, durationMs: rb.durationMs } }, true);
    } catch (err) {
      const error = isFailsafeError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
      const rollbackId = isFailsafeError(err) ? (err.details as { rollback?: { id?: string } } | undefined)?.rollback?.id : undefined;
      const failed: PlaybookAction = { ...action, status: 'failed', finishedAt: this.o.clock.now(), error, ...(rollbackId ? { result: { rollbackId } } : {}) };
      await this.save(failed, stored || action.kind === 'rollback');
      // The rollback service escalates a failed gate itself; other failures are escalated here.
      if (error.code !== 'VALIDATION_GATE_FAILED') {
        await this.timeline(incident.id, 'escalated', `playbook ${action.kind} failed: ${error.message}`, { actionId: action.id, error });
        this.o.notifier?.notify(incident, { kind: 'escalation', message: `playbook ${action.kind} failed: ${error.message}`, data: { actionId: action.id } });
      }
      return failed;
    }
  }

  /** A person approves a pending action: it runs now (no rate limit: a person decided). */
  async approve(incidentId: string, actionId: string, ctx: { actor: string; reason?: string }): Promise<PlaybookAction> {
    const action = await this.pending(incidentId, actionId);
    const incident = await this.o.incidents.get(incidentId);
    if (!isActive(incident.status)) throw new FailsafeError('INVALID_STATE', `incident ${incidentId} is ${incident.status}; its actions can no longer run`);
    const running: PlaybookAction = { ...action, status: 'running', decidedAt: this.o.clock.now(), decidedBy: ctx.actor, ...(ctx.reason ? { reason: ctx.reason } : {}) };
    await this.o.stores.playbookActions.update(running);
    await this.timeline(incidentId, 'approved', `${ctx.actor} approved: ${action.kind === 'contain' ? `isolate ${action.version}` : 'rollback'}${ctx.reason ? ` (${ctx.reason})` : ''}`, { actionId });
    return this.execute(running, incident, performance.now(), true);
  }

  async deny(incidentId: string, actionId: string, ctx: { actor: string; reason?: string }): Promise<PlaybookAction> {
    const action = await this.pending(incidentId, actionId);
    const denied: PlaybookAction = { ...action, status: 'denied', decidedAt: this.o.clock.now(), decidedBy: ctx.actor, finishedAt: this.o.clock.now(), ...(ctx.reason ? { reason: ctx.reason } : {}) };
    await this.o.stores.playbookActions.update(denied);
    await this.timeline(incidentId, 'denied', `${ctx.actor} denied: ${action.kind}${ctx.reason ? ` (${ctx.reason})` : ''}`, { actionId });
    return denied;
  }

  private async pending(incidentId: string, actionId: string): Promise<PlaybookAction> {
    await this.o.incidents.get(incidentId);
    const action = await this.o.stores.playbookActions.get(actionId);
    if (!action || action.incidentId !== incidentId) throw new FailsafeError('NOT_FOUND', `incident ${incidentId} has no action "${actionId}"`);
    if (action.status !== 'pending') throw new FailsafeError('INVALID_STATE', `action ${actionId} is ${action.status}; only a pending action can be approved or denied`);
    return action;
  }

  private async record(action: PlaybookAction, message: string, kind = 'playbook'): Promise<PlaybookAction> {
    await this.o.stores.playbookActions.insert(action);
    await this.timeline(action.incidentId, kind, message, { actionId: action.id, kind: action.kind, mode: action.mode, status: action.status });
    return action;
  }

  private async save(action: PlaybookAction, stored: boolean): Promise<PlaybookAction> {
    if (stored) await this.o.stores.playbookActions.update(action);
    else await this.o.stores.playbookActions.insert(action);
    return action;
  }

  private async timeline(incidentId: string, kind: string, message: string, data: unknown): Promise<void> {
    try {
      await this.o.incidents.addTimelineEvent(incidentId, { kind, actor: ACTOR, message, data });
    } catch (err) {
      this.o.onError?.(err, `timeline of incident ${incidentId}`);
    }
  }
}

export const createPlaybookRunner = (options: PlaybookRunnerOptions): PlaybookRunner => new PlaybookRunner(options);
