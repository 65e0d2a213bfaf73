import type { Kysely } from 'kysely';
import type { Capabilities } from '../capabilities.ts';

export async function up(db: Kysely<any>, caps: Capabilities): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('versions')
    .addColumn('model', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('upstream', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text')
    .addColumn('params', 'text')
    .addColumn('metadata', 'text')
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('state_changed_at', 'bigint', (c) => c.notNull())
    .addColumn('live_since', 'bigint')
    .addColumn('stable_since', 'bigint')
    .addPrimaryKeyConstraint('versions_pk', ['model', 'version'])
    .execute();

  await db.schema
    .createTable('routes')
    .addColumn('model', 'text', (c) => c.primaryKey().references('models.name'))
    .addColumn('weights', 'text', (c) => c.notNull())
    .addColumn('shadow', 'text')
    .addColumn('sticky_key', 'text')
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();

  await caps
    .addIdColumn(db.schema.createTable('route_history'))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('weights', 'text', (c) => c.notNull())
    .addColumn('shadow', 'text')
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('route_history_model_at').on('route_history').columns(['model', 'at']).execute();

  await db.schema
    .createTable('traces')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('first_version', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision', (c) => c.notNull())
    .addColumn('ttfb_ms', 'double precision')
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_class', 'text')
    .addColumn('error_message', 'text')
    .addColumn('upstream_host', 'text')
    .addColumn('stream', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fallback', 'text')
    .addColumn('prompt_tokens', 'integer')
    .addColumn('completion_tokens', 'integer')
    .addColumn('input_chars', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('output_chars', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('input', 'text')
    .addColumn('output', 'text')
    .addColumn('client', 'text')
    .addColumn('tags', 'text')
    .addColumn('features', 'text')
    .addColumn('prediction', 'text')
    .addColumn('validators', 'text')
    .addColumn('shadow', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('traces_model_started').on('traces').columns(['model', 'started_at']).execute();
  await db.schema
    .createIndex('traces_model_version_started')
    .on('traces')
    .columns(['model', 'version', 'started_at'])
    .execute();

  await caps
    .addIdColumn(db.schema.createTable('feedback'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('request_at', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('rating', 'integer')
    .addColumn('score', 'double precision')
    .addColumn('label', 'text')
    .addColumn('comment', 'text')
    .execute();
  await db.schema.createIndex('feedback_request').on('feedback').column('request_id').execute();
  await db.schema.createIndex('feedback_model_request_at').on('feedback').columns(['model', 'request_at']).execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('reason', 'text')
    .addColumn('request_id', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_log', 'api_keys', 'feedback', 'traces', 'route_history', 'routes', 'versions', 'models']) {
    await db.schema.dropTable(table).execute();
  }
}
