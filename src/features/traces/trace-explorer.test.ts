import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Trace } from '../../core/types.ts';
import { startFoundationServer, type FoundationServer } from '../../../test/helpers/foundation-server.ts';
import { createMemoryStores } from '../memory-stores.ts';
import type { Stores } from '../stores.ts';
import { TraceExplorer } from './trace-explorer.ts';
import { traceRoutes } from './trace-routes.ts';

const T0 = Date.UTC(2025, 4, 1, 12, 0, 0);

const trace = (requestId: string, startedAt: number, extra: Partial<Trace> = {}): Trace => ({
  requestId,
  model: 'support-bot',
  version: 'v2',
  kind: 'chat',
  startedAt,
  latencyMs: 20,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 5,
  outputChars: 7,
  input: 'hello',
  output: 'goodbye',
  ...extra,
});

/** 60 traces, one a second; every 5th failed the json validator; every 7th is a v1 error; feedback on some. */
async function seed(stores: Stores): Promise<void> {
  const traces: Trace[] = [];
  for (let i = 0; i < 60; i++) {
    const extra: Partial<Trace> = { client: `c${i % 3}` };
    if (i % 5 === 0) extra.validators = [{ validator: 'json', passed: false, action: 'flag', message: 'not JSON' }, { validator: 'pii', passed: true, action: 'block' }];
    if (i % 7 === 0) Object.assign(extra, { version: 'v1', status: 'error', errorClass: 'upstream_5xx', httpStatus: 502 });
    traces.push(trace(`r${String(i).padStart(3, '0')}`, T0 + i * 1000, extra));
  }
  await stores.traces.insertMany(traces);
  const fb = async (i: number, rating: 1 | -1 | undefined, extra: { score?: number; label?: string } = {}) =>
    stores.feedback.insert({ requestId: `r${String(i).padStart(3, '0')}`, model: 'support-bot', version: traces[i]!.version, requestAt: traces[i]!.startedAt, receivedAt: traces[i]!.startedAt + 60_000, ...(rating ? { rating } : {}), ...extra });
  await fb(3, -1);
  await fb(3, 1);
  await fb(10, -1);
  await fb(11, 1);
  await fb(12, undefined, { score: -0.5 });
  await fb(13, undefined, { label: 'positive' });
  await fb(55, 1);
}

describe('TraceExplorer', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = createMemoryStores();
    await seed(stores);
  });

  it('searches through the store filters, newest first, with feedback summaries', async () => {
    const explorer = new TraceExplorer({ stores });
    const r = await explorer.search({ model: 'support-bot', status: 'error', limit: 3 });
    expect(r.traces.map((h) => h.trace.requestId)).toEqual(['r056', 'r049', 'r042']);
    expect(r.truncated).toBe(false);
    const window = await explorer.search({ from: T0 + 10_000, to: T0 + 14_000 });
    expect(window.traces.map((h) => h.trace.requestId)).toEqual(['r013', 'r012', 'r011', 'r010']);
    expect(window.traces.find((h) => h.trace.requestId === 'r012')!.feedback).toEqual({ count: 1, positive: 0, negative: 1, labels: [], scores: [-0.5] });
    expect(window.traces.find((h) => h.trace.requestId === 'r013')!.feedback).toMatchObject({ positive: 0, negative: 0, labels: ['positive'] });
  });

  it('filters by a failed validator (named or any) with a paged scan', async () => {
    const explorer = new TraceExplorer({ stores, pageSize: 7 });
    const json = await explorer.search({ validator: 'json', limit: 100 });
    expect(json.traces.map((h) => h.trace.requestId)).toEqual(['r055', 'r050', 'r045', 'r040', 'r035', 'r030', 'r025', 'r020', 'r015', 'r010', 'r005', 'r000']);
    expect(json.scanned).toBe(60);
    expect(json.truncated).toBe(false);
    // pii passed everywhere: no hits.
    expect((await explorer.search({ validator: 'pii' })).traces).toEqual([]);
    expect((await explorer.search({ validator: '*', version: 'v1' })).traces.map((h) => h.trace.requestId)).toEqual(['r035', 'r000']);
  });

  it('says when the scan budget ran out before the page filled', async () => {
    const explorer = new TraceExplorer({ stores, pageSize: 10, scanBudget: 20 });
    const r = await explorer.search({ validator: 'json', limit: 50 });
    expect(r.scanned).toBe(20);
    expect(r.truncated).toBe(true);
    expect(r.traces.map((h) => h.trace.requestId)).toEqual(['r055', 'r050', 'r045', 'r040']);
  });

  it('filters by feedback: positive (rating 1 or score > 0), negative (rating -1 or score < 0), any', async () => {
    const explorer = new TraceExplorer({ stores });
    const ids = async (feedback: 'positive' | 'negative' | 'any', extra = {}) => (await explorer.search({ feedback, ...extra })).traces.map((h) => h.trace.requestId);
    expect(await ids('negative')).toEqual(['r012', 'r010', 'r003']);
    expect(await ids('positive')).toEqual(['r055', 'r011', 'r003']);
    expect(await ids('any')).toEqual(['r055', 'r013', 'r012', 'r011', 'r010', 'r003']);
    expect(await ids('any', { validator: 'json' })).toEqual(['r055', 'r010']);
    expect(await ids('negative', { from: T0 + 5_000 })).toEqual(['r012', 'r010']);
    // The scan path (more candidates than are read by id) gives the same answers.
    const viaScan = new TraceExplorer({ stores, maxById: 0, pageSize: 9 });
    expect((await viaScan.search({ feedback: 'any', client: 'c1' })).traces.map((h) => h.trace.requestId)).toEqual(['r055', 'r013', 'r010']);
    expect((await viaScan.search({ feedback: 'negative' })).traces.map((h) => h.trace.requestId)).toEqual(['r012', 'r010', 'r003']);
    const short = await new TraceExplorer({ stores, maxById: 0, scanBudget: 50, pageSize: 20 }).search({ feedback: 'negative' });
    expect(short).toMatchObject({ scanned: 50, truncated: true });
    expect(short.traces.map((h) => h.trace.requestId)).toEqual(['r012', 'r010']);
  });

  it('refuses from ≥ to and returns one trace with its feedback', async () => {
    const explorer = new TraceExplorer({ stores });
    await expect(explorer.search({ from: T0 + 5, to: T0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const d = await explorer.get('r003');
    expect(d.trace.requestId).toBe('r003');
    expect(d.feedback.map((f) => f.rating)).toEqual([-1, 1]);
    await expect(explorer.get('nope')).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' });
  });
});

describe('GET /api/v1/traces over SQLite', () => {
  let server: FoundationServer;
  let app: FoundationServer['app'];
  let viewer: string;
  let client: string;

  beforeAll(async () => {
    server = await startFoundationServer({ adminPlugins: [traceRoutes] });
    ({ app } = server);
    ({ viewer, client } = server.keys);
    await seed(server.f.stores);
  });
  afterAll(async () => {
    await server.close();
  });

  const get = async (url: string, key = viewer) => {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  it('lists with filters, ISO times, previews and feedback', async () => {
    const r = await get(`/api/v1/traces?model=support-bot&version=v2&from=${new Date(T0 + 9_000).toISOString()}&to=${T0 + 13_000}&limit=10`);
    expect(r.status).toBe(200);
    expect(r.body.traces.map((t: any) => t.requestId)).toEqual(['r012', 'r011', 'r010', 'r009']);
    expect(r.body.traces[2]).toMatchObject({
      requestId: 'r010',
      startedAt: new Date(T0 + 10_000).toISOString(),
      failedValidators: ['json'],
      inputPreview: 'hello',
      feedback: { count: 1, negative: 1 },
    });
    expect(r.body).toMatchObject({ count: 4, truncated: false });
    const neg = await get('/api/v1/traces?feedback=NEGATIVE&validator=json');
    expect(neg.body.traces.map((t: any) => t.requestId)).toEqual(['r010']);
    const errs = await get('/api/v1/traces?status=error&errorClass=upstream_5xx&limit=2');
    expect(errs.body.traces.map((t: any) => [t.requestId, t.version, t.httpStatus])).toEqual([['r056', 'v1', 502], ['r049', 'v1', 502]]);
  });

  it('shows one trace in full with its feedback; 404 for an unknown id', async () => {
    const r = await get('/api/v1/traces/r003');
    expect(r.status).toBe(200);
    expect(r.body.trace).toMatchObject({ requestId: 'r003', version: 'v2', input: 'hello', output: 'goodbye', timings: { latencyMs: 20 }, fallback: null, retried: false });
    expect(r.body.trace.feedback.map((f: any) => f.rating)).toEqual([-1, 1]);
    const none = await get('/api/v1/traces/nope');
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('REQUEST_NOT_FOUND');
  });

  it('refuses malformed filters with 400 naming them, and clients', async () => {
    const bad = async (qs: string, pattern: RegExp) => {
      const r = await get(`/api/v1/traces?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(r.body.error.message).toMatch(pattern);
    };
    await bad('from=yesterday', /from: expected an ISO 8601 time or epoch milliseconds, got "yesterday"/);
    await bad('to=2025-13-45T99:00:00Z', /^to: expected an ISO 8601 time/);
    await bad('status=weird', /status: expected one of ok, error, fallback, blocked/);
    await bad('feedback=meh', /feedback: expected positive, negative or any/);
    await bad('limit=0', /limit/);
    await bad('limit=abc', /limit/);
    await bad('limit=5000', /limit/);
    await bad('errorclass=timeout', /errorclass/);
    await bad(`from=${T0 + 10}&to=${T0}`, /from must be before to/);
    expect((await get('/api/v1/traces', client)).status).toBe(403);
  });
});
