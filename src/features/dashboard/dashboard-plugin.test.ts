import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app-context.ts';
import type { ApiKey, Model, ModelVersion, Route } from '../../core/types.ts';
import { makeRequireRole } from '../../http/auth.ts';
import { buildServer, type FeaturePlugin } from '../../http/server.ts';
import { MetricWindows } from '../telemetry/metric-windows.ts';
import { createDashboardPlugin, dashboardPlugin, findMetricWindows } from './dashboard-plugin.ts';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const keys: Record<string, ApiKey> = {
  viewer: { id: 'k1', name: 'v', role: 'viewer', prefix: 'fsk_v', createdAt: 0 },
  client: { id: 'k2', name: 'c', role: 'client', prefix: 'fsk_c', createdAt: 0 },
};

function fakeContext(windows: MetricWindows | undefined): AppContext {
  const model: Model = { name: 'bot', kind: 'chat', tags: [], createdAt: 0 };
  const route: Route = { model: 'bot', weights: { v2: 100 }, mode: 'serving', revision: 1, updatedAt: 0, updatedBy: 'config' };
  const versions = ['v1', 'v2'].map((version) => ({ model: 'bot', version, state: 'live' }) as ModelVersion);
  return {
    clock: { now: () => NOW },
    logger: pino({ level: 'silent' }),
    requireRole: makeRequireRole({ authenticate: async (secret) => keys[secret] }),
    stores: {
      models: { get: async (name: string) => (name === 'bot' ? model : undefined) },
      routes: { get: async () => route },
      versions: { list: async () => versions },
    },
    services: windows ? { telemetry: { windows } } : {},
  } as unknown as AppContext;
}

describe('dashboard plugin', () => {
  let app: FastifyInstance;
  let webRoot: string;
  const windows = new MetricWindows({ retentionSeconds: 600 });

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), 'failsafe-web-'));
    mkdirSync(join(webRoot, 'assets', 'pages'), { recursive: true });
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(webRoot, 'assets', 'app.js'), 'export {};');
    writeFileSync(join(webRoot, 'assets', 'pages', 'x.js'), 'export const x = 1;');
    writeFileSync(join(webRoot, 'assets', 'style.css'), 'body{}');
    writeFileSync(join(webRoot, 'assets', 'notes.md'), 'not served: unknown type');
    writeFileSync(join(webRoot, 'secret.json'), '{"secret":true}');
    // Two versions, 20 s of traffic: v2 fails 1 request in 4 and is slower.
    for (let s = 30; s >= 11; s--) {
      for (let i = 0; i < 4; i++) {
        const at = NOW - s * 1000 + i * 100;
        windows.record({ model: 'bot', version: 'v1', at, ok: true, latencyMs: 10 });
        windows.record({ model: 'bot', version: 'v2', at, ok: i !== 0, latencyMs: 100 + i, errorClass: i === 0 ? 'upstream_5xx' : undefined });
      }
    }
    windows.recordFeedback({ model: 'bot', version: 'v2', requestAt: NOW - 15_000, rating: -1 });
    const ctx = fakeContext(windows);
    const noop: FeaturePlugin = async (scope) => {
      scope.get('/v1/models', async () => ({ object: 'list', data: [] }));
      scope.get('/metrics', async () => 'metrics');
    };
    app = await buildServer(ctx, { bodyLimitBytes: 1024, adminPlugins: [], rootPlugins: [noop, createDashboardPlugin({ webRoot })] });
  });

  afterAll(async () => {
    await app.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  it('serves index.html at / with its type, security headers and revalidation', async () => {
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<title>t</title>');
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves assets with their content types, nested ones included', async () => {
    const js = await app.inject('/assets/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await app.inject('/assets/pages/x.js')).body).toBe('export const x = 1;');
    expect((await app.inject('/assets/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves uPlot from node_modules under fixed names only', async () => {
    const res = await app.inject('/assets/vendor/uplot.esm.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.body).toContain('export { uPlot as default }');
    expect((await app.inject('/assets/vendor/uplot.min.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await app.inject('/assets/vendor/package.json')).statusCode).toBe(404);
  });

  it.each([
    '/assets/../secret.json',
    '/assets/%2e%2e/secret.json',
    '/assets/%2E%2E%2Fsecret.json',
    '/assets/..%2fsecret.json',
    '/assets/..%5csecret.json',
    '/assets/.hidden.js',
    '/assets/pages/../../secret.json',
    '/assets/notes.md',
    '/assets/',
    '/assets/pages',
    '/assets/app.js%00.css',
    '/assets/vendor/..%2f..%2fpackage.json',
  ])('refuses %s with 404 in the API error shape', async (url) => {
    const res = await app.inject(url);
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('"secret":true');
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('does not shadow the data plane, the API, /metrics or health', async () => {
    expect((await app.inject('/v1/models')).json()).toEqual({ object: 'list', data: [] });
    expect((await app.inject('/metrics')).body).toBe('metrics');
    expect((await app.inject('/healthz')).json()).toEqual({ ok: true });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    const unknownApi = await app.inject('/api/v1/nothing-here');
    expect(unknownApi.statusCode).toBe(404);
    expect(unknownApi.headers['content-type']).toContain('application/json');
    const unknownV1 = await app.inject('/v1/nothing');
    expect(unknownV1.json().error.type).toBe('not_found_error');
  });

  it('metric series need a viewer key', async () => {
    expect((await app.inject('/api/v1/models/bot/metrics')).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/models/bot/metrics', headers: { authorization: 'Bearer client' } })).statusCode).toBe(403);
  });

  it('answers per-second series of every version with traffic, route versions first', async () => {
    const res = await app.inject({ url: '/api/v1/models/bot/metrics?window=60', headers: { authorization: 'Bearer viewer' } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.available).toBe(true);
    expect(body.stepSeconds).toBe(1);
    expect(body.t).toHaveLength(60);
    expect(body.t[59]).toBe(NOW / 1000 - 1);
    expect(body.versions.map((v: any) => v.version)).toEqual(['v2', 'v1']);
    const v2 = body.versions[0];
    expect(v2.total.requests).toBe(80);
    expect(v2.total.errors).toBe(20);
    expect(v2.total.errorRate).toBeCloseTo(0.25, 6);
    expect(v2.total.feedbackNegative).toBe(1);
    const i = body.t.indexOf(NOW / 1000 - 20);
    expect(v2.requests[i]).toBe(4);
    expect(v2.errorRate[i]).toBe(0.25);
    expect(v2.p50[i]).toBeGreaterThan(99);
    expect(v2.p50[i]).toBeLessThan(104);
    // No traffic in the last 10 s: a gap, not a zero; live traffic is 0 req/s.
    expect(v2.errorRate[59]).toBeNull();
    expect(v2.p95[59]).toBeNull();
    expect(v2.recent.rps).toBe(0);
  });

  it('takes an explicit from/to (incident evidence) and one version', async () => {
    const from = new Date(NOW - 40_000).toISOString();
    const to = new Date(NOW - 10_000).toISOString();
    const res = await app.inject({ url: `/api/v1/models/bot/metrics?from=${from}&to=${to}&version=v1`, headers: { authorization: 'Bearer viewer' } });
    const body = res.json();
    expect(body.t).toHaveLength(30);
    expect(body.versions.map((v: any) => v.version)).toEqual(['v1']);
    expect(body.versions[0].total.requests).toBe(80);
    expect(body.versions[0].total.errorRate).toBe(0);
  });

  it('rejects bad queries and unknown models in the API error shape', async () => {
    const auth = { authorization: 'Bearer viewer' };
    expect((await app.inject({ url: '/api/v1/models/nope/metrics', headers: auth })).json().error.code).toBe('MODEL_NOT_FOUND');
    const bad = await app.inject({ url: '/api/v1/models/bot/metrics?window=abc', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const reversed = await app.inject({ url: `/api/v1/models/bot/metrics?from=${NOW}&to=${NOW - 1000}`, headers: auth });
    expect(reversed.statusCode).toBe(400);
  });

  it('says so when the server has no metric windows', async () => {
    const bare = await buildServer(fakeContext(undefined), { bodyLimitBytes: 1024, adminPlugins: [], rootPlugins: [dashboardPlugin] });
    const res = await bare.inject({ url: '/api/v1/models/bot/metrics', headers: { authorization: 'Bearer viewer' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ available: false, versions: [] });
    // The default plugin serves the repository's web/.
    const index = await bare.inject('/');
    expect(index.body).toContain('/assets/app.js');
    await bare.close();
  });

  it('finds metric windows nested inside a service', () => {
    const w = new MetricWindows();
    const ctx = { services: { gateway: { telemetry: { windows: w } } } } as unknown as AppContext;
    expect(findMetricWindows(ctx)).toBe(w);
  });

  it('leaves the metrics route to its owner when one is already registered', async () => {
    const owner: FeaturePlugin = async (scope) => {
      scope.get('/models/:name/metrics', async () => ({ owner: true }));
    };
    const both = await buildServer(fakeContext(windows), { bodyLimitBytes: 1024, adminPlugins: [owner], rootPlugins: [createDashboardPlugin({ webRoot })] });
    expect((await both.inject('/api/v1/models/bot/metrics')).json()).toEqual({ owner: true });
    await both.close();
  });
});
