// /api/v1/keys: admin-only key management. A secret appears in exactly two answers (create and
// rotate), marked no-store; every other answer carries the public fields only.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import type { ApiKey } from '../../core/types.ts';
import { actorOf } from '../../http/auth.ts';
import { parseInput } from '../../http/parse-input.ts';
import { roles, type KeyChangeContext } from './api-key-service.ts';

export const apiKeyView = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  createdAt: isoTime(k.createdAt),
  expiresAt: isoTimeOpt(k.expiresAt),
  revokedAt: isoTimeOpt(k.revokedAt),
  lastUsedAt: isoTimeOpt(k.lastUsedAt),
});

const createBody = z.strictObject({
  name: z.string().min(1).max(64),
  role: z.enum(roles as [string, ...string[]]),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  expiresInDays: z.number().positive().max(3650).optional(),
  reason: z.string().max(1000).optional(),
});

const rotateBody = z
  .strictObject({
    graceSeconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
    reason: z.string().max(1000).optional(),
  })
  .optional();

const revokeBody = z.strictObject({ reason: z.string().max(1000).optional() }).optional().nullable();

const idParams = z.object({ id: z.string().min(1).max(100) });

const changeContext = (request: FastifyRequest, reason?: string): KeyChangeContext => ({
  actor: actorOf(request),
  reason,
  requestId: (request.headers['x-request-id'] as string | undefined) || undefined,
});

export async function apiKeyRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const keys = ctx.services.apiKeys;
  const admin = ctx.requireRole('admin');

  app.get('/keys', { preHandler: admin, schema: { tags: ['keys'], summary: 'List API keys (never secrets)' } }, async () => ({
    keys: (await keys.list()).map(apiKeyView),
  }));

  app.get('/keys/me', { preHandler: ctx.requireRole('client'), schema: { tags: ['keys'], summary: 'The key making this request' } }, async (request) => ({
    key: apiKeyView(request.apiKey!),
  }));

  app.post('/keys', { preHandler: admin, schema: { tags: ['keys'], summary: 'Create an API key; the secret is returned once' } }, async (request, reply) => {
    const body = parseInput(createBody, request.body);
    if (body.expiresAt && body.expiresInDays) {
      throw new FailsafeError('VALIDATION_FAILED', 'give either expiresAt or expiresInDays, not both');
    }
    const expiresAt = body.expiresAt
      ? Date.parse(body.expiresAt)
      : body.expiresInDays
        ? ctx.clock.now() + Math.round(body.expiresInDays * 86_400_000)
        : undefined;
    const created = await keys.create({ name: body.name, role: body.role as ApiKey['role'], expiresAt }, changeContext(request, body.reason));
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ key: apiKeyView(created.key), secret: created.secret });
  });

  app.post('/keys/:id/rotate', { preHandler: admin, schema: { tags: ['keys'], summary: 'Replace a key with a new secret' } }, async (request, reply) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(rotateBody, request.body);
    const rotated = await keys.rotate(id, { ...changeContext(request, body?.reason), graceMs: (body?.graceSeconds ?? 0) * 1000 });
    reply.header('cache-control', 'no-store');
    return { key: apiKeyView(rotated.key), secret: rotated.secret, previous: apiKeyView(rotated.previous) };
  });

  app.delete('/keys/:id', { preHandler: admin, schema: { tags: ['keys'], summary: 'Revoke a key' } }, async (request) => {
    const { id } = parseInput(idParams, request.params, 'params');
    const body = parseInput(revokeBody, request.body);
    return { key: apiKeyView(await keys.revoke(id, changeContext(request, body?.reason ?? undefined))) };
  });
}
