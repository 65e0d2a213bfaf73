import { describe, expect, it } from 'vitest';
import { createFoundation } from '../../../test/helpers/foundation.ts';
import { createSqliteStorage } from '../../../test/helpers/storage.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { API_KEY_PREFIX, hashSecret, randomBase62, secretPrefix } from './api-key-service.ts';

const ops = { actor: 'key:admin' };

describe('ApiKeyService', () => {
  it('creates fsk_ + 32 base62 keys, stores only the hash, shows the prefix', async () => {
    const f = createFoundation();
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    expect(secret).toMatch(/^fsk_[A-Za-z0-9]{32}$/);
    expect(key.prefix).toBe(secret.slice(0, 8));
    expect(await f.stores.apiKeys.findByHash(hashSecret(secret))).toMatchObject({ id: key.id, role: 'operator' });
    const listed = await f.apiKeys.list();
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(JSON.stringify(listed)).not.toContain(hashSecret(secret));
    expect(await f.apiKeys.authenticate(secret)).toMatchObject({ name: 'ci', role: 'operator' });
    expect(await f.apiKeys.authenticate(secret + 'x')).toBeUndefined();
  });

  it('generates uniformly from the base62 alphabet', () => {
    const s = randomBase62(20_000);
    expect(s).toMatch(/^[A-Za-z0-9]+$/);
    expect(new Set(s).size).toBe(62);
    expect(secretPrefix(`${API_KEY_PREFIX}abcdefgh`)).toBe('fsk_abcd');
  });

  it('refuses a duplicate active name and bad input', async () => {
    const f = createFoundation();
    await f.apiKeys.create({ name: 'ci', role: 'viewer' }, ops);
    await expect(f.apiKeys.create({ name: 'ci', role: 'viewer' }, ops)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(f.apiKeys.create({ name: 'bad name', role: 'viewer' }, ops)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(f.apiKeys.create({ name: 'x', role: 'root' as never }, ops)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(f.apiKeys.create({ name: 'y', role: 'viewer', expiresAt: f.clock.now() - 1 }, ops)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('stops accepting a revoked key at once, despite the cache', async () => {
    const f = createFoundation();
    await f.apiKeys.create({ name: 'admin2', role: 'admin' }, ops);
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    expect(await f.apiKeys.authenticate(secret)).toBeDefined(); // now cached
    const revoked = await f.apiKeys.revoke(key.id, { ...ops, reason: 'leaked' });
    expect(revoked.revokedAt).toBe(f.clock.now());
    expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
  });

  it('caches verifications so the hot path does not query the store', async () => {
    const f = createFoundation();
    const { secret } = await f.apiKeys.create({ name: 'ci', role: 'client' }, ops);
    let lookups = 0;
    const original = f.stores.apiKeys.findByHash.bind(f.stores.apiKeys);
    f.stores.apiKeys.findByHash = async (h) => {
      lookups++;
      return original(h);
    };
    for (let i = 0; i < 100; i++) await f.apiKeys.authenticate(secret);
    expect(lookups).toBe(1);
    f.clock.advance(6_000);
    await f.apiKeys.authenticate(secret);
    expect(lookups).toBe(2);
  });

  it('expires keys on time', async () => {
    const f = createFoundation();
    const { secret } = await f.apiKeys.create({ name: 'tmp', role: 'viewer', expiresAt: f.clock.now() + 60_000 }, ops);
    expect(await f.apiKeys.authenticate(secret)).toBeDefined();
    f.clock.advance(60_000);
    expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
  });

  it('rotates: a new secret for the same role, the old one revoked at once', async () => {
    const f = createFoundation();
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    const rotated = await f.apiKeys.rotate(key.id, ops);
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.key.role).toBe('operator');
    expect(rotated.key.name.startsWith('ci')).toBe(true);
    expect(rotated.previous.revokedAt).toBe(f.clock.now());
    expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
    expect(await f.apiKeys.authenticate(rotated.secret)).toMatchObject({ id: rotated.key.id });
    await expect(f.apiKeys.rotate(key.id, ops)).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('rotates with a grace period during which both secrets work', async () => {
    const f = createFoundation();
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    const rotated = await f.apiKeys.rotate(key.id, { ...ops, graceMs: 30_000 });
    expect(await f.apiKeys.authenticate(secret)).toBeDefined();
    expect(await f.apiKeys.authenticate(rotated.secret)).toBeDefined();
    f.clock.advance(30_000);
    expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
    expect(await f.apiKeys.authenticate(rotated.secret)).toBeDefined();
  });

  it('revoking a key inside its grace period takes effect at once', async () => {
    const f = createFoundation();
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    await f.apiKeys.rotate(key.id, { ...ops, graceMs: 3_600_000 });
    await f.apiKeys.revoke(key.id, ops);
    expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
  });

  it('refuses to revoke the last active admin key', async () => {
    const f = createFoundation();
    const boot = await f.apiKeys.ensureBootstrapAdmin();
    await expect(f.apiKeys.revoke(boot.key.id, ops)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('writes audit entries for create, rotate and revoke, never with a secret or hash', async () => {
    const f = createFoundation();
    await f.apiKeys.create({ name: 'admin2', role: 'admin' }, ops);
    const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
    const rotated = await f.apiKeys.rotate(key.id, ops);
    await f.apiKeys.revoke(rotated.key.id, ops);
    const entries = await f.audit.list();
    expect(entries.map((e) => e.action)).toEqual(['key.create', 'key.create', 'key.rotate', 'key.revoke']);
    const text = JSON.stringify(entries);
    for (const s of [secret, rotated.secret, hashSecret(secret), hashSecret(rotated.secret)]) expect(text).not.toContain(s);
    expect(await f.audit.verify()).toMatchObject({ ok: true, entries: 4 });
  });

  describe('bootstrap admin', () => {
    it('without FAILSAFE_ADMIN_KEY creates one admin key once and returns its secret', async () => {
      const f = createFoundation();
      const first = await f.apiKeys.ensureBootstrapAdmin();
      expect(first.status).toBe('created');
      const secret = first.status === 'created' ? first.secret! : '';
      expect(await f.apiKeys.authenticate(secret)).toMatchObject({ role: 'admin', name: 'bootstrap-admin' });
      const again = await f.apiKeys.ensureBootstrapAdmin();
      expect(again.status).toBe('exists');
      expect('secret' in again).toBe(false);
      expect(await f.apiKeys.list()).toHaveLength(1);
    });

    it('with FAILSAFE_ADMIN_KEY makes exactly that value an admin key, idempotently', async () => {
      const f = createFoundation();
      const value = 'fsk_testBootstrapValue0000000000000';
      expect((await f.apiKeys.ensureBootstrapAdmin(value)).status).toBe('created');
      expect((await f.apiKeys.ensureBootstrapAdmin(value)).status).toBe('exists');
      expect(await f.apiKeys.authenticate(value)).toMatchObject({ role: 'admin', name: 'bootstrap-admin' });
      expect(await f.apiKeys.list()).toHaveLength(1);
    });

    it('a changed FAILSAFE_ADMIN_KEY replaces the previous bootstrap key', async () => {
      const f = createFoundation();
      const a = 'fsk_firstBootstrapValue000000000000';
      const b = 'fsk_secondBootstrapValue00000000000';
      await f.apiKeys.ensureBootstrapAdmin(a);
      await f.apiKeys.ensureBootstrapAdmin(b);
      expect(await f.apiKeys.authenticate(a)).toBeUndefined();
      expect(await f.apiKeys.authenticate(b)).toMatchObject({ role: 'admin' });
    });

    it('does not revive a bootstrap key revoked at run time', async () => {
      const f = createFoundation();
      const value = 'fsk_revokedBootstrapValue0000000000';
      const boot = await f.apiKeys.ensureBootstrapAdmin(value);
      await f.apiKeys.create({ name: 'other-admin', role: 'admin' }, ops);
      await f.apiKeys.revoke(boot.key.id, ops);
      expect((await f.apiKeys.ensureBootstrapAdmin(value)).status).toBe('revoked');
      expect(await f.apiKeys.authenticate(value)).toBeUndefined();
    });

    it('refuses a FAILSAFE_ADMIN_KEY shorter than 16 characters', async () => {
      const f = createFoundation();
      await expect(f.apiKeys.ensureBootstrapAdmin('short')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  it('works on a real SQLite file (create, rotate with grace, revoke)', async () => {
    const storage = await createSqliteStorage();
    try {
      const f = createFoundation({ stores: createKyselyStores(storage.handle) });
      await f.apiKeys.ensureBootstrapAdmin();
      const { key, secret } = await f.apiKeys.create({ name: 'ci', role: 'operator' }, ops);
      const rotated = await f.apiKeys.rotate(key.id, { ...ops, graceMs: 1_000 });
      expect(await f.apiKeys.authenticate(secret)).toBeDefined();
      f.clock.advance(1_000);
      expect(await f.apiKeys.authenticate(secret)).toBeUndefined();
      expect(await f.apiKeys.authenticate(rotated.secret)).toMatchObject({ role: 'operator' });
      expect(await f.audit.verify()).toMatchObject({ ok: true, entries: 3 });
    } finally {
      await storage.cleanup();
    }
  });
});
