// Contract for RollbackStore and PlaybookActionStore, run on memory, SQLite and PostgreSQL by
// src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { PlaybookAction } from '../playbooks/playbook-action-store.ts';
import type { Stores } from '../stores.ts';
import type { RollbackRecord } from './rollback-store.ts';

const T = Date.UTC(2025, 0, 1);
const record = (id: string, extra: Partial<RollbackRecord> = {}): RollbackRecord => ({
  id,
  model: 'support-bot',
  from: 'v3',
  status: 'running',
  phase: 'validating',
  actor: 'key:ops',
  candidates: ['v2', 'v1'],
  validations: [],
  startedAt: T,
  ...extra,
});
const action = (id: string, extra: Partial<PlaybookAction> = {}): PlaybookAction => ({
  id,
  incidentId: 'INC-1',
  model: 'support-bot',
  version: 'v3',
  kind: 'contain',
  mode: 'auto',
  status: 'pending',
  severity: 'SEV2',
  createdAt: T,
  ...extra,
});

export function rollbackStoreContract(getStores: () => Stores): void {
  describe('RollbackStore', () => {
    it('inserts, updates and reads back records, refusing duplicates and unknown ids', async () => {
      const s = getStores().rollbacks;
      await s.insert(record('rb-1'));
      await expect(s.insert(record('rb-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
      const done = record('rb-1', {
        status: 'succeeded',
        phase: 'done',
        to: 'v2',
        validations: [{ version: 'v2', kind: 'golden', passed: true, summary: 'ok', report: { passRate: 1 }, startedAt: T, finishedAt: T + 5 }],
        finishedAt: T + 10,
        durationMs: 10,
      });
      await s.update(done);
      expect(await s.get('rb-1')).toEqual(done);
      await expect(s.update(record('rb-404'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await s.get('rb-404')).toBeUndefined();
    });

    it('updates only a running record when asked to (heartbeats never undo an end)', async () => {
      const s = getStores().rollbacks;
      await s.insert(record('rb-h'));
      expect(await s.updateIfRunning(record('rb-h', { heartbeatAt: T + 5, owner: 'p1' }))).toBe(true);
      expect(await s.get('rb-h')).toMatchObject({ heartbeatAt: T + 5, owner: 'p1', status: 'running' });
      await s.update(record('rb-h', { status: 'succeeded', phase: 'done', finishedAt: T + 9 }));
      expect(await s.updateIfRunning(record('rb-h', { heartbeatAt: T + 10 }))).toBe(false);
      expect(await s.get('rb-h')).toMatchObject({ status: 'succeeded', phase: 'done' });
      expect(await s.updateIfRunning(record('rb-none'))).toBe(false);
    });

    it('lists newest first, by model, status and time', async () => {
      const s = getStores().rollbacks;
      await s.insert(record('rb-a', { startedAt: T + 1, status: 'failed' }));
      await s.insert(record('rb-b', { startedAt: T + 2 }));
      await s.insert(record('rb-c', { startedAt: T + 3, model: 'other' }));
      expect((await s.list()).map((r) => r.id)).toEqual(['rb-c', 'rb-b', 'rb-a']);
      expect((await s.list({ model: 'support-bot' })).map((r) => r.id)).toEqual(['rb-b', 'rb-a']);
      expect((await s.list({ status: ['running'] })).map((r) => r.id)).toEqual(['rb-c', 'rb-b']);
      expect((await s.list({ since: T + 2, limit: 1 })).map((r) => r.id)).toEqual(['rb-c']);
    });

    it('joins transactions: a failed one leaves nothing', async () => {
      const stores = getStores();
      await expect(
        stores.transaction(async (tx) => {
          await tx.rollbacks.insert(record('rb-tx'));
          await tx.playbookActions.insert(action('pa-tx'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await stores.rollbacks.get('rb-tx')).toBeUndefined();
      expect(await stores.playbookActions.get('pa-tx')).toBeUndefined();
    });
  });

  describe('PlaybookActionStore', () => {
    it('keeps actions per incident, oldest first, and filters by status', async () => {
      const s = getStores().playbookActions;
      await s.insert(action('pa-2', { createdAt: T + 2, kind: 'rollback', mode: 'approval' }));
      await s.insert(action('pa-1', { createdAt: T + 1 }));
      await s.insert(action('pa-3', { createdAt: T + 3, incidentId: 'INC-2' }));
      await expect(s.insert(action('pa-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await s.listForIncident('INC-1')).map((a) => a.id)).toEqual(['pa-1', 'pa-2']);
      await s.update({ ...(await s.get('pa-2'))!, status: 'denied', decidedBy: 'key:ops', decidedAt: T + 9 });
      expect(await s.get('pa-2')).toMatchObject({ status: 'denied', decidedBy: 'key:ops' });
      expect((await s.list({ status: ['pending'] })).map((a) => a.id)).toEqual(['pa-1', 'pa-3']);
      expect((await s.list({ model: 'support-bot', since: T + 3 })).map((a) => a.id)).toEqual(['pa-3']);
      await expect(s.update(action('pa-404'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
