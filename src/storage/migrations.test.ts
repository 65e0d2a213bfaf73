// Every migration in migrations/index.ts, on SQLite and PostgreSQL: up, down, up again one step at a
// time, each `down` restoring exactly the schema before its `up`; then all down leaves nothing
// behind. New migrations are covered as soon as they are listed in index.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql, type Migration, type MigrationResultSet } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase, pgAdminUrl } from '../../test/helpers/storage.ts';
import { migrateAllDown, migrateToLatest, openStorage, type StorageHandle } from './database.ts';
import { migrations } from './migrations/index.ts';

interface Target {
  name: string;
  enabled: boolean;
  /** A database nothing has migrated yet. */
  create(): Promise<{ url: string; cleanup(): Promise<void> }>;
  /** Every schema object the migrations may create (tables, indexes, sequences, views), Kysely's own excluded. */
  objects(handle: StorageHandle): Promise<string[]>;
}

const targets: Target[] = [
  {
    name: 'sqlite',
    enabled: true,
    create: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'failsafe-migrations-'));
      return { url: `sqlite:${join(dir, 'm.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    objects: async (handle) => {
      const { rows } = await sql<{ o: string }>`
        select type || ':' || name as o from sqlite_master
        where name not like 'kysely_%' and name not like 'sqlite_%' order by o`.execute(handle.db);
      return rows.map((r) => r.o);
    },
  },
  {
    name: 'postgres',
    enabled: Boolean(pgAdminUrl),
    create: async () => {
      const database = await createPostgresDatabase();
      return { url: database.url, cleanup: database.drop };
    },
    objects: async (handle) => {
      const { rows } = await sql<{ o: string }>`
        select c.relkind::text || ':' || c.relname as o from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relname not like 'kysely_%' order by o`.execute(handle.db);
      const types = await sql<{ o: string }>`
        select 'type:' || t.typname as o from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = 'public' and t.typtype in ('e', 'd') order by o`.execute(handle.db);
      return [...rows, ...types.rows].map((r) => r.o);
    },
  },
];

/** Tables with their columns, plus every other object: what a `down` must restore. */
async function schema(handle: StorageHandle, target: Target): Promise<unknown> {
  const tables = await handle.db.introspection.getTables();
  return {
    tables: tables
      .map((t) => ({
        name: t.name,
        columns: t.columns
          .map((c) => ({
            name: c.name,
            type: c.dataType,
            nullable: c.isNullable,
            default: c.hasDefaultValue,
            autoIncrement: c.isAutoIncrementing,
          }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    objects: await target.objects(handle),
  };
}

/** The same migrations database.ts runs, stepped one at a time. */
function stepper(handle: StorageHandle): Migrator {
  const provider = {
    getMigrations: async (): Promise<Record<string, Migration>> =>
      Object.fromEntries(
        Object.entries(migrations).map(([name, m]) => [
          name,
          { up: (db) => m.up(db, handle.caps), down: (db) => m.down(db, handle.caps) } satisfies Migration,
        ]),
      ),
  };
  return new Migrator({ db: handle.db, provider });
}

function ran(result: MigrationResultSet, direction: 'Up' | 'Down'): string {
  if (result.error) throw result.error;
  expect(result.results).toHaveLength(1);
  expect(result.results![0]).toMatchObject({ direction, status: 'Success' });
  return result.results![0].migrationName;
}

describe.each(targets)('migrations on $name', (target) => {
  describe.skipIf(!target.enabled)(target.enabled ? 'up and down' : 'SKIPPED: FAILSAFE_TEST_PG_URL is not set', () => {
    it(`runs each of the ${Object.keys(migrations).length} migrations up, down and up again, then all down and up`, async () => {
      const db = await target.create();
      const handle = await openStorage(db.url, { migrate: false });
      try {
        const migrator = stepper(handle);
        const empty = await schema(handle, target);
        expect(empty).toEqual({ tables: [], objects: [] });

        const applied: string[] = [];
        let before = empty;
        for (let i = 0; i < Object.keys(migrations).length; i++) {
          const name = ran(await migrator.migrateUp(), 'Up');
          const after = await schema(handle, target);
          expect(ran(await migrator.migrateDown(), 'Down'), `${name} down`).toBe(name);
          expect(await schema(handle, target), `${name} down restores the schema before its up`).toEqual(before);
          expect(ran(await migrator.migrateUp(), 'Up')).toBe(name);
          expect(await schema(handle, target), `${name} up again gives the same schema`).toEqual(after);
          applied.push(name);
          before = after;
        }
        expect([...applied].sort()).toEqual(Object.keys(migrations).sort());
        const latest = before;

        await migrateAllDown(handle);
        expect(await handle.db.introspection.getTables()).toEqual([]);
        expect(await schema(handle, target)).toEqual(empty);

        await migrateToLatest(handle);
        expect(await schema(handle, target)).toEqual(latest);
        // The schema serves: a row goes in and comes back.
        await handle.db.insertInto('models').values({ name: 'm', kind: 'chat', tags: '[]', created_at: 1 }).execute();
        expect(await handle.db.selectFrom('models').select('name').execute()).toEqual([{ name: 'm' }]);
      } finally {
        await handle.close();
        await db.cleanup();
      }
    });
  });
});
