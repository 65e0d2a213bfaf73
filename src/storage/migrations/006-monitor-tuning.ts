// Run-time monitor tuning: the settings patch in force per model + monitor (history is in the audit log).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
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
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('monitor_tuning').execute();
}
