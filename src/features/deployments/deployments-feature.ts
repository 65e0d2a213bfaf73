// Builds the deployments area for the composition root: canary deployments, A/B experiments and
// stand-alone validations, their admin routes, and the loops that drive them. main.ts: create,
// `await start()` after the routing service is loaded, services into ctx.services, adminPlugins,
// `close()` before storage closes.
import type { LoadedConfig } from '../../config.ts';
import type { CanarySettingsOverride } from '../../core/canary/canary-settings.ts';
import type { Clock, EpochMs } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import type { Stores } from '../stores.ts';
import type { WindowSource } from './arm-samples.ts';
import { deploymentRoutes } from './deployment-routes.ts';
import { DeploymentService } from './deployment-service.ts';
import { stagingValidator, type CandidateValidator } from './deployment-validation.ts';
import { ExperimentService } from './experiment-service.ts';
import { ValidationJobs } from './validation-jobs.ts';

export interface DeploymentsFeatureDeps {
  loaded: LoadedConfig;
  stores: Stores;
  clock: Clock;
  audit: AuditLog;
  routing: RoutingService;
  registry: RegistryService;
  /** The gateway's metric windows. */
  windows: WindowSource;
  soak?: { restart(model: string, version: string, at: EpochMs): void };
  /** Replaces golden-set validation (tests). */
  validator?: CandidateValidator;
  settings?: CanarySettingsOverride;
  /** Run the 1-second loops (default true); tests may call tick() by hand. */
  background?: boolean;
  intervalMs?: number;
  traceLagMs?: number;
  isLeader?: () => boolean;
  onError?: (err: unknown, what: string) => void;
}

export interface DeploymentsFeature {
  deployments: DeploymentService;
  experiments: ExperimentService;
  validations: ValidationJobs;
  adminPlugins: FeaturePlugin[];
  /**
   * For the monitor runner's `serving`: the model as the monitors should judge it, without the
   * candidate of a running deployment (the deployment's own analysis is its authority).
   */
  monitoredView(serving: ServingModel | undefined): ServingModel | undefined;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createDeploymentsFeature(deps: DeploymentsFeatureDeps): DeploymentsFeature {
  const validator = deps.validator ?? stagingValidator(deps.loaded, deps.clock);
  const deployments = new DeploymentService({
    stores: deps.stores,
    clock: deps.clock,
    audit: deps.audit,
    routing: deps.routing,
    registry: deps.registry,
    windows: deps.windows,
    validator,
    settings: deps.settings,
    soak: deps.soak,
    intervalMs: deps.intervalMs,
    traceLagMs: deps.traceLagMs,
    isLeader: deps.isLeader,
    onError: deps.onError,
  });
  const experiments = new ExperimentService({ stores: deps.stores, clock: deps.clock, audit: deps.audit, routing: deps.routing, intervalMs: deps.intervalMs, isLeader: deps.isLeader, onError: deps.onError });
  const validations = new ValidationJobs({ stores: deps.stores, clock: deps.clock, audit: deps.audit, registry: deps.registry, validator, onError: deps.onError });
  return {
    deployments,
    experiments,
    validations,
    adminPlugins: [deploymentRoutes({ deployments, experiments, validations })],
    monitoredView(serving) {
      if (!serving) return serving;
      const active = deployments.activeCandidate(serving.model.name);
      if (!active || !(active.version in serving.route.weights)) return serving;
      const weights = { ...serving.route.weights };
      delete weights[active.version];
      return { ...serving, route: { ...serving.route, weights } };
    },
    async start() {
      await deployments.load();
      if (deps.background !== false) {
        deployments.start();
        experiments.start();
      }
    },
    async close() {
      await deployments.stop();
      await experiments.close();
    },
  };
}
