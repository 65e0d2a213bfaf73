// What each channel receives: Slack incoming-webhook messages (text + blocks), PagerDuty Events
// API v2 events, and Failsafe's own JSON for generic (Zapier-style) webhooks.
import { isoTime } from '../../core/iso-time.ts';
import type { Audience, Incident, Severity } from '../../core/types.ts';
import { incidentView } from '../incidents/incident-views.ts';

export interface NotificationEvent {
  /** `opened`, `severity`, `acknowledged`, `contained`, `mitigated`, `resolved`, `reviewed`, `declined`, `reminder`, `stakeholder`, … */
  kind: string;
  /** A line for people (an overdue runbook step, a stakeholder update). */
  message?: string;
  data?: Record<string, unknown>;
}

export interface FormatContext {
  /** Dashboard base URL for links, when configured. */
  publicUrl?: string;
  audience?: Audience;
  sentAt: number;
  deliveryId: string;
}

const truncate = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const what = (event: NotificationEvent): string =>
  event.kind === 'opened'
    ? 'opened'
    : event.kind === 'severity'
      ? 'severity changed'
      : event.kind === 'reminder'
        ? 'reminder'
        : event.kind === 'stakeholder'
          ? 'update'
          : event.kind;

export const incidentLink = (incident: Incident, publicUrl?: string): string | undefined =>
  publicUrl ? `${publicUrl.replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(incident.id)}` : undefined;

const target = (i: Incident): string => (i.version ? `${i.model} ${i.version}` : i.model);

export function headline(incident: Incident, event: NotificationEvent): string {
  return `[${incident.severity}] ${incident.id} ${what(event)}: ${incident.title} (${target(incident)})`;
}

export function slackMessage(incident: Incident, event: NotificationEvent, ctx: FormatContext): Record<string, unknown> {
  const link = incidentLink(incident, ctx.publicUrl);
  const fields = [
    ['Model', incident.model],
    ['Version', incident.version ?? '—'],
    ['Severity', incident.severity],
    ['Status', incident.status],
  ].map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` }));
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`${incident.severity} · ${incident.id} ${what(event)}`, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${incident.title}*${event.message ? `\n${event.message}` : ''}`, 3000) } },
    { type: 'section', fields },
  ];
  const context = [`detected ${isoTime(incident.detectedAt)}`, `source ${incident.source}`];
  if (ctx.audience) context.push(`for ${ctx.audience}`);
  if (link) context.push(`<${link}|open in Failsafe>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: truncate(headline(incident, event) + (event.message ? ` — ${event.message}` : ''), 3000), blocks };
}

export const pagerDutySeverity: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  SEV1: 'critical',
  SEV2: 'error',
  SEV3: 'warning',
  SEV4: 'info',
};

/** PagerDuty's action for an incident event; undefined when PagerDuty has nothing to do with it. */
export function pagerDutyAction(kind: string): 'trigger' | 'acknowledge' | 'resolve' | undefined {
  switch (kind) {
    case 'opened':
    case 'severity':
    case 'reminder':
      return 'trigger';
    case 'acknowledged':
      return 'acknowledge';
    case 'resolved':
    case 'declined':
      return 'resolve';
    default:
      return undefined;
  }
}

export function pagerDutyEvent(
  incident: Incident,
  event: NotificationEvent,
  ctx: FormatContext & { routingKey: string; source?: string },
): Record<string, unknown> | undefined {
  const action = pagerDutyAction(event.kind);
  if (!action) return undefined;
  const link = incidentLink(incident, ctx.publicUrl);
  return {
    routing_key: ctx.routingKey,
    event_action: action,
    // One PagerDuty alert per Failsafe incident: later events update or close the same alert.
    dedup_key: incident.id,
    payload: {
      summary: truncate(headline(incident, event), 1024),
      severity: pagerDutySeverity[incident.severity],
      source: ctx.source ?? `failsafe/${incident.model}`,
      timestamp: isoTime(incident.detectedAt),
      component: incident.model,
      group: incident.version ?? incident.model,
      class: incident.family,
      custom_details: {
        incident: incident.id,
        status: incident.status,
        severity: incident.severity,
        model: incident.model,
        version: incident.version ?? null,
        family: incident.family,
        title: incident.title,
        event: event.kind,
        ...(event.message ? { message: event.message } : {}),
        ...(ctx.audience ? { audience: ctx.audience } : {}),
        evidence: incident.evidence.slice(-3),
      },
    },
    client: 'Failsafe',
    ...(link ? { client_url: link, links: [{ href: link, text: `Failsafe ${incident.id}` }] } : {}),
  };
}

export function webhookBody(incident: Incident, event: NotificationEvent, ctx: FormatContext): Record<string, unknown> {
  return {
    event: event.kind,
    deliveryId: ctx.deliveryId,
    sentAt: isoTime(ctx.sentAt),
    audience: ctx.audience ?? null,
    summary: headline(incident, event),
    message: event.message ?? null,
    ...(event.data ? { data: event.data } : {}),
    url: incidentLink(incident, ctx.publicUrl) ?? null,
    incident: incidentView(incident),
  };
}
