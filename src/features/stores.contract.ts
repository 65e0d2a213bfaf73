// Contract for Stores.transaction, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { AuditEntry, ModelVersion, Route, Trace } from '../core/types.ts';
import type { Stores } from './stores.ts';

const version: ModelVersion = {
  model: 'tx-model',
  version: 'v1',
  state: 'live',
  upstream: { url: 'http://127.0.0.1:1/v1', provider: 'openai' },
  contentHash: 'h',
  createdAt: 1,
  stateChangedAt: 1,
};
const route: Route = { model: 'tx-model', weights: { v1: 100 }, mode: 'serving', revision: 1, updatedAt: 1, updatedBy: 'ops' };
const trace: Trace = {
  requestId: 'tx-req',
  model: 'tx-model',
  kind: 'chat',
  startedAt: 1,
  latencyMs: 1,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 0,
  outputChars: 0,
};
const audit: AuditEntry = { seq: 1, at: 1, actor: 'ops', action: 'x', target: 't', prevHash: 'g', hash: 'h1' };

/** Writes one row (or more) through every store. */
async function writeEverything(tx: Stores): Promise<void> {
  await tx.models.insert({ name: 'tx-model', kind: 'chat', tags: [], createdAt: 1 });
  await tx.versions.insert(version);
  await tx.routes.save(route, { model: 'tx-model', revision: 1, weights: { v1: 100 }, mode: 'serving', actor: 'ops', at: 1 });
  await tx.traces.insertMany([trace]);
  await tx.feedback.insert({ requestId: 'tx-req', model: 'tx-model', requestAt: 1, receivedAt: 2, rating: 1 });
  await tx.apiKeys.insert({ id: 'k', name: 'tx-key', role: 'admin', prefix: 'fsk_k', createdAt: 1 }, 'tx-hash');
  await tx.audit.lockChain?.();
  await tx.audit.insert(audit);
}

async function expectNothingWritten(s: Stores): Promise<void> {
  expect(await s.models.list()).toEqual([]);
  expect(await s.versions.list('tx-model')).toEqual([]);
  expect(await s.routes.get('tx-model')).toBeUndefined();
  expect(await s.routes.history('tx-model')).toEqual([]);
  expect(await s.traces.get('tx-req')).toBeUndefined();
  expect(await s.feedback.forRequest('tx-req')).toEqual([]);
  expect(await s.apiKeys.list()).toEqual([]);
  expect(await s.audit.count()).toBe(0);
}

export function storesTransactionContract(getStores: () => Stores): void {
  describe('Stores.transaction', () => {
    it('commits every store’s writes together and returns fn’s value', async () => {
      const s = getStores();
      const result = await s.transaction(async (tx) => {
        await writeEverything(tx);
        // Reads inside the transaction see its own writes.
        expect((await tx.models.get('tx-model'))?.name).toBe('tx-model');
        return 'done';
      });
      expect(result).toBe('done');
      expect(await s.versions.get('tx-model', 'v1')).toStrictEqual(version);
      expect(await s.routes.get('tx-model')).toStrictEqual(route);
      expect(await s.routes.history('tx-model')).toHaveLength(1);
      expect((await s.traces.get('tx-req'))?.requestId).toBe('tx-req');
      expect(await s.feedback.forRequest('tx-req')).toHaveLength(1);
      expect(await s.apiKeys.findByHash('tx-hash')).toBeDefined();
      expect(await s.audit.head()).toStrictEqual(audit);
    });

    it('a throw inside leaves nothing written in any store and rethrows the same error', async () => {
      const s = getStores();
      const boom = new Error('boom');
      await expect(
        s.transaction(async (tx) => {
          await writeEverything(tx);
          throw boom;
        }),
      ).rejects.toBe(boom);
      await expectNothingWritten(s);
    });

    it('rolls back updates too, restoring what was there before', async () => {
      const s = getStores();
      await s.transaction(writeEverything);
      await expect(
        s.transaction(async (tx) => {
          await tx.models.updateTags('tx-model', ['changed']);
          await tx.versions.setState('tx-model', 'v1', 'faulty', 99);
          await tx.routes.save({ ...route, revision: 2, mode: 'paused' }, { model: 'tx-model', revision: 2, weights: {}, mode: 'paused', actor: 'x', at: 2 });
          await tx.apiKeys.revoke('k', 50);
          await tx.apiKeys.touch('k', 60);
          await tx.traces.prune({ maxCount: 0 });
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect((await s.models.get('tx-model'))?.tags).toEqual([]);
      expect((await s.versions.get('tx-model', 'v1'))?.state).toBe('live');
      expect(await s.routes.get('tx-model')).toStrictEqual(route);
      expect(await s.routes.history('tx-model')).toHaveLength(1);
      const k = await s.apiKeys.findByHash('tx-hash');
      expect([k?.revokedAt, k?.lastUsedAt]).toEqual([undefined, undefined]);
      expect(await s.traces.get('tx-req')).toBeDefined();
    });

    it('nested calls join the outer transaction: they commit and roll back with it', async () => {
      const s = getStores();
      await s.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await inner.models.insert({ name: 'nested-ok', kind: 'chat', tags: [], createdAt: 1 });
        });
        expect(await tx.models.get('nested-ok')).toBeDefined();
      });
      expect(await s.models.get('nested-ok')).toBeDefined();

      await expect(
        s.transaction(async (tx) => {
          await tx.transaction(async (inner) => writeEverything(inner));
          throw new Error('outer fails after the nested call returned');
        }),
      ).rejects.toThrow('outer fails');
      await s.models.list().then((models) => expect(models.map((m) => m.name)).toEqual(['nested-ok']));
      expect(await s.audit.count()).toBe(0);
    });

    it('a refused write (duplicate) does not spoil the transaction: it can go on and commit', async () => {
      const s = getStores();
      await s.models.insert({ name: 'taken', kind: 'chat', tags: [], createdAt: 1 });
      await s.transaction(async (tx) => {
        await expect(tx.models.insert({ name: 'taken', kind: 'predict', tags: [], createdAt: 2 })).rejects.toMatchObject({
          code: 'MODEL_EXISTS',
        });
        await expect(tx.apiKeys.insert({ id: 'a', name: 'n', role: 'viewer', prefix: 'p', createdAt: 1 }, 'h')).resolves.toBeUndefined();
        await expect(tx.apiKeys.insert({ id: 'b', name: 'n', role: 'viewer', prefix: 'p', createdAt: 1 }, 'h2')).rejects.toMatchObject({
          code: 'CONFLICT',
        });
        await tx.models.insert({ name: 'after', kind: 'chat', tags: [], createdAt: 3 });
      });
      expect((await s.models.list()).map((m) => m.name)).toEqual(['after', 'taken']);
      expect(await s.apiKeys.list()).toHaveLength(1);
    });

    it('the audit chain lock serialises whole read-modify-write transactions', async () => {
      const s = getStores();
      await s.models.insert({ name: 'counter', kind: 'chat', tags: ['0'], createdAt: 1 });
      // Without the lock, PostgreSQL transactions would read the same value and lose updates.
      const settled = await Promise.allSettled(
        Array.from({ length: 5 }, () =>
          s.transaction(async (tx) => {
            await tx.audit.lockChain?.();
            const m = (await tx.models.get('counter'))!;
            await new Promise((r) => setTimeout(r, 1));
            await tx.models.updateTags('counter', [String(Number(m.tags[0]) + 1)]);
          }),
        ),
      );
      expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
      expect((await s.models.get('counter'))?.tags).toEqual(['5']);
    });
  });
}
