// Containment (SOP step 2): take a faulty version out of rotation, pause a model's API (clean 503
// or fallback answers), resume it. Every action is one audited route change (RoutingService.update
// puts the route change, the version states and the audit entries in one transaction and applies
// the route to the gateway before returning), and, when an incident is named, a timeline event
// and the incident's move to `contained`.
import { performance } from 'node:perf_hooks';
import { canTransition } from '../../core/incident-lifecycle.ts';
import { planIsolation, type IsolationOutcome, type IsolationPlan } from '../../core/rollback-plan.ts';
import { FailsafeError } from '../../core/errors.ts';
import type { Clock, EpochMs, Route, RouteMode } from '../../core/types.ts';
import type { IncidentService } from '../incidents/incident-service.ts';
import type { RoutePatch, RoutingService } from '../routing/routing-service.ts';

export interface ContainmentContext {
  actor: string;
  reason?: string;
  /** The incident this action answers: its timeline records the action and it becomes `contained`. */
  incidentId?: string;
  /** The caller read the incident already (playbooks): skip the existence check on the fast path. */
  incidentKnown?: boolean;
  requestId?: string;
}

export interface IsolationResult {
  model: string;
  version: string;
  outcome: IsolationOutcome;
  weightsBefore: Record<string, number>;
  weightsAfter: Record<string, number>;
  mode: RouteMode;
  /** Versions that take the traffic now. */
  serving: string[];
  summary: string;
  changed: boolean;
  routeRevision?: number;
  at: EpochMs;
  /** From the call to the route being live in the gateway. */
  durationMs: number;
}

export interface ModeChangeResult {
  model: string;
  mode: RouteMode;
  route: Route;
  changed: boolean;
  durationMs: number;
}

export interface ContainmentServiceOptions {
  routing: RoutingService;
  clock: Clock;
  incidents?: IncidentService;
  onError?: (err: unknown, context: string) => void;
}

export class ContainmentService {
  private readonly routing: RoutingService;
  private readonly clock: Clock;
  private readonly incidents?: IncidentService;
  private readonly onError: (err: unknown, context: string) => void;

  constructor(options: ContainmentServiceOptions) {
    this.routing = options.routing;
    this.clock = options.clock;
    this.incidents = options.incidents;
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Takes `version` out of rotation: weight 0, state `faulty`, its share renormalised onto the
   * other versions already serving; with none, the last known stable version takes all traffic;
   * with no stable version either, the model goes to fallback mode. Never onto an unvalidated version.
   */
  async isolate(model: string, version: string, ctx: ContainmentContext): Promise<IsolationResult> {
    const t0 = performance.now();
    if (!ctx.incidentKnown) await this.requireIncident(ctx.incidentId);
    // Read, plan and write in the route change's own transaction: one round of database work on
    // the containment path, and no stale read between planning and the change.
    let plan: IsolationPlan | undefined;
    let weightsBefore: Record<string, number> = {};
    let modeBefore: RouteMode = 'serving';
    const res = await this.routing.update(
      model,
      ({ route, versions }) => {
        try {
          plan = planIsolation(route, versions, version);
        } catch (err) {
          if (err instanceof FailsafeError) throw new FailsafeError(err.code, `${model}: ${err.message}`);
          throw err;
        }
        weightsBefore = { ...(route?.weights ?? {}) };
        modeBefore = route?.mode ?? 'serving';
        if (plan.outcome === 'noop') return undefined;
        const patch: RoutePatch = { versionStates: plan.versionStates };
        if (plan.outcome !== 'marked') patch.weights = plan.weights;
        if (plan.mode !== modeBefore) patch.mode = plan.mode;
        // A faulty version gets no shadow copies either.
        if (route?.shadow?.version === version) patch.shadow = null;
        return patch;
      },
      {
        actor: ctx.actor,
        // The plan is made inside the transaction; the reason names the version and the caller's why.
        reason: ctx.reason ? `isolate ${version}: ${ctx.reason}` : `isolate ${version}`,
        action: 'version.isolate',
        requestId: ctx.requestId,
      },
    );
    const p = plan!;
    const result: IsolationResult = {
      model,
      version,
      outcome: p.outcome,
      weightsBefore,
      weightsAfter: p.outcome === 'noop' || p.outcome === 'marked' ? weightsBefore : p.weights,
      mode: p.mode,
      serving: p.serving,
      summary: p.summary,
      changed: res.changed,
      routeRevision: res.route?.revision,
      at: this.clock.now(),
      durationMs: round(performance.now() - t0),
    };
    if (ctx.incidentId) {
      await this.recordOnIncident(ctx.incidentId, ctx, {
        kind: 'contained',
        message: `${model} ${p.summary} (route revision ${result.routeRevision ?? '-'}, ${result.durationMs} ms)`,
        data: { action: 'isolate', ...result },
      });
    }
    return result;
  }

  /** Pauses the model's API: clean 503 with Retry-After, or (`fallback: true`) fallback answers. */
  async pause(model: string, options: { fallback?: boolean }, ctx: ContainmentContext): Promise<ModeChangeResult> {
    const mode: RouteMode = options.fallback ? 'fallback' : 'paused';
    return this.changeMode(model, mode, ctx, options.fallback ? 'route.fallback' : 'route.pause', 'paused');
  }

  async resume(model: string, ctx: ContainmentContext): Promise<ModeChangeResult> {
    return this.changeMode(model, 'serving', ctx, 'route.resume', 'resumed');
  }

  private async changeMode(model: string, mode: RouteMode, ctx: ContainmentContext, action: string, kind: string): Promise<ModeChangeResult> {
    const t0 = performance.now();
    await this.requireIncident(ctx.incidentId);
    const res = await this.routing.update(model, { mode }, { actor: ctx.actor, reason: ctx.reason, action, requestId: ctx.requestId });
    const out: ModeChangeResult = { model, mode, route: res.route, changed: res.changed, durationMs: round(performance.now() - t0) };
    if (ctx.incidentId) {
      const what = mode === 'serving' ? 'resumed serving' : mode === 'paused' ? 'paused (503 with Retry-After)' : 'paused with fallback answers';
      await this.recordOnIncident(
        ctx.incidentId,
        ctx,
        { kind: mode === 'serving' ? kind : 'contained', message: `${model} ${what}${ctx.reason ? `: ${ctx.reason}` : ''}`, data: { action: kind, mode, routeRevision: res.route.revision } },
        mode !== 'serving',
      );
    }
    return out;
  }

  private async requireIncident(incidentId: string | undefined): Promise<void> {
    if (incidentId !== undefined && this.incidents) await this.incidents.get(incidentId);
  }

  /**
   * Timeline first, then the status: the action already happened, so a failure here is logged and
   * does not undo it (the audit log has the route change either way).
   */
  private async recordOnIncident(incidentId: string, ctx: ContainmentContext, event: { kind: string; message: string; data: unknown }, contain = true): Promise<void> {
    const incidents = this.incidents;
    if (!incidents) return;
    try {
      await incidents.addTimelineEvent(incidentId, { kind: event.kind, actor: ctx.actor, message: event.message, data: event.data });
      if (!contain) return;
      const incident = await incidents.get(incidentId);
      if (canTransition(incident.status, 'contained')) {
        await incidents.contain(incidentId, { actor: ctx.actor, reason: event.message, requestId: ctx.requestId });
      }
    } catch (err) {
      this.onError(err, `recording containment on incident ${incidentId}`);
    }
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

export const createContainmentService = (options: ContainmentServiceOptions): ContainmentService => new ContainmentService(options);
