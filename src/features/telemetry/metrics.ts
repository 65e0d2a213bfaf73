// Prometheus metrics of the data plane. One Registry per server (not prom-client's global one) so
// tests can run several servers in one process. Labelled children are cached per model+version:
// recording a request is a few Map lookups and additions (about 1.5 µs measured).
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Trace } from '../../core/types.ts';
import type { AttemptRecord } from './attempt.ts';

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type CounterChild = { inc(value?: number): void };
type HistogramChild = { observe(value: number): void };

interface VersionChildren {
  status: Map<string, CounterChild>;
  errors: Map<string, CounterChild>;
  duration: HistogramChild;
  ttfb?: HistogramChild;
  promptTokens: CounterChild;
  completionTokens: CounterChild;
  retries: CounterChild;
  feedback: Map<string, CounterChild>;
}

export type FeedbackKind = 'positive' | 'negative' | 'label_correct' | 'label_incorrect' | 'score' | 'comment';

export class GatewayMetrics {
  readonly registry: client.Registry;
  private readonly requests: client.Counter<'model' | 'version' | 'status'>;
  private readonly errors: client.Counter<'model' | 'version' | 'error_class'>;
  private readonly duration: client.Histogram<'model' | 'version'>;
  private readonly ttfb: client.Histogram<'model' | 'version'>;
  private readonly feedback: client.Counter<'model' | 'version' | 'kind'>;
  private readonly tokens: client.Counter<'model' | 'version' | 'type'>;
  private readonly fallbacks: client.Counter<'model' | 'source'>;
  private readonly retries: client.Counter<'model' | 'version'>;
  private readonly children = new Map<string, Map<string, VersionChildren>>();
  private readonly fallbackChildren = new Map<string, CounterChild>();

  constructor(options: { registry?: client.Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new client.Registry();
    const registers = [this.registry];
    if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry, prefix: 'failsafe_process_' });
    this.requests = new client.Counter({
      name: 'failsafe_requests_total',
      help: 'Data-plane requests by model, serving version and outcome (ok, error, fallback, blocked).',
      labelNames: ['model', 'version', 'status'],
      registers,
    });
    this.errors = new client.Counter({
      name: 'failsafe_request_errors_total',
      help: 'Failed upstream attempts by model, version and error class (retried ones included).',
      labelNames: ['model', 'version', 'error_class'],
      registers,
    });
    this.duration = new client.Histogram({
      name: 'failsafe_request_duration_seconds',
      help: 'Time from request to complete answer, as the client saw it.',
      labelNames: ['model', 'version'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ttfb = new client.Histogram({
      name: 'failsafe_time_to_first_byte_seconds',
      help: 'Streaming requests: time to the first forwarded chunk.',
      labelNames: ['model', 'version'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.feedback = new client.Counter({
      name: 'failsafe_feedback_total',
      help: 'Feedback received by kind (positive, negative, label_correct, label_incorrect, score, comment).',
      labelNames: ['model', 'version', 'kind'],
      registers,
    });
    this.tokens = new client.Counter({
      name: 'failsafe_tokens_total',
      help: 'Tokens reported by upstreams (type prompt or completion).',
      labelNames: ['model', 'version', 'type'],
      registers,
    });
    this.fallbacks = new client.Counter({
      name: 'failsafe_fallbacks_total',
      help: 'Requests answered by a fallback, by source (cache, model, static).',
      labelNames: ['model', 'source'],
      registers,
    });
    this.retries = new client.Counter({
      name: 'failsafe_retries_total',
      help: 'Requests retried on the stable version, by the version that failed first.',
      labelNames: ['model', 'version'],
      registers,
    });
  }

  private versionChildren(model: string, version: string): VersionChildren {
    let byVersion = this.children.get(model);
    if (!byVersion) this.children.set(model, (byVersion = new Map()));
    let c = byVersion.get(version);
    if (!c) {
      c = {
        status: new Map(),
        errors: new Map(),
        duration: this.duration.labels(model, version),
        promptTokens: this.tokens.labels(model, version, 'prompt'),
        completionTokens: this.tokens.labels(model, version, 'completion'),
        retries: this.retries.labels(model, version),
        feedback: new Map(),
      };
      byVersion.set(version, c);
    }
    return c;
  }

  private cached(map: Map<string, CounterChild>, key: string, make: () => CounterChild): CounterChild {
    let child = map.get(key);
    if (!child) map.set(key, (child = make()));
    return child;
  }

  /**
   * One request as the client saw it (status, duration, tokens, fallback) and each upstream
   * attempt it made: a failed attempt counts as an error of its version, and as a retry when
   * another attempt followed it.
   */
  observe(trace: Trace, attempts: ReadonlyArray<AttemptRecord>): void {
    const model = trace.model;
    const version = trace.version ?? '';
    const c = this.versionChildren(model, version);
    this.cached(c.status, trace.status, () => this.requests.labels(model, version, trace.status)).inc();
    c.duration.observe(trace.latencyMs / 1000);
    if (trace.ttfbMs !== undefined) (c.ttfb ??= this.ttfb.labels(model, version)).observe(trace.ttfbMs / 1000);
    if (trace.promptTokens) c.promptTokens.inc(trace.promptTokens);
    if (trace.completionTokens) c.completionTokens.inc(trace.completionTokens);
    if (trace.fallback) {
      const source = trace.fallback;
      this.cached(this.fallbackChildren, `${model}\u0000${source}`, () => this.fallbacks.labels(model, source)).inc();
    }
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i];
      if (a.ok || !a.errorClass) continue;
      const ac = a.version === version ? c : this.versionChildren(model, a.version);
      const ec = a.errorClass;
      this.cached(ac.errors, ec, () => this.errors.labels(model, a.version, ec)).inc();
      if (i < attempts.length - 1) ac.retries.inc();
    }
  }

  observeFeedback(model: string, version: string | undefined, kind: FeedbackKind): void {
    const v = version ?? '';
    const c = this.versionChildren(model, v);
    this.cached(c.feedback, kind, () => this.feedback.labels(model, v, kind)).inc();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await metrics.text();
    return reply.header('content-type', metrics.contentType).send(body);
  });
}
