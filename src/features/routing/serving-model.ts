// What the gateway needs to serve one model, compiled from the registry and the route.
// The routing service builds one on every change and hands it to the gateway's route table,
// which swaps it in atomically (a single Map.set), so a request never waits on the database.
import type { Model, ModelVersion, Route } from '../../core/types.ts';

export interface ServingModel {
  model: Model;
  route: Route;
  /** Every version of the model, so `name@version` can pin any registered, non-retired one. */
  versions: Record<string, ModelVersion>;
  /** Last known stable version (M-1), target of the one retry after an upstream failure. */
  stableVersion?: string;
}

/** Receives compiled routes; the gateway's route table implements it. */
export interface ServingSink {
  apply(serving: ServingModel): void;
  remove(model: string): void;
}
