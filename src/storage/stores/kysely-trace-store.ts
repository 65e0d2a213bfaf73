import type { Expression, ExpressionBuilder, Insertable, Kysely, Selectable, SqlBool } from 'kysely';
import type { ModelKind, Trace, TraceStatus, ValidatorResult } from '../../core/types.ts';
import type { TraceQuery, TraceStore } from '../../features/telemetry/trace-store.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { Database, TracesTable } from '../schema.ts';
import { atomically, compact, orNull, type StoreContext } from './store-context.ts';

// Every key in a fixed order: Kysely builds one column list for a multi-row insert.
const traceToRow = (t: Trace): Insertable<TracesTable> => ({
  request_id: t.requestId,
  model: t.model,
  version: orNull(t.version),
  first_version: orNull(t.firstVersion),
  kind: t.kind,
  started_at: t.startedAt,
  latency_ms: t.latencyMs,
  ttfb_ms: orNull(t.ttfbMs),
  http_status: t.httpStatus,
  status: t.status,
  error_class: orNull(t.errorClass),
  error_message: orNull(t.errorMessage),
  upstream_host: orNull(t.upstreamHost),
  stream: t.stream ? 1 : 0,
  retried: t.retried ? 1 : 0,
  fallback: orNull(t.fallback),
  prompt_tokens: orNull(t.promptTokens),
  completion_tokens: orNull(t.completionTokens),
  input_chars: t.inputChars ?? 0,
  output_chars: t.outputChars ?? 0,
  input: orNull(t.input),
  output: orNull(t.output),
  client: orNull(t.client),
  tags: toJson(t.tags),
  features: toJson(t.features),
  prediction: orNull(t.prediction),
  validators: toJson(t.validators),
  shadow: t.shadow ? 1 : 0,
});

const TRACE_COLUMNS = 28;

const traceFromRow = (row: Selectable<TracesTable>): Trace =>
  compact({
    requestId: row.request_id,
    model: row.model,
    version: orUndefined(row.version),
    firstVersion: orUndefined(row.first_version),
    kind: row.kind as ModelKind,
    startedAt: row.started_at,
    latencyMs: row.latency_ms,
    ttfbMs: orUndefined(row.ttfb_ms),
    httpStatus: row.http_status,
    status: row.status as TraceStatus,
    errorClass: orUndefined(row.error_class),
    errorMessage: orUndefined(row.error_message),
    upstreamHost: orUndefined(row.upstream_host),
    stream: row.stream === 1,
    retried: row.retried === 1,
    fallback: orUndefined(row.fallback) as Trace['fallback'],
    promptTokens: orUndefined(row.prompt_tokens),
    completionTokens: orUndefined(row.completion_tokens),
    inputChars: row.input_chars,
    outputChars: row.output_chars,
    input: orUndefined(row.input),
    output: orUndefined(row.output),
    client: orUndefined(row.client),
    tags: fromJson<Record<string, string>>(row.tags),
    features: fromJson<number[]>(row.features),
    prediction: orUndefined(row.prediction),
    validators: fromJson<ValidatorResult[]>(row.validators),
    shadow: row.shadow === 1,
  });

/** Rows deleted per statement while pruning, so a big prune never holds the writer for long. */
const PRUNE_BATCH = 5_000;

export class KyselyTraceStore implements TraceStore {
  private readonly rowsPerInsert: number;

  constructor(private readonly ctx: StoreContext) {
    this.rowsPerInsert = Math.floor(ctx.caps.maxQueryParameters / TRACE_COLUMNS);
  }

  async insertMany(traces: Trace[]): Promise<void> {
    if (traces.length === 0) return;
    const rows = traces.map(traceToRow);
    const write = async (db: Kysely<Database>) => {
      for (let i = 0; i < rows.length; i += this.rowsPerInsert) {
        await db
          .insertInto('traces')
          .values(rows.slice(i, i + this.rowsPerInsert))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    };
    // One statement needs no transaction; several share one (one commit instead of many).
    if (rows.length <= this.rowsPerInsert) await write(this.ctx.db);
    else await atomically(this.ctx, write);
  }

  async get(requestId: string): Promise<Trace | undefined> {
    const row = await this.ctx.db.selectFrom('traces').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    return row ? traceFromRow(row) : undefined;
  }

  async query(q: TraceQuery): Promise<Trace[]> {
    const dir = q.order ?? 'desc';
    let s = this.ctx.db.selectFrom('traces').selectAll();
    if (q.model !== undefined) s = s.where('model', '=', q.model);
    if (q.version !== undefined) s = s.where('version', '=', q.version);
    if (q.from !== undefined) s = s.where('started_at', '>=', q.from);
    if (q.to !== undefined) s = s.where('started_at', '<', q.to);
    if (q.status !== undefined) s = s.where('status', '=', q.status);
    if (q.errorClass !== undefined) s = s.where('error_class', '=', q.errorClass);
    if (!q.shadow) s = s.where('shadow', '=', 0);
    s = s.orderBy('started_at', dir).orderBy('request_id', dir);
    if (q.limit !== undefined) s = s.limit(q.limit);
    const rows = await s.execute();
    return rows.map(traceFromRow);
  }

  async prune(options: { before?: number; maxCount?: number }): Promise<number> {
    let deleted = 0;
    const { before, maxCount } = options;
    if (before !== undefined) {
      deleted += await this.deleteInBatches((eb) => eb('started_at', '<', before));
    }
    if (maxCount !== undefined) {
      // The newest row beyond the first maxCount marks the cut: it and everything older go.
      const cut = await this.ctx.db
        .selectFrom('traces')
        .select(['started_at', 'request_id'])
        .orderBy('started_at', 'desc')
        .orderBy('request_id', 'desc')
        .limit(1)
        .offset(Math.max(0, Math.floor(maxCount)))
        .executeTakeFirst();
      if (cut) {
        deleted += await this.deleteInBatches((eb) =>
          eb.or([
            eb('started_at', '<', cut.started_at),
            eb.and([eb('started_at', '=', cut.started_at), eb('request_id', '<=', cut.request_id)]),
          ]),
        );
      }
    }
    return deleted;
  }

  private async deleteInBatches(where: (eb: ExpressionBuilder<Database, 'traces'>) => Expression<SqlBool>): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.ctx.db
        .deleteFrom('traces')
        .where('request_id', 'in', (eb) => eb.selectFrom('traces').select('request_id').where(where).limit(PRUNE_BATCH))
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }
}
