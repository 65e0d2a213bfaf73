// Retention (TraceStore.prune) and unfiltered trace listings walk traces by time across models;
// without this index each prune would scan and sort the whole table.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('traces_started').on('traces').columns(['started_at', 'request_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('traces_started').execute();
}
