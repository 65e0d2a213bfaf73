// Route changes: validated, saved with their history row and audit entry in one transaction, then
// compiled and handed to the gateway's route table before the call returns, so the change is in
// effect for the next request. Other replicas learn of it through route-sync (PostgreSQL NOTIFY).
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import {
  assertServable,
  validateMode,
  validateShadow,
  validateStickyKey,
  validateWeights,
} from '../../core/route-rules.ts';
import type { Clock, ModelVersion, Route, RouteChange, RouteMode, VersionState } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { Stores } from '../stores.ts';
import { assertTransition } from '../../core/version-state.ts';
import { transitionVersion, type VersionStateEvent } from '../registry/version-transition.ts';
import { compileServingModel } from './compile-serving-model.ts';
import type { ServingModel, ServingSink } from './serving-model.ts';

export interface RouteChangeContext {
  actor: string;
  reason?: string;
  requestId?: string;
  /** Audit action to record (`version.isolate`, `rollback`, …); derived from the change when absent. */
  action?: string;
}

/** Fields to change; absent fields keep their value, `null` clears shadow or sticky key. */
export interface RoutePatch {
  weights?: Record<string, number>;
  mode?: RouteMode;
  shadow?: { version: string; percent: number } | null;
  stickyKey?: string | null;
  /**
   * Version states to change in the same transaction (isolation: `{v2: 'faulty'}` with v2's weight
   * moved away; rollback likewise). Checked against the life cycle; weights are validated against
   * the new states, so a version marked faulty here cannot keep traffic in the same change.
   */
  versionStates?: Record<string, VersionState>;
}

/**
 * A patch computed from the route and versions as read inside the update's transaction, so a
 * read-plan-write (isolation) is one transaction with no stale read. Returning undefined changes nothing.
 */
export type RoutePatchFn = (current: { route: Route | undefined; versions: ModelVersion[] }) => RoutePatch | undefined;

export interface RouteUpdateResult {
  route: Route;
  /** False when the patch matched the current route and states: nothing was saved or audited. */
  changed: boolean;
  /** Versions moved to `live` because they received traffic for the first time. */
  wentLive: string[];
}

export interface RoutingServiceOptions {
  stores: Stores;
  audit: AuditLog;
  clock: Clock;
  bus: EventBus;
  sink: ServingSink;
  onError?: (err: unknown) => void;
}

/** What the audit log records of a route: everything that decides where traffic goes. */
export const routeSnapshot = (r: Route) => ({
  weights: r.weights,
  mode: r.mode,
  shadow: r.shadow,
  stickyKey: r.stickyKey,
  revision: r.revision,
});

const sameWeights = (a: Record<string, number>, b: Record<string, number>): boolean => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
};

const sameShadow = (a: Route['shadow'], b: Route['shadow']): boolean =>
  (a === undefined && b === undefined) || (a !== undefined && b !== undefined && a.version === b.version && a.percent === b.percent);

const versionsGoingLive: readonly VersionState[] = ['candidate', 'validated'];

export class RoutingService {
  private readonly stores: Stores;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private readonly sink: ServingSink;
  private readonly onError: (err: unknown) => void;
  /** Per-model queue: applies happen in the order their reads did, so a slow stale read never wins. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly applied = new Map<string, ServingModel>();
  private readonly listeners = new Set<(model: string) => void>();

  constructor(options: RoutingServiceOptions) {
    this.stores = options.stores;
    this.audit = options.audit;
    this.clock = options.clock;
    this.bus = options.bus;
    this.sink = options.sink;
    this.onError = options.onError ?? (() => {});
  }

  /** The route as stored (and served); MODEL_NOT_FOUND for an unknown model, undefined before any route was set. */
  async getRoute(model: string): Promise<Route | undefined> {
    await this.requireModel(this.stores, model);
    return this.stores.routes.get(model);
  }

  /** Newest first. */
  async history(model: string, options: { limit?: number; since?: number } = {}): Promise<RouteChange[]> {
    await this.requireModel(this.stores, model);
    return this.stores.routes.history(model, { limit: Math.min(Math.max(options.limit ?? 100, 1), 1000), since: options.since });
  }

  setWeights(model: string, weights: Record<string, number>, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { weights }, ctx);
  }

  setMode(model: string, mode: RouteMode, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { mode }, ctx);
  }

  pause(model: string, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { mode: 'paused' }, { ...ctx, action: ctx.action ?? 'route.pause' });
  }

  resume(model: string, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { mode: 'serving' }, { ...ctx, action: ctx.action ?? 'route.resume' });
  }

  setShadow(model: string, shadow: { version: string; percent: number } | null, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { shadow }, ctx);
  }

  setStickyKey(model: string, stickyKey: string | null, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    return this.update(model, { stickyKey }, ctx);
  }

  /**
   * One atomic route change (any combination of weights, mode, shadow, sticky key, and version
   * states). Versions that get traffic for the first time become `live` in the same transaction.
   * When this resolves the gateway serves the new route.
   */
  async update(modelName: string, patchOrFn: RoutePatch | RoutePatchFn, ctx: RouteChangeContext): Promise<RouteUpdateResult> {
    const now = this.clock.now();
    const outcome = await this.stores.transaction(async (tx) => {
      // The chain lock first: the read-modify-write below is serialised with every other audited change.
      await this.audit.lock(tx);
      await this.requireModel(tx, modelName);
      const stored = await tx.versions.list(modelName);
      let patch: RoutePatch;
      if (typeof patchOrFn === 'function') {
        const current = await tx.routes.get(modelName);
        const computed = patchOrFn({ route: current, versions: stored });
        if (!computed) return { route: current!, routeChanged: false, events: [] as VersionStateEvent[], change: undefined };
        patch = computed;
      } else patch = patchOrFn;

      // Requested state changes are checked first; the route is then validated against the new states.
      const requested: Array<[ModelVersion, VersionState]> = [];
      for (const [name, to] of Object.entries(patch.versionStates ?? {})) {
        const current = stored.find((v) => v.version === name);
        if (!current) throw new FailsafeError('VERSION_NOT_FOUND', `${modelName} has no version "${name}"`);
        if (current.state === to) continue;
        assertTransition(`${modelName} ${name}`, current.state, to);
        requested.push([current, to]);
      }
      const effective = stored.map((v) => {
        const change = requested.find(([c]) => c.version === v.version);
        return change ? { ...v, state: change[1] } : v;
      });

      const prev = await tx.routes.get(modelName);
      const next = this.nextRoute(modelName, prev, patch, effective);
      for (const [v, to] of requested) {
        if (to === 'retired' && ((next.weights[v.version] ?? 0) > 0 || next.shadow?.version === v.version)) {
          throw new FailsafeError('INVALID_STATE', `${modelName} ${v.version} would still receive traffic; it cannot be retired`);
        }
      }
      const routeChanged = !(
        prev !== undefined &&
        sameWeights(prev.weights, next.weights) &&
        prev.mode === next.mode &&
        sameShadow(prev.shadow, next.shadow) &&
        prev.stickyKey === next.stickyKey
      );
      if (!routeChanged && requested.length === 0) {
        return { route: prev!, routeChanged: false, events: [] as VersionStateEvent[], change: undefined };
      }

      let route = prev!;
      let change: RouteChange | undefined;
      if (routeChanged) {
        route = { ...next, revision: (prev?.revision ?? 0) + 1, updatedAt: now, updatedBy: ctx.actor, reason: ctx.reason };
        change = {
          model: modelName,
          revision: route.revision,
          weights: route.weights,
          shadow: route.shadow,
          mode: route.mode,
          actor: ctx.actor,
          reason: ctx.reason,
          at: now,
        };
        await tx.routes.save(route, change);
        await this.audit.append(tx, {
          actor: ctx.actor,
          action: ctx.action ?? deriveAction(prev, route),
          target: `model:${modelName}`,
          before: prev ? routeSnapshot(prev) : undefined,
          after: routeSnapshot(route),
          reason: ctx.reason,
          requestId: ctx.requestId,
        });
      }

      const events: VersionStateEvent[] = [];
      for (const [current, to] of requested) {
        events.push((await transitionVersion(tx, this.audit, current, to, now, ctx)).event);
      }
      for (const v of effective) {
        const weight = route.weights[v.version] ?? 0;
        if (weight > 0 && versionsGoingLive.includes(v.state)) {
          const current = { ...v, liveSince: stored.find((x) => x.version === v.version)!.liveSince };
          const { event } = await transitionVersion(tx, this.audit, current, 'live', now, {
            ...ctx,
            reason: `receives ${weight}% of traffic (route revision ${route.revision})`,
          });
          events.push({ ...event, reason: ctx.reason });
        }
      }
      return { route, routeChanged, events, change };
    });

    const wentLive = outcome.events.filter((e) => e.to === 'live').map((e) => e.version);
    if (!outcome.routeChanged && outcome.events.length === 0) return { route: outcome.route, changed: false, wentLive };
    await this.refresh(modelName);
    for (const event of outcome.events) this.bus.emit('version.state', event);
    if (outcome.change) this.bus.emit('route.changed', { change: outcome.change });
    return { route: outcome.route, changed: true, wentLive };
  }

  private nextRoute(model: string, prev: Route | undefined, patch: RoutePatch, versions: ModelVersion[]): Omit<Route, 'revision' | 'updatedAt' | 'updatedBy'> {
    const next: Omit<Route, 'revision' | 'updatedAt' | 'updatedBy'> = {
      model,
      weights: prev?.weights ?? {},
      mode: prev?.mode ?? 'serving',
      shadow: prev?.shadow,
      stickyKey: prev?.stickyKey,
    };
    if (patch.mode !== undefined) next.mode = validateMode(patch.mode);
    // Out of serving (paused, fallback) every version may be out of rotation: isolation of the last one.
    if (patch.weights !== undefined) next.weights = validateWeights(model, patch.weights, versions, { allowNone: next.mode !== 'serving' });
    if (patch.shadow !== undefined) next.shadow = patch.shadow === null ? undefined : validateShadow(model, patch.shadow, versions);
    if (patch.stickyKey !== undefined) next.stickyKey = patch.stickyKey === null ? undefined : validateStickyKey(patch.stickyKey);
    assertServable(model, next);
    return next;
  }

  private async requireModel(stores: Stores, model: string) {
    const found = await stores.models.get(model);
    if (!found) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
    return found;
  }

  /**
   * Re-reads one model from the store and hands it to the gateway. Called after every local change
   * (versions registered, states changed) and, with `propagate: false`, when another replica
   * announced a change. Serialised per model.
   */
  refresh(model: string, options: { propagate?: boolean } = {}): Promise<ServingModel | undefined> {
    const previous = this.queues.get(model) ?? Promise.resolve();
    const run = previous.then(() => this.reload(model));
    const settled = run.catch(() => undefined);
    this.queues.set(model, settled);
    void settled.then(() => {
      if (this.queues.get(model) === settled) this.queues.delete(model);
    });
    return run.then((serving) => {
      if (options.propagate !== false) for (const listener of this.listeners) safeCall(listener, model, this.onError);
      return serving;
    });
  }

  private async reload(model: string): Promise<ServingModel | undefined> {
    const found = await this.stores.models.get(model);
    if (!found) {
      this.applied.delete(model);
      this.sink.remove(model);
      return undefined;
    }
    const [route, versions] = await Promise.all([this.stores.routes.get(model), this.stores.versions.list(model)]);
    const serving = compileServingModel(found, route, versions);
    this.sink.apply(serving);
    this.applied.set(model, serving);
    return serving;
  }

  /** Startup (and reconnection): pushes every model to the gateway. */
  async loadAll(): Promise<number> {
    const models = await this.stores.models.list();
    for (const m of models) await this.refresh(m.name, { propagate: false });
    return models.length;
  }

  /** What this replica's gateway was last given for a model. */
  serving(model: string): ServingModel | undefined {
    return this.applied.get(model);
  }

  /** Called with the model name after each locally caused apply (route-sync announces it to other replicas). */
  onServingChanged(listener: (model: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function deriveAction(prev: Route | undefined, next: Route): string {
  if (!prev) return 'route.create';
  const onlyMode = sameWeights(prev.weights, next.weights) && sameShadow(prev.shadow, next.shadow) && prev.stickyKey === next.stickyKey;
  if (onlyMode) return next.mode === 'paused' ? 'route.pause' : next.mode === 'serving' ? 'route.resume' : 'route.fallback';
  return 'route.update';
}

function safeCall(listener: (model: string) => void, model: string, onError: (err: unknown) => void): void {
  try {
    listener(model);
  } catch (err) {
    onError(err);
  }
}

export const createRoutingService = (options: RoutingServiceOptions): RoutingService => new RoutingService(options);
