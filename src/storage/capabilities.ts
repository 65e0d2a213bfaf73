// The one place engine differences live. Feature code and stores never test for the engine;
// they ask this interface.
import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type Transaction } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

export interface Capabilities {
  readonly engine: Engine;
  /** Adds an auto-incrementing integer primary key column. */
  addIdColumn<T extends string>(table: CreateTableBuilder<T, any>, name?: string): CreateTableBuilder<T, any>;
  /**
   * Serialises writers of one logical resource (e.g. the audit chain head) inside a transaction.
   * SQLite already runs one writer at a time; PostgreSQL takes a transaction-scoped advisory lock.
   */
  lockInTransaction(trx: Transaction<any>, key: number): Promise<void>;
  /** True when this store can be shared by several replicas (leader election, change notifications). */
  readonly multiReplica: boolean;
  /** Most bind parameters one statement may carry; multi-row inserts are chunked to stay under it. */
  readonly maxQueryParameters: number;
  /**
   * True when a query runs on the event loop (better-sqlite3 is synchronous): large reads are then
   * taken a page at a time, letting requests through between pages (see readPaged).
   */
  readonly blockingReads: boolean;
  /** True when err is the engine's foreign-key violation (stores turn it into a domain error). */
  isForeignKeyViolation(err: unknown): boolean;
  /**
   * True when err is a unique or primary-key violation. Prefer `on conflict do nothing` and a
   * row count where possible: on PostgreSQL a failed statement aborts the caller's transaction.
   */
  isUniqueViolation(err: unknown): boolean;
}

const sqliteCapabilities: Capabilities = {
  engine: 'sqlite',
  addIdColumn: (table, name = 'id') =>
    table.addColumn(name, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement()),
  lockInTransaction: async () => {},
  multiReplica: false,
  // SQLITE_MAX_VARIABLE_NUMBER default since 3.32.
  maxQueryParameters: 32_766,
  blockingReads: true,
  isForeignKeyViolation: (err) => (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY',
  isUniqueViolation: (err) => {
    const code = (err as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
};

const postgresCapabilities: Capabilities = {
  engine: 'postgres',
  addIdColumn: (table, name = 'id') =>
    table.addColumn(name, 'bigint', (c: ColumnDefinitionBuilder) => c.primaryKey().generatedByDefaultAsIdentity()),
  lockInTransaction: async (trx, key) => {
    await sql`select pg_advisory_xact_lock(${key})`.execute(trx);
  },
  multiReplica: true,
  // The wire protocol counts parameters in an unsigned 16-bit field.
  maxQueryParameters: 65_535,
  blockingReads: false,
  isForeignKeyViolation: (err) => (err as { code?: unknown } | null)?.code === '23503',
  isUniqueViolation: (err) => (err as { code?: unknown } | null)?.code === '23505',
};

export const capabilitiesFor = (engine: Engine): Capabilities =>
  engine === 'sqlite' ? sqliteCapabilities : postgresCapabilities;

/** Stable keys for lockInTransaction / advisory locks. */
export const lockKeys = {
  auditChain: 7_100_001,
  leader: 7_100_002,
} as const;

export type Db<T> = Kysely<T>;
