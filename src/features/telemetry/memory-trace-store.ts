import type { Trace } from '../../core/types.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { TraceQuery, TraceStore } from './trace-store.ts';

/** The shape a trace reads back as from the database: booleans always set, absent fields omitted. */
const normalise = (t: Trace): Trace =>
  compact({
    ...copy(t),
    stream: Boolean(t.stream),
    retried: Boolean(t.retried),
    shadow: Boolean(t.shadow),
    inputChars: t.inputChars ?? 0,
    outputChars: t.outputChars ?? 0,
  });

const byTime = (a: Trace, b: Trace): number => a.startedAt - b.startedAt || cmp(a.requestId, b.requestId);

export class MemoryTraceStore implements TraceStore {
  constructor(
    private readonly traces = new Map<string, Trace>(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryTraceStore {
    return new MemoryTraceStore(this.traces, undo);
  }

  async insertMany(traces: Trace[]): Promise<void> {
    const added: string[] = [];
    for (const t of traces) {
      if (this.traces.has(t.requestId)) continue;
      this.traces.set(t.requestId, normalise(t));
      added.push(t.requestId);
    }
    if (added.length > 0) this.undo.push(() => added.forEach((id) => this.traces.delete(id)));
  }

  async get(requestId: string): Promise<Trace | undefined> {
    const t = this.traces.get(requestId);
    return t && copy(t);
  }

  async query(q: TraceQuery): Promise<Trace[]> {
    const out: Trace[] = [];
    for (const t of this.traces.values()) {
      if (q.model !== undefined && t.model !== q.model) continue;
      if (q.version !== undefined && t.version !== q.version) continue;
      if (q.from !== undefined && t.startedAt < q.from) continue;
      if (q.to !== undefined && t.startedAt >= q.to) continue;
      if (q.status !== undefined && t.status !== q.status) continue;
      if (q.errorClass !== undefined && t.errorClass !== q.errorClass) continue;
      if (!q.shadow && t.shadow) continue;
      out.push(t);
    }
    out.sort(q.order === 'asc' ? byTime : (a, b) => byTime(b, a));
    const page = (q.limit !== undefined ? out.slice(0, q.limit) : out).map(copy);
    return q.bodies === false ? page.map(({ input: _input, output: _output, ...rest }) => rest) : page;
  }

  async prune(options: { before?: number; maxCount?: number }): Promise<number> {
    const removed: Trace[] = [];
    if (options.before !== undefined) {
      for (const t of this.traces.values()) if (t.startedAt < options.before) removed.push(t);
      removed.forEach((t) => this.traces.delete(t.requestId));
    }
    if (options.maxCount !== undefined) {
      const newestFirst = [...this.traces.values()].sort((a, b) => byTime(b, a));
      for (const t of newestFirst.slice(Math.max(0, Math.floor(options.maxCount)))) {
        this.traces.delete(t.requestId);
        removed.push(t);
      }
    }
    if (removed.length > 0) this.undo.push(() => removed.forEach((t) => this.traces.set(t.requestId, t)));
    return removed.length;
  }
}
