// Builds the monitoring area for the composition root: the leader lock, the monitor runner over the
// gateway's metric windows, and its admin routes. Set `ctx.services.monitors = feature.runner`,
// mount `feature.adminPlugins` under /api/v1, `await feature.start()` and close it on shutdown.
//
// With PostgreSQL, every replica ships its metric deltas twice a second and the leader merges them
// (replica-windows.ts), so the one replica that monitors sees the whole fleet's traffic.
//
// Incidents: the runner calls incidents.openOrUpdate itself (with severity, onset and impact);
// do not also subscribe the incident service to `finding` events.
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { StorageHandle } from '../../storage/database.ts';
import type { IncidentAudit } from '../incidents/incident-service.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import type { Stores } from '../stores.ts';
import { LeaderLock } from './leader-lock.ts';
import type { ModelMonitorsConfig, MonitorsConfig } from './monitor-config.ts';
import { MonitorRunner, type MonitoredWindows, type RunnerIncidents } from './monitor-runner.ts';
import { monitorRoutes } from './monitor-routes.ts';
import { ReplicaWindows } from './replica-windows.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';

export interface MonitoringFeature {
  runner: MonitorRunner;
  leader: LeaderLock;
  /** Set with PostgreSQL: ships this replica's metric deltas and, on the leader, merges the others'. */
  replicas?: ReplicaWindows;
  adminPlugins: FeaturePlugin[];
  /** Takes (or starts trying for) the leader lock and, with `loop`, starts the 1-second loop. */
  start(options?: { loop?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface MonitoringDeps {
  config: { monitors?: Partial<MonitorsConfig>; models?: ReadonlyArray<{ name: string; monitors?: ModelMonitorsConfig }> };
  storage: Pick<StorageHandle, 'caps' | 'pgPool' | 'db'>;
  stores: Stores;
  windows: MonitoredWindows;
  serving: (model: string) => ServingModel | undefined;
  incidents: RunnerIncidents;
  audit?: IncidentAudit;
  bus?: EventBus;
  clock: Clock;
  onError?: (err: unknown, what: string) => void;
  onLeaderChange?: (leader: boolean) => void;
  /** How often replicas ship metric deltas (default 500 ms). */
  replicaSyncMs?: number;
}

export function createMonitoringFeature(deps: MonitoringDeps): MonitoringFeature {
  const leader = new LeaderLock({
    storage: deps.storage,
    retryMs: deps.config.monitors?.leaderRetryMs ?? 5000,
    onChange: deps.onLeaderChange,
    onError: (err) => deps.onError?.(err, 'leader lock'),
  });
  // Several replicas on one database: the leader monitors everybody's traffic (replica-windows.ts).
  const replicas =
    deps.storage.caps.multiReplica && deps.windows instanceof MetricWindows
      ? new ReplicaWindows({
          db: deps.storage.db,
          local: deps.windows,
          isLeader: () => leader.isLeader(),
          clock: deps.clock,
          intervalMs: deps.replicaSyncMs,
          onError: deps.onError,
        })
      : undefined;
  const runner = new MonitorRunner({
    windows: replicas ?? deps.windows,
    serving: deps.serving,
    incidents: deps.incidents,
    clock: deps.clock,
    bus: deps.bus,
    stores: deps.stores,
    audit: deps.audit,
    config: deps.config,
    isLeader: () => leader.isLeader(),
    onError: deps.onError,
  });
  let started = false;
  return {
    runner,
    leader,
    replicas,
    adminPlugins: [monitorRoutes(runner)],
    async start(options = {}) {
      if (started) return;
      started = true;
      await leader.start();
      replicas?.start();
      await runner.reloadTuning().catch((err) => deps.onError?.(err, 'monitor tuning load'));
      if (options.loop !== false && deps.config.monitors?.enabled !== false) runner.start();
    },
    async close() {
      await runner.stop();
      await replicas?.stop();
      await leader.stop();
    },
  };
}
