// Sends incident notifications to Slack, PagerDuty and signed webhooks. Delivery is off the
// caller's path: `notify` only enqueues, so a channel that is down never slows detection or
// incident handling. Each channel has its own FIFO (PagerDuty must see trigger before resolve),
// retried with exponential backoff a bounded number of times; every delivery's outcome (ok or
// failed, attempts, HTTP status) is written to the incident's timeline as a `notified` event.
import { request } from 'undici';
import type { EventBus } from '../../core/events.ts';
import type { Audience, Clock, Incident, TimelineEvent } from '../../core/types.ts';
import type { TimelineInput } from '../incidents/incident-service.ts';
import { pagerDutyEvent, slackMessage, webhookBody, type NotificationEvent } from './notification-formats.ts';
import type { ChannelConfig, NotificationRouteConfig, NotificationsConfig } from './notifications-config.ts';
import { signWebhook } from './webhook-signature.ts';

export type { NotificationEvent } from './notification-formats.ts';

export interface DeliveryOutcome {
  deliveryId: string;
  channel: string;
  type: ChannelConfig['type'];
  incidentId: string;
  event: string;
  audience?: Audience;
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt, when there was an answer. */
  status?: number;
  error?: string;
  durationMs: number;
}

interface Delivery {
  id: string;
  channel: ChannelConfig;
  incident: Incident;
  event: NotificationEvent;
  audience?: Audience;
  enqueuedAt: number;
}

interface ChannelQueue {
  items: Delivery[];
  running: boolean;
}

export interface NotifierOptions {
  config: NotificationsConfig;
  /** Where outcomes are recorded (IncidentService.addTimelineEvent). */
  timeline: { addTimelineEvent(incidentId: string, input: TimelineInput): Promise<TimelineEvent> };
  clock: Clock;
  bus?: EventBus;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Waits between attempts; tests may pass a faster one. */
  sleep?: (ms: number) => Promise<void>;
}

/** Incident changes that are worth telling people about (not every piece of evidence). */
const NOTIFY_ON_CHANGE = new Set(['severity', 'acknowledged', 'contained', 'mitigated', 'resolved', 'reviewed', 'declined']);

const ALL_AUDIENCES: Audience[] = ['engineering', 'compliance', 'product'];

const RETRYABLE_STATUS = (status: number): boolean => status >= 500 || status === 429 || status === 408;

export class Notifier {
  private readonly config: NotificationsConfig;
  private readonly channels: Map<string, ChannelConfig>;
  private readonly routes: NotificationRouteConfig[];
  private readonly timeline: NotifierOptions['timeline'];
  private readonly clock: Clock;
  private readonly bus?: EventBus;
  private readonly logger?: NotifierOptions['logger'];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly queues = new Map<string, ChannelQueue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly recent: DeliveryOutcome[] = [];
  private queued = 0;
  private seq = 0;
  private closed = false;
  private unsubscribe: (() => void)[] = [];

  constructor(options: NotifierOptions) {
    this.config = options.config;
    this.channels = new Map(options.config.channels.map((c) => [c.name, c]));
    // Without routes every channel hears every incident event, for every audience.
    this.routes = options.config.routes.length
      ? options.config.routes
      : [{ channels: options.config.channels.map((c) => c.name), audiences: ALL_AUDIENCES }];
    this.timeline = options.timeline;
    this.clock = options.clock;
    this.bus = options.bus;
    this.logger = options.logger;
    this.sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, ms);
          this.timers.add(t);
        }));
  }

  /** Subscribes to incident events on the bus. Returns the unsubscribe. */
  start(): () => void {
    if (!this.bus) return () => {};
    const offs = [
      this.bus.on('incident.opened', ({ incident }) => {
        this.notify(incident, { kind: 'opened' });
      }),
      this.bus.on('incident.updated', ({ incident, change }) => {
        if (NOTIFY_ON_CHANGE.has(change)) this.notify(incident, { kind: change });
      }),
    ];
    this.unsubscribe.push(...offs);
    return () => offs.forEach((off) => off());
  }

  /** The channels a notification goes to under the routing rules. */
  channelsFor(incident: Incident, event: NotificationEvent, audience?: Audience): ChannelConfig[] {
    const names = new Set<string>();
    for (const route of this.routes) {
      if (route.severities && !route.severities.includes(incident.severity)) continue;
      if (route.models && !route.models.includes(incident.model)) continue;
      if (route.events && !(route.events as string[]).includes(event.kind)) continue;
      if (audience && !route.audiences.includes(audience)) continue;
      for (const name of route.channels) names.add(name);
    }
    return [...names].map((n) => this.channels.get(n)).filter((c): c is ChannelConfig => c !== undefined);
  }

  /**
   * Queues a notification for every channel the routing rules pick and returns at once with the
   * delivery ids; the outcomes land on the incident's timeline. With `audience`, only routes for
   * that audience (runbooks: overdue steps; containment: stakeholders).
   */
  notify(incident: Incident, event: NotificationEvent | string, audience?: Audience): string[] {
    if (this.closed) return [];
    const ev: NotificationEvent = typeof event === 'string' ? { kind: event } : event;
    const ids: string[] = [];
    for (const channel of this.channelsFor(incident, ev, audience)) {
      // PagerDuty only hears what maps to an Events API action.
      if (channel.type === 'pagerduty' && !pagerDutyEvent(incident, ev, { routingKey: '', sentAt: 0, deliveryId: '' })) continue;
      if (this.queued >= this.config.maxQueue) {
        this.logger?.warn({ channel: channel.name, incident: incident.id, event: ev.kind }, 'notification queue full: dropped');
        continue;
      }
      const delivery: Delivery = { id: `ntf-${this.clock.now().toString(36)}-${++this.seq}`, channel, incident, event: ev, audience, enqueuedAt: this.clock.now() };
      let q = this.queues.get(channel.name);
      if (!q) this.queues.set(channel.name, (q = { items: [], running: false }));
      q.items.push(delivery);
      this.queued++;
      ids.push(delivery.id);
      if (!q.running) void this.drain(channel.name, q);
    }
    return ids;
  }

  /** Resolves when every queued delivery has finished (delivered or given up) and been recorded. */
  idle(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The latest outcomes, newest last (for diagnostics). */
  outcomes(): DeliveryOutcome[] {
    return [...this.recent];
  }

  /** Stops taking notifications and cancels pending retries; waits up to `graceMs` for in-flight ones. */
  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async drain(name: string, q: ChannelQueue): Promise<void> {
    q.running = true;
    try {
      while (q.items.length) {
        const delivery = q.items[0]!;
        const outcome = await this.deliver(delivery);
        q.items.shift();
        await this.record(delivery, outcome);
        this.queued--;
      }
    } finally {
      q.running = false;
      if (this.queued === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
    void name;
  }

  private backoff(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.config.retry;
    return Math.min(initialDelayMs * 2 ** (attempt - 1), maxDelayMs);
  }

  private async deliver(d: Delivery): Promise<DeliveryOutcome> {
    const started = this.clock.now();
    const maxAttempts = this.config.retry.attempts;
    let status: number | undefined;
    let error: string | undefined;
    let attempt = 0;
    while (attempt < maxAttempts) {
      attempt++;
      if (this.closed && attempt > 1) {
        error = `${error ?? 'not delivered'}; gave up at shutdown`;
        break;
      }
      try {
        const res = await this.send(d);
        status = res.status;
        if (status >= 200 && status < 300) {
          return this.outcome(d, { ok: true, attempts: attempt, status, durationMs: this.clock.now() - started });
        }
        error = `HTTP ${status}${res.body ? `: ${res.body}` : ''}`;
        if (!RETRYABLE_STATUS(status)) break;
      } catch (err) {
        status = undefined;
        error = describeError(err);
      }
      if (attempt < maxAttempts) await this.sleep(this.backoff(attempt));
    }
    return this.outcome(d, { ok: false, attempts: attempt, status, error, durationMs: this.clock.now() - started });
  }

  private outcome(d: Delivery, r: Pick<DeliveryOutcome, 'ok' | 'attempts' | 'status' | 'error' | 'durationMs'>): DeliveryOutcome {
    const out: DeliveryOutcome = {
      deliveryId: d.id,
      channel: d.channel.name,
      type: d.channel.type,
      incidentId: d.incident.id,
      event: d.event.kind,
      ...(d.audience ? { audience: d.audience } : {}),
      ...r,
    };
    if (out.status === undefined) delete out.status;
    if (out.error === undefined) delete out.error;
    return out;
  }

  private async send(d: Delivery): Promise<{ status: number; body: string }> {
    const ctx = { publicUrl: this.config.publicUrl, audience: d.audience, sentAt: this.clock.now(), deliveryId: d.id };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'failsafe-notifier/1' };
    let body: string;
    const c = d.channel;
    if (c.type === 'slack') {
      body = JSON.stringify(slackMessage(d.incident, d.event, ctx));
    } else if (c.type === 'pagerduty') {
      body = JSON.stringify(pagerDutyEvent(d.incident, d.event, { ...ctx, routingKey: c.routingKey, source: c.source }));
    } else {
      body = JSON.stringify(webhookBody(d.incident, d.event, ctx));
      Object.assign(headers, c.headers ?? {}, { 'x-failsafe-event': d.event.kind, 'x-failsafe-delivery': d.id });
      // Signed per attempt, so a retry carries a fresh timestamp inside the receiver's window.
      if (c.secret) Object.assign(headers, signWebhook(c.secret, body, Date.now()));
    }
    const timeout = this.config.retry.timeoutMs;
    const res = await request(c.url, { method: 'POST', headers, body, headersTimeout: timeout, bodyTimeout: timeout });
    const text = await res.body.text().catch(() => '');
    return { status: res.statusCode, body: text.slice(0, 200) };
  }

  private async record(d: Delivery, outcome: DeliveryOutcome): Promise<void> {
    this.recent.push(outcome);
    if (this.recent.length > 200) this.recent.shift();
    if (!outcome.ok) this.logger?.warn({ ...outcome }, 'notification failed');
    const how = outcome.ok
      ? `delivered (attempt ${outcome.attempts}${outcome.status ? `, HTTP ${outcome.status}` : ''})`
      : `failed after ${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'}: ${outcome.error}`;
    try {
      await this.timeline.addTimelineEvent(d.incident.id, {
        kind: 'notified',
        actor: 'notifier',
        message: `${d.channel.type} ${d.channel.name} (${d.event.kind}${d.audience ? `, ${d.audience}` : ''}): ${how}`,
        data: outcome,
      });
    } catch (err) {
      this.logger?.error({ err, delivery: outcome }, 'could not record notification outcome on the incident timeline');
    }
  }
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timed out';
  return code ? `${code}: ${message}` : message;
}
