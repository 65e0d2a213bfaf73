// GatewayMetrics keeps plain counts and lets prom-client read them at scrape time: the text must
// be what prom-client's own Counter and Histogram would have written for the same observations.
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import { DURATION_BUCKETS, GatewayMetrics } from './metrics.ts';

const trace = (latencyMs: number, extra: Partial<Trace> = {}): Trace => ({
  requestId: 'r',
  model: 'bot',
  version: 'v1',
  kind: 'chat',
  startedAt: 0,
  latencyMs,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 1,
  outputChars: 1,
  ...extra,
});

const linesOf = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(name));

describe('GatewayMetrics', () => {
  // Bucket edges included: a value equal to a bound belongs to that bound's bucket.
  const latenciesMs = [1, 5, 7, 10, 20, 300, 999, 1000, 59_000, 100_000];

  it('writes histograms exactly as prom-client does', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    const reference = new client.Registry();
    const h = new client.Histogram({ name: 'failsafe_request_duration_seconds', help: 'x', labelNames: ['model', 'version'], buckets: DURATION_BUCKETS, registers: [reference] });
    const t = new client.Histogram({ name: 'failsafe_time_to_first_byte_seconds', help: 'x', labelNames: ['model', 'version'], buckets: DURATION_BUCKETS, registers: [reference] });
    for (const ms of latenciesMs) {
      m.observe(trace(ms, { ttfbMs: ms / 2 }), [{ version: 'v1', ok: true, latencyMs: ms }]);
      h.observe({ model: 'bot', version: 'v1' }, ms / 1000);
      t.observe({ model: 'bot', version: 'v1' }, ms / 2000);
    }
    m.observe(trace(3, { version: 'v2' }), []);
    h.observe({ model: 'bot', version: 'v2' }, 0.003);
    const ours = await m.text();
    const theirs = await reference.metrics();
    for (const name of ['failsafe_request_duration_seconds', 'failsafe_time_to_first_byte_seconds']) {
      expect(linesOf(ours, name).length).toBeGreaterThan(0);
      expect(linesOf(ours, name)).toEqual(linesOf(theirs, name));
    }
    expect(ours).toContain('# TYPE failsafe_request_duration_seconds histogram');
  });

  it('counts requests, errors, retries, tokens, fallbacks and feedback, and a second scrape does not add them again', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    m.observe(trace(5, { promptTokens: 3, completionTokens: 4 }), [{ version: 'v1', ok: true, latencyMs: 5 }]);
    m.observe(trace(9, { promptTokens: 2 }), [
      { version: 'v2', ok: false, errorClass: 'timeout', latencyMs: 4 },
      { version: 'v1', ok: true, latencyMs: 5 },
    ]);
    m.observe(trace(2, { status: 'fallback', fallback: 'cache', version: undefined }), []);
    m.observeFeedback('bot', 'v1', 'negative');
    await m.text();
    const text = await m.text();
    expect(text).toContain('failsafe_requests_total{model="bot",version="v1",status="ok"} 2');
    expect(text).toContain('failsafe_requests_total{model="bot",version="",status="fallback"} 1');
    expect(text).toContain('failsafe_request_errors_total{model="bot",version="v2",error_class="timeout"} 1');
    expect(text).toContain('failsafe_retries_total{model="bot",version="v2"} 1');
    expect(text).toContain('failsafe_retries_total{model="bot",version="v1"} 0');
    expect(text).toContain('failsafe_tokens_total{model="bot",version="v1",type="prompt"} 5');
    expect(text).toContain('failsafe_tokens_total{model="bot",version="v1",type="completion"} 4');
    expect(text).toContain('failsafe_fallbacks_total{model="bot",source="cache"} 1');
    expect(text).toContain('failsafe_feedback_total{model="bot",version="v1",kind="negative"} 1');
    expect(text).toContain('failsafe_request_duration_seconds_count{model="bot",version="v1"} 2');
  });
});
