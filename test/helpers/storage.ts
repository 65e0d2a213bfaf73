// Storage targets for contract tests: a real SQLite file, a fresh database on the real PostgreSQL
// server (when FAILSAFE_TEST_PG_URL is set, as CI does), and nothing else. PostgreSQL suites skip
// with a visible message only when no URL is set.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage, type StorageHandle } from '../../src/storage/database.ts';

export const pgAdminUrl = process.env.FAILSAFE_TEST_PG_URL;

if (!pgAdminUrl && !(globalThis as any).__failsafePgWarned) {
  (globalThis as any).__failsafePgWarned = true;
  console.warn('[failsafe tests] FAILSAFE_TEST_PG_URL is not set: PostgreSQL store suites are SKIPPED');
}

export interface TestStorage {
  handle: StorageHandle;
  url: string;
  cleanup(): Promise<void>;
}

export async function createSqliteStorage(): Promise<TestStorage> {
  const dir = mkdtempSync(join(tmpdir(), 'failsafe-test-'));
  const url = `sqlite:${join(dir, 'failsafe.db')}`;
  const handle = await openStorage(url);
  return {
    handle,
    url,
    cleanup: async () => {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database per call, so test files can run in parallel. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!pgAdminUrl) throw new Error('FAILSAFE_TEST_PG_URL is not set');
  const name = `failsafe_t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgAdminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function createPostgresStorage(): Promise<TestStorage> {
  const database = await createPostgresDatabase();
  const handle = await openStorage(database.url);
  return {
    handle,
    url: database.url,
    cleanup: async () => {
      await handle.close();
      await database.drop();
    },
  };
}

/** The engines a contract suite runs on: `describe.each(storageTargets)`. */
export const storageTargets: { name: string; create: () => Promise<TestStorage>; enabled: boolean }[] = [
  { name: 'sqlite', create: createSqliteStorage, enabled: true },
  { name: 'postgres', create: createPostgresStorage, enabled: Boolean(pgAdminUrl) },
];
