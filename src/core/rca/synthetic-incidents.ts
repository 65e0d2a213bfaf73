// Seeded, realistic incident scenarios for the RCA engine: each returns the RcaInput a service
// would assemble (traces of a baseline hour and the incident window, versions, route history,
// feedback). Used by the engine's tests and available to demos.
import { canonicalJson, sha256Hex } from '../canonical-json.ts';
import { type EpochMs, type Feedback, FIRST_UPSTREAM_HOST_TAG, type ModelKind, type ModelVersion, type RouteChange, type Trace, type VersionSpec } from '../types.ts';
import { createRandom, deriveSeed, type Random } from '../stats/random.ts';
import type { RcaInput } from './rca-types.ts';
import { generateTraces, type TrafficSpec, upstreamFailure } from './synthetic-traces.ts';

export type ScenarioName =
  | 'bad_prompt'
  | 'slow_version'
  | 'context_overflow'
  | 'upstream_5xx'
  | 'host_outage'
  | 'broken_upstream_deploy'
  | 'retried_deploy'
  | 'shared_host_outage_during_deploy'
  | 'label_flip'
  | 'model_worse'
  | 'input_drift'
  | 'feature_drift'
  | 'pipeline_race'
  | 'hash_mismatch'
  | 'noise';

/** Onset of every scenario: 2025-01-15T12:00:00Z. */
export const SCENARIO_ONSET: EpochMs = Date.UTC(2025, 0, 15, 12, 0, 0);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const H1 = '127.0.0.1:9001';
const H2 = '127.0.0.1:9002';
const H3 = '127.0.0.1:9003';

// Same form as the registry's content hash (hex sha256 of canonical JSON).
const hashOf = (spec: VersionSpec) => sha256Hex(canonicalJson(spec));

function version(model: string, spec: VersionSpec, state: ModelVersion['state'], createdAt: EpochMs, liveSince?: EpochMs): ModelVersion {
  return {
    ...spec,
    model,
    state,
    contentHash: hashOf(spec),
    createdAt,
    stateChangedAt: liveSince ?? createdAt,
    ...(liveSince !== undefined ? { liveSince } : {}),
    ...(state === 'stable' ? { stableSince: (liveSince ?? createdAt) + DAY } : {}),
  };
}

function change(model: string, revision: number, at: EpochMs, actor: string, weights: Record<string, number>, reason?: string): RouteChange {
  return { model, revision, at, actor, weights, mode: 'serving', ...(reason ? { reason } : {}) };
}

/** v2 serving alone since the config seeded the route, then v3 deployed to half the traffic at `at`. */
function deployV3History(model: string, at: EpochMs = SCENARIO_ONSET): RouteChange[] {
  return [change(model, 1, SCENARIO_ONSET - 4 * DAY, 'config', { v2: 100 }), change(model, 2, at, 'key:deploy-bot', { v2: 50, v3: 50 }, 'deploy v3')];
}

/** Weights in force at a time, from a route history (oldest first). */
const weightsFrom = (history: RouteChange[]) => (at: EpochMs) => {
  let w = history[0].weights;
  for (const c of history) if (c.at <= at) w = c.weights;
  return w;
};

const specOf = (v: ModelVersion): VersionSpec => ({
  version: v.version,
  upstream: v.upstream,
  ...(v.prompt !== undefined ? { prompt: v.prompt } : {}),
  ...(v.params ? { params: v.params } : {}),
  ...(v.metadata ? { metadata: v.metadata } : {}),
});

const PROMPT_V2 = 'You are the support assistant for Acme.\nAnswer in JSON: {"answer": string, "confidence": number}.\nNever invent order numbers.';
const PROMPT_V3 = 'You are the support assistant for Acme.\nAnswer in a friendly, conversational tone.\nNever invent order numbers.';

function chatVersions(model: string, contextWindow?: number) {
  const up = (host: string) => ({ url: `http://${host}/v1`, model: 'sim-chat', provider: 'openai', ...(contextWindow ? { contextWindow } : {}) });
  const v1 = version(model, { version: 'v1', upstream: up(H1), prompt: PROMPT_V2, params: { temperature: 0.2 }, metadata: { gitSha: 'a1b2c3d' } }, 'stable', SCENARIO_ONSET - 20 * DAY, SCENARIO_ONSET - 20 * DAY);
  const v2 = version(model, { version: 'v2', upstream: up(H1), prompt: PROMPT_V2, params: { temperature: 0.2, max_tokens: 512 }, metadata: { gitSha: 'd4e5f6a' } }, 'stable', SCENARIO_ONSET - 5 * DAY, SCENARIO_ONSET - 4 * DAY);
  const v3 = version(model, { version: 'v3', upstream: up(H1), prompt: PROMPT_V3, params: { temperature: 0.9, max_tokens: 512 }, metadata: { gitSha: '9f8e7d6' } }, 'live', SCENARIO_ONSET - 1 * DAY, SCENARIO_ONSET);
  return { v1, v2, v3 };
}

interface Built {
  traces: Trace[];
  versions: ModelVersion[];
  routeHistory: RouteChange[];
  feedback?: Feedback[];
  incidentVersion?: string;
  family: string;
  lastStable?: ModelVersion;
  validatedHashes?: Record<string, string>;
  kind?: ModelKind;
  /** End of the analysis (default onset + 15 min); the RCA service stops at containment. */
  now?: EpochMs;
}

/** Request lengths of ordinary chat traffic: median 600 characters. */
const chatLength = (rng: Random) => rng.lognormal(Math.log(600), 0.6);

function labelsFor(traces: Trace[], rng: Random, labelOf: (t: Trace, rng: Random) => string | undefined, coverage: number): Feedback[] {
  const out: Feedback[] = [];
  let id = 1;
  for (const t of traces) {
    if (!rng.bernoulli(coverage)) continue;
    const label = labelOf(t, rng);
    if (label === undefined) continue;
    out.push({ id: id++, requestId: t.requestId, model: t.model, ...(t.version ? { version: t.version } : {}), requestAt: t.startedAt, receivedAt: t.startedAt + 60_000, label });
  }
  return out;
}

function build(name: ScenarioName, seed: number, k: number): Built {
  const rng = createRandom(deriveSeed(seed, name));
  const from = SCENARIO_ONSET - 60 * MIN;
  const to = SCENARIO_ONSET + 15 * MIN;
  const base = { from, to, ratePerMinute: 60, clients: ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'] };
  const noiseFailure = (r: Random, p = 0.01): Partial<Trace> | undefined =>
    r.bernoulli(p) ? { status: 'error', httpStatus: 500, errorClass: 'internal', errorMessage: `internal error id ${r.int(1000, 99999)}` } : undefined;
  /** Chat traffic of ordinary request lengths for the history's model; `spec` names the hosts and may override any field. */
  const chatTraffic = (history: RouteChange[], spec: Pick<TrafficSpec, 'hosts'> & Partial<TrafficSpec>): Trace[] =>
    generateTraces({ ...base, model: history[0].model, weightsAt: weightsFrom(history), inputChars: chatLength, ...spec }, rng);

  switch (name) {
    case 'bad_prompt': {
      const model = 'support-bot';
      const { v2, v3 } = chatVersions(model);
      const history = deployV3History(model);
      const traces = chatTraffic(history, {
        hosts: { v2: H1, v3: H1 },
        outcome: (r, req) =>
          req.version === 'v3' && r.bernoulli(0.25 * k)
            ? { status: 'error', httpStatus: 502, errorClass: 'malformed_output', errorMessage: `output is not valid JSON: unexpected token 'S' at position ${r.int(0, 40)}` }
            : noiseFailure(r),
      });
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'errors', lastStable: v2 };
    }
    case 'slow_version': {
      // v3 asks for 4096 output tokens: answers take ~6× longer and some hit the upstream timeout.
      const model = 'support-bot';
      const { v2, v3: v3Base } = chatVersions(model);
      const v3 = version(model, { ...specOf(v3Base), prompt: PROMPT_V2, params: { temperature: 0.2, max_tokens: 4096 } }, 'live', SCENARIO_ONSET - DAY, SCENARIO_ONSET);
      const history = deployV3History(model);
      const traces = chatTraffic(history, {
        hosts: { v2: H1, v3: H1 },
        outcome: (r, req) => {
          if (req.version !== 'v3') return noiseFailure(r);
          if (r.bernoulli(0.08 * k)) return { ...upstreamFailure('timeout', req.host), latencyMs: 30_000 };
          return { latencyMs: Math.round(r.lognormal(Math.log(300 * (1 + 5 * k)), 0.3)) };
        },
      });
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'latency', lastStable: v2 };
    }
    case 'context_overflow': {
      const model = 'support-bot';
      const { v2 } = chatVersions(model, 4096);
      const history = [change(model, 1, SCENARIO_ONSET - 4 * DAY, 'config', { v2: 100 })];
      const traces = chatTraffic(history, {
        hosts: { v2: H1 },
        // From the onset a document importer sends long inputs; a few cross 4096 tokens.
        inputChars: (r, at) => (at >= SCENARIO_ONSET && r.bernoulli(0.15 * k) ? r.uniform(12_000, 40_000) : chatLength(r)),
        outcome: (r, req) => {
          const tokens = Math.ceil((req.inputChars + PROMPT_V2.length) / 4);
          if (tokens > 4096) {
            return {
              status: 'error',
              httpStatus: 400,
              errorClass: 'context_length_exceeded',
              errorMessage: `This model's maximum context length is 4096 tokens. However, your messages resulted in ${tokens} tokens.`,
            };
          }
          return noiseFailure(r);
        },
      });
      return { traces, versions: [v2], routeHistory: history, incidentVersion: 'v2', family: 'errors', lastStable: v2 };
    }
    case 'upstream_5xx': {
      const model = 'support-bot';
      const { v1, v2 } = chatVersions(model);
      const history = [change(model, 1, SCENARIO_ONSET - 3 * DAY, 'key:deploy-bot', { v1: 20, v2: 80 })];
      const traces = chatTraffic(history, {
        hosts: { v1: H1, v2: H1 },
        outcome: (r, req) => {
          if (req.at >= SCENARIO_ONSET && r.bernoulli(0.3 * k)) {
            const failure = upstreamFailure(r.bernoulli(0.8) ? 'upstream_5xx' : 'timeout', req.host);
            // The gateway retries v2's failures once on the stable v1 (same host): some succeed.
            if (req.version === 'v2' && r.bernoulli(0.5)) return { ...failure, status: 'ok', httpStatus: 200, retried: true, firstVersion: 'v2', version: 'v1' };
            return failure;
          }
          return noiseFailure(r);
        },
      });
      return { traces, versions: [v1, v2], routeHistory: history, incidentVersion: 'v2', family: 'errors', lastStable: v1 };
    }
    case 'host_outage': {
      // v2 alone runs on H2, which starts refusing connections; nothing was deployed.
      const model = 'support-bot';
      const { v1, v2: v2OnH1 } = chatVersions(model);
      const v2 = version(model, { ...specOf(v2OnH1), upstream: { ...v2OnH1.upstream, url: `http://${H2}/v1` } }, 'live', SCENARIO_ONSET - 5 * DAY, SCENARIO_ONSET - 4 * DAY);
      const history = [change(model, 1, SCENARIO_ONSET - 3 * DAY, 'key:deploy-bot', { v1: 30, v2: 70 })];
      const traces = chatTraffic(history, {
        hosts: { v1: H1, v2: H2 },
        outcome: (r, req) =>
          req.host === H2 && req.at >= SCENARIO_ONSET && r.bernoulli(0.4 * k) ? upstreamFailure(r.bernoulli(0.7) ? 'connection' : 'timeout', req.host) : noiseFailure(r),
      });
      return { traces, versions: [v1, v2], routeHistory: history, incidentVersion: 'v2', family: 'errors', lastStable: v1 };
    }
    case 'broken_upstream_deploy': {
      // v3 is deployed pointing at a new upstream (H3) that answers 5xx: the deploy is the cause.
      const model = 'support-bot';
      const { v2, v3: v3OnH1 } = chatVersions(model);
      const v3 = version(model, { ...specOf(v3OnH1), prompt: PROMPT_V2, upstream: { ...v3OnH1.upstream, url: `http://${H3}/v1`, model: 'sim-chat-xl' } }, 'live', SCENARIO_ONSET - DAY, SCENARIO_ONSET);
      const history = deployV3History(model);
      const traces = chatTraffic(history, {
        hosts: { v2: H1, v3: H3 },
        outcome: (r, req) => (req.version === 'v3' && r.bernoulli(0.3 * k) ? upstreamFailure('upstream_5xx', req.host) : noiseFailure(r)),
      });
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'errors', lastStable: v2 };
    }
    case 'retried_deploy': {
      // The `failsafe demo` shape: the route is seeded from the config file at startup (v2), three
      // minutes later an operator pushes v3 (new prompt, params and upstream H3) to 100%, and H3
      // fails 60% of v3's calls. The gateway retries each failure once on the stable v2 (H1), so
      // clients see no errors: the trace names v2 and H1 as what answered, v3 as the first version
      // and H3 (tag) as the first host. A playbook isolates v3 after detection.
      const model = 'support-bot';
      const { v2, v3: v3OnH1 } = chatVersions(model);
      const v3 = version(model, { ...specOf(v3OnH1), upstream: { ...v3OnH1.upstream, url: `http://${H3}/v1` } }, 'live', SCENARIO_ONSET - 10 * MIN, SCENARIO_ONSET);
      const startup = SCENARIO_ONSET - 3 * MIN;
      const history = [
        change(model, 1, startup, 'config', { v2: 100 }, 'initial route from configuration'),
        change(model, 2, SCENARIO_ONSET, 'key:bootstrap-admin', { v3: 100 }, 'hotfix: new prompt'),
        change(model, 3, SCENARIO_ONSET + 5 * MIN + 20_000, 'playbook:SEV1', { v3: 0, v2: 100 }, 'isolate v3: SEV1 playbook'),
      ];
      const traces = chatTraffic(history, {
        from: startup,
        hosts: { v2: H1, v3: H3 },
        outcome: (r, req) => {
          if (req.version !== 'v3' || !r.bernoulli(0.6 * k)) return undefined;
          const { errorClass, errorMessage } = upstreamFailure(r.bernoulli(0.5) ? 'upstream_5xx' : 'connection', H3);
          return {
            retried: true,
            firstVersion: 'v3',
            version: 'v2',
            upstreamHost: H1,
            errorClass,
            errorMessage: `first attempt on v3 failed: ${errorMessage}`,
            tags: { [FIRST_UPSTREAM_HOST_TAG]: H3 },
          };
        },
      });
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'errors', lastStable: v2, now: history[2].at };
    }
    case 'shared_host_outage_during_deploy': {
      // v3 is deployed at the onset on the host the stable v2 uses (H1), just as H1 starts failing:
      // both versions fail alike (v3's failures retried on v2), so the host is to blame, not v3.
      const model = 'support-bot';
      const { v2, v3 } = chatVersions(model);
      const history = deployV3History(model);
      const traces = chatTraffic(history, {
        hosts: { v2: H1, v3: H1 },
        outcome: (r, req) => {
          if (req.at < SCENARIO_ONSET || !r.bernoulli(0.3 * k)) return noiseFailure(r);
          const failure = upstreamFailure(r.bernoulli(0.7) ? 'upstream_5xx' : 'timeout', H1);
          if (req.version === 'v3' && r.bernoulli(0.6)) {
            return { ...failure, status: 'ok', httpStatus: 200, retried: true, firstVersion: 'v3', version: 'v2', tags: { [FIRST_UPSTREAM_HOST_TAG]: H1 } };
          }
          return failure;
        },
      });
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'errors', lastStable: v2 };
    }
    case 'label_flip':
    case 'model_worse': {
      const model = 'fraud-scorer';
      const up = (host: string) => ({ url: `http://${host}/v1/models/fraud:predict`, provider: 'kserve' });
      const v1 = version(model, { version: 'v1', upstream: up(H1), metadata: { dataset: 'tx-2024-10' } }, 'stable', SCENARIO_ONSET - 30 * DAY, SCENARIO_ONSET - 30 * DAY);
      const v2 = version(model, { version: 'v2', upstream: up(H2), metadata: { dataset: 'tx-2024-12' } }, name === 'model_worse' ? 'live' : 'stable', SCENARIO_ONSET - 6 * DAY, name === 'model_worse' ? SCENARIO_ONSET : SCENARIO_ONSET - 5 * DAY);
      const history =
        name === 'label_flip'
          ? [change(model, 1, SCENARIO_ONSET - 5 * DAY, 'key:deploy-bot', { v1: 50, v2: 50 })]
          : [change(model, 1, SCENARIO_ONSET - 30 * DAY, 'config', { v1: 100 }), change(model, 2, SCENARIO_ONSET, 'key:deploy-bot', { v1: 50, v2: 50 })];
      const truth = new Map<string, string>();
      const spec: TrafficSpec = {
        ...base,
        model,
        kind: 'predict',
        weightsAt: weightsFrom(history),
        hosts: { v1: H1, v2: H2 },
        inputChars: (r) => r.uniform(180, 260),
        features: (r) => [r.lognormal(3, 1), r.normal(0, 1), r.normal(0, 1)],
        prediction: (r, req) => {
          const isFraud = r.bernoulli(0.1);
          truth.set(`req-${req.index.toString().padStart(6, '0')}`, isFraud ? 'fraud' : 'legit');
          // A worse model: v2 calls 35% of transactions fraud at random after its deploy.
          if (name === 'model_worse' && req.version === 'v2') return r.bernoulli(0.1 + 0.25 * k) ? 'fraud' : 'legit';
          // A good model agrees with the truth 95% of the time.
          return r.bernoulli(0.95) ? (isFraud ? 'fraud' : 'legit') : isFraud ? 'legit' : 'fraud';
        },
        outcome: (r) => noiseFailure(r, 0.005),
      };
      const traces = generateTraces(spec, rng);
      const feedback = labelsFor(
        traces,
        rng,
        (t, r) => {
          const real = truth.get(t.requestId)!;
          // The labeling pipeline flips 40% of labels from the onset on.
          if (name === 'label_flip' && t.startedAt >= SCENARIO_ONSET && r.bernoulli(0.4 * k)) return real === 'fraud' ? 'legit' : 'fraud';
          return real;
        },
        0.6,
      );
      return { traces, versions: [v1, v2], routeHistory: history, feedback, incidentVersion: 'v2', family: 'accuracy', lastStable: v1, kind: 'predict' };
    }
    case 'input_drift': {
      const model = 'support-bot';
      const { v2 } = chatVersions(model);
      const history = [change(model, 1, SCENARIO_ONSET - 4 * DAY, 'config', { v2: 100 })];
      const traces = chatTraffic(history, {
        hosts: { v2: H1 },
        // Users start pasting whole emails: median length 600 → 1800 characters.
        inputChars: (r, at) => (at >= SCENARIO_ONSET ? r.lognormal(Math.log(600 * (1 + 2 * k)), 0.6) : chatLength(r)),
        outcome: (r) => noiseFailure(r, 0.02),
      });
      return { traces, versions: [v2], routeHistory: history, incidentVersion: 'v2', family: 'drift', lastStable: v2 };
    }
    case 'feature_drift': {
      const model = 'fraud-scorer';
      const v1 = version(model, { version: 'v1', upstream: { url: `http://${H1}/v1/models/fraud:predict`, provider: 'kserve' } }, 'stable', SCENARIO_ONSET - 30 * DAY, SCENARIO_ONSET - 30 * DAY);
      const history = [change(model, 1, SCENARIO_ONSET - 30 * DAY, 'config', { v1: 100 })];
      const traces = generateTraces(
        {
          ...base,
          model,
          kind: 'predict',
          weightsAt: weightsFrom(history),
          hosts: { v1: H1 },
          inputChars: (r) => r.uniform(180, 260),
          // A partner starts sending amounts in cents: feature 0 scales up 100×.
          features: (r, req) => [r.lognormal(3, 1) * (req.at >= SCENARIO_ONSET ? 1 + 99 * k : 1), r.normal(0, 1), r.normal(0, 1)],
          prediction: (r) => (r.bernoulli(0.1) ? 'fraud' : 'legit'),
          outcome: (r) => noiseFailure(r, 0.005),
        },
        rng,
      );
      return { traces, versions: [v1], routeHistory: history, incidentVersion: 'v1', family: 'drift', lastStable: v1, kind: 'predict' };
    }
    case 'pipeline_race':
    case 'hash_mismatch': {
      const model = 'support-bot';
      const { v2, v3 } = chatVersions(model);
      const history =
        name === 'pipeline_race'
          ? [
              change(model, 1, SCENARIO_ONSET - 4 * DAY, 'config', { v2: 100 }),
              change(model, 2, SCENARIO_ONSET - 60_000, 'key:ci-canary', { v2: 90, v3: 10 }, 'canary v3'),
              change(model, 3, SCENARIO_ONSET - 30_000, 'key:release-bot', { v3: 100 }, 'promote v3'),
            ]
          : deployV3History(model, SCENARIO_ONSET - 30_000);
      const traces = chatTraffic(history, {
        hosts: { v2: H1, v3: H1 },
        outcome: (r, req) =>
          req.version === 'v3' && r.bernoulli(0.2 * k)
            ? { validators: [{ validator: 'json-schema', passed: false, action: 'flag', message: 'answer is not JSON' }] }
            : noiseFailure(r),
      });
      const validatedHashes = name === 'hash_mismatch' ? { v2: v2.contentHash, v3: '0'.repeat(64) } : { v2: v2.contentHash, v3: v3.contentHash };
      return { traces, versions: [v2, v3], routeHistory: history, incidentVersion: 'v3', family: 'validity', lastStable: v2, validatedHashes };
    }
    case 'noise': {
      const model = 'support-bot';
      const { v1, v2 } = chatVersions(model, 8192);
      const history = [change(model, 1, SCENARIO_ONSET - 3 * DAY, 'key:deploy-bot', { v1: 50, v2: 50 })];
      const classes = ['upstream_5xx', 'timeout', 'malformed_output', 'internal'] as const;
      const traces = chatTraffic(history, {
        hosts: { v1: H1, v2: H2 },
        tags: (r) => ({ region: r.pick(['eu', 'us', 'ap']) }),
        prediction: (r) => (r.bernoulli(0.3) ? 'billing' : 'other'),
        outcome: (r, req) => {
          if (!r.bernoulli(0.02)) return undefined;
          const c = r.pick(classes);
          if (c === 'upstream_5xx' || c === 'timeout') return upstreamFailure(c, req.host);
          return { status: 'error', httpStatus: 500, errorClass: c, errorMessage: `${c} in request ${r.int(1, 1e6)}` };
        },
      });
      const feedback = labelsFor(traces, rng, (t, r) => (r.bernoulli(0.9) ? t.prediction : t.prediction === 'billing' ? 'other' : 'billing'), 0.3);
      return { traces, versions: [v1, v2], routeHistory: history, feedback, incidentVersion: 'v2', family: 'errors', lastStable: v1 };
    }
  }
}

/**
 * A scenario as the RCA service would assemble it. `withOnset: false` leaves the onset to the
 * engine's estimate, as for an external alert; `intensity` (default 1) scales the fault's size.
 */
export function syntheticIncident(name: ScenarioName, seed = 1, options: { withOnset?: boolean; intensity?: number } = {}): RcaInput {
  const b = build(name, seed, options.intensity ?? 1);
  const model = b.traces[0]?.model ?? 'support-bot';
  return {
    incident: {
      model,
      ...(b.incidentVersion ? { version: b.incidentVersion } : {}),
      family: b.family,
      detectedAt: SCENARIO_ONSET + 5 * MIN,
      ...(options.withOnset === false ? {} : { onsetAt: SCENARIO_ONSET }),
    },
    traces: b.traces,
    versions: b.versions,
    routeHistory: b.routeHistory,
    feedback: b.feedback ?? [],
    ...(b.lastStable ? { lastStable: b.lastStable } : {}),
    ...(b.validatedHashes ? { validatedHashes: b.validatedHashes } : {}),
    now: b.now ?? SCENARIO_ONSET + 15 * MIN,
  };
}
