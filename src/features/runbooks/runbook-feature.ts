// Builds the runbook area for the composition root: loads the built-in runbooks (runbooks/*.yaml;
// a changed file becomes a new version), starts following incidents, checks for overdue steps
// periodically, and gives the admin route plugin to mount under /api/v1.
import type { EventBus } from '../../core/events.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { Stores } from '../stores.ts';
import type { RunbookRule } from './runbook-config.ts';
import { runbookRoutes } from './runbook-routes.ts';
import { builtinRunbookDir, RunbookService, type RunbookAudit, type RunbookIncidents, type RunbookServiceOptions } from './runbook-service.ts';

export interface RunbookFeature {
  runbooks: RunbookService;
  adminPlugins: FeaturePlugin[];
  /** Stops listening and the overdue check, and waits for checklist work in flight. */
  close(): Promise<void>;
}

export async function createRunbookFeature(deps: {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  audit: RunbookAudit;
  incidents: RunbookIncidents;
  notifier?: RunbookServiceOptions['notifier'];
  /** Directories of runbook YAML to load at start (default: the built-in runbooks/). */
  dirs?: string[];
  defaultRunbookId?: string;
  /** Rules choosing a runbook per incident (config `runbooks.select`). */
  select?: RunbookRule[];
  /** How often overdue steps are checked (ms); 0 or undefined: never by itself (tests call tick). */
  tickIntervalMs?: number;
  onError?: (err: unknown, what: string) => void;
}): Promise<RunbookFeature> {
  const onError = deps.onError ?? (() => {});
  const runbooks = new RunbookService({
    stores: deps.stores,
    clock: deps.clock,
    bus: deps.bus,
    audit: deps.audit,
    incidents: deps.incidents,
    notifier: deps.notifier,
    defaultRunbookId: deps.defaultRunbookId,
    select: deps.select,
    onError,
  });
  for (const dir of deps.dirs ?? [builtinRunbookDir]) await runbooks.loadDirectory(dir);
  // A rule naming a runbook that is not there would leave incidents without a checklist: refuse to start.
  await runbooks.assertSelectable();
  const stop = runbooks.start();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking = false;
  if (deps.tickIntervalMs && deps.tickIntervalMs > 0) {
    timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      runbooks
        .tick()
        .catch((err) => onError(err, 'runbook overdue check'))
        .finally(() => (ticking = false));
    }, deps.tickIntervalMs);
    timer.unref?.();
  }
  return {
    runbooks,
    adminPlugins: [runbookRoutes(runbooks)],
    async close() {
      if (timer) clearInterval(timer);
      stop();
      await runbooks.idle();
    },
  };
}
