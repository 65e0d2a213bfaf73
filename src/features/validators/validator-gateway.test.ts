// The validator hooks inside the real gateway, in front of the simulated model server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { parseConfig } from '../../config.ts';
import { servingModel, startTestGateway, type TestGateway } from '../gateway/gateway-test-kit.ts';
import { buildValidatorEngines, createValidatorHooks } from './validator-hooks.ts';

let sim: SimServer;
let gw: TestGateway;

beforeAll(async () => {
  sim = await startSimServer({ seed: 3 });
  const config = parseConfig(
    {
      models: [
        {
          name: 'bot',
          kind: 'chat',
          versions: [{ version: 'v1', upstream: { url: `${sim.url}/v1`, model: 'sim-chat' } }],
          validators: [
            { type: 'pii', action: 'block' },
            { type: 'refusal', action: 'flag' },
          ],
        },
      ],
    },
    {},
  );
  const engines = buildValidatorEngines(config.models);
  gw = await startTestGateway({ hooks: createValidatorHooks({ engineFor: (m) => engines.get(m) }) });
  gw.gateway.routeTable.apply(servingModel('bot', 'chat', { v1: { url: `${sim.url}/v1`, model: 'sim-chat' } }, { v1: 100 }));
});
afterAll(async () => {
  await gw?.close();
  await sim?.close();
});

const ask = (stream: boolean) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bot', stream, messages: [{ role: 'user', content: 'How do I reset my password?' }] }),
  });

describe('validators in the gateway', () => {
  it('a clean answer passes; personal data in an answer is blocked', async () => {
    sim.setFaults({});
    const ok = await ask(false);
    expect(ok.status).toBe(200);
    sim.setFaults({ piiRate: 1 });
    const blocked = await ask(false);
    const body = (await blocked.json()) as { error?: { code?: string } };
    sim.setFaults({});
    expect(blocked.status).toBe(502);
    expect(body.error?.code).toBe('output_blocked');
  });

  it('a stream with personal data is cut before the data reaches the client', async () => {
    sim.setFaults({ piiRate: 1 });
    const res = await ask(true);
    const text = await res.text();
    sim.setFaults({});
    expect(res.status).toBe(200);
    expect(text).toContain('"finish_reason":"content_filter"');
    expect(text).not.toContain('jane.doe@example.com');
  });

  it('validator results reach the trace, once each', async () => {
    sim.setFaults({ refusalRate: 1 });
    const res = await ask(true);
    await res.text();
    sim.setFaults({});
    const requestId = res.headers.get('x-request-id')!;
    await gw.gateway.telemetry.flush();
    const t = (await gw.stores.traces.query({})).find((x) => x.requestId === requestId)!;
    expect(t.validators?.map((v) => [v.validator, v.passed]).sort()).toEqual([
      ['pii', true],
      ['refusal', false],
    ]);
  });
});
