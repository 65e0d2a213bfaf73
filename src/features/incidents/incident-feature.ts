// Builds the incident area for the composition root: the incident service, the notifier (listening
// to incident events on the bus) and the admin route plugins (/incidents, /alerts).
import type { Logger } from 'pino';
import type { FailsafeConfig } from '../../config.ts';
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import { alertRoutes } from '../alerts/alert-routes.ts';
import { Notifier } from '../notifications/notifier.ts';
import type { Stores } from '../stores.ts';
import { IncidentService, type IncidentAudit } from './incident-service.ts';
import { incidentRoutes } from './incident-routes.ts';
import { severityRulesFrom } from './severity-config.ts';

export interface IncidentFeature {
  incidents: IncidentService;
  notifier: Notifier;
  /** Mount under /api/v1 (after ctx.services.incidents is set). */
  adminPlugins: FeaturePlugin[];
  /** Stops listening and lets in-flight notifications finish (bounded). */
  close(): Promise<void>;
}

export function createIncidentFeature(deps: {
  config: FailsafeConfig;
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  audit: IncidentAudit;
  logger?: Logger;
  /** Open incidents from `finding` bus events (leave false if monitors call openOrUpdate directly). */
  subscribeToFindings?: boolean;
}): IncidentFeature {
  const { config, logger } = deps;
  const incidents = new IncidentService({
    stores: deps.stores,
    clock: deps.clock,
    bus: deps.bus,
    audit: deps.audit,
    severityRules: severityRulesFrom(config.severity),
    evidenceIntervalMs: config.severity.evidenceIntervalSeconds * 1000,
    onError: (err, what) => logger?.error({ err, what }, 'incident handling failed'),
  });
  const notifier = new Notifier({ config: config.notifications, timeline: incidents, clock: deps.clock, bus: deps.bus, logger });
  const stopNotifier = notifier.start();
  const stopFindings = deps.subscribeToFindings ? incidents.subscribeToFindings() : () => {};
  return {
    incidents,
    notifier,
    adminPlugins: [incidentRoutes, alertRoutes],
    async close() {
      stopFindings();
      stopNotifier();
      await notifier.close();
    },
  };
}
