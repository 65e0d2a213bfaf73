import type { Route, RouteChange } from '../../core/types.ts';

export interface RouteStore {
  get(model: string): Promise<Route | undefined>;
  list(): Promise<Route[]>;
  /** Writes the route and appends its history row (call inside a transaction). */
  save(route: Route, change: RouteChange): Promise<void>;
  /** Newest first. */
  history(model: string, options?: { limit?: number; since?: number }): Promise<RouteChange[]>;
}
