// Prometheus metrics of the data plane. One Registry per server (not prom-client's global one) so
// tests can run several servers in one process. The request path only adds to plain numbers kept
// per model and version (a Map lookup and a few additions); prom-client reads them when /metrics
// is scraped. Updating prom-client's labelled children per request re-hashed the labels on every
// call and cost ~2.5 µs a request, ten times this.
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Trace } from '../../core/types.ts';
import type { AttemptRecord } from './attempt.ts';

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type FeedbackKind = 'positive' | 'negative' | 'label_correct' | 'label_incorrect' | 'score' | 'comment';

/** Observations in fixed buckets: counts[i] holds values ≤ DURATION_BUCKETS[i] and > the bucket before. */
class BucketCounts {
  readonly counts = new Float64Array(DURATION_BUCKETS.length);
  sum = 0;
  count = 0;

  observe(value: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && value > DURATION_BUCKETS[i]) i++;
    if (i < DURATION_BUCKETS.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** Everything counted for one model and version. */
class SeriesCounts {
  readonly status = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly feedback = new Map<string, number>();
  readonly duration = new BucketCounts();
  readonly ttfb = new BucketCounts();
  promptTokens = 0;
  completionTokens = 0;
  retries = 0;

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}
}

const add = (map: Map<string, number>, key: string, n = 1) => map.set(key, (map.get(key) ?? 0) + n);

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A histogram prom-client's Registry serializes like its own, read from BucketCounts at scrape
 * time (prom-client's Histogram has no way to set bucket counts).
 */
class CountsHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => Iterable<SeriesCounts>,
    private readonly pick: (s: SeriesCounts) => BucketCounts,
  ) {}

  async get() {
    const values: Sample[] = [];
    for (const s of this.series()) {
      const h = this.pick(s);
      if (h.count === 0) continue;
      const labels = { model: s.model, version: s.version };
      let cumulative = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += h.counts[i];
        values.push({ labels: { le: DURATION_BUCKETS[i], ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: h.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

export class GatewayMetrics {
  readonly registry: client.Registry;
  /** model → version → counts. */
  private readonly byModel = new Map<string, Map<string, SeriesCounts>>();
  /** `model\u0000source` → fallback answers. */
  private readonly fallbacks = new Map<string, number>();

  constructor(options: { registry?: client.Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new client.Registry();
    const registers = [this.registry];
    if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry, prefix: 'failsafe_process_' });
    const all = () => this.allSeries();
    /** A counter whose values are read from the counts when scraped. */
    const counter = <L extends string>(name: string, help: string, labelNames: L[], read: (inc: (labels: Record<L, string>, n: number) => void) => void) =>
      new client.Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          // Zeros too: a series exists from its version's first request, as Prometheus' rate() wants.
          read((labels, n) => this.inc(labels as client.LabelValues<L>, n));
        },
      });

    counter('failsafe_requests_total', 'Data-plane requests by model, serving version and outcome (ok, error, fallback, blocked).', ['model', 'version', 'status'], (inc) => {
      for (const s of all()) for (const [status, n] of s.status) inc({ model: s.model, version: s.version, status }, n);
    });
    counter('failsafe_request_errors_total', 'Failed upstream attempts by model, version and error class (retried ones included).', ['model', 'version', 'error_class'], (inc) => {
      for (const s of all()) for (const [error_class, n] of s.errors) inc({ model: s.model, version: s.version, error_class }, n);
    });
    this.registry.registerMetric(
      new CountsHistogram('failsafe_request_duration_seconds', 'Time from request to complete answer, as the client saw it.', all, (s) => s.duration) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new CountsHistogram('failsafe_time_to_first_byte_seconds', 'Streaming requests: time to the first forwarded chunk.', all, (s) => s.ttfb) as unknown as client.Metric,
    );
    counter(
      'failsafe_feedback_total',
      'Feedback received by kind (positive, negative, label_correct, label_incorrect, score, comment).',
      ['model', 'version', 'kind'],
      (inc) => {
        for (const s of all()) for (const [kind, n] of s.feedback) inc({ model: s.model, version: s.version, kind }, n);
      },
    );
    counter('failsafe_tokens_total', 'Tokens reported by upstreams (type prompt or completion).', ['model', 'version', 'type'], (inc) => {
      for (const s of all()) {
        inc({ model: s.model, version: s.version, type: 'prompt' }, s.promptTokens);
        inc({ model: s.model, version: s.version, type: 'completion' }, s.completionTokens);
      }
    });
    counter('failsafe_fallbacks_total', 'Requests answered by a fallback, by source (cache, model, static).', ['model', 'source'], (inc) => {
      for (const [key, n] of this.fallbacks) {
        const [model, source] = key.split('\u0000');
        inc({ model, source }, n);
      }
    });
    counter('failsafe_retries_total', 'Requests retried on the stable version, by the version that failed first.', ['model', 'version'], (inc) => {
      for (const s of all()) inc({ model: s.model, version: s.version }, s.retries);
    });
  }

  private *allSeries(): Iterable<SeriesCounts> {
    for (const byVersion of this.byModel.values()) yield* byVersion.values();
  }

  private series(model: string, version: string): SeriesCounts {
    let byVersion = this.byModel.get(model);
    if (!byVersion) this.byModel.set(model, (byVersion = new Map()));
    let s = byVersion.get(version);
    if (!s) byVersion.set(version, (s = new SeriesCounts(model, version)));
    return s;
  }

  /**
   * One request as the client saw it (status, duration, tokens, fallback) and each upstream
   * attempt it made: a failed attempt counts as an error of its version, and as a retry when
   * another attempt followed it.
   */
  observe(trace: Trace, attempts: ReadonlyArray<AttemptRecord>): void {
    const model = trace.model;
    const version = trace.version ?? '';
    const s = this.series(model, version);
    add(s.status, trace.status);
    s.duration.observe(trace.latencyMs / 1000);
    if (trace.ttfbMs !== undefined) s.ttfb.observe(trace.ttfbMs / 1000);
    if (trace.promptTokens) s.promptTokens += trace.promptTokens;
    if (trace.completionTokens) s.completionTokens += trace.completionTokens;
    if (trace.fallback) add(this.fallbacks, `${model}\u0000${trace.fallback}`);
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i];
      if (a.ok || !a.errorClass) continue;
      const as = a.version === version ? s : this.series(model, a.version);
      add(as.errors, a.errorClass);
      if (i < attempts.length - 1) as.retries++;
    }
  }

  observeFeedback(model: string, version: string | undefined, kind: FeedbackKind): void {
    add(this.series(model, version ?? '').feedback, kind);
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
