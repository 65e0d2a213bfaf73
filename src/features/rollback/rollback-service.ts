// Validated rollback (SOP step 4): find the last known stable version (M-1), validate it on the
// model's golden set (or a smoke check when it has none), try M-2... up to the configured depth,
// optionally run the CI/CD deploy hook, then move traffic in one atomic, audited route change
// (or configured steps) with the faulty version marked `faulty` in the same transaction. Requests
// in flight finish on the version they started on: the gateway swaps its route table, it does not
// cancel anything. The rollback is a row written at start, after each validation and at the end,
// so a crash mid-rollback stays visible: recovery marks it `interrupted`. The process running a
// rollback renews a heartbeat on its row, so with replicas sharing a PostgreSQL store only rows
// whose owner stopped renewing are taken for orphans, not another replica's rollback in progress.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LoadedConfig } from '../../config.ts';
import { FailsafeError, isFailsafeError } from '../../core/errors.ts';
import { canTransition } from '../../core/incident-lifecycle.ts';
import { rollbackCandidates, rollbackSource, switchWeights } from '../../core/rollback-plan.ts';
import type { Clock, Incident, ModelKind, ModelVersion } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import { modelPolicy } from '../containment/containment-config.ts';
import type { IncidentService } from '../incidents/incident-service.ts';
import type { Notifier } from '../notifications/notifier.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { GoldenSet } from '../staging/golden-set.ts';
import { resolveStagingConfig } from '../staging/staging-config.ts';
import { runStagingPlan, stagingPlanFor } from '../staging/staging-plan.ts';
import { validateVersion, type StagingReport } from '../staging/validate-version.ts';
import type { Stores } from '../stores.ts';
import { runDeployHook } from './deploy-hook.ts';
import type { RollbackRecord, RollbackValidation } from './rollback-store.ts';

export interface RollbackRequest {
  /** Explicit target; default: M-1, then M-2, ... up to `rollback.validationDepth`. */
  to?: string;
  /** The bad version; default: the incident's version, else the one serving most traffic. */
  from?: string;
  reason?: string;
  incidentId?: string;
  actor: string;
  requestId?: string;
}

export interface RollbackProgress {
  rollbackId: string;
  model: string;
  phase: RollbackRecord['phase'];
  /** The candidate being validated. */
  version?: string;
  candidateIndex: number;
  candidates: string[];
  done: number;
  total: number;
}

/** Validates one candidate; the default replays the golden set or runs the smoke check. */
export type CandidateValidator = (input: {
  model: string;
  kind: ModelKind;
  version: ModelVersion;
  onProgress: (done: number, total: number) => void;
}) => Promise<RollbackValidation>;

export interface RollbackServiceOptions {
  stores: Stores;
  routing: RoutingService;
  audit: AuditLog;
  clock: Clock;
  loaded: LoadedConfig;
  incidents?: IncidentService;
  notifier?: Pick<Notifier, 'notify'>;
  validator?: CandidateValidator;
  onError?: (err: unknown, context: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /**
   * This process is the only one using the store (SQLite, memory): every `running` rollback found
   * at startup is then orphaned. With a shared store (PostgreSQL replicas) only those whose owner
   * let its heartbeat lapse are. Default false.
   */
  exclusiveStore?: boolean;
  /** How long a running rollback's heartbeat stays valid (default 30 s); renewed every third of it. */
  leaseMs?: number;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** A `running` row without a heartbeat (written before heartbeats existed) older than this is a leftover. */
const STALE_RUNNING_MS = 15 * 60_000;
const DEFAULT_LEASE_MS = 30_000;

function newRollbackId(now: number): string {
  const d = new Date(now).toISOString();
  return `RB-${d.slice(0, 10).replace(/-/g, '')}-${d.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** What an audit entry and an answer keep of a validation: the numbers, not every failure. */
export function validationEvidence(v: RollbackValidation) {
  const r = v.report as Partial<StagingReport> & { note?: string };
  return {
    version: v.version,
    kind: v.kind,
    passed: v.passed,
    summary: v.summary,
    golden: r.golden,
    passRate: r.passRate,
    total: r.total,
    passedCases: r.passedCases,
    gates: r.gates,
    latency: r.latency,
    errors: r.errors,
    ...(r.note ? { note: r.note } : {}),
  };
}

export class RollbackService {
  private readonly o: RollbackServiceOptions;
  private readonly running = new Map<string, RollbackProgress>();
  private readonly sleep: (ms: number) => Promise<void>;
  /** Written as `owner` on the rollbacks this process runs. */
  readonly instanceId = randomBytes(6).toString('hex');
  /** How long a running rollback's heartbeat stays valid; recovery sweeps run this often. */
  readonly leaseMs: number;

  constructor(options: RollbackServiceOptions) {
    this.o = options;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Whether a `running` row belongs to a live owner (its heartbeat is within the lease). */
  private isLive(r: RollbackRecord, now: number): boolean {
    return r.heartbeatAt !== undefined ? r.heartbeatAt >= now - this.leaseMs : r.startedAt >= now - STALE_RUNNING_MS;
  }

  /** The running rollback of a model (for progress bars), if any. */
  progress(model: string): RollbackProgress | undefined {
    const p = this.running.get(model);
    return p ? { ...p, candidates: [...p.candidates] } : undefined;
  }

  async get(id: string): Promise<RollbackRecord> {
    const r = await this.o.stores.rollbacks.get(id);
    if (!r) throw new FailsafeError('NOT_FOUND', `no rollback with id "${id}"`);
    return r;
  }

  list(query: { model?: string; limit?: number } = {}): Promise<RollbackRecord[]> {
    return this.o.stores.rollbacks.list({ model: query.model, limit: Math.min(Math.max(query.limit ?? 50, 1), 500) });
  }

  /**
   * Rolls `model` back. Resolves with the succeeded record; rejects with VALIDATION_GATE_FAILED
   * (details.rollback holds the reports) when no candidate passed, UPSTREAM_ERROR when the deploy
   * hook failed, or the planning error (404/409) before anything was written or moved.
   */
  async rollback(model: string, req: RollbackRequest): Promise<RollbackRecord> {
    if (this.running.has(model)) {
      const p = this.running.get(model)!;
      throw new FailsafeError('CONFLICT', `a rollback of ${model} is already running (${p.rollbackId}, ${p.phase})`);
    }
    // Claimed before the first await, so two callers cannot both start.
    const progress: RollbackProgress = { rollbackId: '', model, phase: 'validating', candidateIndex: 0, candidates: [], done: 0, total: 0 };
    this.running.set(model, progress);
    try {
      return await this.run(model, req, progress);
    } finally {
      this.running.delete(model);
    }
  }

  private async run(model: string, req: RollbackRequest, progress: RollbackProgress): Promise<RollbackRecord> {
    const { stores, routing, clock } = this.o;
    const t0 = performance.now();
    if (!(await stores.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
    const incident = req.incidentId !== undefined ? await this.requireIncident(req.incidentId) : undefined;
    const [route, versions] = await Promise.all([routing.getRoute(model), stores.versions.list(model)]);
    const policy = modelPolicy(this.o.loaded.config, model);
    const from = req.from ?? rollbackSource(route, versions, incident?.version);
    if (req.from !== undefined && !versions.some((v) => v.version === req.from)) {
      throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${req.from}"`);
    }
    const candidates = rollbackCandidates(model, { versions, from, to: req.to, depth: policy.rollback.validationDepth });

    const record: RollbackRecord = {
      id: newRollbackId(clock.now()),
      model,
      ...(from !== undefined ? { from } : {}),
      ...(req.to !== undefined ? { requestedTo: req.to } : {}),
      status: 'running',
      phase: 'validating',
      ...(req.reason ? { reason: req.reason } : {}),
      actor: req.actor,
      ...(incident ? { incidentId: incident.id } : {}),
      candidates: candidates.map((c) => c.version),
      validations: [],
      routeBefore: { ...(route?.weights ?? {}) },
      startedAt: clock.now(),
      owner: this.instanceId,
      heartbeatAt: clock.now(),
    };
    Object.assign(progress, { rollbackId: record.id, candidates: record.candidates });
    await this.o.stores.transaction(async (tx) => {
      await this.o.audit.lock(tx);
      // Another replica may be rolling this model back (the in-process claim only covers this one).
      // A row left `running` by a replica that died long ago does not block forever.
      const busy = (await tx.rollbacks.list({ model, status: ['running'] })).filter((r) => this.isLive(r, record.startedAt));
      if (busy.length) throw new FailsafeError('CONFLICT', `a rollback of ${model} is already running (${busy[0]!.id}, ${busy[0]!.phase})`);
      await tx.rollbacks.insert(record);
      await this.o.audit.append(tx, {
        actor: req.actor,
        action: 'rollback.start',
        target: `model:${model}`,
        before: { weights: record.routeBefore, mode: route?.mode },
        after: { rollbackId: record.id, from, candidates: record.candidates },
        reason: req.reason,
        requestId: req.requestId,
      });
    });
    await this.timeline(record, 'rollback', `rollback ${record.id} started${from ? ` from ${from}` : ''}: validating ${record.candidates.join(', then ')}`, { rollbackId: record.id, from, candidates: record.candidates });

    const heartbeat = setInterval(() => {
      if (record.status !== 'running') return;
      record.heartbeatAt = clock.now();
      stores.rollbacks.updateIfRunning(record).catch((err: unknown) => this.o.onError?.(err, `renewing the heartbeat of rollback ${record.id}`));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    try {
      // 1. Validate candidates in order until one passes.
      let target: ModelVersion | undefined;
      for (const [i, candidate] of candidates.entries()) {
        Object.assign(progress, { version: candidate.version, candidateIndex: i, done: 0, total: 0 });
        const validation = await this.validateCandidate(model, candidate, progress);
        record.validations.push(validation);
        await stores.rollbacks.update(record);
        await this.timeline(record, 'validation', `${validation.passed ? 'passed' : 'FAILED'} ${validation.kind === 'golden' ? 'golden-set' : 'smoke'} validation: ${validation.summary}`, validationEvidence(validation));
        if (validation.passed) {
          target = candidate;
          break;
        }
      }
      if (!target) return await this.failGate(record, req, route?.weights ?? {}, t0);
      record.to = target.version;

      // 2. The CI/CD deploy hook, when configured: traffic moves only once the target is ready.
      const hook = policy.rollback.deployHook;
      if (hook) {
        record.phase = progress.phase = 'deploying';
        await stores.rollbacks.update(record);
        record.deploy = await runDeployHook(hook, { event: 'failsafe.rollback', rollbackId: record.id, model, version: target.version, from, reason: req.reason, incidentId: record.incidentId });
        await this.timeline(record, 'deploy', record.deploy.ok ? `deploy hook ready in ${record.deploy.durationMs} ms` : `deploy hook failed: ${record.deploy.error}; traffic stays where it was`, record.deploy);
        if (!record.deploy.ok) {
          throw new FailsafeError('UPSTREAM_ERROR', `rollback of ${model} to ${target.version} stopped: ${record.deploy.error}; traffic was not moved`);
        }
      }

      // 3. The switch: one atomic route change, or the configured steps.
      record.phase = progress.phase = 'switching';
      await stores.rollbacks.update(record);
      const current = (await routing.getRoute(model))?.weights ?? {};
      const steps = switchWeights(current, from, target.version, policy.rollback.steps);
      const fromState = from !== undefined ? (await stores.versions.get(model, from))?.state : undefined;
      for (const [i, weights] of steps.entries()) {
        const res = await routing.update(
          model,
          {
            weights,
            mode: 'serving',
            ...(i === 0 && from !== undefined && fromState !== 'faulty' && fromState !== 'retired' ? { versionStates: { [from]: 'faulty' as const } } : {}),
          },
          {
            actor: req.actor,
            action: 'rollback',
            reason: `rollback ${record.id}${from ? ` from ${from}` : ''} to ${target.version}${steps.length > 1 ? ` (step ${i + 1}/${steps.length}: ${weights[target.version]}%)` : ''}${req.reason ? `: ${req.reason}` : ''}`,
            requestId: req.requestId,
          },
        );
        record.routeRevision = res.route.revision;
        if (i === 0) record.switchedAt = clock.now();
        if (i < steps.length - 1 && policy.rollback.stepSeconds > 0) await this.sleep(policy.rollback.stepSeconds * 1000);
      }

      // 4. Done: the row and its audit entry (with the validation evidence) commit together.
      record.status = 'succeeded';
      record.phase = progress.phase = 'done';
      record.finishedAt = clock.now();
      record.durationMs = round(performance.now() - t0);
      const passed = record.validations[record.validations.length - 1]!;
      await this.finish(record, req, 'rollback.succeeded', { to: target.version, weights: steps[steps.length - 1], routeRevision: record.routeRevision, validation: record.validations.map(validationEvidence) });
      const msg = `rolled back${from ? ` from ${from}` : ''} to ${target.version} in ${Math.round(record.durationMs)} ms (${passed.summary})`;
      await this.timeline(record, 'rollback', msg, { rollbackId: record.id, from, to: target.version, durationMs: record.durationMs, routeRevision: record.routeRevision });
      if (incident) await this.mitigate(incident.id, req, msg);
      return record;
    } catch (err) {
      if (record.status === 'running') await this.failRecord(record, req, err, t0);
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * No candidate passed: the model stays contained in fallback mode (never on an unvalidated
   * version), people are told, and the caller gets 409 with the reports.
   */
  private async failGate(record: RollbackRecord, req: RollbackRequest, weightsBefore: Record<string, number>, t0: number): Promise<never> {
    const { routing, stores } = this.o;
    const tried = record.validations.map((v) => `${v.version}: ${v.summary}`).join('; ');
    const message = `no rollback target of ${record.model} passed validation (${tried}); the model stays contained in fallback mode`;
    const zero: Record<string, number> = {};
    const now = (await routing.getRoute(record.model))?.weights ?? weightsBefore;
    for (const v of Object.keys({ ...weightsBefore, ...now })) zero[v] = 0;
    const versions = await stores.versions.list(record.model);
    const from = record.from !== undefined ? versions.find((v) => v.version === record.from) : undefined;
    try {
      await routing.update(
        record.model,
        {
          mode: 'fallback',
          weights: zero,
          ...(from && from.state !== 'faulty' && from.state !== 'retired' ? { versionStates: { [from.version]: 'faulty' as const } } : {}),
        },
        { actor: req.actor, action: 'rollback.contain', reason: `rollback ${record.id} failed validation: fallback mode`, requestId: req.requestId },
      );
    } catch (err) {
      this.o.onError?.(err, `containing ${record.model} after a failed rollback`);
    }
    const error = new FailsafeError('VALIDATION_GATE_FAILED', message);
    await this.failRecord(record, req, error, t0);
    if (record.incidentId) {
      await this.timeline(record, 'escalated', `rollback failed validation; ${record.model} is in fallback mode and needs a person`, { rollbackId: record.id });
      try {
        const incident = await this.o.incidents!.get(record.incidentId);
        this.o.notifier?.notify(incident, { kind: 'escalation', message, data: { rollbackId: record.id, validations: record.validations.map(validationEvidence) } });
      } catch (err) {
        this.o.onError?.(err, 'escalating a failed rollback');
      }
    }
    throw new FailsafeError('VALIDATION_GATE_FAILED', message, { rollback: record });
  }

  private async failRecord(record: RollbackRecord, req: RollbackRequest, err: unknown, t0: number): Promise<void> {
    record.status = 'failed';
    record.phase = 'done';
    record.error = isFailsafeError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
    record.finishedAt = this.o.clock.now();
    record.durationMs = round(performance.now() - t0);
    try {
      const route = await this.o.routing.getRoute(record.model);
      await this.finish(record, req, 'rollback.failed', { error: record.error, weights: route?.weights, mode: route?.mode, validation: record.validations.map(validationEvidence), deploy: record.deploy });
      if (record.error.code !== 'VALIDATION_GATE_FAILED') await this.timeline(record, 'rollback', `rollback ${record.id} failed: ${record.error.message}`, { rollbackId: record.id, error: record.error });
    } catch (e) {
      this.o.onError?.(e, `recording failed rollback ${record.id}`);
    }
  }

  private async finish(record: RollbackRecord, req: RollbackRequest, action: string, after: unknown): Promise<void> {
    await this.o.stores.transaction(async (tx) => {
      await this.o.audit.lock(tx);
      await tx.rollbacks.update(record);
      await this.o.audit.append(tx, {
        actor: req.actor,
        action,
        target: `model:${record.model}`,
        before: { rollbackId: record.id, from: record.from, weights: record.routeBefore },
        after,
        reason: req.reason,
        requestId: req.requestId,
      });
    });
  }

  /**
   * Recovery, at startup and then every lease: rollbacks still `running` whose process died. The
   * route is whatever the last committed change left (each change is one transaction), so they are
   * marked `interrupted`, audited and noted on their incident. Which rows are orphans: with an
   * exclusive store, at startup, every one not run by this process; otherwise those whose owner's
   * heartbeat lapsed (another replica's rollback in progress is left alone).
   */
  async recoverInterrupted(options: { startup?: boolean } = {}): Promise<RollbackRecord[]> {
    const now = this.o.clock.now();
    const everyOther = options.startup === true && this.o.exclusiveStore === true;
    const stuck = (await this.o.stores.rollbacks.list({ status: ['running'] })).filter(
      (r) => r.owner !== this.instanceId && (everyOther || !this.isLive(r, now)),
    );
    const out: RollbackRecord[] = [];
    for (const r of stuck) {
      const route = await this.o.routing.getRoute(r.model).catch(() => undefined);
      const landed = r.to !== undefined && (route?.weights[r.to] ?? 0) === 100 && route?.mode === 'serving';
      const next: RollbackRecord = {
        ...r,
        status: 'interrupted',
        phase: 'done',
        finishedAt: this.o.clock.now(),
        error: {
          code: 'INTERRUPTED',
          message: `the server stopped during the ${r.phase} phase; the route is as its last committed change left it (${route ? `${JSON.stringify(route.weights)}, ${route.mode}` : 'none'})${landed ? `: traffic is on ${r.to}` : ''}`,
        },
      };
      const marked = await this.o.stores.transaction(async (tx) => {
        await this.o.audit.lock(tx);
        // Its owner may have ended it meanwhile: then it was not orphaned after all.
        if (!(await tx.rollbacks.updateIfRunning(next))) return false;
        await this.o.audit.append(tx, {
          actor: 'system',
          action: 'rollback.interrupted',
          target: `model:${r.model}`,
          before: { rollbackId: r.id, status: r.status, phase: r.phase, owner: r.owner, heartbeatAt: r.heartbeatAt },
          after: { status: 'interrupted', weights: route?.weights, mode: route?.mode, revision: route?.revision },
          reason: options.startup ? 'found running at startup' : `its owner stopped renewing it for over ${Math.round(this.leaseMs / 1000)} s`,
        });
        return true;
      });
      if (!marked) continue;
      await this.timeline(next, 'rollback', `rollback ${r.id} was interrupted (${options.startup ? 'server restart' : 'its server stopped'} during ${r.phase}); route now ${route ? JSON.stringify(route.weights) : 'unset'} (${route?.mode ?? '-'})`, { rollbackId: r.id, phase: r.phase });
      out.push(next);
    }
    return out;
  }

  private async validateCandidate(model: string, version: ModelVersion, progress: RollbackProgress): Promise<RollbackValidation> {
    const kind = (await this.o.stores.models.get(model))!.kind;
    const onProgress = (done: number, total: number) => Object.assign(progress, { done, total });
    const validator = this.o.validator ?? ((input) => this.defaultValidate(input));
    try {
      return await validator({ model, kind, version, onProgress });
    } catch (err) {
      // A golden set that cannot be read fails the gate, with the reason, rather than the rollback machinery.
      const now = this.o.clock.now();
      const message = (err as Error)?.message ?? String(err);
      return { version: version.version, kind: 'golden', passed: false, summary: `${model}@${version.version} could not be validated: ${message}`, report: { error: message }, startedAt: now, finishedAt: now };
    }
  }

  private async defaultValidate(input: Parameters<CandidateValidator>[0]): Promise<RollbackValidation> {
    const { model, kind, version, onProgress } = input;
    const startedAt = this.o.clock.now();
    const mc = this.o.loaded.config.models.find((m) => m.name === model);
    const plan = mc ? stagingPlanFor(mc, this.o.loaded.baseDir) : undefined;
    if (plan) {
      const report = await runStagingPlan(plan, version, { onProgress, clock: this.o.clock });
      return { version: version.version, kind: 'golden', passed: report.passed, summary: report.summary, report: report as unknown as Record<string, unknown>, startedAt, finishedAt: this.o.clock.now() };
    }
    const n = modelPolicy(this.o.loaded.config, model).rollback.smokeRequests;
    const staging = resolveStagingConfig(mc?.staging);
    const golden: GoldenSet = {
      path: '(smoke check)',
      cases: Array.from({ length: n }, (_, i) => ({
        line: i + 1,
        id: `smoke-${i + 1}`,
        input: kind === 'chat' ? `Failsafe rollback smoke check ${i + 1}: please answer briefly.` : [i % 2 === 0 ? 1 : -1],
        match: 'regex' as const,
        expected: '[\\s\\S]*',
        regex: /[\s\S]*/,
      })),
    };
    const report = await validateVersion({
      version: { ...version, model },
      kind,
      golden,
      gates: { minPassRate: 1, latencyBudgetMs: staging.latencyBudgetMs },
      timeoutMs: staging.timeoutMs,
      onProgress,
      clock: this.o.clock,
    });
    const note = `no golden set configured for ${model}: smoke validation only (${n} synthetic requests must get a well-formed answer)`;
    return { version: version.version, kind: 'smoke', passed: report.passed, summary: `${report.summary} [smoke check: no golden set]`, report: { ...(report as unknown as Record<string, unknown>), note }, startedAt, finishedAt: this.o.clock.now() };
  }

  private async requireIncident(id: string): Promise<Incident> {
    if (!this.o.incidents) throw new FailsafeError('INCIDENT_NOT_FOUND', `no incident with id "${id}"`);
    return this.o.incidents.get(id);
  }

  private async mitigate(incidentId: string, req: RollbackRequest, message: string): Promise<void> {
    try {
      const incident = await this.o.incidents!.get(incidentId);
      if (canTransition(incident.status, 'mitigated')) await this.o.incidents!.mitigate(incidentId, { actor: req.actor, reason: message, requestId: req.requestId });
    } catch (err) {
      this.o.onError?.(err, `marking incident ${incidentId} mitigated`);
    }
  }

  private async timeline(record: RollbackRecord, kind: string, message: string, data: unknown): Promise<void> {
    if (!record.incidentId || !this.o.incidents) return;
    try {
      await this.o.incidents.addTimelineEvent(record.incidentId, { kind, actor: record.actor, message, data });
    } catch (err) {
      this.o.onError?.(err, `timeline of incident ${record.incidentId}`);
    }
  }
}

export const createRollbackService = (options: RollbackServiceOptions): RollbackService => new RollbackService(options);
