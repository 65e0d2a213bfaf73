// `notifications:` in failsafe.yaml: channels (Slack, PagerDuty, signed webhooks) and who hears what.
import { z } from 'zod';
import { severityValue } from '../incidents/severity-config.ts';

const audience = z.enum(['engineering', 'compliance', 'product']);
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const channelName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"');

export const slackChannelSchema = z.strictObject({
  name: channelName,
  type: z.literal('slack'),
  /** Slack incoming-webhook URL. */
  url,
});

export const pagerDutyChannelSchema = z.strictObject({
  name: channelName,
  type: z.literal('pagerduty'),
  /** Events API v2 integration key. */
  routingKey: z.string().min(1),
  url: url.default('https://events.pagerduty.com/v2/enqueue'),
  /** `payload.source`; defaults to `failsafe/<model>`. */
  source: z.string().min(1).optional(),
});

export const webhookChannelSchema = z.strictObject({
  name: channelName,
  type: z.literal('webhook'),
  url,
  /** HMAC-SHA256 key for `x-failsafe-signature` (over `timestamp + "." + body`); unsigned when absent. */
  secret: z.string().min(16, 'use a secret of at least 16 characters').optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

export const channelSchema = z.discriminatedUnion('type', [slackChannelSchema, pagerDutyChannelSchema, webhookChannelSchema]);

export const notificationEventKinds = [
  'opened',
  'severity',
  'acknowledged',
  'contained',
  'mitigated',
  'resolved',
  'reviewed',
  'declined',
  'reminder',
  'stakeholder',
] as const;

export const notificationRouteSchema = z.strictObject({
  channels: z.array(channelName).min(1),
  /** Incident severities this route carries; all when absent. */
  severities: z.array(severityValue).optional(),
  /** Who the channel is for. Automatic notifications reach every audience; `notify(…, audience)` only its own. */
  audiences: z.array(audience).default(['engineering']),
  models: z.array(z.string().min(1)).optional(),
  /** Event kinds (opened, severity, acknowledged, …, reminder, stakeholder); all when absent. */
  events: z.array(z.enum(notificationEventKinds)).optional(),
});

export const notificationsConfigSchema = z
  .strictObject({
    channels: z.array(channelSchema).default([]),
    /** Without routes, every channel hears every incident event. */
    routes: z.array(notificationRouteSchema).default([]),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(20).default(5),
        initialDelayMs: z.number().int().min(0).default(1_000),
        maxDelayMs: z.number().int().min(0).default(60_000),
        timeoutMs: z.number().int().positive().default(5_000),
      })
      .prefault({}),
    /** Base URL for links back to the dashboard in messages (`https://failsafe.example.com`). */
    publicUrl: url.optional(),
    /** Deliveries waiting beyond this are dropped (and logged), so a dead channel cannot eat memory. */
    maxQueue: z.number().int().positive().default(10_000),
  })
  .superRefine((n, ctx) => {
    const names = new Set<string>();
    n.channels.forEach((c, i) => {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate channel "${c.name}"` });
      names.add(c.name);
    });
    n.routes.forEach((r, i) =>
      r.channels.forEach((c, j) => {
        if (!names.has(c)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'channels', j], message: `unknown channel "${c}"` });
      }),
    );
  });

export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type NotificationRouteConfig = z.infer<typeof notificationRouteSchema>;
export type NotificationEventKind = (typeof notificationEventKinds)[number];
