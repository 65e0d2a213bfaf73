// Trace listings filtered by status or error class ("show me the errors", in the explorer, the API
// and the CLI) read only the failed traces through these partial indexes instead of every trace:
// on 360,000 traces a status=error listing with no match scanned the table for 2.7 s, on SQLite on
// the event loop. Only failed, fallback, blocked or retried traces get entries, so the insert of a
// healthy trace pays nothing. KyselyTraceStore.query adds the `status <> 'ok'` term that lets the
// planner use the first two.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('traces_not_ok_started').on('traces').columns(['started_at', 'request_id']).where(sql.ref('status'), '<>', 'ok').execute();
  await db.schema.createIndex('traces_not_ok_model').on('traces').columns(['model', 'started_at', 'request_id']).where(sql.ref('status'), '<>', 'ok').execute();
  await db.schema.createIndex('traces_error_class').on('traces').columns(['error_class', 'started_at', 'request_id']).where(sql.ref('error_class'), 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('traces_error_class').execute();
  await db.schema.dropIndex('traces_not_ok_model').execute();
  await db.schema.dropIndex('traces_not_ok_started').execute();
}
