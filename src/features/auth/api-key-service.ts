// API keys: `fsk_` + 32 random base62 characters. Only the sha256 of a secret is stored; the secret
// is shown once, when the key is created or rotated, and never logged or returned again.
// Verified keys are cached for a few seconds so authentication costs a Map lookup on the hot path;
// revoking a key drops it from this replica's cache at once (other replicas within the TTL).
import { randomBytes, randomUUID } from 'node:crypto';
import { FailsafeError } from '../../core/errors.ts';
import { sha256Hex } from '../../core/canonical-json.ts';
import type { ApiKey, Clock, EpochMs, Role } from '../../core/types.ts';
import type { Authenticator } from '../../http/auth.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { Stores } from '../stores.ts';
import type { ApiKeyStore } from './api-key-store.ts';

export const API_KEY_PREFIX = 'fsk_';
export const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';
export const roles: readonly Role[] = ['admin', 'operator', 'viewer', 'client'];

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random base62 (rejection sampling: 248 = 4 × 62 keeps every character equally likely). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export const generateSecret = (): string => API_KEY_PREFIX + randomBase62(32);

export const hashSecret = (secret: string): string => sha256Hex(secret);

/** The part of a secret that is safe to show: `fsk_` and 4 characters, or 4 characters of a foreign one. */
export function secretPrefix(secret: string): string {
  if (secret.startsWith(API_KEY_PREFIX)) return secret.slice(0, API_KEY_PREFIX.length + 4);
  return secret.length >= 16 ? secret.slice(0, 4) : '';
}

export interface KeyChangeContext {
  actor: string;
  reason?: string;
  requestId?: string;
}

export interface CreateKeyInput {
  name: string;
  role: Role;
  expiresAt?: EpochMs;
}

export interface CreatedKey {
  key: ApiKey;
  /** The secret, shown this once. */
  secret: string;
}

export interface RotatedKey extends CreatedKey {
  /** The key that was replaced, revoked now or at the end of the grace period. */
  previous: ApiKey;
}

export type BootstrapResult =
  | { status: 'created'; key: ApiKey; secret?: string }
  | { status: 'exists'; key: ApiKey }
  | { status: 'revoked'; key: ApiKey };

export interface ApiKeyServiceOptions {
  stores: Stores;
  audit: AuditLog;
  clock: Clock;
  /** How long a verified key is trusted without looking at the store again. */
  cacheTtlMs?: number;
  /** lastUsedAt is written at most this often per key, off the request path. */
  touchIntervalMs?: number;
  onError?: (err: unknown) => void;
}

interface CacheEntry {
  key: ApiKey | undefined;
  until: EpochMs;
}

/** Store method that frees a key's name for its successor; optional until every store has it. */
type RenamingStore = ApiKeyStore & { rename?: (id: string, name: string) => Promise<void> };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;
const MAX_CACHE = 10_000;

export const isActive = (key: ApiKey, now: EpochMs): boolean =>
  !(key.revokedAt !== undefined && key.revokedAt <= now) && !(key.expiresAt !== undefined && key.expiresAt <= now);

/** Public fields only: never the hash, never the secret. */
export const publicKey = (key: ApiKey): ApiKey => ({
  id: key.id,
  name: key.name,
  role: key.role,
  prefix: key.prefix,
  createdAt: key.createdAt,
  expiresAt: key.expiresAt,
  revokedAt: key.revokedAt,
  lastUsedAt: key.lastUsedAt,
});

export class ApiKeyService implements Authenticator {
  private readonly stores: Stores;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly cacheTtlMs: number;
  private readonly touchIntervalMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly touchedAt = new Map<string, EpochMs>();
  private readonly revokedHere = new Set<string>();

  constructor(options: ApiKeyServiceOptions) {
    this.stores = options.stores;
    this.audit = options.audit;
    this.clock = options.clock;
    this.cacheTtlMs = options.cacheTtlMs ?? 5_000;
    this.touchIntervalMs = options.touchIntervalMs ?? 60_000;
    this.onError = options.onError ?? (() => {});
  }

  async authenticate(secret: string): Promise<ApiKey | undefined> {
    if (!secret || secret.length > 256) return undefined;
    const now = this.clock.now();
    const hash = hashSecret(secret);
    let entry = this.cache.get(hash);
    if (!entry || entry.until <= now) {
      const key = await this.stores.apiKeys.findByHash(hash);
      entry = { key, until: now + this.cacheTtlMs };
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(hash, entry);
    }
    const key = entry.key;
    if (!key || !isActive(key, now) || this.revokedHere.has(key.id)) return undefined;
    this.touch(key, now);
    return key;
  }

  private touch(key: ApiKey, now: EpochMs): void {
    const last = this.touchedAt.get(key.id) ?? key.lastUsedAt ?? 0;
    if (now - last < this.touchIntervalMs) return;
    this.touchedAt.set(key.id, now);
    this.stores.apiKeys.touch(key.id, now).catch(this.onError);
  }

  /** Forgets cached verifications of one key (or all), so a revocation is seen on the next request. */
  invalidate(id?: string): void {
    if (id === undefined) return this.cache.clear();
    for (const [hash, entry] of this.cache) if (entry.key?.id === id) this.cache.delete(hash);
  }

  async list(): Promise<ApiKey[]> {
    return (await this.stores.apiKeys.list()).map(publicKey);
  }

  async get(id: string): Promise<ApiKey> {
    const key = (await this.stores.apiKeys.list()).find((k) => k.id === id);
    if (!key) throw new FailsafeError('NOT_FOUND', `no API key with id "${id}"`);
    return publicKey(key);
  }

  async create(input: CreateKeyInput, ctx: KeyChangeContext): Promise<CreatedKey> {
    return this.insertKey(input, generateSecret(), ctx, { action: 'key.create', successorName: false });
  }

  private async insertKey(
    input: CreateKeyInput,
    secret: string,
    ctx: KeyChangeContext,
    options: { action: string; successorName: boolean },
  ): Promise<CreatedKey> {
    validateName(input.name);
    if (!roles.includes(input.role)) throw new FailsafeError('VALIDATION_FAILED', `role: expected one of ${roles.join(', ')}`);
    const now = this.clock.now();
    if (input.expiresAt !== undefined && input.expiresAt <= now) {
      throw new FailsafeError('VALIDATION_FAILED', 'expiresAt: must be in the future');
    }
    const key: ApiKey = {
      id: newKeyId(),
      name: input.name,
      role: input.role,
      prefix: secretPrefix(secret),
      createdAt: now,
      expiresAt: input.expiresAt,
    };
    await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      const all = await tx.apiKeys.list();
      const existing = all.find((k) => k.name === input.name);
      if (existing) {
        if (isActive(existing, now) && !options.successorName) {
          throw new FailsafeError('CONFLICT', `an API key named "${input.name}" exists already (id ${existing.id}); rotate or revoke it`);
        }
        // An active holder keeps its name (bootstrap only: the successor gets `name-rN`).
        key.name = await this.takeOverName(tx, existing, all, !options.successorName, !isActive(existing, now));
      }
      await tx.apiKeys.insert(key, hashSecret(secret));
      await this.audit.append(tx, { ...auditBase(ctx), action: options.action, target: `key:${key.name}`, after: publicKey(key) });
    });
    return { key: publicKey(key), secret };
  }

  /**
   * Names are unique in the store, also among revoked keys, whose rows stay for the record. The
   * successor of `old` keeps its name when the store can rename `old` (to `name~id`); otherwise it
   * gets the next free `name-rN`, or, when `strict`, the name is reported as taken.
   */
  private async takeOverName(tx: Stores, old: ApiKey, all: ApiKey[], strict: boolean, mayRename = true): Promise<string> {
    const store = tx.apiKeys as RenamingStore;
    if (store.rename && mayRename) {
      await store.rename(old.id, `${old.name}~${old.id}`);
      return old.name;
    }
    if (strict) throw new FailsafeError('CONFLICT', `the name "${old.name}" is still held by the revoked key ${old.id}; choose another name`);
    const base = old.name.replace(/-r\d+$/, '');
    const taken = new Set(all.map((k) => k.name));
    let n = 2;
    while (taken.has(`${base}-r${n}`)) n++;
    return `${base}-r${n}`;
  }

  async revoke(id: string, ctx: KeyChangeContext): Promise<ApiKey> {
    const now = this.clock.now();
    const revoked = await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      const all = await tx.apiKeys.list();
      const key = all.find((k) => k.id === id);
      if (!key) throw new FailsafeError('NOT_FOUND', `no API key with id "${id}"`);
      if (key.revokedAt !== undefined && key.revokedAt <= now) return publicKey(key);
      if (key.role === 'admin' && isActive(key, now) && !all.some((k) => k.id !== id && k.role === 'admin' && isActive(k, now))) {
        throw new FailsafeError('CONFLICT', `"${key.name}" is the last active admin key; create another admin key before revoking it`);
      }
      await tx.apiKeys.revoke(id, now);
      const after = { ...publicKey(key), revokedAt: now };
      await this.audit.append(tx, { ...auditBase(ctx), action: 'key.revoke', target: `key:${key.name}`, before: publicKey(key), after });
      return after;
    });
    // A key inside a rotation grace period already carries a (future) revocation time, which a store
    // may keep; this replica refuses it from now on regardless.
    this.revokedHere.add(id);
    this.invalidate(id);
    return revoked;
  }

  /**
   * A new secret for the same name and role. The old key is revoked now, or at the end of
   * `graceMs` so clients can switch over without a failed request.
   */
  async rotate(id: string, ctx: KeyChangeContext & { graceMs?: number }): Promise<RotatedKey> {
    const now = this.clock.now();
    const graceMs = Math.max(0, ctx.graceMs ?? 0);
    const secret = generateSecret();
    const result = await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      const all = await tx.apiKeys.list();
      const old = all.find((k) => k.id === id);
      if (!old) throw new FailsafeError('NOT_FOUND', `no API key with id "${id}"`);
      if (!isActive(old, now)) throw new FailsafeError('INVALID_STATE', `key "${old.name}" is revoked or expired; create a new one`);
      const revokeAt = now + graceMs;
      await tx.apiKeys.revoke(old.id, revokeAt);
      const name = await this.takeOverName(tx, old, all, false);
      const key: ApiKey = {
        id: newKeyId(),
        name,
        role: old.role,
        prefix: secretPrefix(secret),
        createdAt: now,
        // A key created to expire keeps its lifetime.
        expiresAt: old.expiresAt !== undefined ? now + (old.expiresAt - old.createdAt) : undefined,
      };
      await tx.apiKeys.insert(key, hashSecret(secret));
      const previous = (await tx.apiKeys.list()).find((k) => k.id === old.id) ?? { ...old, revokedAt: revokeAt };
      await this.audit.append(tx, {
        ...auditBase(ctx),
        action: 'key.rotate',
        target: `key:${old.name}`,
        before: publicKey(old),
        after: { key: publicKey(key), previous: publicKey(previous), graceMs },
      });
      return { key: publicKey(key), previous: publicKey(previous) };
    });
    this.invalidate(id);
    return { ...result, secret };
  }

  /**
   * Startup: with FAILSAFE_ADMIN_KEY, make sure an admin key with exactly that secret exists
   * (named bootstrap-admin). Without it, when no active admin key exists, create one and return
   * its secret so the server can print it once.
   */
  async ensureBootstrapAdmin(envValue?: string): Promise<BootstrapResult> {
    const ctx: KeyChangeContext = { actor: 'system', reason: 'bootstrap admin key' };
    const now = this.clock.now();
    if (envValue !== undefined && envValue.trim() !== '') {
      const secret = envValue.trim();
      if (secret.length < 16) {
        throw new FailsafeError('VALIDATION_FAILED', 'FAILSAFE_ADMIN_KEY: must be at least 16 characters');
      }
      const found = await this.stores.apiKeys.findByHash(hashSecret(secret));
      if (found) {
        // A key revoked at run time stays revoked: restarting with the same value must not revive it.
        if (!isActive(found, now)) return { status: 'revoked', key: publicKey(found) };
        if (found.role !== 'admin') {
          throw new FailsafeError('CONFLICT', `FAILSAFE_ADMIN_KEY matches the key "${found.name}", which has role ${found.role}, not admin`);
        }
        return { status: 'exists', key: publicKey(found) };
      }
      // The value changed since the last start: the previous bootstrap key stops working.
      const previous = (await this.stores.apiKeys.list()).find((k) => k.name === BOOTSTRAP_ADMIN_NAME);
      if (previous && isActive(previous, now)) {
        await this.stores.transaction(async (tx) => {
          await tx.apiKeys.revoke(previous.id, now);
          await this.audit.append(tx, {
            ...ctx,
            action: 'key.revoke',
            target: `key:${previous.name}`,
            before: publicKey(previous),
            after: { ...publicKey(previous), revokedAt: now },
            reason: 'FAILSAFE_ADMIN_KEY changed',
          });
        });
        this.invalidate(previous.id);
      }
      try {
        const { key } = await this.insertKey({ name: BOOTSTRAP_ADMIN_NAME, role: 'admin' }, secret, ctx, { action: 'key.create', successorName: true });
        return { status: 'created', key };
      } catch (err) {
        // Another replica starting at the same moment may have inserted it first.
        const raced = await this.stores.apiKeys.findByHash(hashSecret(secret));
        if (raced && isActive(raced, now) && raced.role === 'admin') return { status: 'exists', key: publicKey(raced) };
        throw err;
      }
    }
    const admins = (await this.stores.apiKeys.list()).filter((k) => k.role === 'admin' && isActive(k, now));
    if (admins.length > 0) return { status: 'exists', key: publicKey(admins[0]!) };
    const created = await this.insertKey({ name: BOOTSTRAP_ADMIN_NAME, role: 'admin' }, generateSecret(), ctx, {
      action: 'key.create',
      successorName: true,
    });
    return { status: 'created', key: created.key, secret: created.secret };
  }
}

function validateName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new FailsafeError('VALIDATION_FAILED', 'name: 1-64 letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit');
  }
}

const newKeyId = (): string => `key_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

const auditBase = (ctx: KeyChangeContext) => ({ actor: ctx.actor, reason: ctx.reason, requestId: ctx.requestId });

export const createApiKeyService = (options: ApiKeyServiceOptions): ApiKeyService => new ApiKeyService(options);
