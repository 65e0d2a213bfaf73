import { describe, expect, it } from 'vitest';
import { EventBus } from '../../core/events.ts';
import { createRandom } from '../../core/stats/random.ts';
import type { Trace } from '../../core/types.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import { resolveMonitorSettings } from './monitor-config.ts';
import { MonitorRunner } from './monitor-runner.ts';
import { simulatedServing } from './monitor-simulation.ts';
import { observationsOf, replayMonitor } from './replay.ts';

const T0 = Date.UTC(2025, 4, 1, 12);
const ONSET = T0 + 600_000;

/** Ten healthy minutes on v1 and v2 (10 req/s each, 0.5% errors), then v2 fails half its calls for a minute. */
async function recordedHistory() {
  const stores = createMemoryStores();
  await stores.models.insert({ name: 'support-bot', kind: 'chat', tags: [], createdAt: T0 });
  const r = createRandom(42);
  const traces: Trace[] = [];
  let n = 0;
  for (let s = 0; s < 660; s++) {
    for (const version of ['v1', 'v2']) {
      for (let i = 0; i < 10; i++) {
        const at = T0 + s * 1000 + Math.floor(r.next() * 1000);
        const failing = version === 'v2' && at >= ONSET;
        const error = r.bernoulli(failing ? 0.5 : 0.005);
        traces.push({
          requestId: `req-${n++}`,
          model: 'support-bot',
          version,
          kind: 'chat',
          startedAt: at,
          latencyMs: r.lognormal(Math.log(120), 0.4),
          httpStatus: error ? 502 : 200,
          status: error ? 'error' : 'ok',
          ...(error ? { errorClass: 'upstream_5xx' } : {}),
          stream: false,
          retried: false,
          inputChars: 200,
          outputChars: error ? 0 : 500,
          client: `c${i % 5}`,
        });
      }
    }
  }
  await stores.traces.insertMany(traces);
  return stores;
}

describe('replay over recorded traces', () => {
  it('rebuilds the observations the live windows got from a trace, retries included', () => {
    const base: Trace = {
      requestId: 'r1',
      model: 'support-bot',
      version: 'v1',
      firstVersion: 'v2',
      kind: 'chat',
      startedAt: T0,
      latencyMs: 300,
      httpStatus: 200,
      status: 'ok',
      errorClass: 'upstream_5xx',
      stream: false,
      retried: true,
      inputChars: 80,
      outputChars: 400,
    };
    const obs = observationsOf(base);
    expect(obs.map((o) => [o.version, o.ok, o.errorClass])).toEqual([
      ['v2', false, 'upstream_5xx'],
      ['v1', true, undefined],
    ]);
    expect(obs[0].inputChars).toBe(80);
    expect(obs[1].inputChars).toBeUndefined();
    expect(observationsOf({ ...base, retried: false, firstVersion: undefined, status: 'ok', outputChars: 0 })[0].invalid).toBe(true);
    expect(observationsOf({ ...base, version: undefined, fallback: 'static' })).toEqual([]);
  });

  it('says when the monitor would have fired, and counts false alarms on healthy history', async () => {
    const stores = await recordedHistory();
    const windows = [
      { from: T0 + 360_000, to: ONSET, kind: 'healthy' as const },
      { from: ONSET, to: ONSET + 30_000, kind: 'incident' as const, onsetAt: ONSET },
    ];
    const settings = resolveMonitorSettings('error-rate', {}, undefined);
    const r = await replayMonitor({ stores, model: 'support-bot', version: 'v2', monitor: 'error-rate', settings, windows, stableVersion: 'v1' });
    // From the windows back by the longest window and the baseline span (60 s + 300 s): T0 … onset + 30 s.
    expect(r.tracesRead).toBe(630 * 20);
    expect(r.falseAlarms).toBe(0);
    expect(r.detected).toBe(true);
    expect(r.firstDetectionDelayMs).toBeLessThanOrEqual(2000);
    expect(r.windows[0].evaluations).toBe(240);
    expect(r.windows[1].firstAlarm?.evidence.detail).toMatch(/stable arm v1/);

    // An over-sensitive setting fires on healthy traffic: the replay shows what it would cost.
    const touchy = { ...settings, baseline: 'none' as const, absoluteThreshold: 0.004, confidence: 0.5 };
    const t = await replayMonitor({ stores, model: 'support-bot', version: 'v2', monitor: 'error-rate', settings: touchy, windows, stableVersion: 'v1' });
    expect(t.falseAlarms).toBeGreaterThan(0);
    expect(t.windows[0].breaches).toBeGreaterThanOrEqual(t.falseAlarms);
  });

  it('runs through MonitorRunner.replay with a settings patch over the settings in force, validated', async () => {
    const stores = await recordedHistory();
    const clock = { now: () => ONSET + 60_000 };
    const incidents = new IncidentService({ stores, clock, bus: new EventBus() });
    const serving = simulatedServing({ name: 'support-bot', kind: 'chat', split: { v1: 0.5, v2: 0.5 }, stable: 'v1' }, T0);
    const runner = new MonitorRunner({ windows: new MetricWindows(), serving: () => serving, incidents, clock, stores });
    const windows = [{ from: ONSET - 60_000, to: ONSET + 20_000, kind: 'incident' as const, onsetAt: ONSET }];
    const r = await runner.replay('support-bot', 'v2', windows, { windows: [30], consecutiveBreaches: 3 }, 'error-rate');
    expect(r.settings).toMatchObject({ windows: [30], consecutiveBreaches: 3, absoluteThreshold: 0.05 });
    expect(r.detected).toBe(true);
    expect(r.windows[0].firstAlarmAt! - ONSET).toBeGreaterThanOrEqual(3000);
    await expect(runner.replay('support-bot', 'v2', windows, { alpha: 2 }, 'error-rate')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(runner.replay('support-bot', 'v2', windows, undefined, 'nope')).rejects.toMatchObject({ code: 'MONITOR_NOT_FOUND' });
    await expect(runner.replay('support-bot', 'v2', [{ from: ONSET, to: ONSET, kind: 'healthy' }], undefined, 'latency')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
