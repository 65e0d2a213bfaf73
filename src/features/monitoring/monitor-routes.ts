// /api/v1 monitors: what every monitor last concluded per version, a model's findings, run-time
// tuning (applied and audited) and replays of a monitor over recorded history.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import type { Evidence, Finding } from '../../core/types.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { MonitorRunner, MonitorState } from './monitor-runner.ts';
import type { ReplayResult } from './replay.ts';

const evidenceView = (e: Evidence): Record<string, unknown> => {
  const { window, ...rest } = e;
  return window ? { ...rest, window: { from: isoTime(window.from), to: isoTime(window.to) } } : { ...rest };
};

export function findingView(f: Finding): Record<string, unknown> {
  return {
    monitor: f.monitor,
    family: f.family,
    model: f.model,
    version: f.version,
    status: f.status,
    at: isoTime(f.at),
    severity: f.severity ?? null,
    onsetAt: isoTimeOpt(f.onsetAt) ?? null,
    evidence: evidenceView(f.evidence),
  };
}

export function monitorView(m: MonitorState): Record<string, unknown> {
  return {
    model: m.model,
    monitor: m.monitor,
    kind: m.kind,
    family: m.family,
    enabled: m.settings.enabled,
    settings: m.settings,
    tuning: m.tuning
      ? { settings: m.tuning.settings, updatedAt: isoTime(m.tuning.updatedAt), updatedBy: m.tuning.updatedBy, reason: m.tuning.reason ?? null }
      : null,
    versions: m.versions.map((v) => ({ version: v.version, live: v.live, consecutiveBreaches: v.consecutiveBreaches, lastFinding: findingView(v.finding) })),
  };
}

export function replayView(r: ReplayResult): Record<string, unknown> {
  return {
    model: r.model,
    version: r.version,
    monitor: r.monitor,
    settings: r.settings,
    falseAlarms: r.falseAlarms,
    detected: r.detected,
    firstDetectionDelayMs: r.firstDetectionDelayMs ?? null,
    tracesRead: r.tracesRead,
    feedbackRead: r.feedbackRead,
    truncated: r.truncated,
    windows: r.windows.map((w) => ({
      kind: w.kind,
      from: isoTime(w.from),
      to: isoTime(w.to),
      onsetAt: isoTimeOpt(w.onsetAt) ?? null,
      evaluations: w.evaluations,
      breaches: w.breaches,
      insufficientData: w.insufficientData,
      alarms: w.alarms,
      firstAlarmAt: isoTimeOpt(w.firstAlarmAt) ?? null,
      detectionDelayMs: w.detectionDelayMs ?? null,
      firstAlarm: w.firstAlarm ? findingView(w.firstAlarm) : null,
    })),
  };
}

const name = z.string().min(1).max(64);
const time = z.union([z.number().int().nonnegative(), z.string().min(1)]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const monitorsQuery = z.object({ model: name.optional() });
const findingsQuery = z.object({
  version: name.optional(),
  status: z.enum(['ok', 'breach', 'insufficient_data']).optional(),
});
const modelParams = z.object({ name });
const monitorParams = z.object({ name, monitor: z.string().min(1).max(64) });
const tuningBody = z.strictObject({
  /** A patch of the monitor's settings (same fields as failsafe.yaml), merged over earlier tuning. */
  settings: z.record(z.string(), z.unknown()),
  reason: z.string().trim().min(1).max(2000).optional(),
});
const untuneBody = z.strictObject({ reason: z.string().trim().min(1).max(2000).optional() }).optional();
const replayBody = z.strictObject({
  version: name,
  windows: z
    .array(z.strictObject({ from: time, to: time, kind: z.enum(['healthy', 'incident']), onsetAt: time.optional() }))
    .min(1)
    .max(50),
  settings: z.record(z.string(), z.unknown()).optional(),
});

const changeOptions = (request: FastifyRequest, reason?: string) => ({
  actor: actorOf(request),
  reason,
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

/** Builds the plugin for a runner (the runner lives in the monitoring feature, not in ctx.services). */
export function monitorRoutes(runner: MonitorRunner) {
  return async function monitorRoutesPlugin(app: FastifyInstance, ctx: AppContext): Promise<void> {
    const viewer = ctx.requireRole('viewer');
    const operator = ctx.requireRole('operator');
    const tags = ['monitors'];

    const requireModel = async (model: string): Promise<void> => {
      if (!(await ctx.stores.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
    };

    app.get('/monitors', { preHandler: viewer, schema: { tags, summary: 'Monitors of every model with the last finding per version' } }, async (request) => {
      const q = parseInput(monitorsQuery, request.query, 'query');
      if (q.model) await requireModel(q.model);
      return {
        leader: runner.isLeader(),
        intervalMs: runner.intervalMs,
        lastTickAt: isoTimeOpt(runner.lastTickAt) ?? null,
        monitors: runner.monitors(q.model).map(monitorView),
      };
    });

    app.get('/models/:name/findings', { preHandler: viewer, schema: { tags, summary: "A model's latest finding per monitor and version, and its recent breaches" } }, async (request) => {
      const { name: model } = parseInput(modelParams, request.params, 'params');
      const q = parseInput(findingsQuery, request.query, 'query');
      await requireModel(model);
      const { latest, recentBreaches } = runner.findings(model);
      const keep = (f: Finding) => (q.version === undefined || f.version === q.version) && (q.status === undefined || f.status === q.status);
      return {
        model,
        leader: runner.isLeader(),
        findings: latest.filter(keep).map(findingView),
        recentBreaches: recentBreaches.filter((f) => q.version === undefined || f.version === q.version).map(findingView),
      };
    });

    app.put('/models/:name/monitors/:monitor/tuning', { preHandler: operator, schema: { tags, summary: "Tune a model's monitor at run time (audited)" } }, async (request) => {
      const p = parseInput(monitorParams, request.params, 'params');
      const body = parseInput(tuningBody, request.body);
      const state = await runner.applyTuning(p.name, p.monitor, body.settings, changeOptions(request, body.reason));
      return { monitor: monitorView(state) };
    });

    app.delete('/models/:name/monitors/:monitor/tuning', { preHandler: operator, schema: { tags, summary: "Remove a monitor's run-time tuning (audited)" } }, async (request) => {
      const p = parseInput(monitorParams, request.params, 'params');
      const body = parseInput(untuneBody, request.body ?? undefined);
      await requireModel(p.name);
      const state = await runner.clearTuning(p.name, p.monitor, changeOptions(request, body?.reason));
      return { monitor: monitorView(state) };
    });

    app.post('/models/:name/monitors/:monitor/replay', { preHandler: operator, schema: { tags, summary: 'Replay a monitor over recorded traces with other settings' } }, async (request) => {
      const p = parseInput(monitorParams, request.params, 'params');
      const body = parseInput(replayBody, request.body);
      await requireModel(p.name);
      const result = await runner.replay(p.name, body.version, body.windows, body.settings, p.monitor);
      return { replay: replayView(result) };
    });
  };
}
