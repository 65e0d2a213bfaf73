// JSON shapes of models and versions in answers. Upstream header values may hold credentials and
// are never returned: only their names.
import { isoTime, isoTimeOpt } from '../../core/iso-time.ts';
import type { Model, ModelVersion, Route } from '../../core/types.ts';
import type { ModelSummary } from './registry-service.ts';

export const versionView = (v: ModelVersion, route?: Route) => {
  const { headers, ...upstream } = v.upstream;
  return {
    model: v.model,
    version: v.version,
    state: v.state,
    /** Share of traffic this version gets from the route as it serves now. */
    weight: route?.weights[v.version] ?? 0,
    upstream: headers ? { ...upstream, headerNames: Object.keys(headers) } : upstream,
    prompt: v.prompt,
    params: v.params,
    metadata: v.metadata,
    contentHash: v.contentHash,
    createdAt: isoTime(v.createdAt),
    stateChangedAt: isoTime(v.stateChangedAt),
    liveSince: isoTimeOpt(v.liveSince),
    stableSince: isoTimeOpt(v.stableSince),
  };
};

export const modelView = (m: Model) => ({ name: m.name, kind: m.kind, tags: m.tags, createdAt: isoTime(m.createdAt) });

/** One entry of `GET /api/v1/models`: mode and weights as the route serves now. */
export const modelSummaryView = (s: ModelSummary) => ({
  ...modelView(s.model),
  mode: s.route?.mode ?? 'serving',
  weights: s.route?.weights ?? {},
  shadow: s.route?.shadow,
  stickyKey: s.route?.stickyKey,
  revision: s.route?.revision ?? 0,
  stableVersion: s.stableVersion,
  versions: s.versions.map((v) => ({ version: v.version, state: v.state, weight: s.route?.weights[v.version] ?? 0 })),
});
