import { FailsafeError } from '../../core/errors.ts';
import type { Route, RouteChange } from '../../core/types.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { RouteStore } from './route-store.ts';

interface RouteData {
  routes: Map<string, Route>;
  /** Appended in insertion order, which breaks ties between changes at the same time. */
  history: RouteChange[];
}

export class MemoryRouteStore implements RouteStore {
  constructor(
    private readonly modelExists: (name: string) => boolean,
    private readonly data: RouteData = { routes: new Map(), history: [] },
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryRouteStore {
    return new MemoryRouteStore(this.modelExists, this.data, undo);
  }

  async get(model: string): Promise<Route | undefined> {
    const r = this.data.routes.get(model);
    return r && copy(r);
  }

  async list(): Promise<Route[]> {
    return [...this.data.routes.values()].sort((a, b) => cmp(a.model, b.model)).map(copy);
  }

  async save(route: Route, change: RouteChange): Promise<void> {
    if (!this.modelExists(route.model)) throw new FailsafeError('MODEL_NOT_FOUND', `model "${route.model}" not found`);
    const before = this.data.routes.get(route.model);
    this.data.routes.set(route.model, compact(copy(route)));
    const entry = compact(copy(change));
    this.data.history.push(entry);
    this.undo.push(() => {
      if (before) this.data.routes.set(route.model, before);
      else this.data.routes.delete(route.model);
      const i = this.data.history.lastIndexOf(entry);
      if (i >= 0) this.data.history.splice(i, 1);
    });
  }

  async history(model: string, options: { limit?: number; since?: number } = {}): Promise<RouteChange[]> {
    const out: RouteChange[] = [];
    // Walking backwards gives insertion order newest first; a stable sort by time keeps it for ties.
    for (let i = this.data.history.length - 1; i >= 0; i--) {
      const c = this.data.history[i];
      if (c.model === model && (options.since === undefined || c.at >= options.since)) out.push(c);
    }
    out.sort((a, b) => b.at - a.at);
    return (options.limit !== undefined ? out.slice(0, options.limit) : out).map(copy);
  }
}
