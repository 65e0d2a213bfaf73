// External alerts in: `POST /api/v1/alerts/alertmanager` (Prometheus Alertmanager webhook v4) and
// `POST /api/v1/alerts` (generic JSON). Authenticated by a bearer API key OR an HMAC-SHA256
// signature over the raw body (`x-failsafe-signature: t=<unix>,v1=<hex>` over `t + "." + body`).
// Anything malformed, unsigned, wrongly signed, stale or replayed gets a 4xx and changes nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import type { ExternalAlertInput, IncidentService, OpenOrUpdateResult } from '../incidents/incident-service.ts';
import { incidentView } from '../incidents/incident-views.ts';
import { SIGNATURE_HEADER, hmacSha256Hex, parseSignatureHeader, safeEqualHex } from '../notifications/webhook-signature.ts';
import { alertmanagerPayloadSchema, genericAlertSchema, mapAlertmanagerAlert, mapGenericAlert } from './alert-mapping.ts';
import type { AlertsConfig } from './alerts-config.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who posted an alert: the API key, or `signed-webhook` for HMAC-signed requests. */
    alertPrincipal?: string;
  }
}

export interface AlertAuthOptions {
  config: AlertsConfig;
  /** Secrets from config plus FAILSAFE_ALERTS_SECRET. */
  secrets: string[];
}

type Action = 'opened' | 'updated' | 'resolved' | 'unchanged' | 'ignored';

const actionOf = (input: ExternalAlertInput, r: OpenOrUpdateResult): Action =>
  r.created ? 'opened' : !r.changed ? 'unchanged' : input.status === 'resolved' && r.incident?.status === 'resolved' ? 'resolved' : 'updated';

export function alertSecrets(config: AlertsConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = [...config.hmac.secrets];
  if (env.FAILSAFE_ALERTS_SECRET) secrets.push(env.FAILSAFE_ALERTS_SECRET);
  return secrets;
}

export async function alertRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const config = ctx.loaded.config.alerts;
  const secrets = alertSecrets(config);
  const incidents: IncidentService = ctx.services.incidents;
  const bearer = ctx.requireRole(config.bearerRole);
  const toleranceMs = config.hmac.toleranceSeconds * 1000;

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers[SIGNATURE_HEADER];
    if (typeof header === 'string' && header.trim()) {
      if (secrets.length === 0) {
        throw new FailsafeError('UNAUTHORIZED', 'signed alerts are not enabled: set alerts.hmac.secrets (or FAILSAFE_ALERTS_SECRET), or send a bearer API key');
      }
      const { timestamp, signatures } = parseSignatureHeader(header);
      if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) {
        throw new FailsafeError('UNAUTHORIZED', `malformed ${SIGNATURE_HEADER}: expected t=<unix seconds>,v1=<hex HMAC-SHA256 of t + "." + body>`);
      }
      const now = ctx.clock.now();
      const ageMs = now - Number(timestamp) * 1000;
      if (Math.abs(ageMs) > toleranceMs) {
        throw new FailsafeError(
          'UNAUTHORIZED',
          `signature timestamp is ${Math.round(ageMs / 1000)} s ${ageMs >= 0 ? 'old' : 'in the future'} (limit ${config.hmac.toleranceSeconds} s): refused as a possible replay`,
        );
      }
      const raw = typeof request.body === 'string' ? request.body : '';
      const matched = signatures.find((sig) => secrets.some((secret) => safeEqualHex(sig, hmacSha256Hex(secret, `${timestamp}.${raw}`))));
      if (!matched) throw new FailsafeError('UNAUTHORIZED', 'signature does not match the body under any configured secret');
      const fresh = await ctx.stores.incidents.claimSignature(matched.toLowerCase(), now, now - 2 * toleranceMs);
      if (!fresh) throw new FailsafeError('CONFLICT', 'replayed request: this signature was already used');
      request.alertPrincipal = 'signed-webhook';
      return;
    }
    if (request.headers.authorization) {
      await bearer.call(app, request, reply);
      request.alertPrincipal = actorOf(request);
      return;
    }
    throw new FailsafeError(
      'UNAUTHORIZED',
      `unsigned alert: send Authorization: Bearer <key> (role ${config.bearerRole} or higher) or ${SIGNATURE_HEADER}: t=<unix>,v1=<hmac>`,
    );
  }

  const parseJson = (request: FastifyRequest): unknown => {
    const raw = typeof request.body === 'string' ? request.body : '';
    if (!raw.trim()) throw new FailsafeError('BAD_REQUEST', 'request body is empty; expected a JSON object');
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new FailsafeError('BAD_REQUEST', `malformed JSON body: ${(e as Error).message}`);
    }
  };

  const modelKnown = async (model: string): Promise<boolean> => config.acceptUnknownModels || Boolean(await ctx.stores.models.get(model));

  // Its own encapsulated scope: the raw-body JSON parser applies to these two routes only.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.post(
      '/alerts/alertmanager',
      { preHandler: authenticate, schema: { tags: ['alerts'], summary: 'Prometheus Alertmanager webhook receiver (payload version 4)' } },
      async (request) => {
        const payload = parseInput(alertmanagerPayloadSchema, parseJson(request));
        const requestId = (request.headers['x-request-id'] as string | undefined) || undefined;
        const results: { key: string; status: string; action: Action; incident?: string; reason?: string }[] = [];
        for (const alert of payload.alerts) {
          const mapped = mapAlertmanagerAlert(alert);
          if (!mapped.ok) {
            results.push({ key: mapped.key, status: alert.status, action: 'ignored', reason: mapped.reason });
            continue;
          }
          if (!(await modelKnown(mapped.input.model))) {
            results.push({ key: mapped.input.alertKey, status: alert.status, action: 'ignored', reason: `unknown model "${mapped.input.model}"` });
            continue;
          }
          const r = await incidents.openOrUpdate(mapped.input, { requestId });
          results.push({
            key: mapped.input.alertKey,
            status: alert.status,
            action: actionOf(mapped.input, r),
            ...(r.incident ? { incident: r.incident.id } : {}),
          });
        }
        return { received: payload.alerts.length, results };
      },
    );

    scope.post(
      '/alerts',
      { preHandler: authenticate, schema: { tags: ['alerts'], summary: 'Generic JSON alert (W&B, LangSmith, Datadog, Sentry, Zapier, ...)' } },
      async (request, reply) => {
        const body = parseInput(genericAlertSchema, parseJson(request));
        const input = mapGenericAlert(body);
        if (!(await modelKnown(input.model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${input.model}"`);
        const requestId = (request.headers['x-request-id'] as string | undefined) || undefined;
        const r = await incidents.openOrUpdate(input, { requestId });
        return reply.code(r.created ? 201 : 200).send({ action: actionOf(input, r), incident: r.incident ? incidentView(r.incident) : null });
      },
    );
  });
}
