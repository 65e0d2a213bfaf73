// The monitor runner driven by a fake clock over real metric windows filled with synthetic traffic:
// no timers, no HTTP. Each tick is what the live loop does once a second.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../core/events.ts';
import type { EpochMs, Finding } from '../../core/types.ts';
import { compareSeverity, severityFor } from '../../core/detectors/severity.ts';
import { AuditLog } from '../audit/audit-service.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import type { ModelMonitorsConfig, MonitorsConfig } from './monitor-config.ts';
import { MonitorRunner, type TickSummary } from './monitor-runner.ts';
import { simulatedServing, type SimulatedModel } from './monitor-simulation.ts';
import { SyntheticTraffic, type VersionFault } from './synthetic-traffic.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 0);

interface KitOptions {
  models?: SimulatedModel[];
  monitors?: Partial<MonitorsConfig>;
  modelMonitors?: Record<string, ModelMonitorsConfig>;
  seed?: number;
  leader?: () => boolean;
  traffic?: SimulatedModel['profile'];
  windows?: MetricWindows;
}

async function kit(o: KitOptions = {}) {
  const models = o.models ?? [{ name: 'support-bot', kind: 'chat', split: { v1: 0.5, v2: 0.5 }, stable: 'v1', profile: o.traffic }];
  const clock = { t: T0, now(): EpochMs { return this.t; } };
  const stores = createMemoryStores();
  const errors: unknown[] = [];
  const bus = new EventBus((err) => errors.push(err));
  const audit = new AuditLog({ stores, clock });
  const incidents = new IncidentService({ stores, clock, bus, audit });
  const windows = o.windows ?? new MetricWindows();
  const servings = new Map<string, ServingModel>(models.map((m) => [m.name, simulatedServing(m, T0)]));
  for (const m of models) await stores.models.insert({ name: m.name, kind: m.kind, tags: [], createdAt: T0 });
  const runner = new MonitorRunner({
    windows,
    serving: (name) => servings.get(name),
    incidents,
    clock,
    bus,
    stores,
    audit,
    config: { monitors: o.monitors, models: models.map((m) => ({ name: m.name, monitors: o.modelMonitors?.[m.name] })) },
    isLeader: o.leader,
    onError: (err) => errors.push(err),
  });
  const traffic = new SyntheticTraffic(windows, models, o.seed ?? 7);
  const findings: Finding[] = [];
  bus.on('finding', ({ finding }) => {
    findings.push(finding);
  });
  let second = 0;
  /** Simulates n seconds; returns each tick's summary. */
  const run = async (n: number, onTick?: (t: TickSummary, second: number) => boolean | void): Promise<TickSummary[]> => {
    const out: TickSummary[] = [];
    for (let i = 0; i < n; i++, second++) {
      traffic.second(T0 + second * 1000);
      clock.t = T0 + (second + 1) * 1000 + 1;
      const t = await runner.tick(clock.t);
      out.push(t);
      if (onTick?.(t, second)) break;
    }
    return out;
  };
  return {
    runner,
    stores,
    incidents,
    windows,
    traffic,
    clock,
    findings,
    errors,
    servings,
    run,
    second: () => second,
    fault: (version: string, fault: VersionFault | undefined, model = models[0].name) => traffic.setFault(model, version, fault),
  };
}

/** Each breach's severity is its family's rule for its size; the incident holds the most severe. */
function expectRuleSeverity(breaches: Finding[], incident: { family: string; version?: string; severity: string }) {
  const mine = breaches.filter((f) => f.family === incident.family && f.version === incident.version);
  expect(mine.length).toBeGreaterThan(0);
  for (const f of mine) expect(f.severity).toBe(severityFor(f.family, f.evidence.magnitude!));
  expect(incident.severity).toBe(mine.map((f) => f.severity!).sort(compareSeverity)[0]);
}

describe('MonitorRunner: evaluations and findings', () => {
  it('says "insufficient data" explicitly before there is enough traffic, and ok once there is', async () => {
    const k = await kit({ traffic: { minRps: 2, maxRps: 3 } });
    const [first] = await k.run(1);
    const errorRate = first.findings.find((f) => f.monitor === 'error-rate' && f.version === 'v2')!;
    expect(errorRate.status).toBe('insufficient_data');
    expect(errorRate.evidence.detail).toMatch(/trials in window, need ≥ 10/);
    expect(first.evaluations).toBe(20); // 10 monitors × 2 live versions
    await k.run(60);
    // Enough requests now, but the stable arm's baseline is still too small to compare with.
    const later = k.runner.findings('support-bot').latest.find((f) => f.monitor === 'error-rate' && f.version === 'v2')!;
    expect(later.status).toBe('insufficient_data');
    expect(later.evidence.sampleSize).toBeGreaterThanOrEqual(10);
    expect(later.evidence.detail).toMatch(/baseline has \d+ trials, need ≥ 100/);
    expect(k.findings.length).toBe(61 * 20);
    await k.runner.applyTuning('support-bot', 'error-rate', { minBaselineSamples: 20 }, { actor: 'test' });
    const [t] = await k.run(1);
    expect(t.findings.find((f) => f.monitor === 'error-rate' && f.version === 'v2')?.status).toBe('ok');
    expect(k.errors).toEqual([]);
  });

  it('compares a version in a split with the stable arm, and the stable version with its own past', async () => {
    const k = await kit();
    await k.run(400);
    const latest = k.runner.findings('support-bot').latest;
    const v2 = latest.find((f) => f.monitor === 'error-rate' && f.version === 'v2')!;
    const v1 = latest.find((f) => f.monitor === 'error-rate' && f.version === 'v1')!;
    expect(v2.status).toBe('ok');
    expect(v2.evidence.detail).toMatch(/baseline stable arm v1/);
    expect(v2.evidence.test).toBe('msprt-two-sample');
    expect(v2.evidence.baselineSampleSize).toBeGreaterThan(1000);
    expect(v1.evidence.detail).toMatch(/baseline own earlier traffic/);
    expect(await k.incidents.list()).toEqual([]);
  });

  it('does nothing on a replica that is not the leader', async () => {
    let leader = false;
    const k = await kit({ leader: () => leader });
    const [t] = await k.run(1);
    expect(t.skipped).toBe('not_leader');
    expect(t.evaluations).toBe(0);
    leader = true;
    const [t2] = await k.run(1);
    expect(t2.skipped).toBeUndefined();
    expect(t2.evaluations).toBe(20);
  });

  it('runs nothing for a model whose monitors are disabled, or a paused model', async () => {
    const k = await kit({ modelMonitors: { 'support-bot': { enabled: false } } });
    const [t] = await k.run(1);
    expect(t.evaluations).toBe(0);
    const k2 = await kit();
    const s = k2.servings.get('support-bot')!;
    k2.servings.set('support-bot', { ...s, route: { ...s.route, mode: 'paused' } });
    const [t2] = await k2.run(1);
    expect(t2.evaluations).toBe(0);
  });
});

describe('MonitorRunner: hard faults become one incident', () => {
  it('detects 50% errors on the canary within 2 s, with severity, onset, evidence and impact', async () => {
    const k = await kit({ seed: 11 });
    await k.run(90);
    expect(await k.incidents.list()).toEqual([]);
    const faultSecond = k.second();
    k.fault('v2', { errorRate: 0.5 });
    const ticks = await k.run(30, (t) => t.incidents.some((i) => i.created));
    const detectedAfter = ticks.length;
    expect(detectedAfter).toBeLessThanOrEqual(2);
    await k.run(20);
    const list = await k.incidents.list();
    expect(list).toHaveLength(1);
    const incident = list[0];
    expect(incident).toMatchObject({ model: 'support-bot', version: 'v2', family: 'errors', source: 'monitor', status: 'open' });
    // Severity follows the rules for the fault's size since its onset, and rises with it.
    const magnitude = incident.evidence[0].magnitude!;
    expect(magnitude).toBeGreaterThan(0.3);
    expectRuleSeverity(k.runner.findings('support-bot').recentBreaches, incident);
    expect(['SEV1', 'SEV2']).toContain(incident.severity);
    // Onset within a second of the truth.
    expect(Math.abs(incident.onsetAt! - (T0 + faultSecond * 1000))).toBeLessThanOrEqual(1000);
    const e = incident.evidence[0];
    expect(e.test).toMatch(/msprt-two-sample|rate-threshold/);
    expect(e.window).toBeDefined();
    expect(e.sampleSize).toBeGreaterThan(0);
    expect(e.statistic).toBeDefined();
    expect(e.threshold).toBeDefined();
    expect(e.pValue ?? e.bound).toBeDefined();
    expect(incident.impact.trafficShare).toBe(0.5);
    expect(incident.impact.requests).toBeGreaterThan(0);
    expect(incident.impact.failedRequests).toBeGreaterThan(0);
    expect(incident.impact.since).toBe(incident.onsetAt);
    expect(k.errors).toEqual([]);
  });

  it('sizes a fault detected within its first second on its own tenths of that second', async () => {
    // v2 fails half its requests from 700 ms into a second, and the tick at 900 ms detects it: the
    // second's bucket is 7/9 healthy, so on whole seconds the 50% fault would look like 11%.
    const detectWithinOnsetSecond = async (windows?: MetricWindows) => {
      const k = await kit({ seed: 11, traffic: { minRps: 200, maxRps: 200 }, windows });
      await k.run(60);
      const onsetSecond = T0 + k.second() * 1000;
      let v2Requests = 0;
      for (let ms = 0; ms < 900; ms += 5) {
        for (const version of ['v1', 'v2']) {
          const failing = version === 'v2' && ms >= 700 && ++v2Requests % 2 === 0;
          k.windows.record({ model: 'support-bot', version, at: onsetSecond + ms, latencyMs: 100, ok: !failing, errorClass: failing ? 'upstream_5xx' : undefined });
        }
      }
      k.clock.t = onsetSecond + 900;
      const tick = await k.runner.tick(k.clock.t);
      expect(tick.incidents.filter((i) => i.created)).toHaveLength(1);
      const [incident] = await k.incidents.list();
      expect(incident).toMatchObject({ version: 'v2', family: 'errors' });
      expect(incident.onsetAt).toBe(onsetSecond);
      expect(k.errors).toEqual([]);
      return incident;
    };
    const sized = await detectWithinOnsetSecond();
    expect(sized.evidence[0].magnitude).toBeGreaterThan(0.4);
    expect(sized.evidence[0].magnitude).toBeLessThan(0.6);
    expect(['SEV1', 'SEV2']).toContain(sized.severity);
    expect(sized.evidence[0].detail).toMatch(/the fault's start within its first second/);
    // Without the tenths (a reader that keeps none), the same detection sizes on the whole second.
    class WholeSecondsOnly extends MetricWindows {
      override tenths() {
        return [];
      }
    }
    const diluted = await detectWithinOnsetSecond(new WholeSecondsOnly());
    expect(diluted.evidence[0].magnitude).toBeLessThan(0.2);
    expect(diluted.severity).toBe('SEV3');
  });

  it('detects latency ×10 within 2 s as a latency incident and nothing else', async () => {
    const k = await kit({ seed: 12 });
    await k.run(90);
    k.fault('v2', { latencyFactor: 10 });
    const ticks = await k.run(30, (t) => t.incidents.some((i) => i.created));
    expect(ticks.length).toBeLessThanOrEqual(2);
    await k.run(10);
    const list = await k.incidents.list();
    expect(list.map((i) => `${i.version}/${i.family}`)).toEqual(['v2/latency']);
    const magnitude = list[0].evidence[0].magnitude!;
    expect(magnitude).toBeGreaterThan(5);
    expectRuleSeverity(k.runner.findings('support-bot').recentBreaches, list[0]);
  });

  it('counts malformed answers as output validity, not as errors: one incident', async () => {
    const k = await kit({ seed: 13 });
    await k.run(90);
    // The gateway records a malformed answer as a failed attempt of class malformed_output.
    const realRecord = k.windows.record.bind(k.windows);
    k.windows.record = (o) => {
      if (o.version === 'v2' && o.ok && Math.random() < 0.5) return realRecord({ ...o, ok: false, errorClass: 'malformed_output', outputChars: undefined });
      return realRecord(o);
    };
    await k.run(10);
    const list = await k.incidents.list();
    expect(list.map((i) => `${i.version}/${i.family}`)).toEqual(['v2/validity']);
  });

  it('waits for consecutiveBreaches evaluations in a row before opening an incident', async () => {
    const k = await kit({ seed: 14, monitors: { 'error-rate': { consecutiveBreaches: 3 } } });
    await k.run(90);
    k.fault('v2', { errorRate: 0.5 });
    const ticks = await k.run(30, (t) => t.incidents.some((i) => i.created));
    const firstBreach = ticks.findIndex((t) => t.findings.some((f) => f.monitor === 'error-rate' && f.status === 'breach'));
    expect(firstBreach).toBeGreaterThanOrEqual(0);
    expect(ticks.length - 1 - firstBreach).toBe(2);
  });

  it('does not reopen an incident someone closed while the faulty data is still in the windows', async () => {
    const k = await kit({ seed: 15 });
    await k.run(90);
    k.fault('v2', { errorRate: 0.5 });
    await k.run(5);
    k.fault('v2', undefined);
    const [incident] = await k.incidents.list();
    await k.incidents.resolve(incident.id, { actor: 'test', reason: 'fixed' });
    await k.run(20);
    expect(await k.incidents.list()).toHaveLength(1);
    // The same fault again, after the windows moved on: a new incident.
    await k.run(60);
    k.fault('v2', { errorRate: 0.5 });
    await k.run(5);
    expect(await k.incidents.list()).toHaveLength(2);
  });
});

describe('MonitorRunner: tuning', () => {
  it('applies a tuning patch at run time, persisted and audited, and can remove it', async () => {
    const k = await kit();
    const before = k.runner.settingsFor('support-bot', 'error-rate');
    expect(before).toMatchObject({ absoluteThreshold: 0.05, windows: [2, 10, 60] });
    const state = await k.runner.applyTuning('support-bot', 'error-rate', { absoluteThreshold: 0.02, minEffect: { relative: 1.2 } }, { actor: 'key:ops', reason: 'postmortem INC-1' });
    expect(state.settings).toMatchObject({ absoluteThreshold: 0.02, minEffect: { absolute: 0.01, relative: 1.2 } });
    expect(state.tuning?.updatedBy).toBe('key:ops');
    // Merged with earlier tuning.
    await k.runner.applyTuning('support-bot', 'error-rate', { windows: [5, 30] }, { actor: 'key:ops' });
    expect(k.runner.settingsFor('support-bot', 'error-rate')).toMatchObject({ absoluteThreshold: 0.02, windows: [5, 30] });
    expect((await k.stores.monitorTuning.get('support-bot', 'error-rate'))?.settings).toEqual({ absoluteThreshold: 0.02, minEffect: { relative: 1.2 }, windows: [5, 30] });
    const audit = await k.stores.audit.list({ action: 'monitor.tune' });
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ actor: 'key:ops', target: 'monitor:support-bot/error-rate', reason: 'postmortem INC-1' });
    expect((audit[0].after as { settings: { absoluteThreshold: number } }).settings.absoluteThreshold).toBe(0.02);
    // In force for evaluations.
    const [t] = await k.run(1);
    expect(t.findings.find((f) => f.monitor === 'error-rate')?.evidence.window).toBeDefined();
    await k.runner.clearTuning('support-bot', 'error-rate', { actor: 'key:ops', reason: 'back to config' });
    expect(k.runner.settingsFor('support-bot', 'error-rate')).toEqual(before);
    expect(await k.stores.monitorTuning.get('support-bot', 'error-rate')).toBeUndefined();
    expect(await k.stores.audit.list({ action: 'monitor.untune' })).toHaveLength(1);
  });

  it('refuses impossible values, unknown monitors and unknown models, naming the problem', async () => {
    const k = await kit();
    await expect(k.runner.applyTuning('support-bot', 'error-rate', { alpha: 1.5 }, { actor: 'a' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('settings.alpha'),
    });
    await expect(k.runner.applyTuning('support-bot', 'error-rate', { absoluteThreshold: -0.1 }, { actor: 'a' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(k.runner.applyTuning('support-bot', 'latency', { minSamples: 0 }, { actor: 'a' })).rejects.toMatchObject({
      message: expect.stringContaining('settings.minSamples'),
    });
    await expect(k.runner.applyTuning('support-bot', 'latency', { bogus: 1 }, { actor: 'a' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(k.runner.applyTuning('support-bot', 'nope', {}, { actor: 'a' })).rejects.toMatchObject({ code: 'MONITOR_NOT_FOUND' });
    await expect(k.runner.applyTuning('nobody', 'latency', {}, { actor: 'a' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(await k.stores.monitorTuning.list()).toEqual([]);
  });

  it('picks up tuning another replica stored', async () => {
    const k = await kit();
    await k.stores.monitorTuning.upsert({ model: 'support-bot', monitor: 'latency', settings: { minRatio: 3 }, updatedAt: T0, updatedBy: 'other' });
    await k.run(1);
    expect(k.runner.settingsFor('support-bot', 'latency')).toMatchObject({ minRatio: 3 });
  });
});
