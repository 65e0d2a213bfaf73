// Contract for AuditStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

const entry = (seq: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  seq,
  at: 1_000 * seq,
  actor: 'ops',
  action: 'route.update',
  target: 'model:m',
  prevHash: `h${seq - 1}`,
  hash: `h${seq}`,
  ...extra,
});

/** What an appender does: lock, read the head, write the next entry. */
async function append(s: Stores, actor: string): Promise<AuditEntry> {
  return s.transaction(async (tx) => {
    await tx.audit.lockChain?.();
    const head = await tx.audit.head();
    // Yield between the read and the write, so that an appender without the lock would interleave.
    await new Promise((r) => setTimeout(r, 2));
    const seq = (head?.seq ?? 0) + 1;
    const e = entry(seq, { actor, prevHash: head?.hash ?? 'genesis', hash: `${actor}:${seq}` });
    await tx.audit.insert(e);
    return e;
  });
}

export function auditStoreContract(getStores: () => Stores): void {
  describe('AuditStore', () => {
    it('round-trips every field, JSON before/after of any shape and optional ones included', async () => {
      const s = getStores();
      expect(await s.audit.head()).toBeUndefined();
      const full = entry(1, {
        before: { weights: { v1: 100 }, mode: 'serving', list: [1, 'two', null, { deep: true }] },
        after: { weights: { v1: 0, v2: 100 }, note: 'ünïcödé — “ok”' },
        reason: 'SEV1 rollback',
        requestId: 'req-123',
      });
      const nulls = entry(2, { before: null, after: 'a string' });
      const scalars = entry(3, { before: 42, after: [true, false] });
      const bare = entry(4);
      for (const e of [full, nulls, scalars, bare]) await s.audit.insert(e);
      expect(await s.audit.list()).toStrictEqual([full, nulls, scalars, bare]);
      expect(await s.audit.head()).toStrictEqual(bare);
      expect(await s.audit.count()).toBe(4);
    });

    it('lists oldest first by seq with afterSeq, target, action, [from, to) and limit', async () => {
      const s = getStores();
      // Inserted out of order: the list still follows seq.
      const entries = [
        entry(2, { target: 'model:b', action: 'model.create' }),
        entry(1, { target: 'model:a', action: 'model.create' }),
        entry(3, { target: 'model:a', action: 'route.update' }),
        entry(4, { target: 'model:a', action: 'rollback' }),
        entry(5, { target: 'model:b', action: 'route.update' }),
      ];
      for (const e of entries) await s.audit.insert(e);
      const seqs = async (q: Parameters<Stores['audit']['list']>[0]) => (await s.audit.list(q)).map((e) => e.seq);
      expect(await seqs(undefined)).toEqual([1, 2, 3, 4, 5]);
      expect(await seqs({ afterSeq: 2 })).toEqual([3, 4, 5]);
      expect(await seqs({ afterSeq: 2, limit: 2 })).toEqual([3, 4]);
      expect(await seqs({ target: 'model:a' })).toEqual([1, 3, 4]);
      expect(await seqs({ action: 'route.update' })).toEqual([3, 5]);
      expect(await seqs({ target: 'model:b', action: 'route.update' })).toEqual([5]);
      expect(await seqs({ from: 2_000, to: 4_000 })).toEqual([2, 3]);
      expect(await seqs({ afterSeq: 5 })).toEqual([]);
      expect((await s.audit.head())?.seq).toBe(5);
      expect(await s.audit.count()).toBe(5);
    });

    it('refuses a second entry with the same seq (CONFLICT) and keeps the first', async () => {
      const s = getStores();
      await s.audit.insert(entry(1, { actor: 'first' }));
      await expect(s.audit.insert(entry(1, { actor: 'second' }))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await s.audit.list()).map((e) => e.actor)).toEqual(['first']);
    });

    it('serialises concurrent appenders that take the chain lock into one unbroken chain', async () => {
      const s = getStores();
      // allSettled: a failing appender must not leave others running into the next test.
      const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => append(s, `w${i}`)));
      expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
      const written = settled.map((r) => (r as PromiseFulfilledResult<AuditEntry>).value);
      expect(written.map((e) => e.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const chain = await s.audit.list();
      expect(chain).toHaveLength(8);
      chain.forEach((e, i) => expect(e.prevHash).toBe(i === 0 ? 'genesis' : chain[i - 1].hash));
    });
  });
}
