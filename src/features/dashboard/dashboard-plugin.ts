// The web dashboard: serves web/ at `/` (index.html, /assets/...) and uPlot from node_modules,
// plus the read-only endpoint its charts need (per-second metric series of a model's versions).
// Mounted as a root plugin; it registers exact paths only, so /v1, /api/v1, /metrics, /healthz
// and /readyz are never shadowed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import { FailsafeError } from '../../core/errors.ts';
import { parseTimeParam } from '../../core/iso-time.ts';
import type { FeaturePlugin } from '../../http/server.ts';
import { packagePath } from '../../package-root.ts';
import { parseInput } from '../../http/parse-input.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import { buildMetricSeries, type WindowsReader } from './metric-series.ts';
import { etagMatches, safeAssetPath, StaticFileCache } from './static-files.ts';

export const defaultWebRoot = packagePath('web');

function uplotDist(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('uplot'));
  } catch {
    return undefined;
  }
}

// Only what the page needs is reachable from node_modules, under fixed names.
const vendorFiles: Record<string, string> = {
  'uplot.esm.js': 'uPlot.esm.js',
  'uplot.min.css': 'uPlot.min.css',
};

// The dashboard loads scripts and styles from itself only; uPlot sets inline styles on its nodes.
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface DashboardOptions {
  /** Directory holding index.html and assets/ (default: the repository's web/). */
  webRoot?: string;
  /** Where the metric windows come from (default: looked up in ctx.services on each request). */
  windows?: (ctx: AppContext) => WindowsReader | undefined;
}

/**
 * The gateway telemetry's metric windows, wherever the composition root put them: any
 * MetricWindows among the services or up to two levels inside one (`services.telemetry.windows`,
 * `services.gateway.telemetry.windows`). Found once per context, then remembered.
 */
export function findMetricWindows(ctx: AppContext): WindowsReader | undefined {
  const known = found.get(ctx);
  if (known) return known;
  const search = (value: unknown, depth: number): MetricWindows | undefined => {
    if (value instanceof MetricWindows) return value;
    if (depth === 0 || !value || typeof value !== 'object') return undefined;
    for (const inner of Object.values(value)) {
      const hit = search(inner, depth - 1);
      if (hit) return hit;
    }
    return undefined;
  };
  const windows = search(ctx.services, 3);
  if (windows) found.set(ctx, windows);
  return windows;
}

const found = new WeakMap<AppContext, WindowsReader>();

const metricsQuery = z.object({
  window: z.coerce.number().int().min(10).max(86_400).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  step: z.coerce.number().int().min(1).max(3600).optional(),
  version: z.string().min(1).max(64).optional(),
});

const nameParams = z.object({ name: z.string().min(1).max(64) });

async function sendFile(cache: StaticFileCache, path: string | undefined, request: FastifyRequest, reply: FastifyReply, cacheControl: string) {
  const file = path ? await cache.get(path) : undefined;
  if (!file) throw new FailsafeError('NOT_FOUND', `no such file: ${request.url.split('?')[0]}`);
  reply.headers(securityHeaders).header('cache-control', cacheControl).header('etag', file.etag).type(file.contentType);
  if (etagMatches(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
  return reply.send(file.body);
}

export function createDashboardPlugin(options: DashboardOptions = {}): FeaturePlugin {
  const webRoot = options.webRoot ?? defaultWebRoot;
  const lookupWindows = options.windows ?? findMetricWindows;
  return async function dashboardPlugin(app: FastifyInstance, ctx: AppContext): Promise<void> {
    const cache = new StaticFileCache();
    const vendorDir = uplotDist();
    // Our files are not fingerprinted: the browser revalidates each time (a cheap 304 by ETag).
    const revalidate = 'no-cache';

    const index = async (request: FastifyRequest, reply: FastifyReply) => sendFile(cache, join(webRoot, 'index.html'), request, reply, revalidate);
    app.get('/', { schema: { hide: true } }, index);
    app.get('/index.html', { schema: { hide: true } }, index);

    app.get('/favicon.ico', { schema: { hide: true } }, async (request, reply) =>
      sendFile(cache, safeAssetPath(webRoot, 'assets/favicon.svg'), request, reply, 'public, max-age=86400'),
    );

    app.get('/assets/vendor/:file', { schema: { hide: true } }, async (request, reply) => {
      const { file } = request.params as { file: string };
      const real = vendorFiles[file];
      const path = real && vendorDir ? join(vendorDir, real) : undefined;
      // Pinned by package-lock: a day of caching is safe and saves the biggest download.
      return sendFile(cache, path, request, reply, 'public, max-age=86400');
    });

    app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
      const rest = (request.params as { '*': string })['*'];
      return sendFile(cache, safeAssetPath(join(webRoot, 'assets'), rest), request, reply, revalidate);
    });

    // The series endpoint belongs to the API surface; if telemetry ships its own, theirs wins.
    if (!app.hasRoute({ method: 'GET', url: '/api/v1/models/:name/metrics' })) {
      app.get(
        '/api/v1/models/:name/metrics',
        {
          preHandler: ctx.requireRole('viewer'),
          schema: { tags: ['models'], summary: 'Per-version time series (requests, error rate, p50/p95 latency, feedback) from the 1-s metric windows' },
        },
        async (request) => {
          const { name } = parseInput(nameParams, request.params, 'params');
          const q = parseInput(metricsQuery, request.query, 'query');
          const model = await ctx.stores.models.get(name);
          if (!model) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${name}"`);
          const now = ctx.clock.now();
          // Only complete seconds: the current one would read as a drop in traffic.
          const toMs = parseTimeParam(q.to, 'to') ?? Math.floor(now / 1000) * 1000;
          const fromMs = parseTimeParam(q.from, 'from') ?? toMs - (q.window ?? 300) * 1000;
          if (!(fromMs < toMs)) throw new FailsafeError('VALIDATION_FAILED', 'from must be before to');
          if (toMs - fromMs > 86_400_000) throw new FailsafeError('VALIDATION_FAILED', 'a series spans at most 24 hours');
          const windows = lookupWindows(ctx);
          if (!windows) {
            return { model: name, available: false, reason: 'the gateway metric windows are not available on this server', t: [], versions: [] };
          }
          const route = await ctx.stores.routes.get(name);
          const registered = (await ctx.stores.versions.list(name)).map((v) => v.version);
          let versions = registered.filter((v) => (route?.weights[v] ?? 0) > 0 || route?.shadow?.version === v);
          if (q.version) versions = [q.version];
          const series = buildMetricSeries(windows, { model: name, versions, fromMs, toMs, stepSeconds: q.step });
          if (q.version) series.versions = series.versions.filter((v) => v.version === q.version);
          return { available: true, ...series };
        },
      );
    }
  };
}

export const dashboardPlugin: FeaturePlugin = createDashboardPlugin();
