import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.ts';
import { BUILTIN_MONITOR_DEFAULTS, MONITOR_IDS, resolveMonitorSettings } from './monitor-config.ts';

const model = (monitors: unknown) => ({
  name: 'support-bot',
  kind: 'chat',
  versions: [{ version: 'v1', upstream: { url: 'http://127.0.0.1:9001/v1' } }],
  monitors,
});

const refusal = (raw: unknown): string => {
  try {
    parseConfig(raw, {});
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
};

describe('monitors configuration', () => {
  it('works with no configuration at all: every built-in monitor on, with its defaults', () => {
    const config = parseConfig({}, {});
    expect(config.monitors).toMatchObject({ enabled: true, intervalMs: 1000, leaderRetryMs: 5000, baselineRefreshSeconds: 10 });
    for (const id of MONITOR_IDS) {
      const s = resolveMonitorSettings(id, config.monitors, undefined);
      expect(s.enabled).toBe(true);
      expect(s.windows.length).toBeGreaterThan(0);
      expect(s.minSamples).toBeGreaterThanOrEqual(1);
    }
    expect(resolveMonitorSettings('error-rate', config.monitors, undefined)).toEqual(BUILTIN_MONITOR_DEFAULTS['error-rate']);
  });

  it('merges built-in ← global ← model ← tuning, field by field', () => {
    const config = parseConfig(
      {
        monitors: { 'error-rate': { absoluteThreshold: 0.1, minEffect: { relative: 2 } }, latency: { thresholdsMs: { p99: 2000 } } },
        models: [model({ 'error-rate': { windows: [60, 5] }, latency: { thresholdsMs: { p95: 800 } } })],
      },
      {},
    );
    const m = config.models[0].monitors;
    const errors = resolveMonitorSettings('error-rate', config.monitors, m, { alpha: 0.01 });
    expect(errors).toMatchObject({ absoluteThreshold: 0.1, windows: [5, 60], alpha: 0.01, minEffect: { absolute: 0.01, relative: 2 } });
    expect(resolveMonitorSettings('latency', config.monitors, m)).toMatchObject({ thresholdsMs: { p99: 2000, p95: 800 } });
    // null turns an absolute threshold off.
    expect(resolveMonitorSettings('error-rate', config.monitors, m, { absoluteThreshold: null })).toMatchObject({ absoluteThreshold: null });
  });

  it('turns every monitor of a model off with enabled: false', () => {
    const config = parseConfig({ models: [model({ enabled: false })] }, {});
    expect(resolveMonitorSettings('latency', config.monitors, config.models[0].monitors).enabled).toBe(false);
  });

  it.each([
    [{ monitors: { 'error-rate': { alpha: 1.5 } } }, 'monitors.error-rate.alpha: alpha must be < 1'],
    [{ monitors: { 'error-rate': { alpha: 0 } } }, 'monitors.error-rate.alpha: alpha must be > 0'],
    [{ monitors: { latency: { minSamples: 0 } } }, 'monitors.latency.minSamples: minSamples must be ≥ 1'],
    [{ monitors: { 'output-validity': { absoluteThreshold: -0.1 } } }, 'monitors.output-validity.absoluteThreshold: absoluteThreshold must be ≥ 0'],
    [{ monitors: { latency: { thresholdsMs: { p99: -5 } } } }, 'monitors.latency.thresholdsMs.p99: a latency threshold must be > 0'],
    [{ monitors: { 'input-length': { threshold: -1 } } }, 'monitors.input-length.threshold: threshold must be > 0'],
    [{ monitors: { latency: { windows: [0] } } }, 'monitors.latency.windows[0]'],
    [{ monitors: { latency: { bogus: 1 } } }, 'monitors.latency: Unrecognized key: "bogus"'],
    [{ monitors: { 'error-rates': {} } }, 'monitors: Unrecognized key: "error-rates"'],
    [{ monitors: { severityRules: { errors: [{ atLeast: -1, severity: 'SEV1' }] } } }, 'monitors.severityRules.errors[0].atLeast'],
    [{ models: [model({ accuracy: { confidence: 2 } })] }, 'models[0].monitors.accuracy.confidence: confidence must be < 1'],
    [{ models: [model({ 'negative-feedback': { minBaselineSamples: 0.5 } })] }, 'models[0].monitors.negative-feedback.minBaselineSamples'],
  ])('refuses %j naming the path', (raw, expected) => {
    expect(refusal(raw)).toContain(expected);
  });
});
