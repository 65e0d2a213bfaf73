// Rollback history and playbook actions. Each row keeps its full record as JSON beside the columns
// that are queried (model, status, times), so the shape can grow without migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rollbacks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('record', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rollbacks_model_started').on('rollbacks').columns(['model', 'started_at']).execute();
  await db.schema.createIndex('rollbacks_status').on('rollbacks').column('status').execute();

  await db.schema
    .createTable('playbook_actions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('record', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('playbook_actions_incident').on('playbook_actions').columns(['incident_id', 'created_at']).execute();
  await db.schema.createIndex('playbook_actions_status').on('playbook_actions').columns(['status', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('playbook_actions').execute();
  await db.schema.dropTable('rollbacks').execute();
}
