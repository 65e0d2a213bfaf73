// Bearer API keys with roles. Roles are ordered: a key may do what its role and every lower role may.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { FailsafeError } from '../core/errors.ts';
import type { ApiKey, Role } from '../core/types.ts';

export const roleRank: Record<Role, number> = { client: 0, viewer: 1, operator: 2, admin: 3 };

export const hasRole = (key: Pick<ApiKey, 'role'>, needed: Role): boolean => roleRank[key.role] >= roleRank[needed];

export interface Authenticator {
  /** The key for a presented secret, or undefined when unknown, revoked or expired. */
  authenticate(secret: string): Promise<ApiKey | undefined>;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match ? match[1]!.trim() : undefined;
}

/** The actor recorded in audit entries and timelines for this request. */
export const actorOf = (request: FastifyRequest): string => (request.apiKey ? `key:${request.apiKey.name}` : 'anonymous');

export function makeRequireRole(authenticator: Authenticator) {
  /** The key an Authorization header presents, if it has at least the `needed` role; else a 401 or 403 FailsafeError. */
  async function authorize(authorization: string | undefined, needed: Role): Promise<ApiKey> {
    const token = bearerToken(authorization);
    if (!token) throw new FailsafeError('UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>');
    const key = await authenticator.authenticate(token);
    if (!key) throw new FailsafeError('UNAUTHORIZED', 'invalid, revoked or expired API key');
    if (!hasRole(key, needed)) {
      throw new FailsafeError('FORBIDDEN', `this action needs the ${needed} role; the key "${key.name}" has ${key.role}`);
    }
    return key;
  }
  const requireRole = (needed: Role): preHandlerAsyncHookHandler =>
    async function requireRole(request: FastifyRequest, _reply: FastifyReply) {
      request.apiKey = await authorize(request.headers.authorization, needed);
    };
  // Routes served outside Fastify (the data plane) check keys with the same function.
  return Object.assign(requireRole, { authorize });
}

export type RequireRole = ReturnType<typeof makeRequireRole>;
