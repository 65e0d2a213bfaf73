// Runs every enabled monitor of every live version of every model, every second, over the
// gateway's metric windows; turns breaches into incidents (with severity, onset and impact scope),
// publishes every finding on the bus and keeps the latest ones for the API.
//
// Live versions: those the route sends traffic to (weight > 0 while the model serves). Baselines
// (monitor-evaluator.ts): the stable arm during a split, else the last stable version's recent
// traffic, else the version's own earlier traffic — the stable version itself is compared with its
// own past or absolute thresholds only.
//
// Only the leader runs (leader-lock.ts: one replica per PostgreSQL database; SQLite is always the
// leader). `tick(now)` does one round and resolves when its incident writes are done, so tests
// drive it with a fake clock and no timers.
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import { isActive, isMoreSevere } from '../../core/incident-lifecycle.ts';
import type { Actor, Clock, EpochMs, Finding, ImpactScope, Incident, Severity } from '../../core/types.ts';
import type { SeverityRules } from '../../core/detectors/severity.ts';
import type { IncidentAudit, OpenOrUpdateResult } from '../incidents/incident-service.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import type { Stores } from '../stores.ts';
import type { MetricWindow } from '../telemetry/metric-windows.ts';
import {
  MONITOR_IDS,
  MONITOR_KINDS,
  isMonitorId,
  parseSettingsPatch,
  resolveMonitorSettings,
  type ModelMonitorsConfig,
  type MonitorId,
  type MonitorSettings,
  type MonitorSettingsPatch,
  type MonitorsConfig,
} from './monitor-config.ts';
import { EvalContext, analyzeBreach, evaluateMonitor, type BreachAnalysis, type MonitorEvaluation, type VersionRole, type WindowReader } from './monitor-evaluator.ts';
import type { MonitorTuning } from './monitor-tuning-store.ts';
import { WindowCache } from './window-cache.ts';
import { replayMonitor, type ReplayResult, type ReplayWindow } from './replay.ts';
import { formatZodIssues } from './zod-issues.ts';
import type { ZodError } from 'zod';

/** The metric windows as the runner reads them (MetricWindows implements it). */
export interface MonitoredWindows extends WindowReader {
  versions(): Array<{ model: string; version: string; shadow: boolean; lastAt: EpochMs }>;
}

/** The part of IncidentService the runner uses. */
export interface RunnerIncidents {
  openOrUpdate(finding: Finding): Promise<OpenOrUpdateResult>;
  setImpact(id: string, impact: ImpactScope, options: { actor: Actor; reason?: string }): Promise<Incident>;
  setSeverity(id: string, severity: Severity, options: { actor: Actor; reason?: string }): Promise<Incident>;
}

export interface MonitorRunnerOptions {
  windows: MonitoredWindows;
  /** What a model serves now (RoutingService.serving). */
  serving: (model: string) => ServingModel | undefined;
  incidents: RunnerIncidents;
  clock: Clock;
  bus?: EventBus;
  /** traces (clients affected, replays), feedback (replays), monitorTuning, models, transaction. */
  stores?: Stores;
  audit?: IncidentAudit;
  /** `monitors:` and the models' own `monitors:` sections. */
  config?: { monitors?: Partial<MonitorsConfig>; models?: ReadonlyArray<{ name: string; monitors?: ModelMonitorsConfig }> };
  /** Whether this replica runs the monitors now (default: always). */
  isLeader?: () => boolean;
  onError?: (err: unknown, what: string) => void;
}

export interface MonitorState {
  model: string;
  monitor: MonitorId;
  kind: string;
  family: string;
  settings: MonitorSettings;
  tuning?: MonitorTuning;
  versions: Array<{ version: string; live: boolean; finding: Finding; consecutiveBreaches: number }>;
}

export interface TickSummary {
  at: EpochMs;
  skipped?: 'not_leader' | 'disabled' | 'busy';
  evaluations: number;
  findings: Finding[];
  /** Breaches that went to the incident service (after consecutiveBreaches). */
  incidents: Array<{ finding: Finding; incidentId?: string; created: boolean }>;
}

const FAMILY_OF: Record<MonitorId, string> = {
  'error-rate': 'errors',
  'timeout-rate': 'errors',
  latency: 'latency',
  'output-validity': 'validity',
  'negative-feedback': 'feedback',
  accuracy: 'accuracy',
  'output-classes': 'drift',
  'output-length': 'drift',
  'input-length': 'drift',
  'input-features': 'drift',
};

export const familyOfMonitor = (id: MonitorId): string => FAMILY_OF[id];

interface BreachMemo {
  at: EpochMs;
  analysis: BreachAnalysis;
}

const RECENT_BREACHES = 200;
const IMPACT_EVERY_MS = 60_000;
const ONSET_REUSE_MS = 60_000;
const YOUNG_FAULT_MS = 10_000;
const TUNING_RELOAD_MS = 10_000;

export class MonitorRunner {
  private readonly o: MonitorRunnerOptions;
  private readonly refreshMs: number;
  private readonly rules: Partial<SeverityRules> | undefined;
  private readonly baselineCache = new Map<string, { window: MetricWindow; usedAt: EpochMs }>();
  private readonly resultCache = new Map<string, { at: EpochMs; value: unknown }>();
  private readonly reader: WindowCache;
  /** model → version → monitor → latest finding. */
  private readonly latest = new Map<string, Map<string, Map<MonitorId, Finding>>>();
  private readonly recentBreaches = new Map<string, Finding[]>();
  private readonly streaks = new Map<string, number>();
  private readonly breachMemo = new Map<string, BreachMemo>();
  private readonly impactAt = new Map<string, EpochMs>();
  /** Incident a monitor key last fed, to keep closed incidents from reopening on the data that opened them. */
  private readonly lastIncident = new Map<string, { id: string }>();
  private readonly liveNow = new Map<string, Set<string>>();
  private tunings = new Map<string, MonitorTuning>();
  private tuningsLoadedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickSummary> | undefined;
  lastTickAt: EpochMs | undefined;
  ticks = 0;
  skippedBusy = 0;

  constructor(options: MonitorRunnerOptions) {
    this.o = options;
    this.refreshMs = (options.config?.monitors?.baselineRefreshSeconds ?? 10) * 1000;
    this.rules = options.config?.monitors?.severityRules as Partial<SeverityRules> | undefined;
    this.reader = new WindowCache(options.windows);
  }

  get intervalMs(): number {
    return this.o.config?.monitors?.intervalMs ?? 1000;
  }

  isLeader(): boolean {
    return this.o.isLeader ? this.o.isLeader() : true;
  }

  /** Starts the 1-second loop (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) {
        this.skippedBusy++;
        return;
      }
      void this.tick().catch((err) => this.o.onError?.(err, 'monitor tick'));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.running) await this.running.catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // Settings

  private modelConfig(model: string): ModelMonitorsConfig | undefined {
    return this.o.config?.models?.find((m) => m.name === model)?.monitors;
  }

  /** The settings in force for a model's monitor (config + tuning). */
  settingsFor(model: string, monitorId: MonitorId | string): MonitorSettings {
    const id = this.checkMonitor(monitorId);
    return resolveMonitorSettings(id, this.o.config?.monitors, this.modelConfig(model), this.tunings.get(`${model}\u0000${id}`)?.settings);
  }

  /** Re-reads run-time tuning from the store (other replicas may have applied some). */
  async reloadTuning(): Promise<void> {
    if (!this.o.stores) return;
    const list = await this.o.stores.monitorTuning.list();
    const next = new Map<string, MonitorTuning>();
    for (const t of list) if (isMonitorId(t.monitor)) next.set(`${t.model}\u0000${t.monitor}`, t);
    const changed = next.size !== this.tunings.size || [...next].some(([k, t]) => this.tunings.get(k)?.updatedAt !== t.updatedAt);
    this.tunings = next;
    this.tuningsLoadedAt = this.o.clock.now();
    if (changed) this.settingsChanged();
  }

  /** Cached window results were judged with the old settings. */
  private settingsChanged(): void {
    this.resultCache.clear();
    this.streaks.clear();
  }

  /**
   * Changes a monitor's settings for one model at run time (merged over any earlier tuning),
   * persisted and audited in one transaction; in force from the next evaluation.
   */
  async applyTuning(
    model: string,
    monitorId: string,
    patch: unknown,
    options: { actor: Actor; reason?: string; requestId?: string },
  ): Promise<MonitorState> {
    const id = this.checkMonitor(monitorId);
    const stores = this.requireStores();
    if (!(await stores.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
    let parsed: MonitorSettingsPatch;
    try {
      parsed = parseSettingsPatch(id, patch);
    } catch (err) {
      const lines = formatZodIssues(err as ZodError, 'settings');
      throw new FailsafeError('VALIDATION_FAILED', `invalid tuning for ${id}: ${lines.join('; ')}`, lines);
    }
    const key = `${model}\u0000${id}`;
    const before = this.settingsFor(model, id);
    const at = this.o.clock.now();
    const tuning = await stores.transaction(async (tx) => {
      await this.o.audit?.lock(tx);
      const current = await tx.monitorTuning.get(model, id);
      const merged = mergePatch(current?.settings, parsed);
      // Resolving checks the merged settings are coherent before anything is stored.
      resolveMonitorSettings(id, this.o.config?.monitors, this.modelConfig(model), merged);
      const next: MonitorTuning = { model, monitor: id, settings: merged, updatedAt: at, updatedBy: options.actor };
      if (options.reason) next.reason = options.reason;
      await tx.monitorTuning.upsert(next);
      await this.o.audit?.append(tx, {
        actor: options.actor,
        action: 'monitor.tune',
        target: `monitor:${model}/${id}`,
        before: { tuning: current?.settings ?? null, settings: before },
        after: { tuning: merged, settings: resolveMonitorSettings(id, this.o.config?.monitors, this.modelConfig(model), merged) },
        reason: options.reason,
        requestId: options.requestId,
      });
      return next;
    });
    this.tunings.set(key, tuning);
    this.settingsChanged();
    return this.monitorState(model, id);
  }

  /** Removes a monitor's run-time tuning (back to the configuration), audited. */
  async clearTuning(model: string, monitorId: string, options: { actor: Actor; reason?: string; requestId?: string }): Promise<MonitorState> {
    const id = this.checkMonitor(monitorId);
    const stores = this.requireStores();
    const before = this.settingsFor(model, id);
    await stores.transaction(async (tx) => {
      await this.o.audit?.lock(tx);
      const current = await tx.monitorTuning.get(model, id);
      if (!current) return;
      await tx.monitorTuning.delete(model, id);
      await this.o.audit?.append(tx, {
        actor: options.actor,
        action: 'monitor.untune',
        target: `monitor:${model}/${id}`,
        before: { tuning: current.settings, settings: before },
        after: { tuning: null, settings: resolveMonitorSettings(id, this.o.config?.monitors, this.modelConfig(model)) },
        reason: options.reason,
        requestId: options.requestId,
      });
    });
    this.tunings.delete(`${model}\u0000${id}`);
    this.settingsChanged();
    return this.monitorState(model, id);
  }

  /**
   * Re-runs a monitor's detector over recorded history (traces and feedback from the store) with
   * other settings: when it would have fired, and how many false alarms it would have raised on
   * the windows marked healthy. Settings are a patch over the settings in force.
   */
  async replay(model: string, version: string, windows: ReplayWindow[], settings: unknown, monitorId: string): Promise<ReplayResult> {
    const id = this.checkMonitor(monitorId);
    const stores = this.requireStores();
    let patch: MonitorSettingsPatch | undefined;
    try {
      patch = settings === undefined ? undefined : parseSettingsPatch(id, settings);
    } catch (err) {
      const lines = formatZodIssues(err as ZodError, 'settings');
      throw new FailsafeError('VALIDATION_FAILED', `invalid settings for ${id}: ${lines.join('; ')}`, lines);
    }
    const resolved = resolveMonitorSettings(id, this.o.config?.monitors, this.modelConfig(model), mergePatch(this.tunings.get(`${model}\u0000${id}`)?.settings, patch ?? {}));
    const serving = this.o.serving(model);
    return replayMonitor({
      stores,
      model,
      version,
      monitor: id,
      settings: { ...resolved, enabled: true },
      windows,
      stableVersion: serving?.stableVersion,
      severityRules: this.rules,
    });
  }

  private checkMonitor(monitorId: string): MonitorId {
    if (!isMonitorId(monitorId)) {
      throw new FailsafeError('MONITOR_NOT_FOUND', `no monitor "${monitorId}"; monitors: ${MONITOR_IDS.join(', ')}`);
    }
    return monitorId;
  }

  private requireStores(): Stores {
    if (!this.o.stores) throw new FailsafeError('INTERNAL', 'the monitor runner was built without stores');
    return this.o.stores;
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  monitorState(model: string, id: MonitorId): MonitorState {
    const byVersion = this.latest.get(model);
    const live = this.liveNow.get(model) ?? new Set<string>();
    const versions: MonitorState['versions'] = [];
    for (const [version, byMonitor] of byVersion ?? []) {
      const finding = byMonitor.get(id);
      if (finding) versions.push({ version, live: live.has(version), finding, consecutiveBreaches: this.streaks.get(`${model}\u0000${version}\u0000${id}`) ?? 0 });
    }
    const state: MonitorState = { model, monitor: id, kind: MONITOR_KINDS[id], family: FAMILY_OF[id], settings: this.settingsFor(model, id), versions };
    const tuning = this.tunings.get(`${model}\u0000${id}`);
    if (tuning) state.tuning = tuning;
    return state;
  }

  /** Every monitor of every model the runner knows, with the last finding per version. */
  monitors(model?: string): MonitorState[] {
    const models = new Set<string>(model ? [model] : [...this.latest.keys(), ...(this.o.config?.models ?? []).map((m) => m.name)]);
    const out: MonitorState[] = [];
    for (const m of [...models].sort()) for (const id of MONITOR_IDS) out.push(this.monitorState(m, id));
    return out;
  }

  /** Latest finding per monitor and version of a model, and its recent breaches (newest first). */
  findings(model: string): { latest: Finding[]; recentBreaches: Finding[] } {
    const latest: Finding[] = [];
    for (const byMonitor of this.latest.get(model)?.values() ?? []) latest.push(...byMonitor.values());
    latest.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : MONITOR_IDS.indexOf(a.monitor as MonitorId) - MONITOR_IDS.indexOf(b.monitor as MonitorId)));
    return { latest, recentBreaches: [...(this.recentBreaches.get(model) ?? [])].reverse() };
  }

  // ------------------------------------------------------------------------------------------
  // One round

  /** One evaluation of every monitor of every live version. Resolves when incident writes are done. */
  tick(now: EpochMs = this.o.clock.now()): Promise<TickSummary> {
    if (this.running) {
      this.skippedBusy++;
      return Promise.resolve({ at: now, skipped: 'busy', evaluations: 0, findings: [], incidents: [] });
    }
    const run = this.round(now).finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async round(now: EpochMs): Promise<TickSummary> {
    const summary: TickSummary = { at: now, evaluations: 0, findings: [], incidents: [] };
    if (this.o.config?.monitors?.enabled === false) return { ...summary, skipped: 'disabled' };
    if (!this.isLeader()) return { ...summary, skipped: 'not_leader' };
    if (this.o.stores && now - this.tuningsLoadedAt >= TUNING_RELOAD_MS) {
      await this.reloadTuning().catch((err) => this.o.onError?.(err, 'monitor tuning reload'));
    }
    this.ticks++;
    this.lastTickAt = now;
    this.reader.setNow(now);
    const byModel = new Map<string, Map<string, EpochMs>>();
    for (const v of this.o.windows.versions()) {
      if (v.shadow) continue;
      let m = byModel.get(v.model);
      if (!m) byModel.set(v.model, (m = new Map()));
      m.set(v.version, v.lastAt);
    }
    const breaches: Array<{ evaluation: MonitorEvaluation; ctx: EvalContext; settings: MonitorSettings }> = [];
    for (const [model, lastAt] of byModel) {
      const serving = this.o.serving(model);
      if (!serving) continue;
      const live = liveVersions(serving);
      this.liveNow.set(model, new Set(live));
      for (const version of live) {
        const role = roleOf(serving, version, lastAt);
        const ctx = new EvalContext(this.reader, role, now, this.refreshMs, this.baselineCache, this.resultCache);
        for (const id of MONITOR_IDS) {
          const settings = this.settingsFor(model, id);
          if (!settings.enabled) continue;
          let evaluation: MonitorEvaluation;
          try {
            evaluation = evaluateMonitor(id, settings, ctx, this.rules);
          } catch (err) {
            this.o.onError?.(err, `monitor ${id} on ${model}@${version}`);
            continue;
          }
          summary.evaluations++;
          const streakKey = `${model}\u0000${version}\u0000${id}`;
          if (evaluation.finding.status === 'breach') {
            this.streaks.set(streakKey, (this.streaks.get(streakKey) ?? 0) + 1);
            this.describeBreach(evaluation, ctx, settings);
            if ((this.streaks.get(streakKey) ?? 0) >= settings.consecutiveBreaches) breaches.push({ evaluation, ctx, settings });
          } else this.streaks.delete(streakKey);
          this.remember(evaluation.finding);
          summary.findings.push(evaluation.finding);
          this.o.bus?.emit('finding', { finding: evaluation.finding });
        }
      }
    }
    for (const [key, entry] of this.baselineCache) if (entry.usedAt < now - 3 * this.refreshMs) this.baselineCache.delete(key);
    if (this.ticks % 60 === 0) this.prune(now);
    for (const b of breaches) {
      try {
        summary.incidents.push(await this.raise(b.evaluation, b.ctx, b.settings));
      } catch (err) {
        this.o.onError?.(err, `incident for ${b.evaluation.finding.monitor} on ${b.evaluation.finding.model}@${b.evaluation.finding.version}`);
      }
    }
    return summary;
  }

  /** Keeps the per-key memories bounded over a long uptime (versions come and go). */
  private prune(now: EpochMs): void {
    for (const [key, entry] of this.resultCache) if (entry.at < now - 120_000) this.resultCache.delete(key);
    for (const [key, memo] of this.breachMemo) if (memo.at < now - 10 * ONSET_REUSE_MS) this.breachMemo.delete(key);
    for (const [key, at] of this.impactAt) if (at < now - 3_600_000) this.impactAt.delete(key);
  }

  /** Onset, size and severity of a breach, written onto its finding (reused for a minute per incident key). */
  private describeBreach(evaluation: MonitorEvaluation, ctx: EvalContext, settings: MonitorSettings): void {
    const f = evaluation.finding;
    const key = `${f.model}\u0000${f.version}\u0000${f.monitor}`;
    let memo = this.breachMemo.get(key);
    // Re-estimated every evaluation while the fault is young (its size from the first second or
    // two is rough), then once a minute.
    const young = memo !== undefined && memo.at - (memo.analysis.onsetAt ?? memo.analysis.since) < YOUNG_FAULT_MS;
    if (!memo || young || f.at - memo.at > ONSET_REUSE_MS) {
      memo = { at: f.at, analysis: analyzeBreach(evaluation, settings, ctx, this.rules) };
      this.breachMemo.set(key, memo);
    }
    const a = memo.analysis;
    f.severity = a.severity;
    if (a.onsetAt !== undefined) f.onsetAt = a.onsetAt;
    f.evidence = { ...f.evidence, magnitude: a.magnitude, detail: `${f.evidence.detail ?? ''}; ${a.detail}` };
    // Impact figures ride along until the incident exists.
    (evaluation as MonitorEvaluation & { analysis?: BreachAnalysis }).analysis = a;
  }

  private remember(f: Finding): void {
    let byVersion = this.latest.get(f.model);
    if (!byVersion) this.latest.set(f.model, (byVersion = new Map()));
    let byMonitor = byVersion.get(f.version);
    if (!byMonitor) byVersion.set(f.version, (byMonitor = new Map()));
    byMonitor.set(f.monitor as MonitorId, f);
    if (f.status === 'breach') {
      let list = this.recentBreaches.get(f.model);
      if (!list) this.recentBreaches.set(f.model, (list = []));
      list.push(f);
      if (list.length > RECENT_BREACHES) list.splice(0, list.length - RECENT_BREACHES);
    }
  }

  private async raise(evaluation: MonitorEvaluation, ctx: EvalContext, settings: MonitorSettings): Promise<TickSummary['incidents'][number]> {
    const f = evaluation.finding;
    const analysis = (evaluation as MonitorEvaluation & { analysis?: BreachAnalysis }).analysis;
    const incidentKey = `${f.model}\u0000${f.version}\u0000${f.family}`;
    // An incident this monitor fed was closed (resolved, declined) while the faulty data is still
    // inside the windows: do not reopen on the same data; fresh data after the windows pass will.
    const previous = this.lastIncident.get(incidentKey);
    if (previous && this.o.stores) {
      const incident = await this.o.stores.incidents.get(previous.id);
      const closedAt = incident && !isActive(incident.status) ? (incident.resolvedAt ?? incident.declinedAt ?? incident.reviewedAt ?? incident.updatedAt) : undefined;
      if (closedAt !== undefined && f.at - closedAt < Math.max(...settings.windows) * 1000) {
        return { finding: f, created: false };
      }
    }
    const result = await this.o.incidents.openOrUpdate(f);
    const incident = result.incident;
    if (!incident) return { finding: f, created: false };
    this.lastIncident.set(incidentKey, { id: incident.id });
    // Severity rises with the fault's estimated size (repeats within the evidence interval are
    // absorbed by the incident service); never above a person's choice, never down.
    const automatic = !incident.severityBasis || incident.severityBasis.setBy === 'system' || incident.severityBasis.setBy.startsWith('monitor:');
    if (f.severity && isActive(incident.status) && automatic && isMoreSevere(f.severity, incident.severity)) {
      await this.o.incidents.setSeverity(incident.id, f.severity, {
        actor: `monitor:${f.monitor}`,
        reason: `the fault's size since its onset is now ${f.evidence.magnitude} (${f.family})`,
      });
    }
    const lastImpact = this.impactAt.get(incident.id);
    if (analysis && isActive(incident.status) && (result.created || lastImpact === undefined || f.at - lastImpact >= IMPACT_EVERY_MS)) {
      this.impactAt.set(incident.id, f.at);
      const impact = await this.impactOf(ctx, analysis);
      await this.o.incidents.setImpact(incident.id, impact, { actor: `monitor:${f.monitor}`, reason: 'impact scope from the metric windows and traces' });
    }
    return { finding: f, incidentId: incident.id, created: result.created };
  }

  /** Traffic share of the version, requests and failed requests since the onset, distinct clients. */
  private async impactOf(ctx: EvalContext, analysis: BreachAnalysis): Promise<ImpactScope> {
    const serving = this.o.serving(ctx.model);
    const weights = serving?.route.weights ?? {};
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    const impact: ImpactScope = {
      trafficShare: total > 0 && serving?.route.mode !== 'paused' ? Math.round(((weights[ctx.version] ?? 0) / total) * 1000) / 1000 : 0,
      requests: analysis.requests,
      failedRequests: analysis.affected,
      since: analysis.since,
    };
    if (this.o.stores) {
      try {
        // Traces reach the store in batches a fraction of a second behind; close enough for a scope.
        const traces = await this.o.stores.traces.query({ model: ctx.model, version: ctx.version, from: analysis.since, limit: 10_000, bodies: false });
        const clients = new Set<string>();
        for (const t of traces) if (t.client) clients.add(t.client);
        impact.clients = clients.size;
      } catch (err) {
        this.o.onError?.(err, 'impact: distinct clients');
      }
    }
    return impact;
  }
}

/** Versions the route sends traffic to now. */
export function liveVersions(serving: ServingModel): string[] {
  if (serving.route.mode === 'paused') return [];
  return Object.entries(serving.route.weights)
    .filter(([, w]) => w > 0)
    .map(([v]) => v)
    .sort();
}

function roleOf(serving: ServingModel, version: string, lastAt: Map<string, EpochMs>): VersionRole {
  const role: VersionRole = { model: serving.model.name, version };
  const stable = serving.stableVersion;
  if (stable && stable !== version) {
    const serving_ = serving.route.mode !== 'paused' && (serving.route.weights[stable] ?? 0) > 0;
    role.stable = { version: stable, serving: serving_ };
    const at = lastAt.get(stable);
    if (at !== undefined) role.stable.lastAt = at;
  }
  return role;
}

/** Field-level merge of two patches (nested objects one level deep). */
export function mergePatch(a: MonitorSettingsPatch | undefined, b: MonitorSettingsPatch): MonitorSettingsPatch {
  const out: Record<string, unknown> = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const cur = out[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) out[k] = { ...cur, ...v };
    else out[k] = v;
  }
  return out as MonitorSettingsPatch;
}
