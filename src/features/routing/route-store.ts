import type { Route, RouteChange } from '../../core/types.ts';

export interface RouteStore {
  get(model: string): Promise<Route | undefined>;
  /** By model name. */
  list(): Promise<Route[]>;
  /**
   * Writes the route and appends its history row (call inside a transaction; outside one the
   * two writes still commit together). Throws MODEL_NOT_FOUND for an unknown model.
   */
  save(route: Route, change: RouteChange): Promise<void>;
  /** Newest first (by `at`, then by insertion); `since` is inclusive. */
  history(model: string, options?: { limit?: number; since?: number }): Promise<RouteChange[]>;
}
