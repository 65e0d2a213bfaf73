// Staging validation: replay a golden set against one version's upstream, directly (never through
// live routes, so a candidate is judged before it takes traffic and live traffic is not touched),
// and decide with explicit gates: pass rate and p95 latency. A failing upstream never throws:
// every case it fails counts as a failed case and the report says why.
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { systemClock, type Clock, type EpochMs, type ModelKind, type ModelVersion, type ValidatorResult } from '../../core/types.ts';
import type { ValidatorConfig } from '../validators/validator-config.ts';
import { createValidatorEngine, type ValidatorEngine } from '../validators/validator-engine.ts';
import { judgeCase } from './golden-match.ts';
import { loadGoldenSet, type GoldenCase, type GoldenSet } from './golden-set.ts';
import {
  DEFAULT_LATENCY_BUDGET_MS,
  DEFAULT_MIN_PASS_RATE,
  DEFAULT_STAGING_CONCURRENCY,
  DEFAULT_STAGING_TIMEOUT_MS,
} from './staging-config.ts';

/** What is replayed: a registered version, or just its spec (a candidate not yet registered). */
export type StagedVersion = Pick<ModelVersion, 'version' | 'upstream' | 'prompt' | 'params'> & {
  model?: string;
  contentHash?: string;
};

export interface StagingGates {
  /** Share of cases that must pass, 0..1 (default 0.95). */
  minPassRate?: number;
  /** p95 latency budget in ms (default 2000). */
  latencyBudgetMs?: number;
  /** Output validators run on every answer; a block/fallback failure fails the case, a flag is counted. */
  validators?: ValidatorEngine | readonly ValidatorConfig[];
}

/** Progress for a CLI bar: called once with (0, total) and after every case. */
export type StagingProgress = (done: number, total: number) => void;

export interface ValidateVersionOptions {
  version: StagedVersion;
  kind: ModelKind;
  /** A loaded golden set, or the path of its JSONL file (loading errors throw, naming file and line). */
  golden: GoldenSet | string;
  gates?: StagingGates;
  /** Cases in flight at once (default 4). */
  concurrency?: number;
  /** Per-case timeout in ms (default: the upstream's timeoutMs, else 10 s). */
  timeoutMs?: number;
  onProgress?: StagingProgress;
  clock?: Clock;
  /** Stops the replay early; unfinished cases count as failed ("aborted"). */
  signal?: AbortSignal;
  /** An undici dispatcher to use instead of a private keep-alive pool. */
  dispatcher?: Dispatcher;
}

export interface GateResult {
  /** The measured value; null when there was nothing to measure (no answer came back). */
  value: number | null;
  threshold: number;
  passed: boolean;
}

export interface StagingFailure {
  line: number;
  id: string;
  reason: string;
  /** What came back (chat: the assistant text; predict: the first prediction), clipped. */
  got?: unknown;
  expected?: unknown;
  /** `mismatch`, `validator`, `http_4xx`, `http_5xx`, `timeout`, `connection`, `malformed`, `aborted`. */
  errorClass: string;
  latencyMs?: number;
}

export interface StagingReport {
  model?: string;
  version: string;
  versionContentHash?: string;
  kind: ModelKind;
  golden: { path: string; cases: number };
  passed: boolean;
  /** Passed cases / total, 0..1. */
  passRate: number;
  total: number;
  passedCases: number;
  failedCases: number;
  failures: StagingFailure[];
  latency: { p50: number | null; p95: number | null; max: number | null; samples: number };
  gates: { passRate: GateResult; latencyP95: GateResult };
  /** Failed validator results by validator name (flags included). */
  validatorFailures: Record<string, number>;
  /** Failed cases by error class. */
  errors: Record<string, number>;
  /** One line for CLIs, audit entries and rollback answers. */
  summary: string;
  startedAt: EpochMs;
  finishedAt: EpochMs;
  durationMs: number;
}

interface CaseOutcome {
  passed: boolean;
  failure?: StagingFailure;
  latencyMs?: number;
  validatorResults?: ValidatorResult[];
}

const CLIP = 500;
const clipValue = (v: unknown): unknown => (typeof v === 'string' && v.length > CLIP ? `${v.slice(0, CLIP - 3)}...` : v);

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function chatMessages(input: unknown): { messages: unknown[]; extra: Record<string, unknown> } {
  if (typeof input === 'string') return { messages: [{ role: 'user', content: input }], extra: {} };
  if (Array.isArray(input)) return { messages: input, extra: {} };
  if (input && typeof input === 'object' && Array.isArray((input as { messages?: unknown }).messages)) {
    const { messages, ...extra } = input as { messages: unknown[] } & Record<string, unknown>;
    return { messages, extra };
  }
  return { messages: [{ role: 'user', content: JSON.stringify(input) }], extra: {} };
}

function requestFor(v: StagedVersion, kind: ModelKind, input: unknown): { url: string; body: unknown } {
  if (kind === 'predict') return { url: v.upstream.url, body: { instances: [input] } };
  const { messages, extra } = chatMessages(input);
  const all = v.prompt ? [{ role: 'system', content: v.prompt }, ...messages] : messages;
  const body: Record<string, unknown> = { ...(v.params ?? {}), ...extra, messages: all, stream: false };
  if (v.upstream.model) body.model = v.upstream.model;
  delete body.stream_options;
  return { url: `${v.upstream.url.replace(/\/+$/, '')}/chat/completions`, body };
}

function errorClassOf(e: unknown): { errorClass: string; reason: string } {
  const err = e as Error & { code?: string; cause?: Error & { code?: string } };
  const code = err?.code ?? err?.cause?.code;
  if (err?.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { errorClass: 'timeout', reason: 'timeout' };
  }
  if (err?.name === 'AbortError') return { errorClass: 'aborted', reason: 'aborted' };
  const detail = code ? `${code}${err?.message && !err.message.includes(code) ? ` (${err.message})` : ''}` : (err?.message ?? String(e));
  return { errorClass: 'connection', reason: `connection error: ${detail}` };
}

/** The answer of an upstream body: chat → assistant text; predict → first prediction. */
function extractAnswer(kind: ModelKind, body: unknown): { ok: true; got: unknown; outputText: string } | { ok: false; reason: string } {
  if (body === null || typeof body !== 'object') return { ok: false, reason: 'answer is not a JSON object' };
  if (kind === 'predict') {
    const preds = (body as { predictions?: unknown }).predictions;
    if (!Array.isArray(preds)) return { ok: false, reason: 'answer has no "predictions" list' };
    if (preds.length === 0) return { ok: false, reason: 'answer has no prediction' };
    return { ok: true, got: preds[0], outputText: JSON.stringify(preds) };
  }
  const choice = (body as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0];
  if (!choice?.message) return { ok: false, reason: 'answer has no choices[0].message' };
  const content = choice.message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') return { ok: false, reason: 'message content is not text' };
  const text = (content as string | null | undefined) ?? '';
  return { ok: true, got: text, outputText: text };
}

function shortBody(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string };
    const m = typeof j.error === 'string' ? j.error : j.error?.message;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    // not JSON: use the raw text
  }
  return text.slice(0, 200);
}

export async function validateVersion(o: ValidateVersionOptions): Promise<StagingReport> {
  const clock = o.clock ?? systemClock;
  const startedAt = clock.now();
  const t0 = performance.now();
  const golden = typeof o.golden === 'string' ? loadGoldenSet(o.golden, o.kind) : o.golden;
  const minPassRate = o.gates?.minPassRate ?? DEFAULT_MIN_PASS_RATE;
  const latencyBudgetMs = o.gates?.latencyBudgetMs ?? DEFAULT_LATENCY_BUDGET_MS;
  const gv = o.gates?.validators;
  const engine: ValidatorEngine | undefined =
    gv === undefined ? undefined : 'validate' in gv ? (gv as ValidatorEngine) : (gv as ValidatorConfig[]).length ? createValidatorEngine(gv as ValidatorConfig[]) : undefined;
  const timeoutMs = o.timeoutMs ?? o.version.upstream.timeoutMs ?? DEFAULT_STAGING_TIMEOUT_MS;
  const concurrency = Math.max(1, Math.min(o.concurrency ?? DEFAULT_STAGING_CONCURRENCY, golden.cases.length));
  const ownAgent = o.dispatcher ? undefined : new Agent({ connections: concurrency, keepAliveTimeout: 10_000, connect: { timeout: Math.min(timeoutMs, 5_000) } });
  const dispatcher = o.dispatcher ?? ownAgent!;
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...(o.version.upstream.headers ?? {}) };

  async function runCase(c: GoldenCase): Promise<CaseOutcome> {
    const base = { line: c.line, id: c.id, expected: c.match === 'label' ? c.label : c.match === 'json_schema' ? c.schema : c.expected };
    if (o.signal?.aborted) return { passed: false, failure: { ...base, reason: 'aborted', errorClass: 'aborted' } };
    const { url, body } = requestFor(o.version, o.kind, c.input);
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      const latencyMs = performance.now() - started;
      const { errorClass, reason } = errorClassOf(e);
      const r = errorClass === 'timeout' ? `timeout after ${timeoutMs} ms` : reason;
      // A timeout is a (very) slow answer: it counts against the latency gate too.
      return { passed: false, latencyMs: errorClass === 'timeout' ? latencyMs : undefined, failure: { ...base, reason: r, errorClass, latencyMs } };
    }
    const latencyMs = performance.now() - started;
    if (status < 200 || status >= 300) {
      const errorClass = status >= 500 ? 'http_5xx' : 'http_4xx';
      return { passed: false, latencyMs, failure: { ...base, reason: `upstream status ${status}: ${shortBody(text)}`, errorClass, latencyMs } };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { passed: false, latencyMs, failure: { ...base, reason: 'malformed answer: body is not valid JSON', got: clipValue(text), errorClass: 'malformed', latencyMs } };
    }
    const answer = extractAnswer(o.kind, parsed);
    if (!answer.ok) return { passed: false, latencyMs, failure: { ...base, reason: `malformed answer: ${answer.reason}`, errorClass: 'malformed', latencyMs } };

    let validatorResults: ValidatorResult[] | undefined;
    if (engine) {
      validatorResults = await engine.validate(answer.outputText, { model: o.version.model, version: o.version.version, input: c.input });
      const decision = engine.decide(validatorResults);
      if (decision === 'block' || decision === 'fallback') {
        const bad = validatorResults.find((r) => !r.passed && r.action === decision)!;
        return {
          passed: false,
          latencyMs,
          validatorResults,
          failure: { ...base, reason: `validator ${bad.validator} (${decision}): ${bad.message ?? 'failed'}`, got: clipValue(answer.got), errorClass: 'validator', latencyMs },
        };
      }
    }
    const verdict = judgeCase(c, answer.got);
    if (!verdict.passed) {
      return { passed: false, latencyMs, validatorResults, failure: { ...base, reason: verdict.reason!, got: clipValue(answer.got), errorClass: 'mismatch', latencyMs } };
    }
    return { passed: true, latencyMs, validatorResults };
  }

  const total = golden.cases.length;
  const outcomes = new Array<CaseOutcome>(total);
  let next = 0;
  let done = 0;
  o.onProgress?.(0, total);
  async function worker() {
    while (next < total) {
      const i = next++;
      outcomes[i] = await runCase(golden.cases[i]);
      done++;
      try {
        o.onProgress?.(done, total);
      } catch {
        // A broken progress bar must not fail the validation.
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await ownAgent?.destroy().catch(() => undefined);
  }

  const latencies: number[] = [];
  const failures: StagingFailure[] = [];
  const validatorFailures: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let passedCases = 0;
  for (const out of outcomes) {
    if (out.latencyMs !== undefined) latencies.push(Math.round(out.latencyMs * 100) / 100);
    for (const r of out.validatorResults ?? []) if (!r.passed) validatorFailures[r.validator] = (validatorFailures[r.validator] ?? 0) + 1;
    if (out.passed) passedCases++;
    else if (out.failure) {
      failures.push(out.failure);
      errors[out.failure.errorClass] = (errors[out.failure.errorClass] ?? 0) + 1;
    }
  }
  latencies.sort((a, b) => a - b);
  const p95 = quantile(latencies, 0.95);
  const passRate = total ? passedCases / total : 0;
  const gates = {
    passRate: { value: passRate, threshold: minPassRate, passed: passRate >= minPassRate },
    latencyP95: { value: p95, threshold: latencyBudgetMs, passed: p95 !== null && p95 <= latencyBudgetMs },
  };
  const passed = gates.passRate.passed && gates.latencyP95.passed;
  const finishedAt = clock.now();

  const pct = (x: number) => `${(Math.round(x * 1000) / 10).toString()}%`;
  const parts = [`${passedCases}/${total} passed (${pct(passRate)}, gate ${pct(minPassRate)})`];
  parts.push(p95 === null ? 'no latency measured' : `p95 ${Math.round(p95)} ms (budget ${latencyBudgetMs} ms)`);
  const errorText = Object.entries(errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  if (errorText) parts.push(`failures: ${errorText}`);
  const firstFailure = failures[0];
  if (firstFailure && (!passed || failures.length)) parts.push(`e.g. ${firstFailure.id}: ${firstFailure.reason}`);
  const versionLabel = `${o.version.model ? `${o.version.model}@` : ''}${o.version.version}`;
  const summary = `${versionLabel} ${passed ? 'passed' : 'FAILED'} staging: ${parts.join('; ')}`;

  return {
    model: o.version.model,
    version: o.version.version,
    versionContentHash: o.version.contentHash,
    kind: o.kind,
    golden: { path: golden.path, cases: total },
    passed,
    passRate,
    total,
    passedCases,
    failedCases: total - passedCases,
    failures,
    latency: { p50: quantile(latencies, 0.5), p95, max: latencies.length ? latencies[latencies.length - 1] : null, samples: latencies.length },
    gates,
    validatorFailures,
    errors,
    summary,
    startedAt,
    finishedAt,
    durationMs: Math.round(performance.now() - t0),
  };
}
