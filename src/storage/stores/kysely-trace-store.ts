import { CompiledQuery, type Expression, type ExpressionBuilder, type Insertable, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { ModelKind, Trace, TraceStatus, ValidatorResult } from '../../core/types.ts';
import type { TraceQuery, TraceStore } from '../../features/telemetry/trace-store.ts';
import type { Capabilities } from '../capabilities.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { Database, TracesTable } from '../schema.ts';
import type { WriteStatement } from '../sqlite-writer.ts';
import { atomically, orNull, readPaged, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

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

/** Column order of the cached insert statements; values are flattened in this order. */
const TRACE_COLUMNS = Object.keys(
  traceToRow({
    requestId: '',
    model: '',
    kind: 'chat',
    startedAt: 0,
    latencyMs: 0,
    httpStatus: 0,
    status: 'ok',
    stream: false,
    retried: false,
    inputChars: 0,
    outputChars: 0,
  }),
) as (keyof TracesTable)[];

/** Every column but the captured text, for queries with `bodies: false`. */
const COLUMNS_WITHOUT_BODIES = TRACE_COLUMNS.filter((c) => c !== 'input' && c !== 'output');

/** One row's values in TRACE_COLUMNS order. */
const traceValues = (t: Trace): unknown[] => {
  const row = traceToRow(t) as Record<string, unknown>;
  return TRACE_COLUMNS.map((c) => row[c]);
};

/**
 * Statement sizes (rows) the insert uses. A batch is padded up to the next size by repeating its
 * last row, which `on conflict do nothing` then skips: a handful of cached statements serve every
 * batch, and the gateway's flush never pays for building a query of hundreds of rows.
 */
function statementSizes(maxRows: number): number[] {
  const sizes: number[] = [];
  // Steps of about 1/8: padding costs at most ~12% more parameters (and at most 7 rows when small).
  for (let n = 8; n < maxRows; n = Math.ceil((n * 1.125) / 8) * 8) sizes.push(n);
  sizes.push(maxRows);
  return sizes;
}

/** SQL text of the padded insert, per engine (via its Capabilities) and size. */
const statementCache = new WeakMap<Capabilities, Map<number, string>>();

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
  private readonly maxRows: number;
  private readonly sizes: number[];

  constructor(private readonly ctx: StoreContext) {
    this.maxRows = Math.floor(ctx.caps.maxQueryParameters / TRACE_COLUMNS.length);
    this.sizes = statementSizes(this.maxRows);
  }

  async insertMany(traces: Trace[]): Promise<void> {
    if (traces.length === 0) return;
    const rows = traces.map(traceValues);
    const statements: WriteStatement[] = [];
    for (let i = 0; i < rows.length; i += this.maxRows) {
      const chunk = rows.slice(i, i + this.maxRows);
      const size = this.sizes.find((n) => n >= chunk.length)!;
      const params: unknown[] = [];
      for (let r = 0; r < size; r++) {
        const values = chunk[Math.min(r, chunk.length - 1)];
        for (let c = 0; c < values.length; c++) params.push(values[c]);
      }
      statements.push({ sql: this.statement(size), params });
    }
    // An SQLite file: written by the writer thread, off the event loop (one transaction).
    if (this.ctx.bulkWrite && !this.ctx.trx) {
      await this.ctx.bulkWrite(statements);
      return;
    }
    const run = async (db: Kysely<Database>) => {
      for (const st of statements) await db.executeQuery(CompiledQuery.raw(st.sql, st.params));
    };
    // One statement needs no transaction; several share one (one commit instead of many).
    if (statements.length === 1) await run(this.ctx.db);
    else await atomically(this.ctx, run);
  }

  /** The insert of `size` rows, built by Kysely once per engine and size. */
  private statement(size: number): string {
    let cache = statementCache.get(this.ctx.caps);
    if (!cache) statementCache.set(this.ctx.caps, (cache = new Map()));
    let text = cache.get(size);
    if (text === undefined) {
      const placeholder = Object.fromEntries(TRACE_COLUMNS.map((c) => [c, null])) as unknown as Insertable<TracesTable>;
      const compiled = this.ctx.db
        .insertInto('traces')
        .values(Array.from({ length: size }, () => placeholder))
        .onConflict((oc) => oc.doNothing())
        .compile();
      // Every value must be a bind parameter, or the flattened values would not line up.
      if (compiled.parameters.length !== size * TRACE_COLUMNS.length) {
        throw new Error(`trace insert template has ${compiled.parameters.length} parameters, expected ${size * TRACE_COLUMNS.length}`);
      }
      text = compiled.sql;
      cache.set(size, text);
    }
    return text;
  }

  async get(requestId: string): Promise<Trace | undefined> {
    const row = await this.ctx.db.selectFrom('traces').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    return row ? traceFromRow(row) : undefined;
  }

  async query(q: TraceQuery): Promise<Trace[]> {
    const rows = await readPaged<Selectable<TracesTable>>(this.ctx, q.limit, (last, n) => this.select(q, last, n).execute());
    return rows.map(traceFromRow);
  }

  /** The select of one page of `query`: the rows after `last` in the query's order, at most n. */
  select(q: TraceQuery, last?: Selectable<TracesTable>, n?: number) {
    const dir = q.order ?? 'desc';
    const after = dir === 'asc' ? '>' : '<';
    const traces = this.ctx.db.selectFrom('traces');
    // Without bodies the rows lack input and output, which traceFromRow reads as absent.
    let s = q.bodies === false ? (traces.select(COLUMNS_WITHOUT_BODIES) as unknown as ReturnType<typeof traces.selectAll>) : traces.selectAll();
    if (q.model !== undefined) s = s.where('model', '=', q.model);
    if (q.version !== undefined) s = s.where('version', '=', q.version);
    if (q.from !== undefined) s = s.where('started_at', '>=', q.from);
    if (q.to !== undefined) s = s.where('started_at', '<', q.to);
    if (q.status !== undefined) s = s.where('status', '=', q.status);
    // Implied by the status asked for, and what lets the planner read the failed traces' partial
    // indexes (migration 007) instead of scanning every trace.
    if (q.status !== undefined && q.status !== 'ok') s = s.where('status', '<>', 'ok');
    if (q.errorClass !== undefined) s = s.where('error_class', '=', q.errorClass);
    if (!q.shadow) s = s.where('shadow', '=', 0);
    if (last) {
      s = s.where((eb) =>
        eb.or([eb('started_at', after, last.started_at), eb.and([eb('started_at', '=', last.started_at), eb('request_id', after, last.request_id)])]),
      );
    }
    s = s.orderBy('started_at', dir).orderBy('request_id', dir);
    return n === undefined ? s : s.limit(n);
  }

  async prune(options: { before?: number; maxCount?: number }): Promise<number> {
    let deleted = 0;
    const { before, maxCount } = options;
    if (before !== undefined) {
      deleted += await this.deleteInBatches((eb) => eb('started_at', '<', before));
    }
    if (maxCount !== undefined) {
      // The newest row beyond the first maxCount marks the cut: it and everything older go.
      const cutQuery = this.ctx.db
        .selectFrom('traces')
        .select(['started_at', 'request_id'])
        .orderBy('started_at', 'desc')
        .orderBy('request_id', 'desc')
        .limit(1)
        .offset(Math.max(0, Math.floor(maxCount)));
      // Skipping maxCount index entries takes a while for a large table: on an SQLite file the
      // writer thread runs it, off the event loop.
      const backgroundRead = this.ctx.trx ? undefined : this.ctx.backgroundRead;
      let cut: Awaited<ReturnType<typeof cutQuery.executeTakeFirst>>;
      if (backgroundRead) {
        const compiled = cutQuery.compile();
        cut = (await backgroundRead({ sql: compiled.sql, params: [...compiled.parameters] }))[0] as typeof cut;
      } else {
        cut = await cutQuery.executeTakeFirst();
      }
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
    const query = this.ctx.db
      .deleteFrom('traces')
      .where('request_id', 'in', (eb) => eb.selectFrom('traces').select('request_id').where(where).limit(PRUNE_BATCH));
    const bulkWrite = this.ctx.trx ? undefined : this.ctx.bulkWrite;
    const compiled = bulkWrite && query.compile();
    for (;;) {
      // An SQLite file: deleted by the writer thread, so a large prune never holds the event loop.
      const n = compiled ? await bulkWrite([{ sql: compiled.sql, params: [...compiled.parameters] }]) : Number((await query.executeTakeFirst()).numDeletedRows);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }
}
