// Progressive rollouts. A deployment validates its candidate offline (golden set), optionally
// mirrors traffic to it (shadow), then gives it growing shares of live traffic; at every look
// (tick, every second) it compares the candidate with the stable arm on every monitor
// (core/canary) and moves on, promotes, aborts or waits, as core/canary/deployment-machine.ts
// decides. Every analysis is stored with its numbers; every route change is one atomic, audited
// update of the routing service, in effect for the next request when it returns.
//
// Authority: while a deployment runs, its own analysis judges the candidate (`activeCandidate`
// tells the monitoring runner which version that is). After promotion the candidate serves 100%,
// the previous stable version stays `stable`, and the monitor runner compares the promoted one
// with it ("last-stable" baseline: the stable version's most recent traffic) — late labels and
// feedback included — until the soak tracker grants `stable`; its soak clock is restarted at
// promotion (and held at zero during the canary), so the soak covers serving 100%.
import { randomBytes } from 'node:crypto';
import { analyzeCanary, type ArmSample, type CanaryAnalysis } from '../../core/canary/analyze-canary.ts';
import { canarySettings, type CanarySettings, type CanarySettingsOverride } from '../../core/canary/canary-settings.ts';
import { afterValidation, decide, isActiveDeployment, phaseLabel, type MachineAction } from '../../core/canary/deployment-machine.ts';
import { planDeployment, type DeploymentRequest } from '../../core/canary/deployment-plan.ts';
import { FailsafeError } from '../../core/errors.ts';
import type { Actor, Clock, EpochMs, VersionState } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { RoutePatch, RoutingService } from '../routing/routing-service.ts';
import type { Stores } from '../stores.ts';
import { armSample, TraceSegments, type WindowSource } from './arm-samples.ts';
import type { DeploymentAnalysisRecord, DeploymentEvent, DeploymentRecord, DeploymentValidation } from './deployment-store.ts';
import type { CandidateValidator } from './deployment-validation.ts';

export interface DeploymentServiceOptions {
  stores: Stores;
  clock: Clock;
  audit: AuditLog;
  routing: RoutingService;
  registry: RegistryService;
  windows: WindowSource;
  validator: CandidateValidator;
  /** Server-wide analysis settings (a request's minSamples overrides minSamples). */
  settings?: CanarySettingsOverride;
  /** The soak tracker's clock: restarted at promotion, held at zero while the canary runs. */
  soak?: { restart(model: string, version: string, at: EpochMs): void };
  /** Traces reach the store up to this long after their request ends (the recorder's flush): segment counts cover requests that ended before now − lag. Default 1500 ms. */
  traceLagMs?: number;
  /** How often start() ticks. Default 1000 ms. */
  intervalMs?: number;
  /** Whether this replica runs deployments now (one runner per database). Default: always. */
  isLeader?: () => boolean;
  onError?: (err: unknown, what: string) => void;
}

export interface ChangeContext {
  actor: Actor;
  reason?: string;
  requestId?: string;
}

export interface CreateDeploymentInput extends DeploymentRequest {
  stickyKey?: string;
  /** Analysis overrides for this deployment (alpha, margins…); checked loosely, numbers only. */
  settings?: CanarySettingsOverride;
}

/** What the runner keeps in memory per active deployment (rebuilt after a restart). */
interface Runtime {
  pValues?: Record<string, number>;
  segments?: TraceSegments;
  segmentsKey?: string;
  /** First look of this phase at which every required monitor was ok (see holdForTraces). */
  passAt?: EpochMs;
  validation?: AbortController;
  /** Cases done / total of a running validation. */
  progress?: { done: number; total: number };
}

export interface ActiveCandidate {
  deploymentId: string;
  version: string;
  baseline: string;
  phase: DeploymentRecord['phase'];
  step: number;
}

const newId = (now: EpochMs): string => `dep-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;

export class DeploymentService {
  private readonly o: DeploymentServiceOptions;
  private readonly settings: CanarySettings;
  private readonly runtimes = new Map<string, Runtime>();
  /** Active deployments by model (cache of the store, for activeCandidate and the runner). */
  private readonly active = new Map<string, DeploymentRecord>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private ticking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;

  constructor(options: DeploymentServiceOptions) {
    this.o = options;
    this.settings = canarySettings(options.settings);
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  async get(id: string): Promise<DeploymentRecord> {
    const d = await this.o.stores.deployments.get(id);
    if (!d) throw new FailsafeError('DEPLOYMENT_NOT_FOUND', `no deployment with id "${id}"`);
    const rt = this.runtimes.get(id);
    if (rt?.progress && d.validation && d.validation.finishedAt === undefined) d.validation = { ...d.validation, done: rt.progress.done, total: rt.progress.total };
    return d;
  }

  async list(model: string, limit = 50): Promise<DeploymentRecord[]> {
    await this.o.registry.getModel(model);
    return this.o.stores.deployments.list({ model, limit });
  }

  analyses(id: string, limit = 50) {
    return this.o.stores.deployments.listAnalyses(id, { limit });
  }

  /** The version a running deployment is judging on a model: monitors leave its verdict to the canary. */
  activeCandidate(model: string): ActiveCandidate | undefined {
    const d = this.active.get(model);
    if (!d || !isActiveDeployment(d.status)) return undefined;
    return { deploymentId: d.id, version: d.version, baseline: d.baseline, phase: d.phase, step: d.step };
  }

  // ---------------------------------------------------------------------------------------------
  // Creating

  async create(model: string, input: CreateDeploymentInput, ctx: ChangeContext): Promise<DeploymentRecord> {
    await this.load();
    const over = numbersOnly(input.settings);
    const settings = canarySettings({
      ...this.settings,
      ...over,
      margins: { ...this.settings.margins, ...over.margins },
      latency: { ...this.settings.latency, ...over.latency },
      ...(typeof input.minSamples === 'number' ? { minSamples: input.minSamples } : {}),
    });
    const plan = planDeployment(input, { minSamples: settings.minSamples });
    settings.minSamples = plan.minSamples;
    settings.minBaselineSamples = Math.max(settings.minBaselineSamples, plan.minSamples);
    const now = this.o.clock.now();
    const record = await this.o.stores.transaction(async (tx) => {
      // The chain lock serialises creation with every audited change: two concurrent requests for
      // one model cannot both see "no deployment running".
      await this.o.audit.lock(tx);
      if (!(await tx.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
      const candidate = await tx.versions.get(model, input.version);
      if (!candidate) {
        const known = (await tx.versions.list(model)).map((v) => v.version).join(', ') || 'none';
        throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${input.version}" (registered: ${known}); register it first (POST /api/v1/models/${model}/versions)`);
      }
      if (candidate.state === 'faulty' || candidate.state === 'retired') {
        throw new FailsafeError('INVALID_STATE', `${model} ${input.version} is ${candidate.state}; only a candidate, validated, live or stable version can be deployed`);
      }
      const running = await tx.deployments.list({ model, status: ['running', 'paused'], limit: 1 });
      if (running.length > 0) {
        const r = running[0];
        throw new FailsafeError('CONFLICT', `${model} already has deployment ${r.id} of ${r.version} (${r.status}, ${phaseLabel(r, r.plan)}); abort it or wait for it to finish`);
      }
      const experiments = await tx.experiments.list({ model, status: ['running'], limit: 1 });
      if (experiments.length > 0) throw new FailsafeError('CONFLICT', `${model} runs A/B experiment ${experiments[0].id} until it ends; stop it first`);
      const route = await tx.routes.get(model);
      if (!route) throw new FailsafeError('CONFLICT', `${model} has no route yet; set one (PUT /api/v1/models/${model}/route) before a deployment`);
      if (route.mode !== 'serving') throw new FailsafeError('CONFLICT', `${model} is ${route.mode}; resume it before a deployment`);
      const serving = Object.entries(route.weights).filter(([, w]) => w > 0);
      if ((route.weights[input.version] ?? 0) > 0) throw new FailsafeError('CONFLICT', `${model} ${input.version} already serves ${route.weights[input.version]}% of traffic`);
      if (serving.length !== 1) {
        throw new FailsafeError(
          'CONFLICT',
          `${model} serves ${serving.map(([v, w]) => `${v} ${w}%`).join(', ')}; a canary compares the candidate with one stable version: route all traffic to one version first`,
        );
      }
      const baseline = serving[0][0];
      const d: DeploymentRecord = {
        id: newId(now),
        model,
        version: input.version,
        baseline,
        status: 'running',
        phase: 'validating',
        plan,
        settings,
        stepIndex: -1,
        step: 0,
        phaseStartedAt: now,
        deadlineAt: now + plan.deadlineSeconds * 1000,
        reason: `validating ${input.version} offline before it takes traffic`,
        actor: ctx.actor,
        routeBefore: { weights: { ...route.weights }, ...(route.shadow ? { shadow: route.shadow } : {}), ...(route.stickyKey ? { stickyKey: route.stickyKey } : {}) },
        requests: { candidate: 0, stable: 0 },
        history: [{ at: now, event: 'created', phase: 'validating', step: 0, actor: ctx.actor, reason: ctx.reason }],
        analysisCount: 0,
        createdAt: now,
        updatedAt: now,
      };
      const stickyKey = input.stickyKey ?? route.stickyKey;
      if (stickyKey) d.stickyKey = stickyKey;
      await tx.deployments.insert(d);
      await this.o.audit.append(tx, {
        actor: ctx.actor,
        action: 'deployment.create',
        target: `deployment:${d.id}`,
        after: { model, version: d.version, baseline, plan, stickyKey: d.stickyKey },
        reason: ctx.reason,
        requestId: ctx.requestId,
      });
      return d;
    });
    this.active.set(model, record);
    this.startValidation(record);
    return record;
  }

  // ---------------------------------------------------------------------------------------------
  // Human decisions

  promote(id: string, ctx: ChangeContext): Promise<DeploymentRecord> {
    return this.withLock(id, async () => {
      const d = await this.requireActive(id, 'promote');
      if (d.phase === 'validating') throw new FailsafeError('INVALID_STATE', `deployment ${id} is still validating ${d.version}; it can be promoted once it takes traffic`);
      return this.apply(d, { kind: 'promote', reason: `promoted by ${ctx.actor}${ctx.reason ? `: ${ctx.reason}` : ''} at ${phaseLabel(d, d.plan)}` }, this.o.clock.now(), ctx);
    });
  }

  pause(id: string, ctx: ChangeContext): Promise<DeploymentRecord> {
    return this.withLock(id, async () => {
      const d = await this.requireActive(id, 'pause');
      if (d.status === 'paused') return d;
      return this.apply(d, { kind: 'pause', reason: `paused by ${ctx.actor}${ctx.reason ? `: ${ctx.reason}` : ''} at ${phaseLabel(d, d.plan)}` }, this.o.clock.now(), ctx);
    });
  }

  resume(id: string, ctx: ChangeContext): Promise<DeploymentRecord> {
    return this.withLock(id, async () => {
      const d = await this.requireActive(id, 'resume');
      if (d.status === 'running') return d;
      const now = this.o.clock.now();
      // A fresh deadline: the human who resumed chose to wait for more data.
      d.status = 'running';
      d.deadlineAt = now + d.plan.deadlineSeconds * 1000;
      d.reason = `resumed by ${ctx.actor}${ctx.reason ? `: ${ctx.reason}` : ''} at ${phaseLabel(d, d.plan)}`;
      return this.save(d, now, { event: 'resumed', actor: ctx.actor, reason: d.reason }, ctx);
    });
  }

  abort(id: string, ctx: ChangeContext): Promise<DeploymentRecord> {
    return this.withLock(id, async () => {
      const d = await this.requireActive(id, 'abort');
      return this.apply(d, { kind: 'abort', fault: false, reason: `aborted by ${ctx.actor}${ctx.reason ? `: ${ctx.reason}` : ''} at ${phaseLabel(d, d.plan)}` }, this.o.clock.now(), ctx);
    });
  }

  private async requireActive(id: string, what: string): Promise<DeploymentRecord> {
    const d = await this.get(id);
    if (!isActiveDeployment(d.status)) throw new FailsafeError('INVALID_STATE', `deployment ${id} is ${d.status}; there is nothing to ${what}`);
    return d;
  }

  // ---------------------------------------------------------------------------------------------
  // The offline gate

  private startValidation(d: DeploymentRecord): void {
    const rt = this.runtime(d.id);
    if (rt.validation) return;
    const controller = new AbortController();
    rt.validation = controller;
    void (async () => {
      const version = await this.o.registry.getVersion(d.model, d.version);
      const model = await this.o.registry.getModel(d.model);
      const result = await this.o.validator({
        model: d.model,
        kind: model.kind,
        version,
        signal: controller.signal,
        onProgress: (done, total) => (rt.progress = { done, total }),
      });
      await this.withLock(d.id, () => this.validated(d.id, result));
    })()
      .catch((err) => this.o.onError?.(err, `validation of deployment ${d.id}`))
      .finally(() => {
        rt.validation = undefined;
        rt.progress = undefined;
      });
  }

  private async validated(id: string, result: DeploymentValidation): Promise<void> {
    const d = await this.get(id);
    if (!isActiveDeployment(d.status) || d.phase !== 'validating') return;
    const now = this.o.clock.now();
    d.validation = result;
    // The RCA engine reads validated content hashes from these entries.
    await this.o.audit.append(this.o.stores, {
      actor: `deployment:${d.id}`,
      action: 'version.validate',
      target: `version:${d.model}@${d.version}`,
      after: { versionContentHash: result.versionContentHash, passed: result.passed, kind: result.kind, passRate: result.passRate, total: result.total, summary: result.summary, deploymentId: d.id },
      reason: `offline gate of deployment ${d.id}`,
    });
    if (!result.passed) {
      d.status = 'aborted';
      d.phase = 'done';
      d.finishedAt = now;
      d.reason = `validation failed: ${result.summary}`;
      await this.save(d, now, { event: 'validation_failed', actor: `deployment:${d.id}`, reason: d.reason });
      return;
    }
    const version = await this.o.registry.getVersion(d.model, d.version);
    if (version.state === 'candidate') {
      await this.o.registry.setVersionState(d.model, d.version, 'validated', { actor: `deployment:${d.id}`, reason: result.summary });
    }
    d.history.push({ at: now, event: 'validated', phase: 'validating', step: 0, actor: `deployment:${d.id}`, reason: result.summary });
    if (d.status === 'paused') {
      d.reason = `validation passed (${result.summary}); paused before taking traffic`;
      await this.save(d, now);
      return;
    }
    await this.apply(d, afterValidation(d.plan, result.summary), now);
  }

  // ---------------------------------------------------------------------------------------------
  // The runner

  /** Loads active deployments (startup): validations interrupted by a restart start again. */
  async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    for (const d of await this.o.stores.deployments.list({ status: ['running', 'paused'] })) this.active.set(d.model, d);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.ticking) return;
      void this.tick().catch((err) => this.o.onError?.(err, 'deployment tick'));
    }, this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const rt of this.runtimes.values()) rt.validation?.abort();
    await this.ticking?.catch(() => undefined);
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => undefined)));
  }

  /** One look at every active deployment. Resolves when its route changes and records are written. */
  tick(now: EpochMs = this.o.clock.now()): Promise<void> {
    this.ticking ??= this.round(now).finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async round(now: EpochMs): Promise<void> {
    if (this.o.isLeader && !this.o.isLeader()) return;
    await this.load();
    for (const d of [...this.active.values()]) {
      try {
        await this.withLock(d.id, () => this.look(d.id, now));
      } catch (err) {
        this.o.onError?.(err, `deployment ${d.id}`);
      }
    }
  }

  private async look(id: string, now: EpochMs): Promise<void> {
    const d = await this.get(id);
    if (!isActiveDeployment(d.status)) {
      this.forget(d);
      return;
    }
    if (d.phase === 'validating') {
      if (d.status === 'running') this.startValidation(d);
      return;
    }
    // Someone else changed the route (an operator, containment, a rollback): the deployment no
    // longer controls the traffic, so it stops without touching the route.
    const serving = this.o.routing.serving(d.model);
    if (serving && d.routeRevision !== undefined && serving.route.revision !== d.routeRevision) {
      const r = serving.route;
      await this.apply(d, { kind: 'abort', fault: false, reason: `route of ${d.model} changed outside the deployment (revision ${r.revision} by ${r.updatedBy}${r.reason ? `: ${r.reason}` : ''})` }, now, undefined, { touchRoute: false });
      return;
    }
    const state = serving?.versions[d.version]?.state;
    if (state === 'faulty' || state === 'retired') {
      await this.apply(d, { kind: 'abort', fault: false, reason: `${d.version} was marked ${state} outside the deployment` }, now, undefined, { touchRoute: state === 'retired' });
      return;
    }
    if (d.phase === 'canary') this.o.soak?.restart(d.model, d.version, now);

    const rt = this.runtime(d.id);
    const shadow = d.phase === 'shadow';
    const key = `${d.phase}:${d.stepIndex}:${d.phaseStartedAt}`;
    if (rt.segmentsKey !== key) {
      rt.segmentsKey = key;
      rt.pValues = undefined;
      rt.passAt = undefined;
      rt.segments = new TraceSegments({
        traces: this.o.stores.traces,
        model: d.model,
        candidate: d.version,
        baseline: d.baseline,
        shadow,
        from: d.phaseStartedAt,
        edges: d.settings.inputLengthEdges,
        lagMs: this.o.traceLagMs ?? 1500,
      });
    }
    const candidate = armSample(this.o.windows.snapshot(d.model, d.version, d.phaseStartedAt, now, { shadow }));
    const stable = armSample(this.o.windows.snapshot(d.model, d.baseline, d.phaseStartedAt, now));
    // A request retried on the stable arm takes both attempts: the band reaches back that far.
    await rt.segments!.update(now, longestAttemptMs(candidate) + longestAttemptMs(stable));
    candidate.segments = rt.segments!.candidate;
    stable.segments = rt.segments!.stable;
    const stepEnd = d.phaseStartedAt + d.plan.stepSeconds * 1000;
    const analysis = holdForTraces(rt, now, stepEnd, analyzeCanary({
      candidate,
      stable,
      settings: d.settings,
      previousPValues: rt.pValues,
      ...(shadow ? { shadow: { pairs: rt.segments!.pairs, agreements: rt.segments!.agreements, captured: rt.segments!.captured } } : {}),
    }));
    rt.pValues = analysis.pValues;
    const action = decide(d, d.plan, analysis, now);
    const phaseRequests = { candidate: candidate.counts.requests, stable: stable.counts.requests };
    await this.recordAnalysis(d, analysis, action, now);
    await this.apply(d, action, now, undefined, { phaseRequests });
  }

  private async recordAnalysis(d: DeploymentRecord, analysis: CanaryAnalysis, action: MachineAction, now: EpochMs): Promise<void> {
    d.analysisCount++;
    const a: DeploymentAnalysisRecord = {
      deploymentId: d.id,
      seq: d.analysisCount,
      at: now,
      phase: d.phase,
      step: d.step,
      decision: analysis.decision,
      action: action.kind,
      reason: analysis.reason,
      window: { from: d.phaseStartedAt, to: now },
      monitors: analysis.monitors,
    };
    await this.o.stores.deployments.addAnalysis(a);
  }

  // ---------------------------------------------------------------------------------------------
  // Applying decisions

  private async apply(
    d: DeploymentRecord,
    action: MachineAction,
    now: EpochMs,
    ctx?: ChangeContext,
    options: { touchRoute?: boolean; phaseRequests?: { candidate: number; stable: number } } = {},
  ): Promise<DeploymentRecord> {
    const actor = ctx?.actor ?? `deployment:${d.id}`;
    const routeCtx = (act: string) => ({ actor, reason: `deployment ${d.id}: ${action.reason}`, requestId: ctx?.requestId, action: act });
    const phaseRequests = options.phaseRequests ?? (action.kind === 'wait' ? undefined : this.phaseRequests(d, now));
    const endPhase = (): DeploymentEvent['requests'] => {
      if (!phaseRequests || d.phase === 'validating') return undefined;
      d.requests = { candidate: d.requests.candidate + phaseRequests.candidate, stable: d.requests.stable + phaseRequests.stable };
      return phaseRequests;
    };
    switch (action.kind) {
      case 'wait': {
        // A paused deployment keeps the reason it was paused for until a human acts.
        if (d.status !== 'paused') d.reason = action.reason;
        return this.save(d, now, undefined, undefined, phaseRequests);
      }
      case 'pause': {
        d.status = 'paused';
        d.reason = action.reason;
        return this.save(d, now, { event: 'paused', actor, reason: action.reason }, ctx, phaseRequests);
      }
      case 'shadow': {
        const r = await this.o.routing.update(d.model, { shadow: { version: d.version, percent: d.plan.shadowPercent } }, routeCtx('deployment.shadow'));
        d.phase = 'shadow';
        d.routeRevision = r.route.revision;
        this.startPhase(d, now);
        d.reason = action.reason;
        return this.save(d, now, { event: 'shadow', actor, reason: action.reason });
      }
      case 'step': {
        const requests = endPhase();
        const patch: RoutePatch = { weights: { [d.baseline]: 100 - action.percent, [d.version]: action.percent } };
        if (d.phase === 'shadow') patch.shadow = d.routeBefore.shadow ?? null;
        if (d.stickyKey) patch.stickyKey = d.stickyKey;
        const r = await this.o.routing.update(d.model, patch, routeCtx('deployment.step'));
        d.phase = 'canary';
        d.stepIndex = action.stepIndex;
        d.step = action.percent;
        d.routeRevision = r.route.revision;
        this.startPhase(d, now);
        d.reason = action.reason;
        return this.save(d, now, { event: 'step', actor, reason: action.reason, requests });
      }
      case 'promote': {
        const requests = endPhase();
        const patch: RoutePatch = { weights: { [d.version]: 100 } };
        const current = this.o.routing.serving(d.model)?.route;
        if (current?.shadow?.version === d.version) patch.shadow = null;
        const r = await this.o.routing.update(d.model, patch, routeCtx('deployment.promote'));
        d.routeRevision = r.route.revision;
        d.status = 'promoted';
        d.phase = 'done';
        d.step = 100;
        d.finishedAt = now;
        d.reason = action.reason;
        // The soak toward `stable` counts from here: serving everything, watched by the monitors.
        this.o.soak?.restart(d.model, d.version, now);
        return this.save(d, now, { event: 'promoted', actor, reason: action.reason, requests });
      }
      case 'abort': {
        const requests = endPhase();
        if (options.touchRoute !== false) {
          const version = await this.o.stores.versions.get(d.model, d.version);
          const states: Record<string, VersionState> = {};
          if (action.fault) states[d.version] = 'faulty';
          // Out of rotation without a proven fault: back to validated, so it can be deployed again.
          else if (version?.state === 'live') states[d.version] = 'validated';
          if (d.phase === 'validating' && !action.fault) this.runtimes.get(d.id)?.validation?.abort();
          if (d.phase === 'shadow' || d.phase === 'canary' || Object.keys(states).length > 0) {
            const patch: RoutePatch = { versionStates: states };
            if (d.phase === 'shadow' || d.phase === 'canary') {
              patch.weights = d.routeBefore.weights;
              patch.shadow = d.routeBefore.shadow ?? null;
              patch.stickyKey = d.routeBefore.stickyKey ?? null;
            }
            const r = await this.o.routing.update(d.model, patch, routeCtx('deployment.abort'));
            d.routeRevision = r.route.revision;
          }
        } else this.runtimes.get(d.id)?.validation?.abort();
        d.status = 'aborted';
        d.phase = 'done';
        d.finishedAt = now;
        d.reason = action.reason;
        return this.save(d, now, { event: 'aborted', actor, reason: action.reason, requests }, ctx);
      }
    }
  }

  /** Requests each arm served in the current phase so far (for the history and the totals). */
  private phaseRequests(d: DeploymentRecord, now: EpochMs): { candidate: number; stable: number } | undefined {
    if (d.phase !== 'shadow' && d.phase !== 'canary') return undefined;
    const c = this.o.windows.snapshot(d.model, d.version, d.phaseStartedAt, now, { shadow: d.phase === 'shadow' });
    const s = this.o.windows.snapshot(d.model, d.baseline, d.phaseStartedAt, now);
    return { candidate: c.requests, stable: s.requests };
  }

  private startPhase(d: DeploymentRecord, now: EpochMs): void {
    d.phaseStartedAt = now;
    d.deadlineAt = now + d.plan.deadlineSeconds * 1000;
    const rt = this.runtimes.get(d.id);
    if (rt) {
      rt.pValues = undefined;
      rt.segmentsKey = undefined;
    }
  }

  private async save(
    d: DeploymentRecord,
    now: EpochMs,
    event?: Omit<DeploymentEvent, 'at' | 'phase' | 'step'>,
    ctx?: ChangeContext,
    current?: { candidate: number; stable: number },
  ): Promise<DeploymentRecord> {
    d.updatedAt = now;
    if (event) d.history.push({ at: now, phase: d.phase, step: d.step, ...event });
    await this.o.stores.transaction(async (tx) => {
      await tx.deployments.update(d);
      // Route changes are audited by the routing service; events without one are audited here.
      if (event && ['paused', 'resumed', 'validation_failed'].includes(event.event)) {
        await this.o.audit.append(tx, {
          actor: event.actor,
          action: `deployment.${event.event === 'paused' ? 'pause' : event.event === 'resumed' ? 'resume' : 'abort'}`,
          target: `deployment:${d.id}`,
          after: { status: d.status, phase: d.phase, step: d.step },
          reason: event.reason,
          requestId: ctx?.requestId,
        });
      }
    });
    if (isActiveDeployment(d.status)) this.active.set(d.model, d);
    else this.forget(d);
    // Totals include the phase in progress for readers; the stored record keeps finished phases.
    return current ? { ...d, requests: { candidate: d.requests.candidate + current.candidate, stable: d.requests.stable + current.stable } } : d;
  }

  private forget(d: DeploymentRecord): void {
    if (this.active.get(d.model)?.id === d.id) this.active.delete(d.model);
    const rt = this.runtimes.get(d.id);
    if (rt && !rt.validation) this.runtimes.delete(d.id);
  }

  private runtime(id: string): Runtime {
    let rt = this.runtimes.get(id);
    if (!rt) this.runtimes.set(id, (rt = {}));
    return rt;
  }

  /** One change per deployment at a time: a tick, a validation result and a human never interleave. */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }

  /** Requests each arm served so far in the current phase, for a reader. */
  currentPhaseRequests(d: DeploymentRecord): { candidate: number; stable: number } | undefined {
    return this.phaseRequests(d, this.o.clock.now());
  }
}

/** The longest attempt the arm's windows saw (their sketch's top value, within its 1% accuracy). */
const longestAttemptMs = (arm: ArmSample): number => (arm.latency.count > 0 ? arm.latency.quantile(1) * 1.02 : 0);

/**
 * The live monitors read the metric windows up to now; the segment and shadow-agreement checks
 * read traces, which count only the requests that ended before now − traceLagMs (a trace reaches
 * the store after its request ends). A step passed the moment the live monitors were ok would never
 * let those checks see the step's last second and a half, where a candidate failing on rare long
 * inputs shows. So a pass waits until the traces are read up to the moment the step could first
 * have moved on (the first look that passed, and not before the step's hold ends); a breach in
 * them still aborts.
 */
function holdForTraces(rt: { passAt?: EpochMs; segments?: Pick<TraceSegments, 'coveredUntil'> }, now: EpochMs, stepEnd: EpochMs, analysis: CanaryAnalysis): CanaryAnalysis {
  if (analysis.decision !== 'pass' || !rt.segments) return analysis;
  rt.passAt ??= Math.max(now, stepEnd);
  const behind = rt.passAt - rt.segments.coveredUntil;
  if (behind <= 0) return analysis;
  return { ...analysis, decision: 'insufficient_data', reason: `${analysis.reason}; waiting ${behind} ms more for the traces the segment check reads` };
}

/** Keeps the numeric / array fields of a settings override (the API passes user input here). */
function numbersOnly(s: CanarySettingsOverride | undefined): CanarySettingsOverride {
  if (!s) return {};
  const out: CanarySettingsOverride = {};
  for (const k of ['minSamples', 'minBaselineSamples', 'minBreachBaseline', 'alpha', 'confidence', 'minShadowAgreement'] as const) {
    if (typeof s[k] === 'number') (out as Record<string, number>)[k] = s[k] as number;
  }
  if (s.margins) out.margins = { ...s.margins };
  if (s.latency) out.latency = { ...s.latency };
  if (Array.isArray(s.required)) out.required = s.required;
  return out;
}
