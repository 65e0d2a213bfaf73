// The data plane, assembled. main.ts calls createGateway() once and wires:
//   - gateway.routeTable as the routing service's ServingSink (it calls apply() on every change),
//   - gateway.plugin into buildServer's rootPlugins (/v1/* on its own router ahead of Fastify, GET /metrics),
//   - gateway.telemetry for monitors (windows), feedback (lookupRecent, recordFeedback) and metrics,
//   - gateway.setHooks({...}) from containment (fallback) and validators, whenever they exist,
//   - await gateway.close() on shutdown (writes queued traces, closes upstream sockets).
import type { FailsafeConfig } from '../../config.ts';
import type { Clock } from '../../core/types.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import type { MetricWindowsOptions } from '../telemetry/metric-windows.ts';
import { TelemetryService } from '../telemetry/telemetry-service.ts';
import type { TraceStore } from '../telemetry/trace-store.ts';
import type { GatewayLogger, GatewayRuntime } from './exchange.ts';
import type { GatewayHooks } from './gateway-hooks.ts';
import { gatewayPlugin } from './gateway-plugin.ts';
import { RouteTable } from './route-table.ts';
import { UpstreamClient } from './upstream-client.ts';

export type * from './gateway-hooks.ts';
export { RouteTable, compileServingModel, pickFrom, stickyBucket } from './route-table.ts';
export type { CompiledRoute, CompiledVersion, PickOptions, PickResult } from './route-table.ts';
export { UpstreamClient, UpstreamError, classifyError, classifyStatus } from './upstream-client.ts';
export type { UpstreamErrorClass } from './upstream-client.ts';
export { newRequestId } from './request-id.ts';
export { TelemetryService } from '../telemetry/telemetry-service.ts';

export interface CreateGatewayOptions {
  /** Uses `server.clientAuth`, `server.upstreamTimeoutMs`, `server.connectTimeoutMs` and `traces.*`. */
  config: Pick<FailsafeConfig, 'server' | 'traces'>;
  stores: { traces: Pick<TraceStore, 'insertMany' | 'prune'> };
  clock: Clock;
  logger: GatewayLogger;
  hooks?: GatewayHooks;
  /** Source of randomness for weighted picks and shadow sampling (tests pass a seeded one). */
  random?: () => number;
  windows?: MetricWindowsOptions;
  /** Register prom-client's process metrics in the gateway's registry (default true). */
  defaultMetrics?: boolean;
  /** Serve GET /metrics from this plugin (default true). */
  metricsRoute?: boolean;
  /** Seconds in Retry-After of a paused model's 503 (default 30). */
  retryAfterSeconds?: number;
}

export interface Gateway {
  /** ServingSink for the routing service: apply(serving) swaps a model's route atomically. */
  routeTable: RouteTable;
  /** Trace recorder, metric windows, Prometheus registry. */
  telemetry: TelemetryService;
  upstream: UpstreamClient;
  /** The live hooks object: read on every request. */
  hooks: GatewayHooks;
  /** Adds or replaces hooks (containment, validators); undefined values remove one. */
  setHooks(hooks: Partial<GatewayHooks>): void;
  /** Register with buildServer's rootPlugins. */
  plugin: FeaturePlugin;
  /** Flushes traces and closes upstream connections. Call after the HTTP server stopped. */
  close(): Promise<void>;
}

export function createGateway(options: CreateGatewayOptions): Gateway {
  const { config, clock, logger } = options;
  const routeTable = new RouteTable({ random: options.random });
  const telemetry = new TelemetryService({
    store: options.stores.traces,
    clock,
    logger,
    traces: config.traces,
    windows: options.windows,
    defaultMetrics: options.defaultMetrics,
  });
  const upstream = new UpstreamClient({
    connectTimeoutMs: config.server.connectTimeoutMs,
    defaultTimeoutMs: config.server.upstreamTimeoutMs,
  });
  const hooks: GatewayHooks = { ...options.hooks };
  const runtime: GatewayRuntime = {
    routes: routeTable,
    upstream,
    telemetry,
    hooks,
    clock,
    logger,
    inputTextCap: Math.max(config.traces.maxChars, 0) + 1024,
    captureInput: config.traces.captureInput,
    captureOutput: config.traces.captureOutput,
    retryAfterSeconds: options.retryAfterSeconds ?? 30,
    random: options.random ?? Math.random,
  };
  const plugin = gatewayPlugin(runtime, { clientAuth: config.server.clientAuth, bodyLimitBytes: config.server.bodyLimitBytes, metrics: options.metricsRoute });
  return {
    routeTable,
    telemetry,
    upstream,
    hooks,
    setHooks(next) {
      for (const [k, v] of Object.entries(next) as Array<[keyof GatewayHooks, unknown]>) {
        if (v === undefined) delete hooks[k];
        else (hooks as Record<string, unknown>)[k] = v;
      }
    },
    plugin,
    async close() {
      await telemetry.close();
      await upstream.close();
    },
  };
}
