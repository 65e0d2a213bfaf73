// The monitor runner over simulated time: synthetic traffic (synthetic-traffic.ts) goes into real
// metric windows, the real runner evaluates every second with a fake clock, and a real incident
// service (in-memory stores) opens incidents. What the false-alarm test and bench/detect.ts run.
import pino from 'pino';
import { EventBus } from '../../core/events.ts';
import type { EpochMs, Finding, Incident, ModelVersion, VersionState } from '../../core/types.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import type { ModelMonitorsConfig, MonitorsConfig } from './monitor-config.ts';
import { MonitorRunner } from './monitor-runner.ts';
import { SyntheticTraffic, type SyntheticModel, type VersionFault } from './synthetic-traffic.ts';

export interface SimulatedModel extends SyntheticModel {
  /** The stable version (default: the first of the split). */
  stable?: string;
}

export interface SimulatedFault {
  atSecond: number;
  model: string;
  version: string;
  fault: VersionFault;
}

export interface MonitorSimulationOptions {
  seed: number;
  seconds: number;
  models: SimulatedModel[];
  faults?: SimulatedFault[];
  monitors?: Partial<MonitorsConfig>;
  modelMonitors?: Record<string, ModelMonitorsConfig>;
  /** Stop at the first incident opened after this second (time-to-detect runs). */
  stopOnIncidentAfter?: number;
  /** Epoch of second 0 (default 2025-01-01). */
  startAt?: EpochMs;
}

export interface MonitorSimulationResult {
  seed: number;
  seconds: number;
  requests: number;
  evaluations: number;
  breaches: number;
  breachesByMonitor: Record<string, number>;
  insufficientData: number;
  incidents: Incident[];
  /** The first breaching findings, for diagnosis. */
  firstBreaches: Finding[];
  /** First incident opened after stopOnIncidentAfter: when (seconds after the fault second) and which. */
  detection?: { second: number; afterFaultSeconds: number; incident: Incident };
  wallMs: number;
}

const DEFAULT_START = Date.UTC(2025, 0, 1);

/** A serving model for a simulated one: every version registered, `stable` in state stable, weights from the split. */
export function simulatedServing(m: SimulatedModel, at: EpochMs): ServingModel {
  const stable = m.stable ?? Object.keys(m.split)[0];
  const versions: Record<string, ModelVersion> = {};
  for (const v of Object.keys(m.split)) {
    const state: VersionState = v === stable ? 'stable' : 'live';
    versions[v] = {
      model: m.name,
      version: v,
      upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
      state,
      contentHash: v,
      createdAt: at,
      stateChangedAt: at,
    };
  }
  const weights: Record<string, number> = {};
  const entries = Object.entries(m.split);
  let left = 100;
  entries.forEach(([v, share], i) => {
    const w = i === entries.length - 1 ? left : Math.round(share * 100);
    weights[v] = w;
    left -= w;
  });
  return {
    model: { name: m.name, kind: m.kind, tags: [], createdAt: at },
    route: { model: m.name, weights, mode: 'serving', revision: 1, updatedAt: at, updatedBy: 'sim' },
    versions,
    stableVersion: stable,
  };
}

export async function simulateMonitoredTraffic(o: MonitorSimulationOptions): Promise<MonitorSimulationResult> {
  const started = Date.now();
  const startAt = o.startAt ?? DEFAULT_START;
  const clock = { t: startAt, now(): EpochMs { return this.t; } };
  const stores = createMemoryStores();
  const bus = new EventBus();
  const incidents = new IncidentService({ stores, clock, bus });
  const windows = new MetricWindows();
  const serving = new Map(o.models.map((m) => [m.name, simulatedServing(m, startAt)]));
  for (const m of o.models) await stores.models.insert({ name: m.name, kind: m.kind, tags: [], createdAt: startAt }).catch(() => undefined);
  const runner = new MonitorRunner({
    windows,
    serving: (model) => serving.get(model),
    incidents,
    clock,
    bus,
    stores,
    config: {
      monitors: o.monitors,
      models: o.models.map((m) => ({ name: m.name, monitors: o.modelMonitors?.[m.name] })),
    },
    onError: (err, what) => pino({ level: 'error' }).error({ err }, what),
  });
  const traffic = new SyntheticTraffic(windows, o.models, o.seed);
  const result: MonitorSimulationResult = {
    seed: o.seed,
    seconds: o.seconds,
    requests: 0,
    evaluations: 0,
    breaches: 0,
    breachesByMonitor: {},
    insufficientData: 0,
    incidents: [],
    firstBreaches: [],
    wallMs: 0,
  };
  const faults = [...(o.faults ?? [])].sort((a, b) => a.atSecond - b.atSecond);
  for (let s = 0; s < o.seconds; s++) {
    for (const f of faults) if (f.atSecond === s) traffic.setFault(f.model, f.version, f.fault);
    traffic.second(startAt + s * 1000);
    // The runner looks just after the second ends, as the live loop does.
    clock.t = startAt + (s + 1) * 1000 + 1;
    const tick = await runner.tick(clock.t);
    result.evaluations += tick.evaluations;
    for (const f of tick.findings) {
      if (f.status === 'insufficient_data') result.insufficientData++;
      if (f.status !== 'breach') continue;
      result.breaches++;
      result.breachesByMonitor[f.monitor] = (result.breachesByMonitor[f.monitor] ?? 0) + 1;
      if (result.firstBreaches.length < 5) result.firstBreaches.push(f);
    }
    if (o.stopOnIncidentAfter !== undefined && s >= o.stopOnIncidentAfter) {
      const opened = tick.incidents.find((i) => i.created);
      if (opened?.incidentId) {
        const incident = await incidents.get(opened.incidentId);
        result.detection = { second: s, afterFaultSeconds: s - o.stopOnIncidentAfter + 1, incident };
        break;
      }
    }
  }
  result.requests = traffic.requests;
  result.incidents = await incidents.list({ limit: 1000 });
  result.wallMs = Date.now() - started;
  return result;
}

/** The two models of the false-alarm simulation: a chat model in a 50/50 split, a predict model on its stable version alone. */
export const SIMULATED_MODELS: SimulatedModel[] = [
  { name: 'support-bot', kind: 'chat', split: { v1: 0.5, v2: 0.5 }, stable: 'v1' },
  { name: 'fraud-scorer', kind: 'predict', split: { v1: 1 }, stable: 'v1' },
];
