// RCA service and route over a real SQLite file: a scenario's traces, versions, route history and
// feedback are written through the stores, an incident is opened through the incident service,
// and the analysis is read back through GET /api/v1/incidents/{id}/rca.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createFoundation, type Foundation } from '../../../test/helpers/foundation.ts';
import { foundationContext } from '../../../test/helpers/foundation-server.ts';
import { createSqliteStorage, storageTargets, type TestStorage } from '../../../test/helpers/storage.ts';
import { parseConfig } from '../../config.ts';
import type { RcaInput } from '../../core/rca/rca-types.ts';
import { SCENARIO_ONSET, type ScenarioName, syntheticIncident } from '../../core/rca/synthetic-incidents.ts';
import type { Finding, Route } from '../../core/types.ts';
import { buildServer } from '../../http/server.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import type { Stores } from '../stores.ts';
import { createRcaFeature, type RcaFeature } from './rca-feature.ts';

const MIN = 60_000;

let storage: TestStorage;
let stores: Stores;
let f: Foundation;
let incidents: IncidentService;
let feature: RcaFeature;

async function setup(create: () => Promise<TestStorage>): Promise<void> {
  storage = await create();
  stores = createKyselyStores(storage.handle);
  f = createFoundation({ stores });
  f.clock.t = SCENARIO_ONSET + 15 * MIN;
  incidents = new IncidentService({ stores, clock: f.clock, bus: f.bus, audit: f.audit });
  feature = createRcaFeature({ stores, clock: f.clock, bus: f.bus, incidents });
}
async function teardown(): Promise<void> {
  feature.close();
  await storage.cleanup();
}

/** Writes a scenario into the stores the way the registry, routing and gateway would have. */
async function load(name: ScenarioName): Promise<RcaInput> {
  const input = syntheticIncident(name, 1);
  const kind = input.traces[0].kind;
  await stores.models.insert({ name: input.incident.model, kind, tags: [], createdAt: SCENARIO_ONSET - 40 * 24 * 60 * MIN });
  for (const v of input.versions) await stores.versions.insert(v);
  for (const c of input.routeHistory) {
    const route: Route = { model: c.model, weights: c.weights, mode: c.mode, revision: c.revision, updatedAt: c.at, updatedBy: c.actor, ...(c.reason ? { reason: c.reason } : {}) };
    await stores.transaction((tx) => tx.routes.save(route, c));
  }
  for (let i = 0; i < input.traces.length; i += 1000) await stores.traces.insertMany(input.traces.slice(i, i + 1000));
  await stores.transaction(async (tx) => {
    for (const { id: _id, ...rest } of input.feedback) await tx.feedback.insert(rest);
  });
  return input;
}

async function openIncident(input: RcaInput, family = input.incident.family): Promise<string> {
  const finding: Finding = {
    monitor: 'error-rate',
    family,
    model: input.incident.model,
    version: input.incident.version!,
    status: 'breach',
    at: input.incident.detectedAt,
    onsetAt: input.incident.onsetAt,
    evidence: { test: 'two-proportion z', statistic: 9, threshold: 3.5 },
  };
  return (await incidents.openOrUpdate(finding)).incident!.id;
}

describe.each(storageTargets)('RcaService.analyzeIncident on $name', (target) => {
  beforeEach(async (t) => {
    if (!target.enabled) return t.skip();
    await setup(target.create);
  });
  afterEach(async () => {
    if (target.enabled) await teardown();
  });

  it('loads the data around the onset, ranks the bad deploy first and records it once as the root cause', async () => {
    const input = await load('bad_prompt');
    const id = await openIncident(input);
    const report = await feature.rca.analyzeIncident(id);
    const top = report.result.hypotheses[0];
    expect(top.category).toBe('version_change');
    expect(top.confidence).toBeGreaterThan(0.8);
    expect(top.evidence.figures).toMatchObject({ version: 'v3', previousVersion: 'v2', changeActor: 'key:deploy-bot' });
    expect(report.result.versionDiff?.to).toBe('v3');
    // The stores gave the engine the same data the scenario holds: same impact as the pure run.
    const expectedRequests = input.traces.filter((t) => t.startedAt >= SCENARIO_ONSET && t.startedAt <= f.clock.t).length;
    expect(report.result.impact.requests).toBe(expectedRequests);
    expect(report.result.windows.baseline.requests).toBe(input.traces.filter((t) => t.startedAt < SCENARIO_ONSET).length);
    expect(report.recorded).toBe(true);

    const incident = await incidents.get(id);
    expect(incident.rootCause).toEqual({ category: 'version_change', summary: top.summary, confidence: top.confidence });
    const timeline = await incidents.timeline(id);
    const rca = timeline.filter((e) => e.actor === 'rca');
    expect(rca.map((e) => e.kind)).toEqual(['rca', 'root_cause']);
    expect((rca[0].data as any).hypotheses[0]).toMatchObject({ category: 'version_change', evidence: { timeRange: { from: expect.stringMatching(/Z$/) } } });

    // Same answer again: nothing new is written.
    const again = await feature.rca.analyzeIncident(id);
    expect(again.recorded).toBe(false);
    expect(again.notRecordedReason).toBe('unchanged');
    expect((await incidents.timeline(id)).length).toBe(timeline.length);
  });

  it('ranks the deploy first when its failures were hidden by retries on the stable version (config seed, first-attempt host tag)', async () => {
    const input = await load('retried_deploy');
    const retried = input.traces.find((t) => t.retried)!;
    expect((await stores.traces.get(retried.requestId))?.tags).toEqual({ firstUpstreamHost: '127.0.0.1:9003' });
    const id = await openIncident(input);
    const report = await feature.rca.analyzeIncident(id);
    const [top, second] = report.result.hypotheses;
    expect(top.category).toBe('version_change');
    expect(top.evidence.figures).toMatchObject({ version: 'v3', changeActor: 'key:bootstrap-admin' });
    expect(String(top.evidence.figures.diffFields)).toContain('upstream.url');
    expect(second).toMatchObject({ category: 'upstream_dependency', evidence: { figures: { upstreamHost: '127.0.0.1:9003', versionsOnHost: 'v3' } } });
    expect(second.confidence).toBeLessThan(0.5);
    expect(report.result.hypotheses.find((h) => h.category === 'pipeline_conflict')?.confidence).toBe(0);
    expect((await incidents.get(id)).rootCause?.category).toBe('version_change');
  });

  it('never overrides a root cause a person set', async () => {
    const input = await load('bad_prompt');
    const id = await openIncident(input);
    await incidents.setRootCause(id, { category: 'upstream_dependency', summary: 'vendor outage, confirmed by vendor', confidence: 1 }, { actor: 'key:alice' });
    const report = await feature.rca.analyzeIncident(id);
    expect(report.result.hypotheses[0].category).toBe('version_change');
    expect(report.recorded).toBe(false);
    expect(report.notRecordedReason).toBe('root cause set by key:alice');
    expect((await incidents.get(id)).rootCause?.category).toBe('upstream_dependency');
  });

  it('uses late labels from the feedback store to find a label mismatch', async () => {
    const input = await load('label_flip');
    const id = await openIncident(input, 'accuracy');
    const report = await feature.rca.analyzeIncident(id);
    expect(report.result.hypotheses[0].category).toBe('data_label_mismatch');
    expect(report.result.hypotheses[0].evidence.figures.labelsAfter).toBe(input.feedback.filter((x) => x.requestAt >= SCENARIO_ONSET).length);
  });

  it('reads validated hashes from the audit log and reports content that was never validated', async () => {
    const input = await load('hash_mismatch');
    await f.audit.append(stores, {
      actor: 'key:ci',
      action: 'version.validate',
      target: 'version:support-bot@v3',
      after: { passed: true, versionContentHash: '0'.repeat(64) },
    });
    const id = await openIncident(input);
    const report = await feature.rca.analyzeIncident(id, { record: false });
    expect(report.result.hypotheses[0].category).toBe('pipeline_conflict');
    expect(report.result.hypotheses[0].evidence.figures.hashMismatchVersion).toBe('v3');
    expect(report.recorded).toBe(false);
    expect((await incidents.get(id)).rootCause).toBeUndefined();
  });

  it('throws INCIDENT_NOT_FOUND for an unknown incident', async () => {
    await expect(feature.rca.analyzeIncident('INC-19990101-001')).rejects.toMatchObject({ code: 'INCIDENT_NOT_FOUND' });
  });

  it('analyses new incidents by itself after a delay when asked to', async () => {
    const auto = createRcaFeature({ stores, clock: f.clock, bus: f.bus, incidents, autoAnalyzeDelayMs: 10 });
    try {
      const input = await load('upstream_5xx');
      const id = await openIncident(input);
      let incident = await incidents.get(id);
      for (let i = 0; i < 200 && !incident.rootCause; i++) {
        await new Promise((r) => setTimeout(r, 25));
        incident = await incidents.get(id);
      }
      expect(incident.rootCause?.category).toBe('upstream_dependency');
    } finally {
      auto.close();
    }
  });
});

describe('GET /api/v1/incidents/{id}/rca', () => {
  let app: FastifyInstance;
  let keys: { viewer: string; client: string };

  beforeEach(async () => {
    await setup(createSqliteStorage);
    const ctx = foundationContext(f, storage, { config: parseConfig({}, {}), services: { incidents, rca: feature.rca } });
    app = await buildServer(ctx, { bodyLimitBytes: 1 << 20, adminPlugins: feature.adminPlugins, rootPlugins: [] });
    keys = {
      viewer: (await f.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret,
      client: (await f.apiKeys.create({ name: 'app', role: 'client' }, { actor: 'test' })).secret,
    };
  });
  afterEach(async () => {
    await app.close();
    await teardown();
  });

  it('answers the contract shape, best first, with ISO times', async () => {
    const input = await load('upstream_5xx');
    const id = await openIncident(input);
    const res = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/rca`, headers: { authorization: `Bearer ${keys.viewer}` } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.incidentId).toBe(id);
    expect(body.hypotheses.length).toBeGreaterThanOrEqual(5);
    for (const h of body.hypotheses) {
      expect(Object.keys(h).sort()).toEqual(['category', 'confidence', 'evidence', 'summary']);
      expect(['version_change', 'prompt_context_overflow', 'data_label_mismatch', 'upstream_dependency', 'input_drift', 'pipeline_conflict']).toContain(h.category);
    }
    const confidences = body.hypotheses.map((h: any) => h.confidence);
    expect(confidences).toEqual([...confidences].sort((a: number, b: number) => b - a));
    expect(body.hypotheses[0]).toMatchObject({
      category: 'upstream_dependency',
      evidence: { figures: { upstreamHost: '127.0.0.1:9001' }, timeRange: { from: new Date(SCENARIO_ONSET).toISOString() } },
    });
    expect(body.impact.from).toBe(new Date(SCENARIO_ONSET).toISOString());
    expect(body.onset).toEqual({ at: new Date(SCENARIO_ONSET).toISOString(), estimated: false });
    expect(body.errorClusters[0].firstAt).toMatch(/^2025-01-15T12:0\d:\d\d\.\d{3}Z$/);
    expect(body.notEvaluated).toEqual([{ category: 'data_label_mismatch', reason: expect.stringContaining('labels') }]);
    expect(body.recorded).toBe(true);
    expect((await incidents.get(id)).rootCause?.category).toBe('upstream_dependency');
  });

  it('checks roles and ids, and can analyse without recording', async () => {
    const input = await load('bad_prompt');
    const id = await openIncident(input);
    const anon = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/rca` });
    expect(anon.statusCode).toBe(401);
    const client = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/rca`, headers: { authorization: `Bearer ${keys.client}` } });
    expect(client.statusCode).toBe(403);
    const missing = await app.inject({ method: 'GET', url: '/api/v1/incidents/INC-19990101-001/rca', headers: { authorization: `Bearer ${keys.viewer}` } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('INCIDENT_NOT_FOUND');
    const dry = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/rca?record=false`, headers: { authorization: `Bearer ${keys.viewer}` } });
    expect(dry.statusCode).toBe(200);
    expect(dry.json().recorded).toBe(false);
    expect(dry.json().hypotheses[0].category).toBe('version_change');
    expect((await incidents.get(id)).rootCause).toBeUndefined();
    const bad = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/rca?record=maybe`, headers: { authorization: `Bearer ${keys.viewer}` } });
    expect(bad.statusCode).toBe(400);
  });
});
