// A retried request's trace names two hosts: `upstreamHost` is the one that answered (the stable
// version's), the FIRST_UPSTREAM_HOST_TAG tag the one whose failure caused the retry — RCA blames
// the failure on that one, not on the healthy stable host.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { FIRST_UPSTREAM_HOST_TAG, type Trace } from '../../core/types.ts';
import { CLIENT_KEY, servingModel, startTestGateway, type TestGateway } from './gateway-test-kit.ts';

let stable: SimServer;
let broken: SimServer;
let g: TestGateway;

const hostOf = (url: string) => new URL(url).host;

beforeAll(async () => {
  stable = await startSimServer({ name: 'v2' });
  broken = await startSimServer({ name: 'v3' });
  g = await startTestGateway();
  g.gateway.routeTable.apply(
    servingModel('support-bot', 'chat', { v2: { url: `${stable.url}/v1`, model: 'sim-chat' }, v3: { url: `${broken.url}/v1`, model: 'sim-chat' } }, { v3: 100 }, { stable: 'v2' }),
  );
  g.gateway.routeTable.apply(
    servingModel('fraud', 'predict', { p1: { url: `${stable.url}/v1/models/fraud:predict` }, p2: { url: `${broken.url}/v1/models/fraud:predict` } }, { p2: 100 }, { stable: 'p1' }),
  );
});

afterEach(() => broken.setFaults({}));

afterAll(async () => {
  await g.close();
  await stable.close();
  await broken.close();
});

async function send(path: string, body: unknown): Promise<Trace> {
  const res = await fetch(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  await res.text();
  await g.gateway.telemetry.flush();
  const t = await g.stores.traces.get(res.headers.get('x-request-id')!);
  if (!t) throw new Error('no trace');
  return t;
}

const chat = (stream = false) => ({ model: 'support-bot', messages: [{ role: 'user', content: 'where is my order?' }], stream });

describe('trace of a retried request', () => {
  it('records the first attempt host in a tag, beside the host that answered (chat, stream, predict)', async () => {
    broken.setFaults({ errorRate: 1 });
    for (const [path, body, first, answered] of [
      ['/v1/chat/completions', chat(), 'v3', 'v2'],
      ['/v1/chat/completions', chat(true), 'v3', 'v2'],
      ['/v1/models/fraud:predict', { instances: [[1, 2, 3]] }, 'p2', 'p1'],
    ] as const) {
      const t = await send(path, body);
      expect(t).toMatchObject({ retried: true, firstVersion: first, version: answered, status: 'ok', errorClass: 'upstream_5xx' });
      expect(t.upstreamHost).toBe(hostOf(stable.url));
      expect(t.tags).toEqual({ [FIRST_UPSTREAM_HOST_TAG]: hostOf(broken.url) });
    }
  });

  it('adds no tag when the first attempt answered', async () => {
    const t = await send('/v1/chat/completions', chat());
    expect(t).toMatchObject({ retried: false, version: 'v3', upstreamHost: hostOf(broken.url) });
    expect(t.tags).toBeUndefined();
  });
});
