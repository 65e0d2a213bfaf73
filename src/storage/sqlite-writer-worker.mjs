// The SQLite write thread (see sqlite-writer.ts). Plain JavaScript on purpose: it runs without the
// TypeScript loader, so the thread costs a V8 isolate and better-sqlite3, not a compiler.
//
// It owns a second connection to the same database file. Each write message is a list of statements
// (SQL built by Kysely on the main thread, and its parameters) run in one transaction, with the
// prepared statements cached by SQL text. WAL checkpoints happen here too: after commits
// (SQLite's auto-checkpoint on this connection) and on a timer, so the main thread's connection
// can leave auto-checkpointing off and never stall a request for one. A read message runs one
// query and answers its rows (long scans, such as finding retention's cut, stay off the event loop).
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

// Below request handling (see WRITER_NICE in sqlite-writer.ts), never above the process. Only on
// Linux, where a nice value belongs to the calling thread; elsewhere it would lower the whole process.
if (process.platform === 'linux' && Number(workerData.nice) > getPriority()) {
  try {
    setPriority(Number(workerData.nice));
  } catch {
    // not permitted here: the thread runs at the process's priority
  }
}

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${Number(workerData.busyTimeoutMs) || 5000}`);

const statements = new Map();
function prepared(sql) {
  let st = statements.get(sql);
  if (!st) {
    st = db.prepare(sql);
    // Statement texts come from a handful of cached templates; bound the cache all the same.
    if (statements.size >= 64) statements.delete(statements.keys().next().value);
    statements.set(sql, st);
  }
  return st;
}

/** Runs the statements in order; returns the rows they changed. */
function run(list) {
  let changes = 0;
  for (const { sql, params } of list) changes += prepared(sql).run(params).changes;
  return changes;
}
const runInTransaction = db.transaction(run);

// A checkpoint that finds nothing to copy is cheap; this bounds the WAL when only the main
// thread writes (its auto-checkpoint is off while this thread runs).
const checkpointTimer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or closing: the next tick tries again
  }
}, Number(workerData.checkpointIntervalMs) || 5000);

parentPort.on('message', (message) => {
  if (message.type === 'close') {
    clearInterval(checkpointTimer);
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // another connection is busy: its own close checkpoints
    }
    db.close();
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
    return;
  }
  try {
    if (message.type === 'read') {
      parentPort.postMessage({ type: 'done', id: message.id, rows: prepared(message.statement.sql).all(message.statement.params) });
      return;
    }
    const changes = message.statements.length === 1 ? run(message.statements) : runInTransaction(message.statements);
    parentPort.postMessage({ type: 'done', id: message.id, changes });
  } catch (err) {
    parentPort.postMessage({ type: 'done', id: message.id, error: { message: String(err?.message ?? err), code: err?.code } });
  }
});
