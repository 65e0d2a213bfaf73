// Turns external alerts into incident signals: Prometheus Alertmanager webhook payloads (version 4)
// and generic JSON alerts (W&B, LangSmith, Datadog, Sentry, Zapier, ...).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseSeverity } from '../../core/incident-lifecycle.ts';
import type { Severity } from '../../core/types.ts';
import type { ExternalAlertInput } from '../incidents/incident-service.ts';

const labelMap = z.record(z.string(), z.string());

/** One alert in an Alertmanager webhook (extra fields are tolerated: newer Alertmanagers add some). */
export const alertmanagerAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: labelMap.default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4', { error: 'expected Alertmanager webhook payload version "4"' }),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().optional(),
  groupLabels: labelMap.optional(),
  commonLabels: labelMap.optional(),
  commonAnnotations: labelMap.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(alertmanagerAlertSchema).min(1).max(1000),
});

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlertSchema>;

const familyName = z.string().min(1).max(64).regex(/^[a-z0-9_.-]+$/i, 'expected letters, digits, ".", "_" or "-"');

const severityField = z
  .union([z.string(), z.number()])
  .transform((v, ctx): Severity => {
    const s = parseSeverity(v);
    if (!s) {
      ctx.addIssue({ code: 'custom', message: 'expected SEV1..SEV4 or critical|error|warning|info' });
      return z.NEVER;
    }
    return s;
  });

/** `POST /api/v1/alerts` */
export const genericAlertSchema = z.object({
  /** Who sends it: `datadog`, `wandb`, `langsmith`, `sentry`, `zapier`, ... */
  source: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
  model: z.string().min(1).max(64),
  version: z.string().min(1).max(64).optional(),
  severity: severityField.optional(),
  title: z.string().trim().min(1).max(500),
  status: z.enum(['firing', 'resolved']).default('firing'),
  /** The alert's identity at its source; a later `resolved` with the same key resolves it. Defaults to the title. */
  dedupKey: z.string().min(1).max(256).optional(),
  /** Signal family (errors, latency, validity, feedback, accuracy, drift); `external` when absent. */
  family: familyName.optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type GenericAlert = z.infer<typeof genericAlertSchema>;

/** Alertmanager writes `0001-01-01T00:00:00Z` for "not ended"; such times mean nothing here. */
export function parseAlertTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return ms;
}

/** Alertmanager's fingerprint, or a stable hash of the label set when an old sender omits it. */
export function alertKeyOf(alert: AlertmanagerAlert): string {
  if (alert.fingerprint) return alert.fingerprint;
  const canonical = Object.keys(alert.labels)
    .sort()
    .map((k) => `${k}=${alert.labels[k]}`)
    .join('\n');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export type MappedAlert = { ok: true; input: ExternalAlertInput } | { ok: false; key: string; reason: string };

/**
 * Labels map to the incident: `model` (or `failsafe_model`), `version` (or `failsafe_version`),
 * `severity` (critical|warning|info or SEV1..4), `family` (or `failsafe_family`).
 */
export function mapAlertmanagerAlert(alert: AlertmanagerAlert): MappedAlert {
  const key = alertKeyOf(alert);
  const l = alert.labels;
  const model = l.failsafe_model ?? l.model;
  if (!model) return { ok: false, key, reason: 'no model label (model or failsafe_model)' };
  const family = l.failsafe_family ?? l.family;
  if (family !== undefined && !familyName.safeParse(family).success) return { ok: false, key, reason: `family label "${family}" is not a name` };
  const a = alert.annotations ?? {};
  const name = l.alertname;
  const text = a.summary ?? a.title ?? a.description;
  const title = name && text ? `${name}: ${text}` : (text ?? name ?? 'Alertmanager alert');
  const version = l.failsafe_version ?? l.version;
  const severity = parseSeverity(l.failsafe_severity ?? l.severity);
  return {
    ok: true,
    input: {
      kind: 'alert',
      source: 'alertmanager',
      origin: 'alertmanager',
      alertKey: key,
      model,
      ...(version ? { version } : {}),
      ...(family ? { family } : {}),
      ...(severity ? { severity } : {}),
      title: title.slice(0, 500),
      status: alert.status,
      startsAt: parseAlertTime(alert.startsAt),
      endsAt: parseAlertTime(alert.endsAt),
      details: { labels: l, annotations: a, ...(alert.generatorURL ? { generatorURL: alert.generatorURL } : {}) },
    },
  };
}

export function mapGenericAlert(alert: GenericAlert): ExternalAlertInput {
  return {
    kind: 'alert',
    source: 'webhook',
    origin: alert.source,
    alertKey: alert.dedupKey ?? alert.title,
    model: alert.model,
    ...(alert.version ? { version: alert.version } : {}),
    ...(alert.family ? { family: alert.family } : {}),
    ...(alert.severity ? { severity: alert.severity } : {}),
    title: alert.title,
    status: alert.status,
    ...(alert.details ? { details: alert.details } : {}),
  };
}
