// A route change under steady load: no request fails, and every request that starts after
// apply() returned follows the new weights (none is routed by the previous ones).
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { servingModel, startTestGateway, type TestGateway } from './gateway-test-kit.ts';

let v1: SimServer;
let v2: SimServer;
let g: TestGateway;

beforeAll(async () => {
  v1 = await startSimServer({ name: 'v1', baseLatencyMs: 1 });
  v2 = await startSimServer({ name: 'v2', baseLatencyMs: 1 });
  g = await startTestGateway();
});

afterAll(async () => {
  await g.close();
  await v1.close();
  await v2.close();
});

const route = (weights: Record<string, number>, revision: number) =>
  servingModel(
    'support-bot',
    'chat',
    { v1: { url: `${v1.url}/v1`, model: 'sim-chat' }, v2: { url: `${v2.url}/v1`, model: 'sim-chat' } },
    weights,
    { stable: 'v1', revision },
  );

describe('weight change under load', () => {
  it('serves every request while weights change, and new requests follow the new weights at once', async () => {
    const plan: Array<Record<string, number>> = [{ v1: 100 }, { v1: 50, v2: 50 }, { v2: 100 }, { v1: 90, v2: 10 }, { v1: 100 }, { v2: 100 }];
    let epoch = 0;
    g.gateway.routeTable.apply(route(plan[0], 1));
    const pool = new Pool(g.url, { connections: 16 });
    const body = JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: 'is my order on its way?' }] });
    const results: Array<{ epoch: number; ended: number; status: number; version: string | undefined }> = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const started = epoch;
        try {
          const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.body.text();
          results.push({ epoch: started, ended: epoch, status: res.statusCode, version: res.headers['x-failsafe-version'] as string | undefined });
        } catch {
          results.push({ epoch: started, ended: epoch, status: 0, version: undefined });
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // Each epoch lasts until 25 requests ran entirely inside it (a loaded machine only slows it down).
    const settled = async (i: number) => {
      const deadline = Date.now() + 20_000;
      while (results.filter((r) => r.epoch === i && r.ended === i).length < 25 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    for (let i = 1; i < plan.length; i++) {
      await settled(i - 1);
      g.gateway.routeTable.apply(route(plan[i], i + 1));
      epoch = i; // apply() has returned: from here on, requests are in the new epoch
    }
    await settled(plan.length - 1);
    stop = true;
    await Promise.all(workers);
    await pool.close();

    expect(results.length).toBeGreaterThan(150);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    for (let i = 0; i < plan.length; i++) {
      // A request in flight across a change may be routed either way; one that started and ended
      // within an epoch was routed by that epoch's weights and nothing else.
      const inEpoch = results.filter((r) => r.epoch === i && r.ended === i);
      expect(inEpoch.length).toBeGreaterThanOrEqual(25);
      const counts: Record<string, number> = {};
      for (const r of inEpoch) counts[r.version!] = (counts[r.version!] ?? 0) + 1;
      const only = Object.entries(plan[i]).filter(([, w]) => w === 100);
      if (only.length === 1) expect(Object.keys(counts)).toEqual([only[0][0]]);
      else expect(Object.keys(counts).every((v) => plan[i][v] > 0)).toBe(true);
    }
  });
});
