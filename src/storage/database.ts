// Opens the store named by a storage URL (`sqlite:PATH` or `postgres://…`) and runs migrations.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  NO_MIGRATIONS,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type Migration,
  type MigrationResultSet,
} from 'kysely';
import { FailsafeError } from '../core/errors.ts';
import { capabilitiesFor, type Capabilities, type Engine } from './capabilities.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { SqliteWriter, type WriteStatement } from './sqlite-writer.ts';

export interface StorageHandle {
  db: Kysely<Database>;
  caps: Capabilities;
  engine: Engine;
  url: string;
  /** For PostgreSQL: the pool, for LISTEN/NOTIFY and advisory locks on a dedicated client. */
  pgPool?: pg.Pool;
  /**
   * Bulk writes (trace batches, retention deletes) off the event loop: for an SQLite file, a thread
   * with its own connection; absent for PostgreSQL (its driver never blocks) and in-memory SQLite.
   */
  bulkWrite?: (statements: WriteStatement[]) => Promise<number>;
  /** A query run by the same thread (long scans off the event loop); absent where bulkWrite is. */
  backgroundRead?: (statement: WriteStatement) => Promise<unknown[]>;
  close(): Promise<void>;
}

export interface ParsedStorageUrl {
  engine: Engine;
  /** Absolute file path for SQLite (`:memory:` allowed), the connection string for PostgreSQL. */
  target: string;
}

export function parseStorageUrl(url: string, cwd = process.cwd()): ParsedStorageUrl {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (!path) throw new FailsafeError('VALIDATION_FAILED', `storage: "${url}" names no file (use sqlite:PATH)`);
    return { engine: 'sqlite', target: path === ':memory:' ? path : resolve(cwd, path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { engine: 'postgres', target: url };
  throw new FailsafeError('VALIDATION_FAILED', `storage: "${url}" is not a storage URL (sqlite:PATH or postgres://…)`);
}

export async function openStorage(url: string, options: { migrate?: boolean; writerNice?: number } = {}): Promise<StorageHandle> {
  const parsed = parseStorageUrl(url);
  const caps = capabilitiesFor(parsed.engine);
  let handle: StorageHandle;
  if (parsed.engine === 'sqlite') {
    if (parsed.target !== ':memory:') mkdirSync(dirname(parsed.target), { recursive: true });
    const sqlite = new BetterSqlite3(parsed.target);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
    handle = { db, caps, engine: 'sqlite', url, close: () => db.destroy() };
    if (parsed.target !== ':memory:') {
      const writer = new SqliteWriter({
        path: parsed.target,
        fallback: (statements) => runStatements(db, statements),
        fallbackRead: async (statement) => (await db.executeQuery(CompiledQuery.raw(statement.sql, statement.params))).rows,
        nice: options.writerNice,
        // While the thread runs it checkpoints; this connection must not stall a request doing so.
        onStarted: () => sqlite.pragma('wal_autocheckpoint = 0'),
        onStopped: () => {
          if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
        },
      });
      handle.bulkWrite = (statements) => writer.write(statements);
      handle.backgroundRead = (statement) => writer.read(statement);
      handle.close = async () => {
        await writer.close();
        await db.destroy();
      };
    }
  } else {
    const pool = new pg.Pool({
      connectionString: parsed.target,
      max: 10,
      // Times are bigint columns: read them back as numbers (ms since epoch fit in 2^53).
      types: {
        getTypeParser: (oid: number, format?: any) =>
          oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser as any)(oid, format),
      },
    });
    pool.on('error', () => {}); // an idle client dying must not crash the server; queries report their own errors
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    handle = { db, caps, engine: 'postgres', url, pgPool: pool, close: () => db.destroy() };
  }
  if (options.migrate !== false) await migrateToLatest(handle);
  return handle;
}

/**
 * Transactions start with BEGIN IMMEDIATE: they take the write lock up front, waiting for it under
 * busy_timeout. The writer thread is a second connection; a deferred transaction that read before
 * the thread committed could not upgrade its stale snapshot to write ("database is locked", at once).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(sqliteConfig);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig);
  }
}

/** Statements in one transaction on the given connection; the rows they changed. */
async function runStatements(db: Kysely<Database>, statements: WriteStatement[]): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let changes = 0;
    for (const st of statements) changes += Number((await trx.executeQuery(CompiledQuery.raw(st.sql, st.params))).numAffectedRows ?? 0);
    return changes;
  });
}

function migrator(handle: StorageHandle): Migrator {
  const provider = {
    async getMigrations(): Promise<Record<string, Migration>> {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(migrations)) {
        out[name] = { up: (db) => m.up(db, handle.caps), down: (db) => m.down(db, handle.caps) };
      }
      return out;
    },
  };
  // Feature areas add migrations independently, so one may sort before another already applied.
  return new Migrator({ db: handle.db, provider, allowUnorderedMigrations: true });
}

function check(result: MigrationResultSet): void {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new FailsafeError(
      'INTERNAL',
      `migration ${failed?.migrationName ?? '?'} failed: ${(result.error as Error).message ?? String(result.error)}`,
    );
  }
}

export async function migrateToLatest(handle: StorageHandle): Promise<void> {
  check(await migrator(handle).migrateToLatest());
}

/** Rolls back every migration (used by the migration up/down tests). */
export async function migrateAllDown(handle: StorageHandle): Promise<void> {
  check(await migrator(handle).migrateTo(NO_MIGRATIONS));
}
