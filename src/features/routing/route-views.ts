// JSON shapes of routes in answers (camelCase, ISO times).
import { isoTime } from '../../core/iso-time.ts';
import type { Route, RouteChange } from '../../core/types.ts';

export const routeView = (r: Route) => ({
  model: r.model,
  weights: r.weights,
  mode: r.mode,
  shadow: r.shadow,
  stickyKey: r.stickyKey,
  revision: r.revision,
  updatedAt: isoTime(r.updatedAt),
  updatedBy: r.updatedBy,
  reason: r.reason,
});

export const routeChangeView = (c: RouteChange) => ({
  model: c.model,
  revision: c.revision,
  weights: c.weights,
  shadow: c.shadow,
  mode: c.mode,
  actor: c.actor,
  reason: c.reason,
  at: isoTime(c.at),
});
