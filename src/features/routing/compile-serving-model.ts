// Builds what the gateway serves for one model. Pure, so the same compilation runs after a local
// change, at startup, and when another replica announces a change.
import { lastKnownStable } from '../../core/last-stable.ts';
import type { Model, ModelVersion, Route } from '../../core/types.ts';
import type { ServingModel } from './serving-model.ts';

/** The route a registered model has before anyone set one: serving nothing, revision 0. */
export const emptyRoute = (model: Model): Route => ({
  model: model.name,
  weights: {},
  mode: 'serving',
  revision: 0,
  updatedAt: model.createdAt,
  updatedBy: 'system',
});

export function compileServingModel(model: Model, route: Route | undefined, versions: readonly ModelVersion[]): ServingModel {
  const byName: Record<string, ModelVersion> = {};
  for (const v of versions) byName[v.version] = v;
  return {
    model,
    route: route ?? emptyRoute(model),
    versions: byName,
    stableVersion: lastKnownStable(versions)?.version,
  };
}
