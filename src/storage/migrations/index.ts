// Ordered migrations. Each feature adds its own file and one line here; names sort in order.
import type { Kysely } from 'kysely';
import type { Capabilities } from '../capabilities.ts';
import * as foundation from './001-foundation.ts';
import * as incidents from './002-incidents.ts';
import * as tracesStartedIndex from './002-traces-started-index.ts';
import * as runbooks from './003-runbooks.ts';
import * as rollbacks from './004-rollbacks.ts';
import * as deployments from './005-deployments.ts';
import * as monitorTuning from './006-monitor-tuning.ts';
import * as tracesFailureIndexes from './007-traces-failure-indexes.ts';

export interface MigrationModule {
  up(db: Kysely<any>, caps: Capabilities): Promise<void>;
  down(db: Kysely<any>, caps: Capabilities): Promise<void>;
}

export const migrations: Record<string, MigrationModule> = {
  '001-foundation': foundation,
  '002-incidents': incidents,
  '002-traces-started-index': tracesStartedIndex,
  '003-runbooks': runbooks,
  '004-rollbacks': rollbacks,
  '005-deployments': deployments,
  '006-monitor-tuning': monitorTuning,
  '007-traces-failure-indexes': tracesFailureIndexes,
};
