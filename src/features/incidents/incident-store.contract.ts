// Contract for IncidentStore, run against every implementation by src/storage/stores.test.ts.
import { describe, expect, it } from 'vitest';
import type { Incident } from '../../core/types.ts';
import type { Stores } from '../stores.ts';
import type { IncidentStore } from './incident-store.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 0);

export const sampleIncident = (over: Partial<Incident> = {}): Incident => ({
  id: 'INC-20250314-001',
  model: 'support-bot',
  version: 'v2',
  family: 'errors',
  title: 'error rate 12% (baseline 0.4%)',
  severity: 'SEV2',
  status: 'open',
  source: 'monitor',
  dedupKey: 'support-bot/v2/errors',
  detectedAt: T0,
  impact: {},
  evidence: [],
  evidenceCount: 0,
  ...over,
});

export function incidentStoreContract(getStores: () => Stores): void {
  describe('IncidentStore', () => {
    const withStore = (fn: (store: IncidentStore) => Promise<void>) => () => fn(getStores().incidents);

    it('rolls back an incident and its timeline with the transaction', async () => {
      const stores = getStores();
      await expect(
        stores.transaction(async (tx) => {
          await tx.incidents.insert(sampleIncident());
          await tx.incidents.appendTimeline({ incidentId: 'INC-20250314-001', at: T0, kind: 'detected', actor: 'x', message: 'y' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await stores.incidents.get('INC-20250314-001')).toBeUndefined();
      expect(await stores.incidents.findActive('support-bot/v2/errors')).toBeUndefined();
      await stores.incidents.insert(sampleIncident());
      expect(await stores.incidents.timeline('INC-20250314-001')).toEqual([]);
    });

    it(
      'round-trips every field, absent optionals stay absent',
      withStore(async (store) => {
        const full = sampleIncident({
          onsetAt: T0 - 30_000,
          acknowledgedAt: T0 + 1,
          containedAt: T0 + 2,
          mitigatedAt: T0 + 3,
          updatedAt: T0 + 3,
          status: 'mitigated',
          impact: { trafficShare: 0.1, requests: 500, failedRequests: 60, clients: 7, since: T0 - 30_000 },
          evidence: [{ test: 'two-proportion z', statistic: 9.1, threshold: 3, pValue: 1e-12, window: { from: T0 - 60_000, to: T0 }, sampleSize: 500 }],
          evidenceCount: 4,
          rootCause: { category: 'version_change', summary: 'v2 prompt', confidence: 0.8 },
          runbook: { id: 'SOP-001', version: 1 },
          sources: { 'monitor:errors': { kind: 'monitor', firstAt: T0, lastAt: T0 + 3, count: 4 } },
          severityBasis: { severity: 'SEV2', evidenceCount: 1, setBy: 'system', at: T0 },
        });
        await store.insert(full);
        expect(await store.get(full.id)).toEqual(full);

        const bare = sampleIncident({ id: 'INC-20250314-002', version: undefined, dedupKey: 'fraud-scorer/*/external', model: 'fraud-scorer' });
        await store.insert(bare);
        const got = await store.get(bare.id);
        expect(got).toEqual(bare);
        expect(got && 'version' in got).toBe(false);
        expect(await store.get('INC-nope')).toBeUndefined();
      }),
    );

    it(
      'counts ids per day prefix',
      withStore(async (store) => {
        expect(await store.nextSequence('INC-20250314-')).toBe(1);
        await store.insert(sampleIncident({ id: 'INC-20250314-001', dedupKey: 'a' }));
        await store.insert(sampleIncident({ id: 'INC-20250314-002', dedupKey: 'b' }));
        await store.insert(sampleIncident({ id: 'INC-20250315-001', dedupKey: 'c' }));
        expect(await store.nextSequence('INC-20250314-')).toBe(3);
        expect(await store.nextSequence('INC-20250315-')).toBe(2);
        expect(await store.nextSequence('INC-20250316-')).toBe(1);
      }),
    );

    it(
      'keeps one active incident per dedup key, and refuses duplicate ids',
      withStore(async (store) => {
        const first = sampleIncident();
        await store.insert(first);
        await expect(store.insert(sampleIncident({ id: 'INC-20250314-002' }))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(store.insert(sampleIncident({ dedupKey: 'other' }))).rejects.toMatchObject({ code: 'CONFLICT' });
        expect((await store.findActive(first.dedupKey))?.id).toBe(first.id);

        await store.update({ ...first, status: 'resolved', resolvedAt: T0 + 10 });
        expect(await store.findActive(first.dedupKey)).toBeUndefined();
        const second = sampleIncident({ id: 'INC-20250314-002', detectedAt: T0 + 20 });
        await store.insert(second);
        expect((await store.findActive(first.dedupKey))?.id).toBe(second.id);
        // a closed incident cannot come back while another holds the key
        await expect(store.update({ ...first, status: 'open' })).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(store.update(sampleIncident({ id: 'INC-missing', dedupKey: 'z' }))).rejects.toMatchObject({
          code: 'INCIDENT_NOT_FOUND',
        });
      }),
    );

    it(
      'lists newest first with filters',
      withStore(async (store) => {
        const rows: Incident[] = [
          sampleIncident({ id: 'INC-20250314-001', dedupKey: 'k1', detectedAt: T0, severity: 'SEV3' }),
          sampleIncident({ id: 'INC-20250314-002', dedupKey: 'k2', detectedAt: T0 + 1000, model: 'fraud-scorer', severity: 'SEV1' }),
          sampleIncident({ id: 'INC-20250314-003', dedupKey: 'k3', detectedAt: T0 + 2000, status: 'resolved', resolvedAt: T0 + 3000 }),
          sampleIncident({ id: 'INC-20250314-004', dedupKey: 'k4', detectedAt: T0 + 2000, version: 'v1' }),
        ];
        for (const r of rows) await store.insert(r);
        expect((await store.list()).map((i) => i.id)).toEqual(['INC-20250314-004', 'INC-20250314-003', 'INC-20250314-002', 'INC-20250314-001']);
        expect((await store.list({ model: 'fraud-scorer' })).map((i) => i.id)).toEqual(['INC-20250314-002']);
        expect((await store.list({ status: ['resolved'] })).map((i) => i.id)).toEqual(['INC-20250314-003']);
        expect((await store.list({ status: ['open', 'acknowledged'], severity: ['SEV1', 'SEV3'] })).map((i) => i.id)).toEqual([
          'INC-20250314-002',
          'INC-20250314-001',
        ]);
        expect((await store.list({ version: 'v1' })).map((i) => i.id)).toEqual(['INC-20250314-004']);
        expect((await store.list({ limit: 2 })).map((i) => i.id)).toEqual(['INC-20250314-004', 'INC-20250314-003']);
        expect((await store.list({ before: T0 + 2000 })).map((i) => i.id)).toEqual(['INC-20250314-002', 'INC-20250314-001']);
        expect((await store.list({ since: T0 + 1000 })).length).toBe(3);
      }),
    );

    it(
      'appends timeline events in order and reads them back with filters',
      withStore(async (store) => {
        await store.insert(sampleIncident());
        const a = await store.appendTimeline({ incidentId: 'INC-20250314-001', at: T0, kind: 'detected', actor: 'monitor:errors', message: 'opened' });
        const b = await store.appendTimeline({
          incidentId: 'INC-20250314-001',
          at: T0 + 5,
          kind: 'note',
          actor: 'key:alice',
          message: 'looking',
          data: { nested: { n: 1, list: ['x'] } },
        });
        expect(b.id).toBeGreaterThan(a.id);
        expect(a).not.toHaveProperty('data');
        const all = await store.timeline('INC-20250314-001');
        expect(all).toEqual([a, b]);
        expect(all[1]!.data).toEqual({ nested: { n: 1, list: ['x'] } });
        expect(await store.timeline('INC-20250314-001', { kinds: ['note'] })).toEqual([b]);
        expect(await store.timeline('INC-20250314-001', { afterId: a.id })).toEqual([b]);
        expect(await store.timeline('INC-20250314-001', { limit: 1 })).toEqual([a]);
        expect(await store.timeline('INC-other')).toEqual([]);
        await expect(
          store.appendTimeline({ incidentId: 'INC-missing', at: T0, kind: 'note', actor: 'x', message: 'y' }),
        ).rejects.toMatchObject({ code: 'INCIDENT_NOT_FOUND' });
      }),
    );

    it(
      'claims a signature once and forgets old ones',
      withStore(async (store) => {
        expect(await store.claimSignature('sig-a', T0, T0 - 300_000)).toBe(true);
        expect(await store.claimSignature('sig-a', T0 + 1, T0 - 300_000)).toBe(false);
        expect(await store.claimSignature('sig-b', T0 + 2, T0 - 300_000)).toBe(true);
        // after the window the old record is dropped (the age check rejects such requests anyway)
        expect(await store.claimSignature('sig-a', T0 + 400_000, T0 + 100_000)).toBe(true);
      }),
    );
  });
}
