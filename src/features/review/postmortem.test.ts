import { describe, expect, it } from 'vitest';
import type { Feedback, Incident, TimelineEvent, Trace } from '../../core/types.ts';
import { buildPostmortem, formatDuration, suggestionId, timelineEntries } from './postmortem.ts';
import { renderPostmortemMarkdown } from './postmortem-markdown.ts';
import type { PostmortemInput } from './postmortem-types.ts';
import { tighterTrials } from './tuning-trials.ts';

const T0 = Date.UTC(2025, 5, 2, 14, 0, 0); // onset
const iso = (ms: number) => new Date(ms).toISOString();

const incident: Incident = {
  id: 'INC-20250602-001',
  model: 'support-bot',
  version: 'v2',
  family: 'errors',
  title: 'errors breach on support-bot@v2: rate 0.5 vs baseline 0.01',
  severity: 'SEV2',
  status: 'resolved',
  source: 'monitor',
  dedupKey: 'support-bot|v2|errors',
  detectedAt: T0 + 8_000,
  onsetAt: T0,
  acknowledgedAt: T0 + 28_000,
  containedAt: T0 + 9_000,
  mitigatedAt: T0 + 40_000,
  resolvedAt: T0 + 100_000,
  impact: { failedRequests: 40 },
  evidence: [{ test: 'rate-threshold', observed: 0.5, threshold: 0.05, sampleSize: 40, window: { from: T0 + 6_000, to: T0 + 8_000 }, detail: 'rate 0.5 over 40' }],
  sources: { 'monitor:error-rate': { kind: 'monitor', firstAt: T0 + 8_000, lastAt: T0 + 8_000, count: 1 } },
  rootCause: { category: 'version_change', summary: 'v2 went live at the onset and fails 50% of calls', confidence: 0.82 },
};

let eid = 0;
const ev = (at: number, kind: string, actor: string, message: string, data?: unknown): TimelineEvent => ({ id: ++eid, incidentId: incident.id, at, kind, actor, message, ...(data !== undefined ? { data } : {}) });

const timeline: TimelineEvent[] = [
  ev(T0 + 8_000, 'detected', 'monitor:error-rate', 'SEV2 incident opened', { monitor: 'error-rate' }),
  ev(T0 + 9_000, 'status', 'playbook:auto', 'contained by playbook:auto'),
  ev(T0 + 10_000, 'evidence', 'monitor:error-rate', 'error-rate: rate 0.6'),
  ev(T0 + 11_000, 'evidence', 'monitor:error-rate', 'error-rate: rate 0.55'),
  ev(T0 + 12_000, 'evidence', 'monitor:error-rate', 'error-rate: rate 0.5'),
  ev(T0 + 28_000, 'status', 'key:alice', 'acknowledged by key:alice'),
  ev(T0 + 30_000, 'note', 'key:alice', 'action: add a canary step for prompt changes @bob'),
  ev(T0 + 40_000, 'rollback', 'playbook:auto', 'rolled back from v2 to v1'),
  ev(T0 + 100_000, 'status', 'key:alice', 'resolved by key:alice'),
];

const base = (id: string, startedAt: number, extra: Partial<Trace> = {}): Trace => ({
  requestId: id,
  model: 'support-bot',
  version: 'v1',
  kind: 'chat',
  startedAt,
  latencyMs: 10,
  httpStatus: 200,
  status: 'ok',
  stream: false,
  retried: false,
  inputChars: 10,
  outputChars: 10,
  ...extra,
});

/**
 * Impact window [T0, T0+40 s): every second one v1 request (ok) and one v2 request. The v2 request
 * of second i: i%4==0 retried on v1 and ok; i%4==1 fallback (cache); i%4==2 client error;
 * i%4==3 ok (answered by v2) but later rated negative when i%8==3.
 */
function traces(): Trace[] {
  const out: Trace[] = [];
  for (let i = 0; i < 40; i++) {
    const at = T0 + i * 1000;
    out.push(base(`s${i}`, at, { client: `c${i % 5}` }));
    const client = `c${i % 7}`;
    if (i % 4 === 0) out.push(base(`f${i}`, at + 1, { version: 'v1', firstVersion: 'v2', retried: true, errorClass: 'upstream_5xx', client }));
    if (i % 4 === 1) out.push(base(`f${i}`, at + 1, { version: undefined, firstVersion: 'v2', status: 'fallback', fallback: 'cache', errorClass: 'upstream_5xx', client }));
    if (i % 4 === 2) out.push(base(`f${i}`, at + 1, { version: 'v2', status: 'error', httpStatus: 502, errorClass: 'upstream_5xx', retried: true, firstVersion: 'v2', client }));
    if (i % 4 === 3) out.push(base(`f${i}`, at + 1, { version: 'v2', client }));
  }
  return out;
}

const feedback: Feedback[] = [3, 11, 19, 27, 35].map((i, k) => ({ id: k + 1, requestId: `f${i}`, model: 'support-bot', version: 'v2', requestAt: T0 + i * 1000 + 1, receivedAt: T0 + 200_000, rating: -1 }));

const fullInput = (): PostmortemInput => ({
  now: T0 + 120_000,
  incident,
  timeline,
  stableVersion: 'v1',
  modelOwner: 'ml-team',
  traces: { items: traces(), from: T0, to: T0 + 40_000, truncated: false },
  feedback,
  rca: {
    source: 'RCA recorded',
    hypotheses: [
      { category: 'version_change', confidence: 0.82, summary: 'v2 went live at the onset and fails 50% of calls' },
      { category: 'upstream_dependency', confidence: 0.3, summary: 'host 127.0.0.1:9002 errors' },
    ],
  },
  rollbacks: [
    {
      id: 'RB-1',
      from: 'v2',
      to: 'v1',
      status: 'succeeded',
      actor: 'playbook:auto',
      startedAt: T0 + 38_000,
      switchedAt: T0 + 39_500,
      finishedAt: T0 + 40_000,
      durationMs: 2_000,
      validations: [{ version: 'v1', passed: true, summary: 'v1: 20/20 passed', kind: 'golden', passRate: 1, gates: { passRate: { value: 1, threshold: 0.95, passed: true } }, at: T0 + 39_000, source: 'rollback' }],
    },
  ],
  validation: { version: 'v2', passed: true, summary: 'v2: 24/25 passed (96%)', passRate: 0.96, gates: { passRate: { value: 0.96, threshold: 0.95, passed: true } }, source: 'audit (version.validate by ci)', at: T0 - 3_600_000 },
  replay: {
    monitor: 'error-rate',
    model: 'support-bot',
    version: 'v2',
    source: 'test',
    incidentSpan: { from: T0, to: T0 + 9_000 },
    healthy: [{ description: 'the stable version v1', version: 'v1', from: T0 - 3_600_000, to: T0 + 9_000, requests: 3_609 }],
    trials: [
      { label: 'current', patch: {}, firstBreachAt: T0 + 8_000, falseAlarms: 0, breachingEvaluations: 0, healthyEvaluations: 3_600 },
      { label: 'alpha 0.01', patch: { alpha: 0.01 }, firstBreachAt: T0 + 5_000, falseAlarms: 0, breachingEvaluations: 0, healthyEvaluations: 3_600 },
      { label: 'minSamples 10', patch: { minSamples: 10 }, firstBreachAt: T0 + 7_500, falseAlarms: 0, breachingEvaluations: 0, healthyEvaluations: 3_600 },
      { label: 'all of the above', patch: { alpha: 0.01, minSamples: 10 }, firstBreachAt: T0 + 2_000, falseAlarms: 3, breachingEvaluations: 7, healthyEvaluations: 3_600 },
    ],
  },
});

describe('buildPostmortem', () => {
  it('counts the impact from the traces, per scope', () => {
    const p = buildPostmortem(fullInput());
    expect(p.impact.status).toBe('complete');
    expect(p.impact.window).toEqual({ from: iso(T0), to: iso(T0 + 40_000), durationMs: 40_000 });
    expect(p.impact.incidentDurationMs).toBe(100_000);
    expect(p.impact.userImpactMs).toBe(9_000);
    // 40 v2 requests: 10 retried ok, 10 fallbacks, 10 client errors, 10 answered (5 rated negative).
    expect(p.impact.faultyVersion).toMatchObject({
      version: 'v2',
      requests: 40,
      failedFirstAttempts: 30,
      retriedOnStable: 10,
      fallbackAnswers: 10,
      fallbackByKind: { cache: 10 },
      clientErrors: 10,
      qualityFailures: 5,
      affectedRequests: 35,
      errorClasses: { upstream_5xx: 30 },
      clients: 7,
      clientsAffected: 7,
    });
    expect(p.impact.overall).toMatchObject({ requests: 80, affectedRequests: 35, clientErrors: 10, clients: 7 + 0 });
    expect(p.impact.exampleRequestIds).toEqual(['f0', 'f1', 'f2', 'f4', 'f5']);
  });

  it('times detection and response from the incident timestamps', () => {
    const p = buildPostmortem(fullInput());
    expect(p.detection).toMatchObject({ status: 'complete', monitor: 'error-rate', onsetAt: iso(T0), detectedAt: iso(T0 + 8_000), mttd: { ms: 8_000 } });
    expect(p.detection.evidence).toMatchObject({ test: 'rate-threshold', window: { from: iso(T0 + 6_000), to: iso(T0 + 8_000) } });
    expect(p.response.mtta.ms).toBe(20_000);
    expect(p.response.timeToContain.ms).toBe(1_000);
    expect(p.response.mttr.ms).toBe(32_000);
    expect(p.response.timeToResolve.ms).toBe(92_000);
    expect(p.rootCause).toMatchObject({ category: 'version_change', confidence: 0.82, status: 'complete' });
    expect(p.resolution.rollback).toMatchObject({ id: 'RB-1', from: 'v2', to: 'v1', status: 'succeeded', validation: { version: 'v1', passed: true } });
    expect(p.resolution.summary).toContain('rolled back v2 → v1 by playbook:auto in 2.0 s');
  });

  it('answers the three questions with data and suggests an appliable tuning', () => {
    const p = buildPostmortem(fullInput());
    const a = p.questions.detectedEarlier;
    expect(a.answer).toBe('yes');
    expect(a.trials.find((t) => t.label === 'alpha 0.01')).toMatchObject({ leadMs: 3_000, falseAlarms: 0 });
    expect(a.summary).toContain('would have fired 3.0 s earlier');
    expect(a.summary).toContain('costs 3 false alarms');
    expect(p.tuning).toEqual([
      expect.objectContaining({ id: suggestionId('support-bot', 'error-rate', { alpha: 0.01 }), monitor: 'error-rate', model: 'support-bot', patch: { alpha: 0.01 }, leadMs: 3_000, falseAlarms: 0, status: 'suggested' }),
    ]);
    expect(p.tuning[0]!.id).toMatch(/^tune-error-rate-[0-9a-f]{10}$/);

    const v = p.questions.validationThresholds;
    expect(v.answer).toBe('too_loose');
    expect(v.suggestedGate).toEqual({ minPassRate: 0.97 });
    expect(v.summary).toContain('passed with 96% against a gate of 95%');

    const f = p.questions.fallbacks;
    expect(f).toMatchObject({ answer: 'partly', failedFirstAttempts: 30, retriedOnStable: 10, goodFallbackAnswers: 10, rescued: 20, clientErrors: 10, uncaughtQualityFailures: 5 });
    expect(f.rescueRate).toBeCloseTo(2 / 3, 4);

    const titles = p.actionItems.map((i) => `${i.id} ${i.owner} ${i.status}: ${i.title}`);
    expect(titles[0]).toMatch(/^A1 on-call engineering open: Apply the suggested tuning of error-rate \(alpha 0.01\)/);
    expect(titles).toContain("A2 ml-team open: Raise support-bot's staging gate minPassRate to 0.97");
    expect(titles.some((t) => t.includes('Configure or fix fallbacks for support-bot: 10 failed requests'))).toBe(true);
    expect(titles.some((t) => t.includes('output validator') && t.includes('5 came back'))).toBe(true);
    expect(titles.some((t) => t.endsWith('bob open: add a canary step for prompt changes'))).toBe(true);
    expect(p.lessons[0]).toBe('Detection took 8.0 s from onset (error-rate).');
    expect(p.missingData).toEqual([]);
    expect(p.final).toBe(true);
  });

  it('marks an applied suggestion and its action item done', () => {
    const input = fullInput();
    const id = suggestionId('support-bot', 'error-rate', { alpha: 0.01 });
    const p = buildPostmortem({ ...input, applied: [{ suggestionId: id, at: T0 + 200_000, actor: 'key:alice' }] });
    expect(p.tuning[0]).toMatchObject({ status: 'applied', appliedAt: iso(T0 + 200_000), appliedBy: 'key:alice' });
    expect(p.actionItems[0]!.status).toBe('done');
  });

  it('says "no" when every earlier setting costs false alarms, and finds no suggestion', () => {
    const input = fullInput();
    const r = input.replay as Extract<PostmortemInput['replay'], { trials: unknown }>;
    const p = buildPostmortem({ ...input, replay: { ...r, trials: [r.trials[0]!, r.trials[3]!] } });
    expect(p.questions.detectedEarlier.answer).toBe('no');
    expect(p.questions.detectedEarlier.summary).toBe('Not without false alarms: the earliest tighter setting (all of the above) would have fired 6.0 s earlier but raised 3 false alarms on the stable version v1 (3609 requests).');
    expect(p.tuning).toEqual([]);
  });

  it('reads a failed replayed gate as "went live without validation", a perfect score as a golden-set gap', () => {
    const input = fullInput();
    const notValidated = buildPostmortem({ ...input, validation: { version: 'v2', passed: false, summary: 'v2: 12/25 passed', passRate: 0.48, gates: { passRate: { value: 0.48, threshold: 0.95, passed: false } }, source: 'replay' } });
    expect(notValidated.questions.validationThresholds.answer).toBe('not_validated');
    expect(notValidated.actionItems.some((a) => a.title.startsWith('Require golden-set validation before a version of support-bot takes traffic'))).toBe(true);
    const gap = buildPostmortem({ ...input, validation: { version: 'v2', passed: true, summary: 'v2: 25/25 passed', passRate: 1, gates: { passRate: { value: 1, threshold: 0.95, passed: true } }, source: 'audit' } });
    expect(gap.questions.validationThresholds.answer).toBe('golden_set_gap');
  });

  it('marks sections without data as insufficient, with reasons, and invents no figure', () => {
    const sparse: Incident = {
      id: 'INC-20250602-002',
      model: 'support-bot',
      family: 'manual',
      title: 'users say answers are odd',
      severity: 'SEV3',
      status: 'open',
      source: 'manual',
      dedupKey: 'support-bot||manual',
      detectedAt: T0,
      impact: {},
      evidence: [{ test: 'manual report', detail: 'users say answers are odd' }],
    };
    const p = buildPostmortem({
      now: T0 + 30_000,
      incident: sparse,
      timeline: [ev(T0, 'detected', 'key:carol', 'SEV3 incident opened: reported by key:carol')],
      traces: { items: [], from: T0, to: T0 + 30_000, truncated: false },
      rca: { unavailable: 'RCA is not enabled on this server and none was recorded' },
      validation: { unavailable: 'the incident names no version' },
      replay: { unavailable: 'the incident names no version to replay a monitor on' },
    });
    expect(p.impact.status).toBe('insufficient_data');
    expect(p.impact.overall).toBeNull();
    expect(p.impact.faultyVersion).toBeNull();
    expect(p.impact.reasons[0]).toBe(`no traces recorded for support-bot between ${iso(T0)} and ${iso(T0 + 30_000)} (traffic, trace capture or retention)`);
    expect(p.detection.mttd).toEqual({ ms: null, note: expect.stringContaining('no onset time: the incident came from a manual report') });
    expect(p.response.mttr.ms).toBeNull();
    expect(p.rootCause.status).toBe('insufficient_data');
    expect(p.questions.detectedEarlier).toMatchObject({ status: 'insufficient_data', answer: 'unknown', reasons: ['the incident names no version to replay a monitor on'] });
    expect(p.questions.fallbacks).toMatchObject({ status: 'insufficient_data', answer: 'unknown', failedFirstAttempts: null, rescueRate: null });
    expect(p.questions.validationThresholds.status).toBe('not_applicable');
    expect(p.tuning).toEqual([]);
    expect(p.final).toBe(false);
    const sections = p.missingData.map((m) => m.section);
    expect(sections).toEqual(expect.arrayContaining(['impact', 'detection', 'response', 'rootCause', 'resolution', 'questions.detectedEarlier', 'questions.fallbacks']));
    const md = renderPostmortemMarkdown(p);
    expect(md).toContain('> **Insufficient data**: no traces recorded for support-bot');
    expect(md).toContain('- MTTD: n/a (no onset time: the incident came from a manual report');
    expect(md).not.toMatch(/\| whole model \|/);
    expect(md).toContain('draft: the incident is still open');
  });

  it('notes lower bounds when the trace cap was hit', () => {
    const input = fullInput();
    const p = buildPostmortem({ ...input, traces: { ...(input.traces as { items: Trace[]; from: number; to: number }), truncated: true } });
    expect(p.impact.lowerBounds).toBe(true);
    expect(p.impact.status).toBe('partial');
    expect(p.summary).toContain('(at least)');
  });
});

describe('renderPostmortemMarkdown', () => {
  it('renders every section, the timeline in UTC and the apply route', () => {
    const p = buildPostmortem(fullInput());
    const md = renderPostmortemMarkdown(p);
    expect(md.startsWith('# Postmortem INC-20250602-001: errors breach on support-bot@v2')).toBe(true);
    for (const h of ['## Summary', '## Impact', '## Timeline (UTC)', '## Detection', '## Response', '## Root cause', '## Resolution', '## Could this have been detected earlier?', '## Were validation thresholds too loose?', '## Did the automated fallbacks work?', '## Action items', '## Suggested monitor tuning', '## Lessons']) {
      expect(md).toContain(h);
    }
    expect(md).toContain('| v2 (faulty) | 40 | 35 | 30 | 10 | 10 (cache 10) | 10 | 5 | 7 of 7 |');
    expect(md).toContain('| 2025-06-02 14:00:08.000 | detected | monitor:error-rate | SEV2 incident opened |');
    expect(md).toContain('error-rate: rate 0.6 (and 2 more evidence updates until the next step)');
    expect(md).toContain('- MTTD: 8.0 s (detectedAt − onsetAt)');
    expect(md).toContain(`POST /api/v1/incidents/INC-20250602-001/postmortem/tuning/${p.tuning[0]!.id}/apply`);
    expect(md).toContain('- [ ] A1: Apply the suggested tuning of error-rate');
  });

  it('keeps a table intact whatever the text in it', () => {
    const p = buildPostmortem({ ...fullInput(), timeline: [ev(T0, 'note', 'key:x', 'a | b\n| c | `code`')] });
    const md = renderPostmortemMarkdown(p);
    expect(md).toContain("| note | key:x | a ¦ b ¦ c ¦ 'code' |");
  });
});

describe('helpers', () => {
  it('formats durations', () => {
    expect([850, 12_345, 245_000, 7_380_000].map(formatDuration)).toEqual(['850 ms', '12.3 s', '4 min 05 s', '2 h 03 min']);
    expect(formatDuration(null)).toBe('n/a');
  });

  it('collapses evidence runs per actor only', () => {
    const entries = timelineEntries([ev(1, 'evidence', 'a', 'x'), ev(2, 'evidence', 'a', 'y'), ev(3, 'evidence', 'b', 'z'), ev(4, 'note', 'a', 'n')]);
    expect(entries.map((e) => e.message)).toEqual(['x (and 1 more evidence updates until the next step)', 'z', 'n']);
  });

  it('tightens one knob at a time within the monitor limits, then all together', () => {
    const rate = tighterTrials('rate', { alpha: 0.001, confidence: 0.999, absoluteThreshold: 0.05, minEffect: { absolute: 0.01, relative: 1.5 }, minSamples: 20, windows: [2, 10, 60], consecutiveBreaches: 1 });
    expect(rate.map((t) => t.label)).toEqual(['alpha 0.01', 'confidence 0.99', 'absoluteThreshold 0.025', 'minEffect.relative 1.2', 'minSamples 10', 'windows [1,2,10,60]', 'all of the above']);
    expect(rate.at(-1)!.patch).toEqual({ alpha: 0.01, confidence: 0.99, absoluteThreshold: 0.025, minEffect: { relative: 1.2 }, minSamples: 10, windows: [1, 2, 10, 60] });
    const latency = tighterTrials('latency', { alpha: 0.04, confidence: 0.99, minRatio: 1.5, thresholdsMs: { p99: 1000 }, minSamples: 5, windows: [1], consecutiveBreaches: 3 });
    expect(latency.map((t) => t.patch)).toEqual([{ alpha: 0.05 }, { minRatio: 1.2 }, { thresholdsMs: { p99: 700 } }, { consecutiveBreaches: 1 }, { alpha: 0.05, minRatio: 1.2, thresholdsMs: { p99: 700 }, consecutiveBreaches: 1 }]);
    expect(tighterTrials('drift', { test: 'ks', alpha: 0.001, minStatistic: 0.1, minSamples: 100, windows: [60, 300] }).map((t) => t.label)).toEqual([
      'alpha 0.01',
      'threshold 0.05',
      'minStatistic 0.05',
      'minSamples 50',
      'windows [30,60,300]',
      'all of the above',
    ]);
  });
});
