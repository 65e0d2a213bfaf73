// Contract for RunbookStore, run on memory, SQLite and PostgreSQL by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Stores } from '../stores.ts';
import type { RunbookDefinition } from './runbook-definition.ts';
import type { Checklist, StoredRunbook } from './runbook-store.ts';

const T = Date.UTC(2025, 0, 1);
const definition = (title: string): RunbookDefinition => ({
  id: 'SOP-T',
  title,
  steps: [{ id: 'detect', title: 'Detect', owner: { role: 'operator', audience: 'engineering' }, kind: 'automatic', action: 'detect', after: [] }],
});
const runbook = (id: string, version: number, extra: Partial<StoredRunbook> = {}): StoredRunbook => ({
  id,
  version,
  title: `${id} v${version}`,
  hash: `h-${id}-${version}`,
  yaml: `id: ${id}\n`,
  definition: definition(`${id} v${version}`),
  createdAt: T + version,
  createdBy: 'config',
  ...extra,
});
const checklist = (incidentId: string, extra: Partial<Checklist> = {}): Checklist => ({
  incidentId,
  runbook: { id: 'SOP-T', version: 1, hash: 'h', title: 'T' },
  steps: definition('T').steps,
  states: { detect: { status: 'pending', dueAt: T + 60_000 } },
  severity: 'SEV2',
  detectedAt: T,
  revision: 1,
  createdAt: T,
  updatedAt: T,
  ...extra,
});

export function runbookStoreContract(getStores: () => Stores): void {
  describe('RunbookStore', () => {
    it('keeps every version, refuses a duplicate (id, version), reads latest and by version', async () => {
      const s = getStores().runbooks;
      expect(await s.getVersion('SOP-T')).toBeUndefined();
      await s.insertVersion(runbook('SOP-T', 1));
      await s.insertVersion(runbook('SOP-T', 2, { yaml: 'id: SOP-T\ntitle: "two: ü"\n' }));
      await s.insertVersion(runbook('OTHER', 1));
      await expect(s.insertVersion(runbook('SOP-T', 2))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await s.getVersion('SOP-T')).toEqual(runbook('SOP-T', 2, { yaml: 'id: SOP-T\ntitle: "two: ü"\n' }));
      expect(await s.getVersion('SOP-T', 1)).toEqual(runbook('SOP-T', 1));
      expect(await s.getVersion('SOP-T', 7)).toBeUndefined();
      expect((await s.listVersions('SOP-T')).map((r) => r.version)).toEqual([1, 2]);
      expect((await s.listLatest()).map((r) => `${r.id}@${r.version}`)).toEqual(['OTHER@1', 'SOP-T@2']);
    });

    it('stores one checklist per incident and updates it by compare-and-set on revision', async () => {
      const s = getStores().runbooks;
      await s.insertChecklist(checklist('INC-1'));
      await expect(s.insertChecklist(checklist('INC-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await s.getChecklist('INC-1')).toEqual(checklist('INC-1'));
      expect(await s.getChecklist('INC-404')).toBeUndefined();

      const next = checklist('INC-1', { revision: 2, states: { detect: { status: 'done', completedAt: T + 5, by: 'system', eventId: 7 } }, updatedAt: T + 5 });
      await s.updateChecklist(next, 1);
      expect(await s.getChecklist('INC-1')).toEqual(next);
      // A writer that read revision 1 lost the race.
      await expect(s.updateChecklist(checklist('INC-1', { revision: 2 }), 1)).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await s.getChecklist('INC-1')).toEqual(next);
      await expect(s.updateChecklist(checklist('INC-404', { revision: 2 }), 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('lists checklists with a step due and not yet escalated, earliest first', async () => {
      const s = getStores().runbooks;
      await s.insertChecklist(checklist('INC-a', { states: { detect: { status: 'pending', dueAt: T + 300 } } }));
      await s.insertChecklist(checklist('INC-b', { states: { detect: { status: 'pending', dueAt: T + 100 } } }));
      await s.insertChecklist(checklist('INC-c', { states: { detect: { status: 'done', dueAt: T + 50 } } }));
      await s.insertChecklist(checklist('INC-d', { states: { detect: { status: 'pending', dueAt: T + 60, escalatedAt: T + 61 } } }));
      await s.insertChecklist(checklist('INC-e', { states: { detect: { status: 'pending' } } }));
      expect((await s.listDue(T + 99)).map((c) => c.incidentId)).toEqual([]);
      expect((await s.listDue(T + 100)).map((c) => c.incidentId)).toEqual(['INC-b']);
      expect((await s.listDue(T + 1000)).map((c) => c.incidentId)).toEqual(['INC-b', 'INC-a']);
      expect((await s.listDue(T + 1000, 1)).map((c) => c.incidentId)).toEqual(['INC-b']);
      // Escalating the step takes it off the list.
      const b = (await s.getChecklist('INC-b'))!;
      await s.updateChecklist({ ...b, revision: 2, states: { detect: { ...b.states.detect!, escalatedAt: T + 200 } } }, 1);
      expect((await s.listDue(T + 1000)).map((c) => c.incidentId)).toEqual(['INC-a']);
    });

    it('rolls back with the transaction', async () => {
      const stores = getStores();
      await expect(
        stores.transaction(async (tx) => {
          await tx.runbooks.insertVersion(runbook('SOP-T', 1));
          await tx.runbooks.insertChecklist(checklist('INC-tx'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await stores.runbooks.getVersion('SOP-T')).toBeUndefined();
      expect(await stores.runbooks.getChecklist('INC-tx')).toBeUndefined();
    });
  });
}
