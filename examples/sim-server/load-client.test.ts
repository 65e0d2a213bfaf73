import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from './load-client.ts';
import { startSimServer, type SimServer } from './sim-server.ts';

describe('runLoad', () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({ seed: 5 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('sends rps x duration requests, evenly paced, and reports statuses and latencies', async () => {
    sim.reset();
    const seen: number[] = [];
    const r = await runLoad({
      url: sim.url,
      path: '/v1/chat/completions',
      body: (i) => ({ model: 'sim-chat', messages: [{ role: 'user', content: `q${i}` }] }),
      headers: (i) => ({ 'x-client': `c${i % 3}` }),
      rps: 50,
      durationMs: 1000,
      onResponse: (x) => {
        if (x.status === 200) seen.push(x.i);
        expect(JSON.parse(x.body).choices[0].message.content).toContain(`q${x.i}`);
      },
    });
    expect(r).toMatchObject({ sent: 50, ok: 50, failed: 0, statuses: { '200': 50 }, errors: {} });
    expect(r.latencies).toHaveLength(50);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Paced, not a burst: arrivals spread over ~980 ms with no more than a few in any 100 ms.
    const at = sim.recentRequests().map((q) => q.at);
    expect(at).toHaveLength(50);
    expect(at[49] - at[0]).toBeGreaterThanOrEqual(900);
    for (let k = 0; k + 9 < at.length; k++) expect(at[k + 9] - at[k]).toBeGreaterThanOrEqual(100);
    expect(sim.recentRequests()[7].headers['x-client']).toBe('c1');
  });

  it('counts error statuses and network errors as failed', async () => {
    sim.setFaults({ errorRate: 0.5, resetRate: 0.2 });
    try {
      const r = await runLoad({
        url: sim.url,
        path: '/v1/models/m:predict',
        body: () => ({ instances: [[1]] }),
        rps: 400,
        durationMs: 250,
      });
      expect(r.sent).toBe(100);
      const status500 = r.statuses['500'] ?? 0;
      const netErrors = Object.values(r.errors).reduce((a, b) => a + b, 0);
      expect(status500).toBeGreaterThan(20);
      expect(netErrors).toBeGreaterThan(5);
      expect(r.ok).toBe(r.statuses['200']);
      expect(r.ok + status500 + netErrors).toBe(100);
      expect(r.failed).toBe(100 - r.ok);
    } finally {
      sim.setFaults({});
    }
  });

  it('respects the concurrency limit and times out hung requests', async () => {
    sim.setFaults({ hangRate: 1 });
    try {
      const t0 = performance.now();
      const r = await runLoad({ url: sim.url, path: '/v1/models/m:predict', body: () => ({ instances: [[1]] }), rps: 1000, durationMs: 10, concurrency: 2, timeoutMs: 100 });
      expect(r.sent).toBe(10);
      expect(r.ok).toBe(0);
      expect(r.errors).toEqual({ TIMEOUT: 10 });
      // 10 requests, 2 at a time, 100 ms each: at least 5 rounds.
      const elapsed = performance.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(490);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      sim.setFaults({});
    }
  });

  it('only targets the loopback interface', async () => {
    await expect(runLoad({ url: 'http://example.com', path: '/', rps: 1, durationMs: 1000 })).rejects.toThrow(/loopback/);
  });
});
