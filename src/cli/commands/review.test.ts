import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext, Services } from '../../app-context.ts';
import { parseConfig } from '../../config.ts';
import type { Trace } from '../../core/types.ts';
import { foundationAdminPlugins } from '../../features/foundation-services.ts';
import { IncidentService } from '../../features/incidents/incident-service.ts';
import { incidentRoutes } from '../../features/incidents/incident-routes.ts';
import { createRcaFeature } from '../../features/rca/rca-feature.ts';
import { createReviewFeature, type ReviewFeature } from '../../features/review/review-feature.ts';
import { makeRequireRole } from '../../http/auth.ts';
import { buildServer } from '../../http/server.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { createFoundation } from '../../../test/helpers/foundation.ts';
import { createSqliteStorage, type TestStorage } from '../../../test/helpers/storage.ts';
import { runCli } from '../program.ts';

const T0 = Date.UTC(2025, 8, 3, 12, 0, 0);
let storage: TestStorage;
let app: Awaited<ReturnType<typeof buildServer>>;
let review: ReviewFeature;
let url: string;
let token: string;
let operator: string;
let incidentId: string;
let dir: string;

async function cli(args: string[], key = token): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { env: { FAILSAFE_URL: url, FAILSAFE_TOKEN: key }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'failsafe-cli-review-'));
  storage = await createSqliteStorage();
  const stores = createKyselyStores(storage.handle);
  const f = createFoundation({ stores });
  f.clock.t = T0 - 120_000;
  const upstream = (port: number) => ({ url: `http://127.0.0.1:${port}/v1`, model: 'sim-chat', provider: 'openai' });
  await f.registry.seedFromConfig({ models: [{ name: 'support-bot', kind: 'chat', tags: [], versions: [{ version: 'v1', upstream: upstream(9001), stable: true }, { version: 'v2', upstream: upstream(9002) }], route: { v1: 50, v2: 50 } }] });
  const traces: Trace[] = [];
  for (let i = 0; i < 60; i++) {
    const at = T0 - 60_000 + i * 2000;
    const bad = at >= T0 && i % 2 === 0;
    traces.push({
      requestId: `req-${String(i).padStart(2, '0')}`,
      model: 'support-bot',
      version: bad ? undefined : i % 2 ? 'v1' : 'v2',
      ...(bad ? { firstVersion: 'v2', fallback: 'static' as const, errorClass: 'upstream_5xx' } : {}),
      kind: 'chat',
      startedAt: at,
      latencyMs: 12,
      httpStatus: 200,
      status: bad ? 'fallback' : 'ok',
      stream: false,
      retried: false,
      inputChars: 5,
      outputChars: 9,
      input: `question ${i}`,
      output: bad ? 'Sorry, try again later.' : `answer ${i}`,
      ...(i === 31 ? { validators: [{ validator: 'json', passed: false, action: 'flag' as const, message: 'not JSON' }] } : {}),
    });
  }
  await stores.traces.insertMany(traces);
  await stores.feedback.insert({ requestId: 'req-31', model: 'support-bot', version: 'v1', requestAt: T0 + 2_000, receivedAt: T0 + 50_000, rating: -1, comment: 'wrong' });
  const incidents = new IncidentService({ stores, clock: f.clock, bus: f.bus, audit: f.audit });
  f.clock.t = T0 + 60_000;
  const opened = await incidents.openOrUpdate({ monitor: 'error-rate', family: 'errors', model: 'support-bot', version: 'v2', status: 'breach', at: T0 + 30_000, onsetAt: T0, evidence: { test: 'rate-threshold', observed: 1, threshold: 0.05, sampleSize: 15 } });
  incidentId = opened.incident!.id;
  const rca = createRcaFeature({ stores, clock: f.clock, bus: f.bus, incidents });
  review = createReviewFeature({ stores, clock: f.clock, bus: f.bus, incidents, audit: f.audit, rca: () => rca.rca, options: { validateVersion: async () => undefined } });
  const config = parseConfig({}, {});
  const ctx: AppContext = {
    loaded: { config, baseDir: dir },
    clock: f.clock,
    bus: f.bus,
    logger: pino({ level: 'silent' }),
    storage: storage.handle,
    stores,
    requireRole: makeRequireRole(f.apiKeys),
    services: { audit: f.audit, apiKeys: f.apiKeys, registry: f.registry, routing: f.routing, feedback: f.feedback, incidents, rca: rca.rca, review: review.review } as Services,
  };
  app = await buildServer(ctx, { bodyLimitBytes: 1 << 20, adminPlugins: [...foundationAdminPlugins, incidentRoutes, ...rca.adminPlugins, ...review.adminPlugins], rootPlugins: [] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  token = (await f.apiKeys.create({ name: 'watcher', role: 'viewer' }, { actor: 'test' })).secret;
  operator = (await f.apiKeys.create({ name: 'ops', role: 'operator' }, { actor: 'test' })).secret;
});

afterAll(async () => {
  await app?.close();
  await review?.close();
  await storage?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('failsafe traces', () => {
  it('lists with filters as a table and as JSON, shows one in full', async () => {
    const list = await cli(['traces', '--model', 'support-bot', '--status', 'fallback', '--limit', '3']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^REQUESTID\s+STARTEDAT\s+MODEL\s+VERSION\s+LATENCY\s+OUTCOME\s+FEEDBACK\s+OUTPUT/);
    expect(list.out).toMatch(/\nreq-58 +2025-09-03 12:00:56Z {2}support-bot {2}v2→- +12 ms +fallback upstream_5xx fallback:static +- +Sorry, try again later\./);
    expect(list.out.trim().split('\n')).toHaveLength(4);
    const json = JSON.parse((await cli(['--json', 'traces', '--feedback', 'negative', '--validator', 'json'])).out);
    expect(json.traces.map((t: any) => t.requestId)).toEqual(['req-31']);
    const show = await cli(['traces', 'show', 'req-31']);
    expect(show.out).toContain('req-31  support-bot@v1  ok (HTTP 200)');
    expect(show.out).toMatch(/json\s+NO\s+flag\s+-\s+not JSON/);
    expect(show.out).toMatch(/-1\s+-\s+-\s+wrong/);
    expect(show.out).toContain('Input:\nquestion 31');
  });

  it('exits non-zero with one line for a bad filter or an unknown request', async () => {
    const bad = await cli(['traces', '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('failsafe: from: expected an ISO 8601 time or epoch milliseconds, got "yesterday"\n');
    const missing = await cli(['traces', 'show', 'req-nope']);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/^failsafe: no recorded trace for request "req-nope"/);
  });
});

describe('failsafe postmortem and rca', () => {
  it('prints the postmortem as Markdown, writes it with --out, and as JSON with --json', async () => {
    const md = await cli(['postmortem', incidentId]);
    expect(md.code).toBe(0);
    expect(md.out).toMatch(new RegExp(`^# Postmortem ${incidentId}: `));
    expect(md.out).toContain('| v2 (faulty) | 15 | 15 | 15 | 0 | 15 (static 15) | 0 | 0 |');
    const file = join(dir, 'pm.md');
    const written = await cli(['postmortem', incidentId, '--out', file]);
    expect(written.out).toBe(`${file}\n`);
    expect(readFileSync(file, 'utf8')).toContain('## Did the automated fallbacks work?');
    const json = JSON.parse((await cli(['postmortem', incidentId, '--json'])).out);
    expect(json.postmortem).toMatchObject({ incidentId, impact: { faultyVersion: { version: 'v2', fallbackAnswers: 15 } }, questions: { fallbacks: { answer: 'yes', rescued: 15 } } });
  });

  it('refuses to apply a suggestion that does not exist (exit 3) or without the operator role (exit 4)', async () => {
    const none = await cli(['postmortem', incidentId, '--apply', 'tune-x'], operator);
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/has no tuning suggestion "tune-x" \(it has none\)/);
    expect((await cli(['postmortem', incidentId, '--apply', 'tune-x'])).code).toBe(4);
  });

  it('shows RCA hypotheses', async () => {
    const r = await cli(['rca', incidentId, '--no-record']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^RCA of INC-\S+ \(onset 2025-09-03 12:00:00Z\)\n\nRANK\s+CATEGORY\s+CONFIDENCE\s+SUMMARY\n1\s+version_change\s+0\.\d+\s+v2 started failing/);
    expect(r.out).toContain('sample requests: req-30, req-32');
    expect(r.out.trim().endsWith('not recorded: recording not requested')).toBe(true);
    expect((await cli(['rca', 'INC-nope'])).code).toBe(3);
  });
});
