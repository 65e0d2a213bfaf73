// Builds the RCA area for the composition root: the service (optionally analysing every new
// incident by itself) and its admin route plugin. Set `ctx.services.rca = feature.rca` and mount
// `feature.adminPlugins` under /api/v1.
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { Stores } from '../stores.ts';
import { createRcaService, type RcaIncidents, type RcaService, type RcaServiceOptions } from './rca-service.ts';
import { rcaRoutes } from './rca-routes.ts';

export interface RcaFeature {
  rca: RcaService;
  adminPlugins: FeaturePlugin[];
  close(): void;
}

export function createRcaFeature(deps: {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  incidents: RcaIncidents;
  /** Analyse each incident this long after it opens and record the root cause (default: off). */
  autoAnalyzeDelayMs?: number;
  onError?: (err: unknown, what: string) => void;
  options?: Omit<RcaServiceOptions, 'stores' | 'clock' | 'incidents' | 'onError'>;
}): RcaFeature {
  const rca = createRcaService({ ...deps.options, stores: deps.stores, clock: deps.clock, incidents: deps.incidents, onError: deps.onError });
  const stop = deps.autoAnalyzeDelayMs !== undefined ? rca.startAutoAnalysis(deps.bus, { delayMs: deps.autoAnalyzeDelayMs }) : () => {};
  return { rca, adminPlugins: [rcaRoutes], close: stop };
}
