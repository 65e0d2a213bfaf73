// The control-plane foundation in one call: audit log, API keys, routing, registry, feedback,
// wired in dependency order. The composition root (src/main.ts) and tests use it; each factory
// can also be called on its own.
import type { EventBus } from '../core/events.ts';
import type { Clock, Feedback } from '../core/types.ts';
import type { FeaturePlugin } from '../http/server.ts';
import { auditRoutes } from './audit/audit-routes.ts';
import { createAuditLog, type AuditLog } from './audit/audit-service.ts';
import { apiKeyRoutes } from './auth/api-key-routes.ts';
import { createApiKeyService, type ApiKeyService } from './auth/api-key-service.ts';
import { feedbackRoutes } from './feedback/feedback-routes.ts';
import { createFeedbackService, type FeedbackService, type RecentRequests } from './feedback/feedback-service.ts';
import { registryRoutes } from './registry/registry-routes.ts';
import { createRegistryService, type RegistryService } from './registry/registry-service.ts';
import { routingRoutes } from './routing/routing-routes.ts';
import { createRoutingService, type RoutingService } from './routing/routing-service.ts';
import type { ServingSink } from './routing/serving-model.ts';
import type { Stores } from './stores.ts';

export interface FoundationServices {
  audit: AuditLog;
  apiKeys: ApiKeyService;
  routing: RoutingService;
  registry: RegistryService;
  feedback: FeedbackService;
}

export interface FoundationDeps {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  /** The gateway's route table. */
  sink: ServingSink;
  recentRequests?: RecentRequests;
  onFeedback?: (feedback: Feedback) => void;
  onError?: (err: unknown) => void;
  apiKeyCacheTtlMs?: number;
}

export function createFoundationServices(deps: FoundationDeps): FoundationServices {
  const { stores, clock, bus } = deps;
  const audit = createAuditLog({ stores, clock });
  const apiKeys = createApiKeyService({ stores, audit, clock, cacheTtlMs: deps.apiKeyCacheTtlMs, onError: deps.onError });
  const routing = createRoutingService({ stores, audit, clock, bus, sink: deps.sink, onError: deps.onError });
  const registry = createRegistryService({ stores, audit, clock, bus, routing });
  const feedback = createFeedbackService({
    stores,
    clock,
    bus,
    recentRequests: deps.recentRequests,
    onFeedback: deps.onFeedback,
    onError: deps.onError,
  });
  return { audit, apiKeys, routing, registry, feedback };
}

/** Admin plugins of these areas, mounted under /api/v1. */
export const foundationAdminPlugins: FeaturePlugin[] = [registryRoutes, routingRoutes, auditRoutes, apiKeyRoutes, feedbackRoutes];
