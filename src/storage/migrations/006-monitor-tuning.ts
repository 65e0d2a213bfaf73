// Monitoring: run-time monitor tuning (the settings patch in force per model + monitor; history is
// in the audit log), and the metric-window deltas replicas ship to the monitoring replica.
import type { Kysely } from 'kysely';
import type { Capabilities } from '../capabilities.ts';

export async function up(db: Kysely<any>, caps: Capabilities): Promise<void> {
  await db.schema
    .createTable('monitor_tuning')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('monitor', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addPrimaryKeyConstraint('monitor_tuning_pk', ['model', 'monitor'])
    .execute();
  await caps
    .addIdColumn(db.schema.createTable('metric_deltas'))
    .addColumn('replica', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('buckets', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metric_deltas_at').on('metric_deltas').column('at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('metric_deltas').execute();
  await db.schema.dropTable('monitor_tuning').execute();
}
