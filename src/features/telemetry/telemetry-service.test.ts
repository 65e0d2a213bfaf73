import { afterEach, describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import { MemoryTraceStore } from './memory-trace-store.ts';
import { MODEL_LEVEL } from './metric-windows.ts';
import { TelemetryService, labelMatches } from './telemetry-service.ts';

const T0 = Date.UTC(2025, 0, 1);
const services: TelemetryService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});

function make() {
  const store = new MemoryTraceStore();
  const t = new TelemetryService({
    store,
    clock: { now: () => T0 },
    traces: { captureInput: true, captureOutput: true, maxChars: 100, redact: [], retention: { maxAgeHours: 24, maxCount: 1000 }, flushIntervalMs: 60_000 },
    defaultMetrics: false,
  });
  services.push(t);
  return { t, store };
}

const base = (extra: Partial<Trace>): Trace => ({
  requestId: 'req_1',
  model: 'bot',
  version: 'v1',
  kind: 'chat',
  startedAt: T0,
  latencyMs: 12,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 4,
  ...extra,
});

describe('TelemetryService', () => {
  it('counts a retried request as an error and a retry of the first version and a success of the stable one', async () => {
    const { t, store } = make();
    t.observe(base({ version: 'v1', firstVersion: 'v2', retried: true, errorClass: 'upstream_5xx', promptTokens: 5, completionTokens: 9 }), [
      { version: 'v2', ok: false, errorClass: 'upstream_5xx', latencyMs: 3 },
      { version: 'v1', ok: true, latencyMs: 8 },
    ]);
    const v2 = t.windows.snapshot('bot', 'v2', T0, T0 + 1000);
    expect(v2).toMatchObject({ requests: 1, errors: 1, retries: 1, errorClasses: { upstream_5xx: 1 }, inputChars: 10 });
    const v1 = t.windows.snapshot('bot', 'v1', T0, T0 + 1000);
    expect(v1).toMatchObject({ requests: 1, errors: 0, completionTokens: 9, outputChars: 4, inputChars: 0 });
    expect(v1.latency.max).toBeCloseTo(8, 0);
    const text = await t.metrics.text();
    expect(text).toMatch(/failsafe_requests_total\{model="bot",version="v1",status="ok"\} 1/);
    expect(text).toMatch(/failsafe_request_errors_total\{model="bot",version="v2",error_class="upstream_5xx"\} 1/);
    expect(text).toMatch(/failsafe_retries_total\{model="bot",version="v2"\} 1/);
    expect(text).toMatch(/failsafe_tokens_total\{model="bot",version="v1",type="completion"\} 9/);
    expect(text).toMatch(/failsafe_request_duration_seconds_count\{model="bot",version="v1"\} 1/);
    await t.flush();
    expect((await store.get('req_1'))!.firstVersion).toBe('v2');
  });

  it('counts a call the circuit breaker skipped as a failure of its version, with no latency', () => {
    const { t } = make();
    t.observe(base({ version: 'v1', firstVersion: 'v2', retried: true, errorClass: 'circuit_open' }), [
      { version: 'v2', ok: false, errorClass: 'circuit_open', latencyMs: 0.01 },
      { version: 'v1', ok: true, latencyMs: 8 },
    ]);
    const v2 = t.windows.snapshot('bot', 'v2', T0, T0 + 1000);
    expect(v2).toMatchObject({ requests: 1, errors: 1, errorClasses: { circuit_open: 1 } });
    expect(v2.latency.count).toBe(0);
  });

  it('records answers without a version (paused, fallback) at model level and counts fallbacks', async () => {
    const { t } = make();
    t.observe(base({ requestId: 'req_2', version: undefined, status: 'fallback', fallback: 'static' }), []);
    t.observe(base({ requestId: 'req_3', version: undefined, status: 'error', errorClass: 'paused', httpStatus: 503 }), []);
    const m = t.windows.snapshot('bot', MODEL_LEVEL, T0, T0 + 1000);
    expect(m).toMatchObject({ requests: 2, fallbacks: 1, errors: 1 });
    expect(t.windows.versions()).toEqual([]);
    expect(await t.metrics.text()).toMatch(/failsafe_fallbacks_total\{model="bot",source="static"\} 1/);
  });

  it('counts empty answers and validator failures as invalid outputs', () => {
    const { t } = make();
    t.observe(base({ requestId: 'a', outputChars: 0 }));
    t.observe(base({ requestId: 'b', validators: [{ validator: 'pii', passed: false, action: 'flag' }] }));
    t.observe(base({ requestId: 'c' }));
    expect(t.windows.snapshot('bot', 'v1', T0, T0 + 1000)).toMatchObject({ requests: 3, invalid: 2, errors: 0 });
  });

  it('records feedback in windows and Prometheus; labels are compared with the prediction', async () => {
    const { t } = make();
    t.observe(base({ requestId: 'p', kind: 'predict', prediction: 'Positive' }));
    expect(t.lookupRecent('p')).toMatchObject({ model: 'bot', version: 'v1', prediction: 'Positive' });
    t.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0, rating: -1, label: 'positive ', prediction: 'Positive' });
    t.recordFeedback({ model: 'bot', version: 'v1', requestAt: T0, label: 'negative', prediction: 'Positive' });
    expect(t.windows.snapshot('bot', 'v1', T0, T0 + 1000)).toMatchObject({ feedbackNegative: 1, labelsTotal: 2, labelsCorrect: 1 });
    const text = await t.metrics.text();
    expect(text).toMatch(/failsafe_feedback_total\{model="bot",version="v1",kind="negative"\} 1/);
    expect(text).toMatch(/failsafe_feedback_total\{model="bot",version="v1",kind="label_incorrect"\} 1/);
    expect(labelMatches(' A ', 'a')).toBe(true);
  });
});
