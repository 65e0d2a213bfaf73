// Builds the review area for the composition root: the postmortem service, its routes and the
// trace explorer routes, and (optionally) a final postmortem stored whenever an incident resolves.
// Set `ctx.services.review = feature.review` and mount `feature.adminPlugins` under /api/v1.
import type { LoadedConfig } from '../../config.ts';
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import { MONITOR_KINDS, isMonitorId } from '../monitoring/monitor-config.ts';
import type { RcaService } from '../rca/rca-service.ts';
import type { Stores } from '../stores.ts';
import { traceRoutes } from '../traces/trace-routes.ts';
import type { ReviewMonitoring } from './detection-replay.ts';
import { PostmortemService, type PostmortemServiceOptions, type ReviewAudit, type ReviewIncidents } from './postmortem-service.ts';
import { reviewRoutesFor } from './review-routes.ts';

export interface ReviewFeature {
  review: PostmortemService;
  adminPlugins: FeaturePlugin[];
  /** Stops listening and lets slow postmortem parts in progress finish (at most `graceMs`, default 5 s). */
  close(graceMs?: number): Promise<void>;
}

export function createReviewFeature(deps: {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  incidents: ReviewIncidents;
  audit: ReviewAudit;
  loaded?: LoadedConfig;
  rca?: () => RcaService | undefined;
  monitoring?: () => ReviewMonitoring | undefined;
  /** Store the final postmortem when an incident resolves (default false). */
  writeOnResolve?: boolean;
  onError?: (err: unknown, what: string) => void;
  options?: Pick<PostmortemServiceOptions, 'healthyHistoryMs' | 'maxTraces' | 'draftIntervalMs' | 'validateVersion'>;
}): ReviewFeature {
  const review = new PostmortemService({
    ...deps.options,
    stores: deps.stores,
    clock: deps.clock,
    incidents: deps.incidents,
    audit: deps.audit,
    ...(deps.loaded ? { loaded: deps.loaded } : {}),
    ...(deps.rca ? { rca: deps.rca } : {}),
    ...(deps.monitoring ? { monitoring: deps.monitoring } : {}),
    monitorKind: (id) => (isMonitorId(id) ? MONITOR_KINDS[id] : undefined),
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
  const off = deps.writeOnResolve
    ? deps.bus.on('incident.updated', ({ incident, change }) => {
        if (change !== 'resolved') return;
        review.generate(incident.id).catch((err) => deps.onError?.(err, `postmortem ${incident.id}`));
      })
    : () => {};
  return {
    review,
    adminPlugins: [reviewRoutesFor(review), traceRoutes],
    async close(graceMs = 5_000) {
      off();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([review.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    },
  };
}
