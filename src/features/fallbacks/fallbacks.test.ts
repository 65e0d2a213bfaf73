// Fallback answers and circuit breakers inside the real gateway, in front of simulated upstreams.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { servingModel, startTestGateway, type TestGateway } from '../gateway/gateway-test-kit.ts';
import { AnswerCache, answerCacheKey } from './answer-cache.ts';
import { BreakerRegistry, CircuitBreaker, guardUpstream } from './circuit-breaker.ts';
import { FallbackService } from './fallback-service.ts';
import { circuitBreakerConfigSchema, type FallbacksConfig } from './fallbacks-config.ts';

let stable: SimServer;
let bad: SimServer;
let small: SimServer;
let gw: TestGateway;
const policies: Record<string, FallbacksConfig | undefined> = {};
const clock = { t: Date.now(), now() { return this.t; } };
let breakers: BreakerRegistry;
let fallbacks: FallbackService;

const ask = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });

beforeAll(async () => {
  stable = await startSimServer({ name: 'v1' });
  bad = await startSimServer({ name: 'v2' });
  small = await startSimServer({ name: 'small' });
  gw = await startTestGateway();
  fallbacks = new FallbackService({ routes: gw.gateway.routeTable, upstream: gw.gateway.upstream, clock, policyFor: (m) => policies[m] });
  gw.gateway.setHooks(fallbacks.hooks());
  const breakerConfig = circuitBreakerConfigSchema.parse({ consecutiveFailures: 3, openSeconds: 5, minRequests: 100 });
  breakers = new BreakerRegistry({ clock, configFor: () => breakerConfig });
  guardUpstream(gw.gateway.upstream, breakers, clock);
  gw.gateway.routeTable.apply(servingModel('small', 'chat', { s1: { url: `${small.url}/v1`, model: 'sim-chat' } }, { s1: 100 }));
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([stable?.close(), bad?.close(), small?.close()]);
});
beforeEach(() => {
  breakers.reset();
  fallbacks.resetCaches();
  for (const s of [stable, bad, small]) {
    s.setFaults({});
    s.resetStats();
  }
});

const bot = (mode: 'serving' | 'paused' | 'fallback' = 'serving', weights: Record<string, number> = { v1: 100 }) =>
  gw.gateway.routeTable.apply(
    servingModel('bot', 'chat', { v1: { url: `${stable.url}/v1`, model: 'sim-chat' }, v2: { url: `${bad.url}/v1`, model: 'sim-chat' } }, weights, { stable: 'v1', mode }),
  );

describe('answer cache', () => {
  it('keys on model, messages and answer-changing params only, and is a bounded LRU with a TTL', () => {
    const k = (r: Record<string, unknown>) => answerCacheKey('bot', 'chat', r);
    const msgs = [{ role: 'user', content: 'hi' }];
    expect(k({ model: 'bot', messages: msgs, stream: true, user: 'a' })).toBe(k({ model: 'bot@v1', messages: msgs }));
    expect(k({ messages: msgs, temperature: 0 })).not.toBe(k({ messages: msgs }));
    expect(k({ messages: [{ role: 'user', content: 'hi!' }] })).not.toBe(k({ messages: msgs }));
    expect(answerCacheKey('bot', 'predict', { instances: [[1]] })).not.toBe(answerCacheKey('bot', 'predict', { instances: [[2]] }));

    const c = new AnswerCache(2, 1000);
    c.set('a', { text: 'A', version: 'v1', storedAt: 0 });
    c.set('b', { text: 'B', version: 'v1', storedAt: 0 });
    expect(c.get('a', 10)?.text).toBe('A'); // a is now most recent
    c.set('c', { text: 'C', version: 'v1', storedAt: 0 });
    expect(c.get('b', 10)).toBeUndefined();
    expect(c.get('a', 1001)).toBeUndefined(); // expired
    expect(c.snapshot()).toMatchObject({ size: 1, evicted: 1, expired: 1 });
  });
});

describe('fallbacks in the gateway', () => {
  it('replays a stable version’s answer from the cache in fallback mode, then the static reply', async () => {
    policies.bot = { cache: { maxEntries: 10, ttlSeconds: 60 }, static: 'We are on it; please try again soon.' };
    bot();
    const live = await ask('bot', 'How do I reset my password?');
    const liveBody = await live.json();
    expect(live.headers.get('x-failsafe-fallback')).toBeNull();

    bot('fallback', { v1: 0 });
    const cached = await ask('bot', 'How do I reset my password?', { stream: false, user: 'someone-else' });
    expect(cached.status).toBe(200);
    expect(cached.headers.get('x-failsafe-fallback')).toBe('cache');
    expect((await cached.json()).choices[0].message.content).toBe(liveBody.choices[0].message.content);

    const other = await ask('bot', 'Something never asked');
    expect(other.headers.get('x-failsafe-fallback')).toBe('static');
    expect((await other.json()).choices[0].message.content).toBe('We are on it; please try again soon.');

    const streamed = await ask('bot', 'Something never asked', { stream: true });
    expect(streamed.headers.get('x-failsafe-fallback')).toBe('static');
    expect(await streamed.text()).toContain('data: [DONE]');
    expect(stable.stats().requests).toBe(1);
  });

  it('does not cache answers of versions that are not stable', async () => {
    policies.bot = { cache: { maxEntries: 10, ttlSeconds: 60 } };
    bot('serving', { v2: 100 });
    expect((await ask('bot', 'only v2 saw this')).headers.get('x-failsafe-version')).toBe('v2');
    bot('fallback', { v1: 0, v2: 0 });
    const res = await ask('bot', 'only v2 saw this');
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('fallback_unavailable');
  });

  it('keeps the clean 503 with Retry-After for a paused model', async () => {
    policies.bot = { static: 'fallback text' };
    bot('paused');
    const res = await ask('bot', 'hello');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect((await res.json()).error).toMatchObject({ code: 'model_paused', type: 'service_unavailable' });
  });

  it('asks another Failsafe model, and falls back when the version and the retry both fail', async () => {
    policies.bot = { model: 'small', static: 'static text' };
    bot('fallback', { v1: 0 });
    const res = await ask('bot', 'Can I change my email?');
    expect(res.headers.get('x-failsafe-fallback')).toBe('model');
    expect(res.headers.get('x-failsafe-version')).toBe('small@s1');
    expect((await res.json()).model).toBe('bot');
    expect(small.stats().requests).toBe(1);

    bot('serving', { v2: 100 });
    bad.setFaults({ errorRate: 1 });
    stable.setFaults({ errorRate: 1 });
    small.setFaults({ errorRate: 1 });
    const failed = await ask('bot', 'everything is down');
    expect(failed.status).toBe(200);
    expect(failed.headers.get('x-failsafe-fallback')).toBe('static');
    expect(fallbacks.stats().served.static).toBeGreaterThan(0);
  });
});

describe('fallback on a validator verdict', () => {
  it('answers from the fallbacks when an output validator says `fallback`', async () => {
    policies.bot = { static: 'A safe answer.' };
    bot();
    gw.gateway.setHooks({ validateOutput: () => ({ results: [{ validator: 'pii', passed: false, action: 'fallback', message: 'email' }], action: 'fallback' }) });
    try {
      const res = await ask('bot', 'tell me a secret');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-failsafe-fallback')).toBe('static');
      expect((await res.json()).choices[0].message.content).toBe('A safe answer.');
    } finally {
      gw.gateway.setHooks({ validateOutput: undefined });
    }
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, skips the version (retry on stable), probes half-open, closes', async () => {
    policies.bot = undefined;
    bot('serving', { v2: 100 });
    bad.setFaults({ errorRate: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await ask('bot', `q${i}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-failsafe-version')).toBe('v1');
    }
    expect(bad.stats().requests).toBe(3);
    const snap = breakers.snapshot().find((b) => b.key === 'bot@v2')!;
    expect(snap).toMatchObject({ state: 'open', opens: 1, consecutiveFailures: 3 });

    const skipped = await ask('bot', 'open 0');
    expect(skipped.headers.get('x-failsafe-version')).toBe('v1');
    for (let i = 1; i < 5; i++) expect((await ask('bot', `open ${i}`)).headers.get('x-failsafe-version')).toBe('v1');
    expect(bad.stats().requests).toBe(3); // skipped: not one more call to the dead upstream
    // The trace says the breaker skipped v2, not that v2's upstream refused a connection.
    await gw.gateway.telemetry.flush();
    const trace = await gw.stores.traces.get(skipped.headers.get('x-request-id')!);
    expect(trace).toMatchObject({ version: 'v1', firstVersion: 'v2', retried: true, errorClass: 'circuit_open' });

    bad.setFaults({});
    clock.t += 5_000;
    const probe = await ask('bot', 'probe');
    expect(probe.headers.get('x-failsafe-version')).toBe('v2');
    expect(breakers.snapshot().find((b) => b.key === 'bot@v2')!.state).toBe('closed');
    expect(bad.stats().requests).toBe(4);
  });

  it('opens on the error share in the window and reopens when a probe fails', () => {
    const cfg = circuitBreakerConfigSchema.parse({ consecutiveFailures: 100, errorRate: 0.5, minRequests: 10, windowSeconds: 10, openSeconds: 1 });
    const b = new CircuitBreaker('x', cfg);
    const t = 1_000_000;
    for (let i = 0; i < 9; i++) {
      expect(b.admit(t)).toBe(1);
      b.record(i % 2 === 0, t + i * 100);
    }
    expect(b.state).toBe('closed'); // 9 calls < minRequests
    b.record(false, t + 950);
    expect(b.state).toBe('open'); // 5 of 10 failed
    expect(b.admit(t + 1500)).toBe(0);
    expect(b.admit(t + 2000)).toBe(2);
    expect(b.admit(t + 2000)).toBe(0); // one probe at a time
    b.record(false, t + 2010, true);
    expect(b.state).toBe('open');
    // Failures older than the window are forgotten.
    const c = new CircuitBreaker('y', cfg);
    for (let i = 0; i < 6; i++) c.record(false, t);
    for (let i = 0; i < 6; i++) c.record(true, t + 11_000);
    expect(c.snapshot(t + 11_000).window).toMatchObject({ requests: 6, failures: 0 });
    expect(c.state).toBe('closed');
  });
});
