// Builds the deployments area for the composition root: canary deployments, A/B experiments and
// stand-alone validations, their admin routes, and the loops that drive them. main.ts: create,
// `await start()` after the routing service is loaded, services into ctx.services, adminPlugins,
// `close()` before storage closes.
import type { LoadedConfig } from '../../config.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { ServingModel } from '../routing/serving-model.ts';
import { deploymentRoutes } from './deployment-routes.ts';
import { DeploymentService, type DeploymentServiceOptions } from './deployment-service.ts';
import { stagingValidator, type CandidateValidator } from './deployment-validation.ts';
import { ExperimentService } from './experiment-service.ts';
import { ValidationJobs } from './validation-jobs.ts';

/** The deployment service's options, plus what the feature builds itself. */
export interface DeploymentsFeatureDeps extends Omit<DeploymentServiceOptions, 'validator'> {
  loaded: LoadedConfig;
  /** Replaces golden-set validation (tests). */
  validator?: CandidateValidator;
  /** Run the 1-second loops (default true); tests may call tick() by hand. */
  background?: boolean;
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
  const deployments = new DeploymentService({ ...deps, validator });
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
