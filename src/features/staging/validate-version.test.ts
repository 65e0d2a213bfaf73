import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../examples/sim-server/sim-server.ts';
import { parseValidatorConfigs } from '../validators/validator-engine.ts';
import { loadGoldenSet, parseGoldenSet } from './golden-set.ts';
import { stagingPlanFor, runStagingPlan } from './staging-plan.ts';
import { quantile, validateVersion, type StagedVersion } from './validate-version.ts';

const SUPPORT = resolve('examples/golden/support-bot.jsonl');
const FRAUD = resolve('examples/golden/fraud-scorer.jsonl');

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ seed: 7 });
});
afterAll(() => sim.close());

const chatVersion = (over: Partial<StagedVersion> = {}): StagedVersion => ({
  model: 'support-bot',
  version: 'v1',
  upstream: { url: `${sim.url}/v1`, model: 'sim-chat', provider: 'openai' },
  contentHash: 'sha256:abc',
  ...over,
});
const predictVersion = (): StagedVersion => ({
  model: 'fraud-scorer',
  version: 'v3',
  upstream: { url: `${sim.url}/v1/models/fraud:predict`, provider: 'kserve' },
});

describe('validateVersion against a real upstream', () => {
  it('a good chat version passes both gates, with progress reported', async () => {
    sim.setFaults({});
    const progress: Array<[number, number]> = [];
    const report = await validateVersion({ version: chatVersion(), kind: 'chat', golden: SUPPORT, onProgress: (d, t) => progress.push([d, t]) });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ passed: true, passRate: 1, total: 32, passedCases: 32, version: 'v1', model: 'support-bot', versionContentHash: 'sha256:abc' });
    expect(report.gates.passRate).toEqual({ value: 1, threshold: 0.95, passed: true });
    expect(report.gates.latencyP95.passed).toBe(true);
    expect(report.latency.samples).toBe(32);
    expect(report.latency.p50!).toBeLessThanOrEqual(report.latency.p95!);
    expect(report.latency.p95!).toBeLessThanOrEqual(report.latency.max!);
    expect(report.finishedAt).toBeGreaterThanOrEqual(report.startedAt);
    expect(progress[0]).toEqual([0, 32]);
    expect(progress.at(-1)).toEqual([32, 32]);
    expect(progress.map((p) => p[0])).toEqual(Array.from({ length: 33 }, (_, i) => i));
    expect(report.summary).toMatch(/^support-bot@v1 passed staging: 32\/32 passed \(100%, gate 95%\); p95 \d+ ms \(budget 2000 ms\)$/);
  });

  it('sends the version prompt as system message, its params and upstream model id, directly to the upstream', async () => {
    sim.setFaults({});
    sim.reset();
    const golden = parseGoldenSet('{"input":"Where is my parcel?","match":"contains","expected":"About"}\n', 'inline.jsonl');
    const report = await validateVersion({
      version: chatVersion({ prompt: 'You are a helpful support agent.', params: { temperature: 0.2, max_tokens: 200, stream: true }, upstream: { url: `${sim.url}/v1/`, model: 'gpt-sim', provider: 'openai', headers: { 'x-upstream-key': 'k1' } } }),
      kind: 'chat',
      golden,
    });
    expect(report.passed).toBe(true);
    const [req] = sim.recentRequests();
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers['x-upstream-key']).toBe('k1');
    expect(req.body).toEqual({
      temperature: 0.2,
      max_tokens: 200,
      stream: false,
      model: 'gpt-sim',
      messages: [
        { role: 'system', content: 'You are a helpful support agent.' },
        { role: 'user', content: 'Where is my parcel?' },
      ],
    });
  });

  it('a version returning wrong answers fails the pass-rate gate, naming lines and what came back', async () => {
    sim.setFaults({ wrongOutputRate: 1 });
    const report = await validateVersion({ version: chatVersion({ version: 'v2' }), kind: 'chat', golden: SUPPORT, concurrency: 8 });
    sim.setFaults({});
    expect(report.passed).toBe(false);
    expect(report.gates.passRate.passed).toBe(false);
    expect(report.gates.latencyP95.passed).toBe(true);
    // json_schema cases still hold (the shape is right, the content is wrong).
    expect(report.passedCases).toBe(3);
    expect(report.passRate).toBeCloseTo(3 / 32);
    expect(report.errors).toEqual({ mismatch: 29 });
    const first = report.failures[0];
    expect(first).toMatchObject({ line: 1, id: 'sb-001', errorClass: 'mismatch', expected: 'This typically resolves itself within 24 hours.' });
    expect(first.reason).toBe('expected to contain "This typically resolves itself within 24 hours."');
    expect(String(first.got)).toMatch(/^About "How do I reset my password\?": /);
    const label = report.failures.find((f) => f.id === 'sb-018')!;
    expect(label.reason).toBe('expected label "negative", got "positive"');
    expect(report.summary).toMatch(/^support-bot@v2 FAILED staging: 3\/32 passed \(9\.4%, gate 95%\).*failures: 29 mismatch; e\.g\. sb-001: expected to contain/);
  });

  it('a slow version fails the latency gate', async () => {
    sim.setFaults({ latencyMs: 60 });
    const golden = loadGoldenSet(FRAUD);
    const report = await validateVersion({ version: predictVersion(), kind: 'predict', golden, gates: { latencyBudgetMs: 40 }, concurrency: 16 });
    sim.setFaults({});
    expect(report.passRate).toBe(1);
    expect(report.gates.latencyP95.passed).toBe(false);
    expect(report.gates.latencyP95.value!).toBeGreaterThanOrEqual(60);
    expect(report.gates.latencyP95.threshold).toBe(40);
    expect(report.passed).toBe(false);
    expect(report.summary).toMatch(/FAILED staging: 28\/28 passed .*p95 \d+ ms \(budget 40 ms\)/);
  });

  it('a good predict version passes; a flipped one fails', async () => {
    sim.setFaults({});
    const good = await validateVersion({ version: predictVersion(), kind: 'predict', golden: FRAUD });
    expect(good.failures).toEqual([]);
    expect(good.passed).toBe(true);
    sim.setFaults({ wrongOutputRate: 1 });
    const bad = await validateVersion({ version: predictVersion(), kind: 'predict', golden: FRAUD });
    sim.setFaults({});
    expect(bad.passRate).toBe(0);
    expect(bad.failures[0]).toMatchObject({ id: 'fs-001', got: 'positive', expected: 'negative', reason: 'expected label "negative", got "positive"' });
  });

  it('connection refused: every case fails, never throws, report says why', async () => {
    const dead = await startSimServer();
    const url = dead.url;
    await dead.close();
    const report = await validateVersion({ version: chatVersion({ upstream: { url: `${url}/v1`, provider: 'openai' } }), kind: 'chat', golden: SUPPORT, timeoutMs: 2000 });
    expect(report.passed).toBe(false);
    expect(report.passedCases).toBe(0);
    expect(report.errors).toEqual({ connection: 32 });
    expect(report.failures[0].reason).toMatch(/^connection error: ECONNREFUSED/);
    expect(report.latency).toEqual({ p50: null, p95: null, max: null, samples: 0 });
    expect(report.gates.latencyP95).toEqual({ value: null, threshold: 2000, passed: false });
    expect(report.summary).toMatch(/0\/32 passed.*no latency measured; failures: 32 connection; e\.g\. sb-001: connection error: ECONNREFUSED/);
  });

  it('upstream errors, malformed bodies and timeouts count as failed cases by class', async () => {
    const golden = loadGoldenSet(FRAUD);
    sim.setFaults({ errorRate: 1, errorStatus: 503 });
    const errors = await validateVersion({ version: predictVersion(), kind: 'predict', golden });
    expect(errors.errors).toEqual({ http_5xx: 28 });
    expect(errors.failures[0].reason).toBe('upstream status 503: Internal Server Error');
    sim.setFaults({ malformedRate: 1 });
    const malformed = await validateVersion({ version: predictVersion(), kind: 'predict', golden });
    expect(malformed.errors).toEqual({ malformed: 28 });
    sim.setFaults({ hangRate: 1 });
    const t0 = Date.now();
    const hung = await validateVersion({ version: predictVersion(), kind: 'predict', golden, timeoutMs: 150, concurrency: 28 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(hung.errors).toEqual({ timeout: 28 });
    expect(hung.failures[0].reason).toBe('timeout after 150 ms');
    expect(hung.gates.latencyP95.value!).toBeGreaterThanOrEqual(140);
    sim.setFaults({ emptyRate: 1 });
    const empty = await validateVersion({ version: predictVersion(), kind: 'predict', golden });
    expect(empty.failures[0].reason).toBe('malformed answer: answer has no prediction');
    sim.setFaults({});
  });

  it('validators as a gate: block/fallback fail the case, flags are only counted', async () => {
    sim.setFaults({ piiRate: 1 });
    const golden = parseGoldenSet(
      ['"How do I reset my password?"', '"Where can I find my invoices?"'].map((q) => `{"input":${q},"match":"regex","expected":"^About"}`).join('\n'),
      'pii.jsonl',
    );
    const blocked = await validateVersion({ version: chatVersion(), kind: 'chat', golden, gates: { validators: parseValidatorConfigs([{ type: 'pii', action: 'block' }, { type: 'length', max: 20 }]) } });
    expect(blocked.passRate).toBe(0);
    expect(blocked.failures[0]).toMatchObject({ errorClass: 'validator', reason: 'validator pii (block): personal data: email, phone' });
    expect(blocked.validatorFailures).toEqual({ pii: 2, length: 2 });
    const flagged = await validateVersion({ version: chatVersion(), kind: 'chat', golden, gates: { validators: parseValidatorConfigs([{ type: 'pii' }]) } });
    sim.setFaults({});
    expect(flagged.passRate).toBe(1);
    expect(flagged.validatorFailures).toEqual({ pii: 2 });
  });

  it('staging plan from model config: golden path resolved against the config dir, gates and validators applied', async () => {
    sim.setFaults({ refusalRate: 1 });
    const plan = stagingPlanFor(
      { name: 'support-bot', kind: 'chat', golden: './golden/support-bot.jsonl', staging: { minPassRate: 0.5, latencyBudgetMs: 1000, concurrency: 2, timeoutMs: 5000, useModelValidators: true }, validators: parseValidatorConfigs([{ type: 'refusal', action: 'fallback' }]) },
      resolve('examples'),
    )!;
    expect(plan.golden).toBe(SUPPORT);
    const report = await runStagingPlan(plan, { version: 'v9', upstream: { url: `${sim.url}/v1`, provider: 'openai' } });
    sim.setFaults({});
    expect(report.model).toBe('support-bot');
    expect(report.gates.passRate.threshold).toBe(0.5);
    expect(report.errors).toEqual({ validator: 32 });
    expect(report.failures[0].reason).toMatch(/^validator refusal \(fallback\): refusal: "I'm sorry, I can't/);
    expect(stagingPlanFor({ name: 'x', kind: 'chat' }, '/')).toBeUndefined();
  });

  it('an aborted replay stops and counts the rest as aborted', async () => {
    sim.setFaults({ latencyMs: 30 });
    const ac = new AbortController();
    const report = await validateVersion({
      version: predictVersion(),
      kind: 'predict',
      golden: FRAUD,
      concurrency: 1,
      signal: ac.signal,
      onProgress: (done) => {
        if (done === 3) ac.abort();
      },
    });
    sim.setFaults({});
    expect(report.passedCases).toBe(3);
    expect(report.errors).toEqual({ aborted: 25 });
  });
});

describe('golden set files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'golden-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const errorOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('the example sets load', () => {
    expect(loadGoldenSet(SUPPORT).cases.length).toBeGreaterThanOrEqual(20);
    expect(loadGoldenSet(FRAUD).cases.length).toBeGreaterThanOrEqual(20);
  });

  it('a malformed line is named with file and line number', () => {
    const good = '{"input":"hi","match":"contains","expected":"About"}';
    const p = file('bad.jsonl', [good, '', good, '{"input": "x", "match": "contains", "expected": ', good].join('\n'));
    expect(errorOf(() => loadGoldenSet(p))).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: not valid JSON`));
    const cases: Array<[string, RegExp]> = [
      ['{"input":"hi","match":"contains"}', /^g\.jsonl:2: expected: match "contains" needs "expected"$/],
      ['{"input":"hi","match":"fuzzy","expected":"x"}', /^g\.jsonl:2: match: Invalid option/],
      ['{"input":"hi","match":"regex","expected":"a("}', /^g\.jsonl:2: expected: invalid regex/],
      ['{"input":"hi","match":"json_schema","schema":{"type":"objekt"}}', /^g\.jsonl:2: schema: invalid JSON schema/],
      ['{"match":"exact","expected":"x"}', /^g\.jsonl:2: input: /],
      ['{"input":"hi","expected":"x","colour":"red"}', /^g\.jsonl:2: Unrecognized key: "colour"$/],
      ['{"input":[{"content":"no role"}],"expected":"x"}', /^g\.jsonl:2: input\[0\]: expected a chat message/],
      ['["input"]', /^g\.jsonl:2: expected a JSON object$/],
      ['{"input":"hi"}', /^g\.jsonl:2: needs "match" with "expected", "label" or "schema"$/],
      ['{"id":"a","input":"hi","expected":"x"}', /^g\.jsonl:2: duplicate id "a" \(first on line 1\)$/],
    ];
    for (const [line, re] of cases) expect(errorOf(() => parseGoldenSet(`{"id":"a","input":"x","expected":"y"}\n${line}`, 'g.jsonl')), line).toMatch(re);
    // With the model kind known, inputs are checked for it.
    expect(errorOf(() => parseGoldenSet('{"input":{"messages":[]},"expected":"x"}', 'c.jsonl', 'chat'))).toBe('c.jsonl:1: input.messages: expected at least one message');
    expect(errorOf(() => parseGoldenSet('{"input":42,"expected":"x"}', 'c.jsonl', 'chat'))).toMatch(/^c\.jsonl:1: input: expected a prompt string/);
    expect(parseGoldenSet('{"input":[{"features":[1]}],"label":"positive"}', 'p.jsonl', 'predict').cases).toHaveLength(1);
    expect(errorOf(() => parseGoldenSet('\n\n', 'empty.jsonl'))).toBe('empty.jsonl: golden set has no cases');
    expect(errorOf(() => loadGoldenSet(join(dir, 'missing.jsonl')))).toMatch(/missing\.jsonl: cannot read golden set: ENOENT/);
  });

  it('match defaults and label extraction', () => {
    const g = parseGoldenSet(['{"input":"a","expected":"x"}', '{"input":[1,2],"label":"positive"}', '{"input":"b","schema":{"type":"object"}}'].join('\r\n'), 'd.jsonl');
    expect(g.cases.map((c) => [c.line, c.id, c.match])).toEqual([
      [1, 'line 1', 'exact'],
      [2, 'line 2', 'label'],
      [3, 'line 3', 'json_schema'],
    ]);
  });

  it('quantile is nearest-rank', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
    expect(quantile([7], 0.95)).toBe(7);
  });
});
