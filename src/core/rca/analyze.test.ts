import { describe, expect, it } from 'vitest';
import { analyze } from './analyze.ts';
import { armOf } from './failure-judge.ts';
import type { RouteChange } from '../types.ts';
import { rcaCategories, type Hypothesis, type RcaCategory, type RcaInput, type RcaResult } from './rca-types.ts';
import { SCENARIO_ONSET, type ScenarioName, syntheticIncident } from './synthetic-incidents.ts';

const hyp = (r: RcaResult, c: RcaCategory): Hypothesis | undefined => r.hypotheses.find((h) => h.category === c);
const conf = (r: RcaResult, c: RcaCategory): number => hyp(r, c)?.confidence ?? 0;
const others = (r: RcaResult) => r.hypotheses.slice(1).map((h) => h.confidence);

/** Invariants every result must satisfy: real ids, finite numbers, counts that add up, order. */
function expectHonest(input: RcaInput, r: RcaResult) {
  const ids = new Set(input.traces.map((t) => t.requestId));
  const seen = new Set<string>();
  for (const h of r.hypotheses) {
    expect(rcaCategories).toContain(h.category);
    expect(seen.has(h.category)).toBe(false);
    seen.add(h.category);
    expect(h.confidence).toBeGreaterThanOrEqual(0);
    expect(h.confidence).toBeLessThanOrEqual(0.95);
    expect(h.summary.length).toBeGreaterThan(10);
    for (const id of h.evidence.sampleTraceIds) expect(ids.has(id)).toBe(true);
    for (const [k, v] of Object.entries(h.evidence.figures)) {
      if (typeof v === 'number') expect(Number.isFinite(v), `${h.category}.${k}`).toBe(true);
      else expect(typeof v).toBe('string');
    }
  }
  for (const n of r.notEvaluated) expect(seen.has(n.category)).toBe(false);
  expect(seen.size + r.notEvaluated.length).toBe(rcaCategories.length);
  for (let i = 1; i < r.hypotheses.length; i++) expect(r.hypotheses[i - 1].confidence).toBeGreaterThanOrEqual(r.hypotheses[i].confidence);
  // Impact is a recount of the incident window.
  const inWindow = input.traces.filter((t) => t.model === input.incident.model && !t.shadow && t.startedAt >= r.onset.at && t.startedAt <= input.now);
  expect(r.impact.requests).toBe(inWindow.length);
  expect(r.impact.failedRequests).toBe(r.windows.incident.failures);
  expect(r.impact.failedRequests).toBeLessThanOrEqual(r.impact.requests);
  for (const s of r.segments) for (const id of s.sampleTraceIds) expect(ids.has(id)).toBe(true);
  for (const c of r.errorClusters) for (const id of c.sampleTraceIds) expect(ids.has(id)).toBe(true);
}

function run(name: ScenarioName, seed = 1, options: { withOnset?: boolean; intensity?: number } = {}) {
  const input = syntheticIncident(name, seed, options);
  const result = analyze(input);
  expectHonest(input, result);
  return { input, result };
}

describe('analyze: bad prompt version (deploy of v3 with a changed prompt)', () => {
  it('ranks version_change first with the deploy, the failure contrast and the diff against M-1', () => {
    const { input, result } = run('bad_prompt');
    const top = result.hypotheses[0];
    expect(top.category).toBe('version_change');
    expect(top.confidence).toBeGreaterThan(0.8);
    expect(Math.max(...others(result))).toBeLessThan(0.3);
    const f = top.evidence.figures;
    expect(f).toMatchObject({ version: 'v3', comparedWith: 'v2', changeActor: 'key:deploy-bot', weightBefore: 0, weightAfter: 50, previousVersion: 'v2' });
    expect(f.changeAt).toBe(new Date(SCENARIO_ONSET).toISOString());
    expect(f.failureRate as number).toBeGreaterThan(0.15);
    expect(f.comparisonFailureRate as number).toBeLessThan(0.03);
    expect(f.pValue as number).toBeLessThan(1e-10);
    expect(String(f.diffFields)).toContain('prompt');
    expect(top.evidence.detail).toContain('- Answer in JSON');
    expect(top.evidence.detail).toContain('+ Answer in a friendly, conversational tone.');
    // Recount: the figures are the data, not estimates.
    const onV3 = input.traces.filter((t) => t.startedAt >= SCENARIO_ONSET && t.startedAt <= input.now && armOf(t) === 'v3');
    expect(f.requests).toBe(onV3.length);
    expect(f.failures).toBe(onV3.filter((t) => t.status !== 'ok').length);
    for (const id of top.evidence.sampleTraceIds) expect(input.traces.find((t) => t.requestId === id)!.version).toBe('v3');
    expect(top.summary).toMatch(/^v3 started failing right after it got traffic/);

    expect(result.versionDiff).toMatchObject({ from: 'v2', to: 'v3', identicalContent: false });
    expect(result.versionDiff!.changes.map((c) => c.field)).toEqual(expect.arrayContaining(['prompt', 'params.temperature']));
    expect(result.segments[0]).toMatchObject({ dimension: 'version', value: 'v3', significant: true });
    expect(result.errorClusters[0]).toMatchObject({ errorClass: 'malformed_output', template: 'output is not valid JSON: unexpected token <str> at position <num>' });
    expect(Object.keys(result.errorClusters[0].versions)).toEqual(['v3']);
    expect(result.notEvaluated.map((n) => n.category)).toEqual(['data_label_mismatch']);
    expect(result.changes).toEqual([
      { at: SCENARIO_ONSET, actor: 'key:deploy-bot', revision: 2, mode: 'serving', weights: { v2: 50, v3: 50 }, reason: 'deploy v3', gains: { v3: [0, 50] }, minutesBeforeOnset: 0 },
    ]);
  });

  it('estimates the onset itself when the detector gave none, and still finds the deploy', () => {
    for (const seed of [1, 2, 3]) {
      const { result } = run('bad_prompt', seed, { withOnset: false });
      expect(result.onset.estimated).toBe(true);
      expect(Math.abs(result.onset.at - SCENARIO_ONSET)).toBeLessThan(2 * 60_000);
      expect(result.hypotheses[0].category).toBe('version_change');
    }
  });

  it('lowers confidence for a weak fault but still ranks the version first', () => {
    const strong = run('bad_prompt', 4).result.hypotheses[0];
    const weak = run('bad_prompt', 4, { intensity: 0.2 }).result.hypotheses[0];
    expect(weak.category).toBe('version_change');
    expect(weak.confidence).toBeLessThan(strong.confidence);
  });
});

describe('analyze: a slow version (latency incident)', () => {
  it('counts slow answers as failures and ranks the deploy first, not the shared upstream', () => {
    const { result } = run('slow_version');
    expect(result.failureDefinition).toMatch(/latency above \d+ ms/);
    expect(result.hypotheses[0].category).toBe('version_change');
    expect(String(result.hypotheses[0].evidence.figures.diffFields)).toContain('params.max_tokens');
    // Timeouts hit only v3 on a host v2 shares: the host is not to blame.
    const upstream = hyp(result, 'upstream_dependency')!;
    expect(upstream.confidence).toBeLessThan(0.3);
    expect(upstream.evidence.figures.versionsAffected).toBe('v3');
    expect(result.errorClusters.map((c) => c.template)).toContain('slow response (over <num> ms)');
  });
});

describe('analyze: context window overflow on long inputs', () => {
  it('ranks prompt_context_overflow first with the near-limit failure contrast and explicit errors', () => {
    const { input, result } = run('context_overflow');
    const top = result.hypotheses[0];
    expect(top.category).toBe('prompt_context_overflow');
    expect(top.confidence).toBeGreaterThan(0.8);
    const f = top.evidence.figures;
    expect(f.contextWindowTokens).toBe('4096');
    expect(f.segmentFailureRate as number).toBeGreaterThan(0.8);
    expect(f.restFailureRate as number).toBeLessThan(0.03);
    expect(f.explicitContextErrors as number).toBeGreaterThan(50);
    expect(f.shareOfFailures as number).toBeGreaterThan(0.8);
    for (const id of top.evidence.sampleTraceIds) {
      expect(input.traces.find((t) => t.requestId === id)!.inputChars).toBeGreaterThan(14_000);
    }
    // The length shift is real (drift) but explained by the overflow, so it ranks below.
    expect(conf(result, 'input_drift')).toBeLessThan(0.5);
    expect(conf(result, 'version_change')).toBeLessThan(0.3);
    expect(result.errorClusters[0].errorClass).toBe('context_length_exceeded');
    expect(result.segments.find((s) => s.dimension === 'inputLength' && s.significant)?.value).toMatch(/16k-64k|4k-16k/);
  });

  it('without a known context window, still points at the longest inputs', () => {
    const input = syntheticIncident('context_overflow', 2);
    for (const v of input.versions) delete v.upstream.contextWindow;
    const result = analyze(input);
    expectHonest(input, result);
    expect(result.hypotheses[0].category).toBe('prompt_context_overflow');
    expect(result.hypotheses[0].evidence.figures.lengthThresholdChars).toBeGreaterThan(1000);
  });
});

describe('analyze: upstream dependency failing', () => {
  it('ranks upstream_dependency first when every version on the host fails, stable included', () => {
    const { result } = run('upstream_5xx');
    const top = result.hypotheses[0];
    expect(top.category).toBe('upstream_dependency');
    expect(top.confidence).toBeGreaterThan(0.8);
    expect(top.evidence.figures).toMatchObject({ upstreamHost: '127.0.0.1:9001', versionsAffected: 'v1, v2', stableVersionAffected: 'yes' });
    expect(top.evidence.figures.upstreamFailureRate as number).toBeGreaterThan(0.2);
    expect(String(top.evidence.figures.errorClasses)).toMatch(/upstream_5xx:\d+, timeout:\d+/);
    expect(conf(result, 'version_change')).toBeLessThan(0.2);
    expect(top.summary).toContain('including the stable v1');
  });

  it('blames the host, not the version, when a version alone on a host fails with nothing deployed', () => {
    const { result } = run('host_outage');
    expect(result.hypotheses[0].category).toBe('upstream_dependency');
    expect(result.hypotheses[0].evidence.figures.upstreamHost).toBe('127.0.0.1:9002');
    expect(conf(result, 'version_change')).toBeLessThan(0.3);
  });

  it('blames the deploy when a new version points at a broken new upstream', () => {
    const { result } = run('broken_upstream_deploy');
    expect(result.hypotheses[0].category).toBe('version_change');
    expect(String(result.hypotheses[0].evidence.figures.diffFields)).toContain('upstream.url');
    expect(conf(result, 'upstream_dependency')).toBeLessThan(result.hypotheses[0].confidence - 0.3);
  });
});

describe('analyze: a bad deploy hidden by retries on the stable version (the `failsafe demo` shape)', () => {
  const H1 = '127.0.0.1:9001';
  const H3 = '127.0.0.1:9003';

  it('ranks version_change first with its diff; the config seed is no conflicting deploy and the stable host is not blamed', () => {
    const { input, result } = run('retried_deploy');
    // Clients saw no errors: every failure is a retried request answered by v2 on H1.
    const failed = input.traces.filter((t) => t.startedAt >= SCENARIO_ONSET && t.startedAt <= input.now && t.retried);
    expect(failed.length).toBeGreaterThan(100);
    for (const t of failed) expect(t).toMatchObject({ status: 'ok', firstVersion: 'v3', version: 'v2', upstreamHost: H1 });

    const top = result.hypotheses[0];
    expect(top.category).toBe('version_change');
    expect(top.confidence).toBeGreaterThan(0.9);
    expect(top.evidence.figures).toMatchObject({ version: 'v3', changeActor: 'key:bootstrap-admin', weightBefore: 0, weightAfter: 100, previousVersion: 'v2', failures: failed.length });
    expect(String(top.evidence.figures.diffFields)).toEqual(expect.stringContaining('upstream.url'));
    expect(top.summary).toContain(`upstream.url http://${H1}/v1 → http://${H3}/v1`);
    expect(top.summary).not.toContain('conflicting deploys');
    expect(result.versionDiff!.changes.map((c) => c.field)).toEqual(expect.arrayContaining(['prompt', 'params.temperature', 'upstream.url']));

    const conflict = hyp(result, 'pipeline_conflict')!;
    expect(conflict.confidence).toBe(0);
    expect(conflict.evidence.figures).toMatchObject({ conflictingPairs: 0, automaticChangesIgnored: 1, routeChangesInspected: 2 });

    // The failures belong to v3's first attempt on H3, a host nothing else used: part of the deploy.
    const upstream = hyp(result, 'upstream_dependency')!;
    expect(upstream.evidence.figures).toMatchObject({ upstreamHost: H3, versionsOnHost: 'v3', upstreamFailures: failed.length, stableVersionAffected: 'not on this host' });
    expect(upstream.confidence).toBeLessThan(top.confidence - 0.4);
    expect(upstream.summary).toContain('points at the version');
    for (const c of result.errorClusters) expect(Object.keys(c.upstreamHosts)).toEqual([H3]);
    expect(result.segments.some((s) => s.dimension === 'tag:firstUpstreamHost' || s.value === H1)).toBe(false);
  });

  it('attributes retried failures to the first version’s host from its upstream URL when the trace has no host tag (older traces)', () => {
    const input = syntheticIncident('retried_deploy', 2);
    for (const t of input.traces) delete t.tags;
    const result = analyze(input);
    expectHonest(input, result);
    expect(result.hypotheses[0].category).toBe('version_change');
    expect(hyp(result, 'upstream_dependency')!.evidence.figures).toMatchObject({ upstreamHost: H3, versionsOnHost: 'v3' });
    expect(Object.keys(result.errorClusters[0].upstreamHosts)).toEqual([H3]);
  });

  it('still blames the host when it is shared with the stable version and fails it too, deploy or not', () => {
    for (const seed of [1, 2]) {
      const { result } = run('shared_host_outage_during_deploy', seed);
      const top = result.hypotheses[0];
      expect(top.category).toBe('upstream_dependency');
      expect(top.confidence).toBeGreaterThan(0.8);
      expect(top.evidence.figures).toMatchObject({ upstreamHost: H1, versionsAffected: 'v2, v3', stableVersionAffected: 'yes' });
      expect(conf(result, 'version_change')).toBeLessThan(0.3);
    }
  });
});

describe('analyze: label mismatch vs a model getting worse', () => {
  it('ranks data_label_mismatch first when labels flip while predictions stay the same', () => {
    const { result } = run('label_flip');
    const top = result.hypotheses[0];
    expect(top.category).toBe('data_label_mismatch');
    expect(top.confidence).toBeGreaterThan(0.8);
    const f = top.evidence.figures;
    expect(f.labelPValue as number).toBeLessThan(1e-6);
    expect(f.predictionTotalVariation as number).toBeLessThan(0.05);
    expect(f.disagreementAfter as number).toBeGreaterThan((f.disagreementBefore as number) + 0.2);
    expect(f.stableVersion).toBe('v1');
    // The stable version disagrees with the new labels as much as the suspect does.
    expect(Math.abs((f.stableDisagreement as number) - (f.suspectDisagreement as number))).toBeLessThan(0.1);
    expect(top.summary).toMatch(/^The labels changed, not the model/);
    expect(Math.max(...others(result))).toBeLessThan(0.3);
  });

  it('ranks version_change first, not label mismatch, when a new version predicts differently and labels are steady', () => {
    const { result } = run('model_worse');
    expect(result.hypotheses[0].category).toBe('version_change');
    expect(result.hypotheses[0].confidence).toBeGreaterThan(0.7);
    expect(conf(result, 'data_label_mismatch')).toBeLessThan(0.2);
  });
});

describe('analyze: input drift without a deploy', () => {
  it('ranks input_drift first when input lengths shift', () => {
    const { result } = run('input_drift');
    const top = result.hypotheses[0];
    expect(top.category).toBe('input_drift');
    expect(top.confidence).toBeGreaterThan(0.7);
    const f = top.evidence.figures;
    expect(f).toMatchObject({ dimension: 'inputChars', versionChangeNearOnset: 'no' });
    expect(f.incidentMedian as number).toBeGreaterThan(2 * (f.baselineMedian as number));
    expect(f.psi as number).toBeGreaterThan(0.25);
    expect(f.adjustedPValue as number).toBeLessThan(1e-6);
    expect(Math.max(...others(result))).toBeLessThan(0.3);
  });

  it('finds the drifted predict feature', () => {
    const { result } = run('feature_drift');
    expect(result.hypotheses[0].category).toBe('input_drift');
    expect(result.hypotheses[0].evidence.figures.dimension).toBe('features[0]');
  });
});

describe('analyze: pipeline conflicts', () => {
  it('ranks pipeline_conflict first for two route changes 30 s apart by different actors', () => {
    const { result } = run('pipeline_race');
    const top = result.hypotheses[0];
    expect(top.category).toBe('pipeline_conflict');
    expect(top.confidence).toBeGreaterThan(0.8);
    expect(top.evidence.figures).toMatchObject({ firstActor: 'key:ci-canary', secondActor: 'key:release-bot', secondsApart: 30, touchesSuspectVersion: 'yes' });
    // The version change is real too, and ranks second.
    expect(result.hypotheses[1].category).toBe('version_change');
    expect(result.hypotheses[1].summary).toContain('conflicting deploys');
  });

  it('ranks pipeline_conflict first when the serving content hash differs from the validated one', () => {
    const { result } = run('hash_mismatch');
    const top = result.hypotheses[0];
    expect(top.category).toBe('pipeline_conflict');
    expect(top.evidence.figures.hashMismatchVersion).toBe('v3');
    expect(top.evidence.figures.validatedHash).toBe('0'.repeat(64));
  });

  it('does not call the same actor twice, or Failsafe reacting after detection, a conflict', () => {
    const input = syntheticIncident('bad_prompt', 1);
    input.routeHistory.push(
      { model: 'support-bot', revision: 3, at: SCENARIO_ONSET + 30_000, actor: 'key:deploy-bot', weights: { v2: 40, v3: 60 }, mode: 'serving' },
      { model: 'support-bot', revision: 4, at: SCENARIO_ONSET + 6 * 60_000, actor: 'system', weights: { v2: 100, v3: 0 }, mode: 'serving', reason: 'contain' },
    );
    const result = analyze(input);
    expectHonest(input, result);
    expect(conf(result, 'pipeline_conflict')).toBe(0);
    expect(hyp(result, 'pipeline_conflict')!.evidence.figures.conflictingPairs).toBe(0);
    expect(result.hypotheses[0].category).toBe('version_change');
  });
});

describe('analyze: which route changes can conflict', () => {
  const at = (s: number) => SCENARIO_ONSET + s * 1000;
  const route = (revision: number, seconds: number, actor: string, weights: Record<string, number>, reason?: string): RouteChange => ({
    model: 'support-bot',
    revision,
    at: at(seconds),
    actor,
    weights,
    mode: 'serving',
    ...(reason ? { reason } : {}),
  });
  const conflictOf = (history: RouteChange[]) => {
    const input = syntheticIncident('bad_prompt', 1);
    input.routeHistory = history;
    const result = analyze(input);
    expectHonest(input, result);
    return hyp(result, 'pipeline_conflict')!;
  };

  it('ignores the config seed and Failsafe’s own changes (playbook, rollback, system, containment), even seconds from a deploy', () => {
    for (const actor of ['config', 'playbook:SEV1', 'rollback', 'system', 'system:soak', 'containment', 'canary']) {
      const c = conflictOf([route(1, -7, actor, { v2: 100 }), route(2, 0, 'key:deploy-bot', { v2: 50, v3: 50 })]);
      expect(c.confidence, actor).toBe(0);
      expect(c.evidence.figures, actor).toMatchObject({ conflictingPairs: 0, automaticChangesIgnored: 1 });
    }
  });

  it('treats the steps of one deployment as one pipeline, whoever applied them', () => {
    const c = conflictOf([
      route(1, -3600, 'config', { v2: 100 }),
      route(2, -60, 'deployment:dep-7', { v2: 90, v3: 10 }, 'deployment dep-7: step 1'),
      route(3, 0, 'key:ops', { v3: 100 }, 'deployment dep-7: promoted by key:ops'),
    ]);
    expect(c.confidence).toBe(0);
  });

  it('still finds two independent deploys, across an automatic change between them', () => {
    const c = conflictOf([
      route(1, -3600, 'config', { v2: 100 }),
      route(2, -60, 'deployment:dep-7', { v2: 90, v3: 10 }, 'deployment dep-7: step 1'),
      route(3, -40, 'system', { v2: 90, v3: 10 }, 'restart'),
      route(4, 0, 'key:bob', { v3: 100 }, 'hotfix'),
    ]);
    expect(c.confidence).toBeGreaterThan(0.8);
    expect(c.evidence.figures).toMatchObject({ firstActor: 'deployment:dep-7', secondActor: 'key:bob', secondsApart: 60, touchesSuspectVersion: 'yes', automaticChangesIgnored: 2 });
  });
});

describe('analyze: negative cases', () => {
  it('gives low confidence everywhere for noise only (several seeds, given or estimated onset)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      for (const withOnset of [true, false]) {
        const { result } = run('noise', seed, { withOnset });
        for (const h of result.hypotheses) expect(h.confidence, `${seed} ${h.category}: ${h.summary}`).toBeLessThan(0.2);
        expect(result.segments.filter((s) => s.significant)).toEqual([]);
      }
    }
  });

  it('evaluates nothing it has no data for, and invents no figures for empty input', () => {
    const input: RcaInput = {
      incident: { model: 'support-bot', version: 'v2', family: 'errors', detectedAt: SCENARIO_ONSET, onsetAt: SCENARIO_ONSET - 60_000 },
      traces: [],
      versions: [],
      routeHistory: [],
      feedback: [],
      now: SCENARIO_ONSET + 60_000,
    };
    const result = analyze(input);
    expectHonest(input, result);
    expect(result.impact).toEqual({ from: SCENARIO_ONSET - 60_000, to: SCENARIO_ONSET + 60_000, requests: 0, failedRequests: 0, clients: 0 });
    expect(result.segments).toEqual([]);
    expect(result.errorClusters).toEqual([]);
    // Only the history-based detector can say anything (that there is no conflict).
    expect(result.hypotheses.map((h) => [h.category, h.confidence])).toEqual([['pipeline_conflict', 0]]);
    for (const n of result.notEvaluated) expect(n.reason.length).toBeGreaterThan(5);
  });

  it('ignores other models and shadow traffic', () => {
    const input = syntheticIncident('bad_prompt', 1);
    const base = analyze(input);
    const noisy = structuredClone(input);
    noisy.traces.push(
      ...input.traces.map((t) => ({ ...t, requestId: `${t.requestId}-other`, model: 'other-model', status: 'error' as const })),
      ...input.traces.map((t) => ({ ...t, requestId: `${t.requestId}-shadow`, shadow: true, status: 'error' as const })),
    );
    const again = analyze(noisy);
    expect(again.hypotheses.map((h) => [h.category, h.confidence])).toEqual(base.hypotheses.map((h) => [h.category, h.confidence]));
    expect(again.impact).toEqual(base.impact);
  });
});
