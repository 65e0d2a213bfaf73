// Incidents, their timelines, and the signatures of signed inbound alerts (replay protection).
import type { Kysely } from 'kysely';
import type { Capabilities } from '../capabilities.ts';

export async function up(db: Kysely<any>, caps: Capabilities): Promise<void> {
  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('family', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('dedup_key', 'text', (c) => c.notNull())
    // NULLs are distinct in unique indexes on both engines: many closed incidents, one active per key.
    .addColumn('open_key', 'text', (c) => c.unique())
    .addColumn('detected_at', 'bigint', (c) => c.notNull())
    .addColumn('onset_at', 'bigint')
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('contained_at', 'bigint')
    .addColumn('mitigated_at', 'bigint')
    .addColumn('resolved_at', 'bigint')
    .addColumn('reviewed_at', 'bigint')
    .addColumn('declined_at', 'bigint')
    .addColumn('updated_at', 'bigint')
    .addColumn('impact', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('evidence', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('evidence_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('root_cause', 'text')
    .addColumn('runbook', 'text')
    .addColumn('sources', 'text')
    .addColumn('severity_basis', 'text')
    .addColumn('decline_reason', 'text')
    .execute();
  await db.schema.createIndex('incidents_detected').on('incidents').columns(['detected_at', 'id']).execute();
  await db.schema.createIndex('incidents_model_detected').on('incidents').columns(['model', 'detected_at']).execute();
  await db.schema.createIndex('incidents_status').on('incidents').column('status').execute();

  await caps
    .addIdColumn(db.schema.createTable('incident_timeline'))
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('data', 'text')
    .execute();
  await db.schema.createIndex('incident_timeline_incident').on('incident_timeline').columns(['incident_id', 'id']).execute();

  await db.schema
    .createTable('signed_requests')
    .addColumn('signature', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('signed_requests_seen').on('signed_requests').column('seen_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['signed_requests', 'incident_timeline', 'incidents']) {
    await db.schema.dropTable(table).execute();
  }
}
