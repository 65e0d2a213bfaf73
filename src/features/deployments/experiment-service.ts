// A/B tests: a weighted split with sticky assignment (a client stays on one arm) held for a fixed
// time; at the end, a report compares every arm with the control on each metric (core/canary/
// ab-report.ts) and the route goes back to what it was. The report reads traces and feedback from
// the store, so it covers the whole test however long it ran (the metric windows keep an hour).
import { randomBytes } from 'node:crypto';
import { abReport, type AbArm } from '../../core/canary/ab-report.ts';
import { FailsafeError } from '../../core/errors.ts';
import { lastKnownStable } from '../../core/last-stable.ts';
import { createSketch } from '../../core/stats/latency-sketch.ts';
import type { Clock, EpochMs } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { Stores } from '../stores.ts';
import { labelMatches } from '../telemetry/telemetry-service.ts';
import { failedOnFirstVersion } from './arm-samples.ts';
import type { ChangeContext } from './deployment-service.ts';
import type { ExperimentRecord } from './deployment-store.ts';

export interface ExperimentServiceOptions {
  stores: Stores;
  clock: Clock;
  audit: AuditLog;
  routing: RoutingService;
  intervalMs?: number;
  isLeader?: () => boolean;
  onError?: (err: unknown, what: string) => void;
}

export interface CreateExperimentInput {
  versions: Record<string, number>;
  durationSeconds: number;
  stickyKey?: string;
  /** The arm the others are compared with; default the last stable version among them, else the first. */
  control?: string;
  reason?: string;
}

const MAX_DURATION_SECONDS = 30 * 24 * 3600;
const PAGE = 5000;
const bad = (message: string) => new FailsafeError('VALIDATION_FAILED', message);
const newId = (now: EpochMs): string => `exp-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;

export class ExperimentService {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly o: ExperimentServiceOptions) {}

  async create(model: string, input: CreateExperimentInput, ctx: ChangeContext): Promise<ExperimentRecord> {
    const entries = Object.entries(input.versions ?? {});
    if (entries.length < 2) throw bad('versions: an A/B test needs at least two versions, e.g. {"v1": 50, "v2": 50}');
    for (const [v, w] of entries) {
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 99) throw bad(`versions.${v}: expected a whole weight from 1 to 99, got ${JSON.stringify(w)}`);
    }
    const total = entries.reduce((a, [, w]) => a + w, 0);
    if (total !== 100) throw bad(`versions: weights must sum to 100, got ${total}`);
    const d = input.durationSeconds;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DURATION_SECONDS) {
      throw bad(`durationSeconds: expected whole seconds from 1 to ${MAX_DURATION_SECONDS}, got ${JSON.stringify(d)}`);
    }
    const now = this.o.clock.now();
    const record = await this.o.stores.transaction(async (tx) => {
      await this.o.audit.lock(tx);
      if (!(await tx.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
      const versions = await tx.versions.list(model);
      for (const [v] of entries) {
        if (!versions.some((x) => x.version === v)) throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${v}"`);
      }
      if (input.control !== undefined && !(input.control in input.versions)) throw bad(`control: "${input.control}" is not one of the versions under test`);
      const running = await tx.deployments.list({ model, status: ['running', 'paused'], limit: 1 });
      if (running.length > 0) throw new FailsafeError('CONFLICT', `${model} has deployment ${running[0].id} of ${running[0].version} in progress; abort it or wait`);
      const experiments = await tx.experiments.list({ model, status: ['running'], limit: 1 });
      if (experiments.length > 0) throw new FailsafeError('CONFLICT', `${model} already runs A/B experiment ${experiments[0].id}; stop it first`);
      const route = await tx.routes.get(model);
      if (!route || route.mode !== 'serving') throw new FailsafeError('CONFLICT', `${model} is not serving; resume it before an A/B test`);
      const under = versions.filter((v) => v.version in input.versions);
      const control = input.control ?? lastKnownStable(under)?.version ?? entries[0][0];
      const e: ExperimentRecord = {
        id: newId(now),
        model,
        versions: { ...input.versions },
        control,
        stickyKey: input.stickyKey ?? route.stickyKey ?? 'user',
        durationSeconds: d,
        status: 'running',
        actor: ctx.actor,
        reason: input.reason ?? ctx.reason,
        routeBefore: { weights: { ...route.weights }, ...(route.shadow ? { shadow: route.shadow } : {}), ...(route.stickyKey ? { stickyKey: route.stickyKey } : {}) },
        startedAt: now,
        endsAt: now + d * 1000,
      };
      await tx.experiments.insert(e);
      await this.o.audit.append(tx, { actor: ctx.actor, action: 'experiment.start', target: `experiment:${e.id}`, after: { model, versions: e.versions, control, durationSeconds: d, stickyKey: e.stickyKey }, reason: e.reason, requestId: ctx.requestId });
      return e;
    });
    try {
      const r = await this.o.routing.update(model, { weights: record.versions, stickyKey: record.stickyKey ?? null }, { actor: ctx.actor, reason: `A/B test ${record.id}`, requestId: ctx.requestId, action: 'experiment.start' });
      record.routeRevision = r.route.revision;
      await this.o.stores.experiments.update(record);
    } catch (err) {
      // The split was refused (e.g. a version that cannot take traffic): the test never started.
      record.status = 'stopped';
      record.finishedAt = this.o.clock.now();
      record.reason = `could not start: ${(err as Error).message}`;
      await this.o.stores.experiments.update(record);
      throw err;
    }
    return record;
  }

  async get(id: string): Promise<{ record: ExperimentRecord; interim?: ExperimentRecord['report'] }> {
    const record = await this.o.stores.experiments.get(id);
    if (!record) throw new FailsafeError('NOT_FOUND', `no experiment with id "${id}"`);
    if (record.status === 'running') return { record, interim: await this.report(record, Math.min(this.o.clock.now(), record.endsAt)) };
    return { record };
  }

  list(model: string): Promise<ExperimentRecord[]> {
    return this.o.stores.experiments.list({ model, limit: 50 });
  }

  async stop(id: string, ctx: ChangeContext): Promise<ExperimentRecord> {
    const record = await this.o.stores.experiments.get(id);
    if (!record) throw new FailsafeError('NOT_FOUND', `no experiment with id "${id}"`);
    if (record.status !== 'running') throw new FailsafeError('INVALID_STATE', `experiment ${id} is ${record.status}; there is nothing to stop`);
    return this.finish(record, 'stopped', this.o.clock.now(), ctx);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.ticking) void this.tick().catch((err) => this.o.onError?.(err, 'experiment tick'));
    }, this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Stops the loop (shutdown); running experiments continue after a restart. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking?.catch(() => undefined);
  }

  /** Ends the experiments whose time is up. */
  tick(now: EpochMs = this.o.clock.now()): Promise<void> {
    this.ticking ??= (async () => {
      if (this.o.isLeader && !this.o.isLeader()) return;
      for (const e of await this.o.stores.experiments.list({ status: ['running'] })) {
        if (e.endsAt > now) continue;
        try {
          await this.finish(e, 'completed', now);
        } catch (err) {
          this.o.onError?.(err, `experiment ${e.id}`);
        }
      }
    })().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async finish(e: ExperimentRecord, status: 'completed' | 'stopped', now: EpochMs, ctx?: ChangeContext): Promise<ExperimentRecord> {
    const to = Math.min(now, e.endsAt);
    const report = await this.report(e, to);
    const actor = ctx?.actor ?? `experiment:${e.id}`;
    const serving = this.o.routing.serving(e.model);
    if (serving && serving.route.revision === e.routeRevision) {
      await this.o.routing.update(
        e.model,
        { weights: e.routeBefore.weights, stickyKey: e.routeBefore.stickyKey ?? null },
        { actor, reason: `A/B test ${e.id} ${status}: route restored`, requestId: ctx?.requestId, action: 'experiment.end' },
      );
    } else report.note = `the route changed during the test (now revision ${serving?.route.revision}); it was left as it is`;
    e.status = status;
    e.finishedAt = now;
    e.report = report;
    await this.o.stores.transaction(async (tx) => {
      await tx.experiments.update(e);
      await this.o.audit.append(tx, { actor, action: 'experiment.end', target: `experiment:${e.id}`, after: { status, arms: report.arms }, reason: ctx?.reason, requestId: ctx?.requestId });
    });
    return e;
  }

  /** Arms from the traces and feedback of [startedAt, to). */
  async report(e: ExperimentRecord, to: EpochMs): Promise<NonNullable<ExperimentRecord['report']>> {
    const arms = new Map<string, AbArm>();
    for (const v of Object.keys(e.versions)) {
      arms.set(v, { version: v, requests: 0, errors: 0, answered: 0, invalid: 0, ratings: { positive: 0, negative: 0 }, labels: { correct: 0, total: 0 }, latency: createSketch() });
    }
    const answers = new Map<string, { arm: string; answer?: string }>();
    let cursor = e.startedAt;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.o.stores.traces.query({ model: e.model, from: cursor, to, order: 'asc', limit: PAGE });
      let last = cursor;
      for (const t of page) {
        if (seen.has(t.requestId)) continue;
        if (t.startedAt !== last) {
          last = t.startedAt;
          seen.clear();
        }
        seen.add(t.requestId);
        const armName = t.firstVersion ?? t.version;
        const arm = armName === undefined ? undefined : arms.get(armName);
        if (!arm) continue;
        arm.requests++;
        const failed = failedOnFirstVersion(t);
        const invalid = t.errorClass === 'malformed_output' || t.status === 'blocked' || (t.validators?.some((v) => !v.passed) ?? false);
        if (failed && !invalid) arm.errors++;
        else {
          arm.answered++;
          if (invalid) arm.invalid++;
        }
        if (t.version === armName && !t.retried && t.status !== 'error') arm.latency.add(Math.max(0, t.latencyMs));
        answers.set(t.requestId, { arm: armName!, answer: t.prediction ?? t.output });
      }
      if (page.length < PAGE) break;
      cursor = last === cursor ? last + 1 : last;
    }
    for (const f of await this.o.stores.feedback.query({ model: e.model, from: e.startedAt, to, limit: 1_000_000 })) {
      const a = answers.get(f.requestId);
      const arm = a ? arms.get(a.arm) : undefined;
      if (!arm) continue;
      if (f.rating === 1) arm.ratings.positive++;
      else if (f.rating === -1) arm.ratings.negative++;
      if (f.label !== undefined && a?.answer !== undefined) {
        arm.labels.total++;
        if (labelMatches(f.label, a.answer)) arm.labels.correct++;
      }
    }
    const list = [...arms.values()];
    return {
      arms: Object.fromEntries(list.map((a) => [a.version, { requests: a.requests }])),
      comparisons: abReport(list, e.control, { seed: 1 }),
      from: e.startedAt,
      to,
    };
  }
}
