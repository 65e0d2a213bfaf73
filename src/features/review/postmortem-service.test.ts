// The service's handling of its slow parts (monitor replay, golden-set run): a reader that will not
// wait gets the postmortem without them, marked as still running; when they finish the postmortem
// is stored again with them, and later reads reuse the stored results instead of running again.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../core/events.ts';
import type { Trace } from '../../core/types.ts';
import { ManualClock } from '../../../test/helpers/foundation.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { StagingReport } from '../staging/validate-version.ts';
import type { ReplayOutcome, ReviewMonitoring } from './detection-replay.ts';
import { POSTMORTEM_EVENT, PostmortemService } from './postmortem-service.ts';

const T0 = Date.UTC(2025, 7, 1, 8, 0, 0);

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function setup() {
  const stores = createMemoryStores();
  const clock = new ManualClock(T0 - 60_000);
  const bus = new EventBus();
  const incidents = new IncidentService({ stores, clock, bus });
  await stores.models.insert({ name: 'm', kind: 'chat', tags: [], createdAt: clock.now() });
  const version = (v: string, state: 'stable' | 'live') => ({
    model: 'm',
    version: v,
    upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
    state,
    contentHash: `hash-${v}`,
    createdAt: clock.now(),
    stateChangedAt: clock.now(),
  });
  await stores.versions.insert(version('v1', 'stable'));
  await stores.versions.insert(version('v2', 'live'));
  const traces: Trace[] = [];
  for (let i = 0; i < 120; i++) {
    const at = T0 - 60_000 + i * 1000;
    traces.push({ requestId: `r${i}`, model: 'm', version: i % 2 ? 'v1' : 'v2', kind: 'chat', startedAt: at, latencyMs: 5, httpStatus: 200, status: 'ok', stream: false, retried: false, inputChars: 1, outputChars: 1 });
  }
  await stores.traces.insertMany(traces);
  clock.t = T0 + 30_000;
  const { incident } = await incidents.openOrUpdate({ monitor: 'error-rate', family: 'errors', model: 'm', version: 'v2', status: 'breach', at: clock.now(), onsetAt: T0, evidence: { test: 'rate' } });

  const replayCalls: string[] = [];
  const gate = deferred<void>();
  const monitoring: ReviewMonitoring = {
    // No settings: the service replays through this port (not the in-memory engine).
    settingsFor: () => undefined,
    replay: async (_m, version, windows, settings): Promise<ReplayOutcome> => {
      replayCalls.push(`${version}:${JSON.stringify(settings ?? {})}`);
      await gate.promise;
      return { windows: windows.map((w) => ({ ...w, evaluations: 10, breaches: 0, insufficientData: 0, alarms: 0, ...(w.kind === 'incident' ? { firstAlarmAt: T0 + 20_000 } : {}) })) };
    },
    applyTuning: async () => ({}),
  };
  let validations = 0;
  const report = { version: 'v2', passed: false, passRate: 0.5, total: 4, passedCases: 2, failedCases: 2, summary: 'v2: 2/4', gates: { passRate: { value: 0.5, threshold: 0.95, passed: false }, latencyP95: { value: 10, threshold: 2000, passed: true } }, errors: {}, finishedAt: T0 } as unknown as StagingReport;
  const service = new PostmortemService({
    stores,
    clock,
    incidents,
    audit: { lock: async () => {}, append: async () => ({}) },
    monitoring: () => monitoring,
    monitorKind: () => 'rate',
    validateVersion: async () => {
      validations++;
      await gate.promise;
      return report;
    },
  });
  return { stores, clock, service, incidentId: incident!.id, gate, replayCalls, validations: () => validations };
}

describe('PostmortemService slow parts', () => {
  it('answers without them, stores the postmortem again when they finish, then reuses them', async () => {
    const s = await setup();
    const draft = await s.service.generate(s.incidentId, { waitMs: 0 });
    expect(draft.questions.detectedEarlier.status).toBe('insufficient_data');
    expect(draft.questions.detectedEarlier.reasons[0]).toMatch(/^the monitor replay is still running \(started .*\); the postmortem is stored again when it finishes$/);
    expect(draft.questions.validationThresholds.reasons[0]).toMatch(/^the golden-set run is still running/);
    // A second impatient reader does not start them again.
    await s.service.generate(s.incidentId, { waitMs: 0, store: false });
    expect(s.validations()).toBe(1);
    expect(s.replayCalls).toHaveLength(1);

    s.gate.resolve();
    await s.service.idle();
    const events = await s.stores.incidents.timeline(s.incidentId, { kinds: [POSTMORTEM_EVENT] });
    expect(events.length).toBe(2);
    const stored = (events[1]!.data as { postmortem: { questions: any } }).postmortem;
    expect(stored.questions.validationThresholds).toMatchObject({ answer: 'not_validated', report: { version: 'v2', passRate: 0.5, source: 'replay' } });
    expect(stored.questions.detectedEarlier.status).not.toBe('insufficient_data');
    expect(stored.questions.detectedEarlier.trials[0]).toMatchObject({ label: 'current', firstBreachAt: new Date(T0 + 20_000).toISOString() });

    // Later reads reuse what is stored: nothing runs again.
    const calls = s.replayCalls.length;
    s.clock.t += 5_000;
    const again = await s.service.generate(s.incidentId);
    expect(again.questions.validationThresholds.answer).toBe('not_validated');
    expect(s.validations()).toBe(1);
    expect(s.replayCalls.length).toBe(calls);
    // ...unless asked to refresh.
    await s.service.generate(s.incidentId, { refresh: true });
    expect(s.validations()).toBe(2);
  });
});
