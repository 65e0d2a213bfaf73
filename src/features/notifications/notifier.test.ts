import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../core/events.ts';
import { systemClock, type Finding } from '../../core/types.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { createMemoryStores } from '../memory-stores.ts';
import { Notifier } from './notifier.ts';
import { notificationsConfigSchema } from './notifications-config.ts';
import { verifyWebhookSignature } from './webhook-signature.ts';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A real HTTP receiver on 127.0.0.1; `statuses` are answered in turn (the last one repeats). */
class Receiver {
  readonly received: Received[] = [];
  private server?: Server;
  constructor(private statuses: number[] = [200]) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, raw, body: raw ? JSON.parse(raw) : undefined });
        const status = this.statuses.length > 1 ? this.statuses.shift()! : this.statuses[0]!;
        res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"status":"success"}' : '{"error":"nope"}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A port nothing listens on: connections are refused. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}

const WEBHOOK_SECRET = 'webhook-secret-0123456789';

const finding = (over: Partial<Finding> = {}): Finding => ({
  monitor: 'error-rate',
  family: 'errors',
  model: 'support-bot',
  version: 'v2',
  status: 'breach',
  at: Date.now(),
  severity: 'SEV1',
  evidence: { test: 'two-proportion z', statistic: 8.2, threshold: 3.5 },
  ...over,
});

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close(100);
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(statuses?: number[]): Promise<{ r: Receiver; url: string }> {
  const r = new Receiver(statuses);
  receivers.push(r);
  return { r, url: await r.start() };
}

function setup(rawConfig: unknown) {
  const config = notificationsConfigSchema.parse(rawConfig);
  const stores = createMemoryStores();
  const bus = new EventBus((err) => {
    throw err;
  });
  const incidents = new IncidentService({ stores, clock: systemClock, bus });
  const notifier = new Notifier({ config, timeline: incidents, clock: systemClock, bus });
  notifiers.push(notifier);
  notifier.start();
  return { incidents, notifier, stores };
}

const notified = async (incidents: IncidentService, id: string) => (await incidents.timeline(id, { kinds: ['notified'] })).map((e) => e.data as any);

describe('Notifier', () => {
  it('delivers to Slack, PagerDuty and a signed webhook, routed by severity and audience, and records each delivery', async () => {
    const slack = await receiver();
    const pd = await receiver([202]);
    const hook = await receiver();
    const { incidents, notifier } = setup({
      channels: [
        { name: 'eng-slack', type: 'slack', url: `${slack.url}/services/T000/B000/XXX` },
        { name: 'oncall', type: 'pagerduty', routingKey: 'R0UTINGKEY', url: `${pd.url}/v2/enqueue` },
        { name: 'compliance-zap', type: 'webhook', url: `${hook.url}/hooks/catch/1`, secret: WEBHOOK_SECRET, headers: { 'x-team': 'risk' } },
      ],
      routes: [
        { channels: ['eng-slack'] },
        { channels: ['oncall'], severities: ['SEV1', 'SEV2'] },
        { channels: ['compliance-zap'], severities: ['SEV1'], audiences: ['compliance'] },
      ],
      publicUrl: 'https://failsafe.example.com',
    });

    const inc = (await incidents.openOrUpdate(finding())).incident!;
    await notifier.idle();

    expect(slack.r.received).toHaveLength(1);
    const sm = slack.r.received[0]!.body;
    expect(sm.text).toBe(`[SEV1] ${inc.id} opened: ${inc.title} (support-bot v2)`);
    expect(sm.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: `SEV1 · ${inc.id} opened` } });
    expect(sm.blocks[2].fields.map((f: any) => f.text)).toEqual(['*Model*\nsupport-bot', '*Version*\nv2', '*Severity*\nSEV1', '*Status*\nopen']);
    expect(sm.blocks[3].elements[0].text).toContain(`<https://failsafe.example.com/#/incidents/${inc.id}|open in Failsafe>`);

    expect(pd.r.received).toHaveLength(1);
    expect(pd.r.received[0]!.body).toMatchObject({
      routing_key: 'R0UTINGKEY',
      event_action: 'trigger',
      dedup_key: inc.id,
      payload: { severity: 'critical', source: 'failsafe/support-bot', component: 'support-bot', group: 'v2', class: 'errors' },
    });
    expect(pd.r.received[0]!.body.payload.summary).toContain(inc.id);
    expect(pd.r.received[0]!.body.payload.custom_details).toMatchObject({ incident: inc.id, status: 'open', model: 'support-bot' });

    expect(hook.r.received).toHaveLength(1);
    const h = hook.r.received[0]!;
    expect(h.headers['x-team']).toBe('risk');
    expect(h.headers['x-failsafe-event']).toBe('opened');
    expect(
      verifyWebhookSignature({ secret: WEBHOOK_SECRET, body: h.raw, timestamp: h.headers['x-failsafe-timestamp'] as string, signature: h.headers['x-failsafe-signature'] as string }),
    ).toBe(true);
    expect(verifyWebhookSignature({ secret: 'other-secret-0123456789', body: h.raw, timestamp: h.headers['x-failsafe-timestamp'] as string, signature: h.headers['x-failsafe-signature'] as string })).toBe(false);
    expect(verifyWebhookSignature({ secret: WEBHOOK_SECRET, body: h.raw + ' ', timestamp: h.headers['x-failsafe-timestamp'] as string, signature: h.headers['x-failsafe-signature'] as string })).toBe(false);
    expect(h.body).toMatchObject({ event: 'opened', incident: { id: inc.id, severity: 'SEV1', status: 'open' }, url: `https://failsafe.example.com/#/incidents/${inc.id}` });

    const outcomes = await notified(incidents, inc.id);
    expect(outcomes.map((o) => [o.channel, o.ok, o.attempts, o.status]).sort()).toEqual([
      ['compliance-zap', true, 1, 200],
      ['eng-slack', true, 1, 200],
      ['oncall', true, 1, 202],
    ]);

    // life-cycle steps map to PagerDuty actions on the same dedup key; evidence alone notifies no one
    await incidents.openOrUpdate(finding({ monitor: 'error-burst' }));
    await incidents.acknowledge(inc.id, { actor: 'key:alice' });
    await incidents.resolve(inc.id, { actor: 'key:alice' });
    await notifier.idle();
    expect(pd.r.received.map((r) => [r.body.event_action, r.body.dedup_key])).toEqual([
      ['trigger', inc.id],
      ['acknowledge', inc.id],
      ['resolve', inc.id],
    ]);
    expect(slack.r.received.map((r) => r.body.text.split(':')[0])).toEqual([
      `[SEV1] ${inc.id} opened`,
      `[SEV1] ${inc.id} acknowledged`,
      `[SEV1] ${inc.id} resolved`,
    ]);
  });

  it('routes lower severities and audiences only where the rules say', async () => {
    const slack = await receiver();
    const pd = await receiver([202]);
    const hook = await receiver();
    const { incidents, notifier } = setup({
      channels: [
        { name: 'eng-slack', type: 'slack', url: slack.url },
        { name: 'oncall', type: 'pagerduty', routingKey: 'k', url: pd.url },
        { name: 'product-hook', type: 'webhook', url: hook.url },
      ],
      routes: [
        { channels: ['eng-slack'] },
        { channels: ['oncall'], severities: ['SEV1', 'SEV2'] },
        { channels: ['product-hook'], audiences: ['product'], events: ['opened', 'stakeholder'] },
      ],
    });
    const inc = (await incidents.openOrUpdate(finding({ severity: 'SEV3', family: 'latency' }))).incident!;
    await notifier.idle();
    expect(pd.r.received).toHaveLength(0);
    expect(slack.r.received).toHaveLength(1);
    expect(hook.r.received).toHaveLength(1); // automatic notifications reach every audience's routes

    // notify() with an audience only uses that audience's routes
    const ids = notifier.notify(inc, { kind: 'stakeholder', message: 'answers may be slow for ~10 min' }, 'product');
    expect(ids).toHaveLength(1);
    await notifier.idle();
    expect(hook.r.received[1]!.body).toMatchObject({ event: 'stakeholder', audience: 'product', message: 'answers may be slow for ~10 min' });
    expect(slack.r.received).toHaveLength(1);
    expect(notifier.notify(inc, 'reminder', 'compliance')).toEqual([]);
    // PagerDuty hears nothing for events without an Events API action
    expect(notifier.channelsFor({ ...inc, severity: 'SEV1' }, { kind: 'contained' }).map((c) => c.name)).toEqual(['eng-slack', 'oncall']);
    expect(notifier.notify({ ...inc, severity: 'SEV1' }, 'contained')).toHaveLength(1);
  });

  it('retries a channel that is down with backoff, records the failure, and never blocks incident handling', async () => {
    const slack = await receiver();
    const dead = await deadUrl();
    const { incidents, notifier } = setup({
      channels: [
        { name: 'eng-slack', type: 'slack', url: slack.url },
        { name: 'broken', type: 'webhook', url: dead, secret: WEBHOOK_SECRET },
      ],
      retry: { attempts: 4, initialDelayMs: 100, maxDelayMs: 1000, timeoutMs: 1000 },
    });
    const started = Date.now();
    const inc = (await incidents.openOrUpdate(finding())).incident!;
    await incidents.acknowledge(inc.id, { actor: 'key:alice' });
    const handlingMs = Date.now() - started;
    // backoff alone is 100 + 200 + 400 ms per failed delivery: incident handling did not wait for it
    expect(handlingMs).toBeLessThan(500);
    await notifier.idle();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2 * (100 + 200 + 400) - 20);

    const outcomes = await notified(incidents, inc.id);
    const failed = outcomes.filter((o) => o.channel === 'broken');
    expect(failed).toHaveLength(2);
    for (const f of failed) expect(f).toMatchObject({ ok: false, attempts: 4, error: 'connection refused', type: 'webhook' });
    expect(outcomes.filter((o) => o.channel === 'eng-slack' && o.ok)).toHaveLength(2);
    const events = await incidents.timeline(inc.id, { kinds: ['notified'] });
    expect(events.find((e) => (e.data as any).channel === 'broken')!.message).toBe('webhook broken (opened): failed after 4 attempts: connection refused');
  });

  it('retries 5xx until it succeeds, keeps a channel in order, and does not retry a 4xx', async () => {
    const pd = await receiver([503, 500, 202]);
    const bad = await receiver([400]);
    const { incidents, notifier } = setup({
      channels: [
        { name: 'oncall', type: 'pagerduty', routingKey: 'k', url: pd.url },
        { name: 'misconfigured', type: 'slack', url: bad.url },
      ],
      retry: { attempts: 5, initialDelayMs: 5, maxDelayMs: 50 },
    });
    const inc = (await incidents.openOrUpdate(finding())).incident!;
    await incidents.acknowledge(inc.id, { actor: 'key:alice' });
    await notifier.idle();
    // trigger failed twice before it got through; the acknowledge waited behind it
    expect(pd.r.received.map((r) => r.body.event_action)).toEqual(['trigger', 'trigger', 'trigger', 'acknowledge']);
    const outcomes = await notified(incidents, inc.id);
    expect(outcomes.find((o) => o.channel === 'oncall' && o.event === 'opened')).toMatchObject({ ok: true, attempts: 3, status: 202 });
    expect(outcomes.find((o) => o.channel === 'misconfigured' && o.event === 'opened')).toMatchObject({ ok: false, attempts: 1, status: 400 });
    expect(bad.r.received).toHaveLength(2);
  });

  it('does nothing without channels and stops on close', async () => {
    const { incidents, notifier } = setup({});
    const inc = (await incidents.openOrUpdate(finding())).incident!;
    await notifier.idle();
    expect(await notified(incidents, inc.id)).toEqual([]);
    await notifier.close(10);
    expect(notifier.notify(inc, 'opened')).toEqual([]);
  });
});

describe('notifications config', () => {
  it('names unknown channels and duplicates with their path', () => {
    const r = notificationsConfigSchema.safeParse({
      channels: [
        { name: 'a', type: 'slack', url: 'http://127.0.0.1:1/x' },
        { name: 'a', type: 'webhook', url: 'http://127.0.0.1:1/y' },
      ],
      routes: [{ channels: ['a', 'b'] }],
    });
    expect(r.success).toBe(false);
    const issues = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(['channels.1.name: duplicate channel "a"', 'routes.0.channels.1: unknown channel "b"']);
    expect(notificationsConfigSchema.safeParse({ channels: [{ name: 'p', type: 'pagerduty' }] }).success).toBe(false);
    const pd = notificationsConfigSchema.parse({ channels: [{ name: 'p', type: 'pagerduty', routingKey: 'k' }] });
    expect(pd.channels[0]).toMatchObject({ url: 'https://events.pagerduty.com/v2/enqueue' });
  });
});
