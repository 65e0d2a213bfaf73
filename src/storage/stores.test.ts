// Runs every store contract against every implementation: the in-memory fakes, SQLite (a real
// file) and PostgreSQL (a fresh database per suite on the real server; skipped, visibly, when
// FAILSAFE_TEST_PG_URL is unset).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets } from '../../test/helpers/storage.ts';
import { auditStoreContract } from '../features/audit/audit-store.contract.ts';
import { deploymentStoreContract } from '../features/deployments/deployment-store.contract.ts';
import { apiKeyStoreContract } from '../features/auth/api-key-store.contract.ts';
import { feedbackStoreContract } from '../features/feedback/feedback-store.contract.ts';
import { incidentStoreContract } from '../features/incidents/incident-store.contract.ts';
import { monitorTuningStoreContract } from '../features/monitoring/monitor-tuning-store.contract.ts';
import { createMemoryStores } from '../features/memory-stores.ts';
import { registryStoreContract } from '../features/registry/registry-store.contract.ts';
import { routeStoreContract } from '../features/routing/route-store.contract.ts';
import { rollbackStoreContract } from '../features/rollback/rollback-store.contract.ts';
import { runbookStoreContract } from '../features/runbooks/runbook-store.contract.ts';
import { storesTransactionContract } from '../features/stores.contract.ts';
import type { Stores } from '../features/stores.ts';
import { traceStoreContract } from '../features/telemetry/trace-store.contract.ts';
import type { StorageHandle } from './database.ts';
import { createKyselyStores } from './kysely-stores.ts';

const contracts: [string, (getStores: () => Stores) => void][] = [
  ['registry', registryStoreContract],
  ['routes', routeStoreContract],
  ['traces', traceStoreContract],
  ['feedback', feedbackStoreContract],
  ['api keys', apiKeyStoreContract],
  ['audit', auditStoreContract],
  ['incidents', incidentStoreContract],
  ['rollbacks', rollbackStoreContract],
  ['runbooks', runbookStoreContract],
  ['deployments', deploymentStoreContract],
  ['monitor tuning', monitorTuningStoreContract],
  ['transactions', storesTransactionContract],
];

interface Target {
  name: string;
  enabled: boolean;
  skipReason?: string;
  /** Storage for one suite; `fresh()` gives the stores for one test, starting empty. */
  open(): Promise<{ fresh(): Promise<Stores>; close(): Promise<void> }>;
}

/** The tables the contracts write, children before parents. */
const contractTables = ['deployment_analyses', 'deployments', 'experiments', 'monitor_tuning', 'runbook_checklists', 'runbooks', 'rollbacks', 'playbook_actions', 'incident_timeline', 'incidents', 'signed_requests', 'audit_log', 'api_keys', 'feedback', 'traces', 'route_history', 'routes', 'versions', 'models'] as const;

async function emptyTables(handle: StorageHandle): Promise<void> {
  for (const table of contractTables) await handle.db.deleteFrom(table).execute();
}

const targets: Target[] = [
  {
    name: 'memory',
    enabled: true,
    open: async () => ({ fresh: async () => createMemoryStores(), close: async () => {} }),
  },
  ...storageTargets.map(
    (t): Target => ({
      name: t.name,
      enabled: t.enabled,
      skipReason: t.enabled ? undefined : 'FAILSAFE_TEST_PG_URL is not set',
      open: async () => {
        const storage = await t.create();
        const stores = createKyselyStores(storage.handle);
        return {
          fresh: async () => {
            await emptyTables(storage.handle);
            return stores;
          },
          close: () => storage.cleanup(),
        };
      },
    }),
  ),
];

describe.each(targets)('stores on $name', (target) => {
  describe.skipIf(!target.enabled)(target.skipReason ? `SKIPPED: ${target.skipReason}` : 'contracts', () => {
    for (const [name, contract] of contracts) {
      describe(name, () => {
        let suite: Awaited<ReturnType<Target['open']>> | undefined;
        let stores: Stores | undefined;
        beforeAll(async () => {
          suite = await target.open();
        });
        afterAll(async () => {
          await suite?.close();
        });
        beforeEach(async () => {
          stores = await suite!.fresh();
        });
        contract(() => stores!);
      });
    }
  });
});

// What only the database stores do: the chain lock needs a transaction to live in.
describe.each(storageTargets)('Kysely stores on $name', (target) => {
  describe.skipIf(!target.enabled)(target.enabled ? 'outside the contracts' : 'SKIPPED: FAILSAFE_TEST_PG_URL is not set', () => {
    it('refuses lockChain outside a transaction, where the lock would protect nothing', async () => {
      const storage = await target.create();
      try {
        const stores = createKyselyStores(storage.handle);
        await expect(stores.audit.lockChain!()).rejects.toMatchObject({ code: 'INTERNAL' });
        await expect(stores.transaction((tx) => tx.audit.lockChain!())).resolves.toBeUndefined();
        // head() outside a transaction is a plain read.
        await expect(stores.audit.head()).resolves.toBeUndefined();
      } finally {
        await storage.cleanup();
      }
    });
  });
});
