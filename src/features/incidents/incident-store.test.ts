// Incident storage beyond the shared contract (src/storage/stores.test.ts runs that on every
// implementation): per-key locking across transactions and the migration's down and up.
import { describe, expect, it } from 'vitest';
import { storageTargets } from '../../../test/helpers/storage.ts';
import { migrateAllDown, migrateToLatest } from '../../storage/database.ts';
import { KyselyIncidentStore } from '../../storage/stores/kysely-incident-store.ts';
import { sampleIncident } from './incident-store.contract.ts';

for (const target of storageTargets) {
  describe.skipIf(!target.enabled)(`incident storage on ${target.name}`, () => {
    it('serialises writers of one key inside transactions', async () => {
      const s = await target.create();
      try {
        const { db, caps } = s.handle;
        await new KyselyIncidentStore({ db, caps }).insert(sampleIncident());
        const order: string[] = [];
        // Both transactions read-modify-write the same incident under lock(); the second waits.
        const bump = (name: string, hold: number) =>
          db.transaction().execute(async (trx) => {
            const store = new KyselyIncidentStore({ db: trx, caps, trx });
            await store.lock('INC-20250314-001');
            const inc = (await store.get('INC-20250314-001'))!;
            order.push(`${name}:read:${inc.evidenceCount}`);
            await new Promise((r) => setTimeout(r, hold));
            await store.update({ ...inc, evidenceCount: (inc.evidenceCount ?? 0) + 1 });
          });
        await Promise.all([bump('a', 80), new Promise((r) => setTimeout(r, 10)).then(() => bump('b', 0))]);
        expect(order).toEqual(['a:read:0', 'b:read:1']);
        expect((await new KyselyIncidentStore({ db, caps }).get('INC-20250314-001'))!.evidenceCount).toBe(2);
      } finally {
        await s.cleanup();
      }
    });

    it('migrates incidents down and up again', async () => {
      const s = await target.create();
      try {
        await migrateAllDown(s.handle);
        const store = new KyselyIncidentStore({ db: s.handle.db, caps: s.handle.caps });
        await expect(store.get('x')).rejects.toThrow();
        await migrateToLatest(s.handle);
        await store.insert(sampleIncident());
        expect((await store.get('INC-20250314-001'))?.model).toBe('support-bot');
      } finally {
        await s.cleanup();
      }
    });
  });
}
