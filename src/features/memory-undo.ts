// The in-memory fakes roll a failed transaction back by undoing its own writes in reverse order
// (rather than restoring a snapshot, which would also erase writes made outside the transaction).

export interface UndoLog {
  push(undo: () => void): void;
}

/** Outside a transaction a write is final. */
export const noUndo: UndoLog = { push: () => {} };

export class UndoJournal implements UndoLog {
  private readonly undos: (() => void)[] = [];

  push(undo: () => void): void {
    this.undos.push(undo);
  }

  rollback(): void {
    for (let i = this.undos.length - 1; i >= 0; i--) this.undos[i]();
    this.undos.length = 0;
  }
}

/**
 * Copies in and out, so callers never share objects with the store. Through JSON, like the
 * databases' JSON text columns: undefined keys vanish, Dates become strings.
 */
export const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** Code-point order, as the databases compare text here (SQLite binary; PostgreSQL with a C collation). */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
