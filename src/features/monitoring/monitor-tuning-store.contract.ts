// Contract for MonitorTuningStore, run on memory, SQLite and PostgreSQL by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Stores } from '../stores.ts';
import type { MonitorTuning } from './monitor-tuning-store.ts';

const T = Date.UTC(2025, 0, 1);
const tuning = (model: string, monitor: string, extra: Partial<MonitorTuning> = {}): MonitorTuning => ({
  model,
  monitor,
  settings: { absoluteThreshold: 0.1, windows: [5, 30] },
  updatedAt: T,
  updatedBy: 'key:ops',
  reason: 'postmortem INC-1',
  ...extra,
});

export function monitorTuningStoreContract(getStores: () => Stores): void {
  describe('MonitorTuningStore', () => {
    it('upserts, reads back, lists in order and deletes', async () => {
      const s = getStores().monitorTuning;
      expect(await s.get('support-bot', 'error-rate')).toBeUndefined();
      await s.upsert(tuning('support-bot', 'latency', { settings: { thresholdsMs: { p99: 900 } } }));
      await s.upsert(tuning('support-bot', 'error-rate'));
      await s.upsert(tuning('fraud-scorer', 'accuracy', { reason: undefined }));
      expect(await s.get('support-bot', 'error-rate')).toEqual(tuning('support-bot', 'error-rate'));
      const replaced = tuning('support-bot', 'error-rate', { settings: { absoluteThreshold: null }, updatedAt: T + 1, reason: 'looser' });
      await s.upsert(replaced);
      expect(await s.get('support-bot', 'error-rate')).toEqual(replaced);
      expect((await s.list()).map((t) => `${t.model}/${t.monitor}`)).toEqual(['fraud-scorer/accuracy', 'support-bot/error-rate', 'support-bot/latency']);
      expect((await s.list('support-bot')).map((t) => t.monitor)).toEqual(['error-rate', 'latency']);
      const noReason = await s.get('fraud-scorer', 'accuracy');
      expect(noReason).toBeDefined();
      expect('reason' in noReason!).toBe(false);
      expect(await s.delete('support-bot', 'error-rate')).toBe(true);
      expect(await s.delete('support-bot', 'error-rate')).toBe(false);
      expect(await s.get('support-bot', 'error-rate')).toBeUndefined();
    });

    it('rolls back with the transaction', async () => {
      const stores = getStores();
      await stores.monitorTuning.upsert(tuning('support-bot', 'latency'));
      await expect(
        stores.transaction(async (tx) => {
          await tx.monitorTuning.upsert(tuning('support-bot', 'latency', { settings: { minSamples: 5 } }));
          await tx.monitorTuning.upsert(tuning('support-bot', 'accuracy'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await stores.monitorTuning.get('support-bot', 'latency'))?.settings).toEqual(tuning('x', 'y').settings);
      expect(await stores.monitorTuning.get('support-bot', 'accuracy')).toBeUndefined();
    });
  });
}
