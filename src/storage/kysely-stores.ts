// The one store implementation for SQLite and PostgreSQL. Engine differences come from
// handle.caps (capabilities.ts), never from tests of the engine here.
import type { Kysely, Transaction } from 'kysely';
import type { Stores } from '../features/stores.ts';
import type { Capabilities } from './capabilities.ts';
import type { StorageHandle } from './database.ts';
import type { Database } from './schema.ts';
import { KyselyApiKeyStore } from './stores/kysely-api-key-store.ts';
import { KyselyAuditStore } from './stores/kysely-audit-store.ts';
import { KyselyDeploymentStore, KyselyExperimentStore } from './stores/kysely-deployment-store.ts';
import { KyselyFeedbackStore } from './stores/kysely-feedback-store.ts';
import { KyselyIncidentStore } from './stores/kysely-incident-store.ts';
import { KyselyModelStore, KyselyVersionStore } from './stores/kysely-registry-store.ts';
import { KyselyMonitorTuningStore } from './stores/kysely-monitor-tuning-store.ts';
import { KyselyRouteStore } from './stores/kysely-route-store.ts';
import { KyselyPlaybookActionStore, KyselyRollbackStore } from './stores/kysely-rollback-store.ts';
import { KyselyRunbookStore } from './stores/kysely-runbook-store.ts';
import type { StoreContext } from './stores/store-context.ts';
import { KyselyTraceStore } from './stores/kysely-trace-store.ts';

function buildStores(ctx: StoreContext, transaction: Stores['transaction']): Stores {
  return {
    models: new KyselyModelStore(ctx),
    versions: new KyselyVersionStore(ctx),
    routes: new KyselyRouteStore(ctx),
    traces: new KyselyTraceStore(ctx),
    feedback: new KyselyFeedbackStore(ctx),
    apiKeys: new KyselyApiKeyStore(ctx),
    audit: new KyselyAuditStore(ctx),
    incidents: new KyselyIncidentStore(ctx),
    rollbacks: new KyselyRollbackStore(ctx),
    playbookActions: new KyselyPlaybookActionStore(ctx),
    runbooks: new KyselyRunbookStore(ctx),
    deployments: new KyselyDeploymentStore(ctx),
    experiments: new KyselyExperimentStore(ctx),
    monitorTuning: new KyselyMonitorTuningStore(ctx),
    transaction,
  };
}

/** A set bound to one transaction; nested `transaction` calls join it. */
function storesBoundTo(trx: Transaction<Database>, caps: Capabilities): Stores {
  const bound: Stores = buildStores({ db: trx, caps, trx }, (fn) => fn(bound));
  return bound;
}

/**
 * Stores over a storage handle. Inside `transaction(fn)`, use only the set fn receives: on SQLite
 * the root set waits for the one connection the transaction holds, so calling it there deadlocks.
 */
export function createKyselyStores(handle: Pick<StorageHandle, 'db' | 'caps' | 'bulkWrite' | 'backgroundRead'>): Stores {
  const db: Kysely<Database> = handle.db;
  const caps = handle.caps;
  return buildStores({ db, caps, bulkWrite: handle.bulkWrite, backgroundRead: handle.backgroundRead }, (fn) => db.transaction().execute((trx) => fn(storesBoundTo(trx, caps))));
}
