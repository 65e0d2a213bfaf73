// Contract for ApiKeyStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { ApiKey } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

const key = (id: string, name: string, extra: Partial<ApiKey> = {}): ApiKey => ({
  id,
  name,
  role: 'operator',
  prefix: `fsk_${id}`,
  createdAt: 1_000,
  ...extra,
});

export function apiKeyStoreContract(getStores: () => Stores): void {
  describe('ApiKeyStore', () => {
    it('finds a key by its hash and round-trips every field, never the hash itself', async () => {
      const s = getStores();
      const full = key('k1', 'ci-bot', {
        role: 'admin',
        createdAt: 1_717_000_000_000,
        expiresAt: 1_718_000_000_000,
        revokedAt: 1_717_500_000_000,
        lastUsedAt: 1_717_400_000_000,
      });
      await s.apiKeys.insert(full, 'hash-1');
      const minimal = key('k2', 'viewer', { role: 'viewer' });
      await s.apiKeys.insert(minimal, 'hash-2');
      expect(await s.apiKeys.findByHash('hash-1')).toStrictEqual(full);
      expect(await s.apiKeys.findByHash('hash-2')).toStrictEqual(minimal);
      expect(await s.apiKeys.findByHash('hash-3')).toBeUndefined();
      expect(JSON.stringify(await s.apiKeys.list())).not.toContain('hash-1');
    });

    it('refuses a duplicate name, hash or id with CONFLICT and keeps the first', async () => {
      const s = getStores();
      await s.apiKeys.insert(key('k1', 'deployer', { role: 'operator' }), 'h1');
      await expect(s.apiKeys.insert(key('k2', 'deployer', { role: 'admin' }), 'h2')).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(s.apiKeys.insert(key('k3', 'other', { role: 'admin' }), 'h1')).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(s.apiKeys.insert(key('k1', 'third'), 'h3')).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await s.apiKeys.list()).toStrictEqual([key('k1', 'deployer', { role: 'operator' })]);
      expect(await s.apiKeys.findByHash('h2')).toBeUndefined();
    });

    it('lists oldest first, ties by name', async () => {
      const s = getStores();
      await s.apiKeys.insert(key('k1', 'zed', { createdAt: 2_000 }), 'h1');
      await s.apiKeys.insert(key('k2', 'bob', { createdAt: 2_000 }), 'h2');
      await s.apiKeys.insert(key('k3', 'amy', { createdAt: 3_000 }), 'h3');
      await s.apiKeys.insert(key('k4', 'old', { createdAt: 1_000 }), 'h4');
      expect((await s.apiKeys.list()).map((k) => k.name)).toEqual(['old', 'bob', 'zed', 'amy']);
    });

    it('revokes once: a second revoke keeps the first time; an unknown id is NOT_FOUND', async () => {
      const s = getStores();
      await s.apiKeys.insert(key('k1', 'a'), 'h1');
      await s.apiKeys.revoke('k1', 5_000);
      expect((await s.apiKeys.findByHash('h1'))?.revokedAt).toBe(5_000);
      await s.apiKeys.revoke('k1', 6_000);
      expect((await s.apiKeys.findByHash('h1'))?.revokedAt).toBe(5_000);
      await expect(s.apiKeys.revoke('ghost', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('touch records the latest use, never moves it back, and ignores unknown ids', async () => {
      const s = getStores();
      await s.apiKeys.insert(key('k1', 'a'), 'h1');
      await s.apiKeys.touch('k1', 7_000);
      expect((await s.apiKeys.findByHash('h1'))?.lastUsedAt).toBe(7_000);
      await s.apiKeys.touch('k1', 6_000);
      expect((await s.apiKeys.findByHash('h1'))?.lastUsedAt).toBe(7_000);
      await s.apiKeys.touch('k1', 8_000);
      expect((await s.apiKeys.findByHash('h1'))?.lastUsedAt).toBe(8_000);
      await expect(s.apiKeys.touch('ghost', 1)).resolves.toBeUndefined();
    });
  });
}
