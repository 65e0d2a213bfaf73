import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteWriter, WRITER_NICE, type WriteStatement } from './sqlite-writer.ts';

/** Nice values of this process's threads (Linux /proc), one entry per thread. */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after "pid (comm) ": state is the first; nice is field 19 of the whole line.
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe('SqliteWriter (writes on a thread of their own)', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  let fallbackCalls: number;
  let autocheckpoint: number[];
  let writer: SqliteWriter;

  const insert = (from: number, n: number): WriteStatement[] => [
    { sql: `insert into t (id, v) values ${Array.from({ length: n }, () => '(?, ?)').join(', ')}`, params: Array.from({ length: n }, (_, i) => [from + i, `row ${from + i}`]).flat() },
  ];
  const count = () => (db.prepare('select count(*) as n from t').get() as { n: number }).n;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'failsafe-writer-'));
    const path = join(dir, 'w.db');
    db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.exec('create table t (id integer primary key, v text not null)');
    fallbackCalls = 0;
    autocheckpoint = [];
    writer = new SqliteWriter({
      path,
      fallback: async (statements) => {
        fallbackCalls++;
        return db.transaction(() => {
          let changes = 0;
          for (const st of statements) changes += db.prepare(st.sql).run(...st.params).changes;
          return changes;
        })();
      },
      fallbackRead: async (statement) => {
        fallbackCalls++;
        return db.prepare(statement.sql).all(...statement.params);
      },
      onStarted: () => autocheckpoint.push(0),
      onStopped: () => autocheckpoint.push(1000),
    });
  });

  afterEach(async () => {
    await writer.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits on the thread; the main connection reads the rows as soon as the write resolves', async () => {
    expect(writer.threadRunning).toBe(false);
    expect(await writer.write(insert(1, 50))).toBe(50);
    expect(writer.threadRunning).toBe(true);
    expect(count()).toBe(50);
    expect(fallbackCalls).toBe(0);
    expect(autocheckpoint).toEqual([0]);
  });

  // Linux only (nice is per thread there), and only when this process runs above WRITER_NICE.
  it.runIf(process.platform === 'linux' && getPriority() < WRITER_NICE)('runs below request handling: the thread alone has nice WRITER_NICE', async () => {
    const before = threadNiceValues().filter((n) => n === WRITER_NICE).length;
    await writer.write(insert(1, 1));
    expect(threadNiceValues().filter((n) => n === WRITER_NICE).length).toBe(before + 1);
    expect(getPriority()).toBeLessThan(WRITER_NICE); // the main thread is untouched
    await writer.close();
    expect(threadNiceValues().filter((n) => n === WRITER_NICE).length).toBe(before);
  });

  it('runs a message of several statements in one transaction: a failing one leaves none of them', async () => {
    await writer.write(insert(1, 1));
    const bad = [...insert(10, 5), ...insert(1, 1)]; // the second statement repeats id 1
    await expect(writer.write(bad)).rejects.toThrow(/UNIQUE|constraint/i);
    expect(count()).toBe(1);
  });

  it('keeps many concurrent writes, in full', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, k) => writer.write(insert(k * 100, 32))));
    expect(count()).toBe(40 * 32);
  });

  it('falls back to the main connection when the thread dies: nothing is lost', async () => {
    await writer.write(insert(1, 10));
    await writer.killThreadForTest();
    await writer.write(insert(100, 10));
    expect(count()).toBe(20);
    expect(fallbackCalls).toBe(1);
    expect(writer.threadRunning).toBe(false);
    expect(autocheckpoint).toEqual([0, 1000]);
  });

  it('answers queries on the thread, and on the main connection once the thread is gone', async () => {
    await writer.write(insert(1, 30));
    const query = { sql: 'select id, v from t where id > ? order by id limit 2', params: [10] };
    expect(await writer.read(query)).toEqual([
      { id: 11, v: 'row 11' },
      { id: 12, v: 'row 12' },
    ]);
    expect(fallbackCalls).toBe(0);
    await writer.killThreadForTest();
    expect(await writer.read(query)).toHaveLength(2);
    expect(fallbackCalls).toBe(1);
    await expect(writer.write([{ sql: 'select nope from t', params: [] }])).rejects.toThrow(/no such column/);
  });

  it('close waits for the writes under way, then stops the thread; later writes still land', async () => {
    const pending = Array.from({ length: 10 }, (_, k) => writer.write(insert(k * 100, 20)));
    await writer.close();
    await Promise.all(pending);
    expect(count()).toBe(200);
    await writer.write(insert(5000, 1));
    expect(count()).toBe(201);
    expect(fallbackCalls).toBe(1);
  });
});
