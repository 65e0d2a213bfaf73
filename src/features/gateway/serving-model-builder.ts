// Builds the ServingModel the routing service would hand the route table, from a few fields:
// for tests and the gateway benchmark, which drive the route table without a registry.
import type { ModelKind, ModelVersion, RouteMode, VersionState } from '../../core/types.ts';
import type { ServingModel } from '../routing/serving-model.ts';

export interface VersionInit {
  url: string;
  model?: string;
  prompt?: string;
  params?: Record<string, unknown>;
  state?: VersionState;
  timeoutMs?: number;
}

export function servingModel(
  name: string,
  kind: ModelKind,
  versions: Record<string, VersionInit>,
  weights: Record<string, number>,
  options: { stable?: string; mode?: RouteMode; revision?: number; stickyKey?: string; shadow?: { version: string; percent: number } } = {},
): ServingModel {
  const t = Date.UTC(2025, 0, 1);
  const specs: Record<string, ModelVersion> = {};
  for (const [v, init] of Object.entries(versions)) {
    specs[v] = {
      model: name,
      version: v,
      upstream: { url: init.url, model: init.model, provider: 'openai', timeoutMs: init.timeoutMs },
      prompt: init.prompt,
      params: init.params,
      state: init.state ?? (options.stable === v ? 'stable' : 'live'),
      contentHash: `hash-${v}`,
      createdAt: t,
      stateChangedAt: t,
    };
  }
  return {
    model: { name, kind, tags: [], createdAt: t },
    route: {
      model: name,
      weights,
      mode: options.mode ?? 'serving',
      revision: options.revision ?? 1,
      updatedAt: t,
      updatedBy: 'test',
      stickyKey: options.stickyKey,
      shadow: options.shadow,
    },
    versions: specs,
    stableVersion: options.stable,
  };
}
