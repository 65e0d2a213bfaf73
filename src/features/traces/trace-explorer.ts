// Trace explorer: search recorded requests by model, version, time, outcome, error class, failed
// validator and user feedback, and show one request with everything recorded about it.
//
// The trace store filters by the indexed columns (model, version, time, status, error class).
// Validator results live inside a trace and feedback lives in its own store, so those two filters
// are applied here, over a bounded scan, newest first: an answer says how many traces it looked
// at and whether it stopped early (`truncated`), rather than scanning a month of traffic for one
// request or pretending the page is complete.
import { FailsafeError } from '../../core/errors.ts';
import type { EpochMs, Feedback, Trace, TraceStatus } from '../../core/types.ts';
import type { Stores } from '../stores.ts';
import type { TraceQuery } from '../telemetry/trace-store.ts';

export const traceStatuses: readonly TraceStatus[] = ['ok', 'error', 'fallback', 'blocked'];

export type FeedbackFilter = 'positive' | 'negative' | 'any';

export interface TraceSearch {
  model?: string;
  version?: string;
  /** startedAt >= from. */
  from?: EpochMs;
  /** startedAt < to. */
  to?: EpochMs;
  status?: TraceStatus;
  errorClass?: string;
  /** Traces where this validator failed (`*`: any validator failed). */
  validator?: string;
  /** Traces with a positive rating (or score > 0), a negative one (or score < 0), or any feedback. */
  feedback?: FeedbackFilter;
  client?: string;
  /** Include shadow traces (default false). */
  shadow?: boolean;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** What feedback a trace got, in short. */
export interface FeedbackSummary {
  count: number;
  positive: number;
  negative: number;
  labels: string[];
  scores: number[];
}

export interface TraceHit {
  trace: Trace;
  feedback?: FeedbackSummary;
}

export interface TraceSearchResult {
  traces: TraceHit[];
  /** Traces read from the store to answer (more than returned when post-filters apply). */
  scanned: number;
  /** True when the scan budget ran out before `limit` matches: older matches may exist. */
  truncated: boolean;
}

export interface TraceDetail {
  trace: Trace;
  feedback: Feedback[];
}

export interface TraceExplorerOptions {
  stores: Pick<Stores, 'traces' | 'feedback'>;
  /** Most traces one search reads when validator/feedback filters apply (default 20,000). */
  scanBudget?: number;
  /** Trace page size of that scan (default 1,000). */
  pageSize?: number;
  /** Up to this many feedback-matching requests are read by id instead of scanned (default 2,000). */
  maxById?: number;
}

export const MAX_TRACE_LIMIT = 1000;

/** Positive: rating 1 or score > 0; negative: rating -1 or score < 0. A label alone is neither. */
export const isPositiveFeedback = (f: Feedback): boolean => f.rating === 1 || (f.rating === undefined && f.score !== undefined && f.score > 0);
export const isNegativeFeedback = (f: Feedback): boolean => f.rating === -1 || (f.rating === undefined && f.score !== undefined && f.score < 0);

export function summarizeFeedback(list: readonly Feedback[]): FeedbackSummary {
  return {
    count: list.length,
    positive: list.filter(isPositiveFeedback).length,
    negative: list.filter(isNegativeFeedback).length,
    labels: list.flatMap((f) => (f.label !== undefined ? [f.label] : [])),
    scores: list.flatMap((f) => (f.score !== undefined ? [f.score] : [])),
  };
}

export function matchesFeedback(list: readonly Feedback[] | undefined, filter: FeedbackFilter): boolean {
  if (!list || list.length === 0) return false;
  if (filter === 'any') return true;
  return list.some(filter === 'positive' ? isPositiveFeedback : isNegativeFeedback);
}

export function failedValidatorMatches(trace: Trace, validator: string): boolean {
  return trace.validators?.some((v) => !v.passed && (validator === '*' || v.validator === validator)) ?? false;
}

const byNewest = (a: Trace, b: Trace): number => b.startedAt - a.startedAt || (a.requestId < b.requestId ? 1 : a.requestId > b.requestId ? -1 : 0);

export class TraceExplorer {
  private readonly stores: Pick<Stores, 'traces' | 'feedback'>;
  private readonly scanBudget: number;
  private readonly pageSize: number;
  private readonly maxById: number;

  constructor(options: TraceExplorerOptions) {
    this.stores = options.stores;
    this.scanBudget = options.scanBudget ?? 20_000;
    this.pageSize = options.pageSize ?? 1_000;
    this.maxById = options.maxById ?? 2_000;
  }

  async get(requestId: string): Promise<TraceDetail> {
    const trace = await this.stores.traces.get(requestId);
    if (!trace) throw new FailsafeError('REQUEST_NOT_FOUND', `no recorded trace for request "${requestId}" (traces are written in batches; a request answered a moment ago may not be stored yet)`);
    const feedback = await this.stores.feedback.forRequest(requestId);
    return { trace, feedback };
  }

  async search(s: TraceSearch): Promise<TraceSearchResult> {
    const limit = Math.min(Math.max(Math.floor(s.limit ?? 100), 1), MAX_TRACE_LIMIT);
    if (s.from !== undefined && s.to !== undefined && s.from >= s.to) {
      throw new FailsafeError('VALIDATION_FAILED', `from must be before to (from ${new Date(s.from).toISOString()}, to ${new Date(s.to).toISOString()})`);
    }
    const base: TraceQuery = {
      ...(s.model !== undefined ? { model: s.model } : {}),
      ...(s.version !== undefined ? { version: s.version } : {}),
      ...(s.from !== undefined ? { from: s.from } : {}),
      ...(s.to !== undefined ? { to: s.to } : {}),
      ...(s.status !== undefined ? { status: s.status } : {}),
      ...(s.errorClass !== undefined ? { errorClass: s.errorClass } : {}),
      ...(s.shadow ? { shadow: true } : {}),
      order: 'desc',
    };
    const postFilter = s.validator !== undefined || s.feedback !== undefined || s.client !== undefined;
    if (!postFilter) {
      const traces = await this.stores.traces.query({ ...base, limit });
      return { traces: await this.withFeedback(traces, s.model), scanned: traces.length, truncated: false };
    }

    // Feedback filter: the requests that got such feedback, known up front.
    let feedbackById: Map<string, Feedback[]> | undefined;
    if (s.feedback !== undefined) {
      feedbackById = await this.feedbackIndex(s.model, s.version, s.from, s.to);
      const wanted = [...feedbackById.entries()].filter(([, list]) => matchesFeedback(list, s.feedback!)).map(([id]) => id);
      if (wanted.length === 0) return { traces: [], scanned: 0, truncated: false };
      // Few candidates: read them by id, which is exact whatever their age.
      if (wanted.length <= this.maxById) {
        const found = (await Promise.all(wanted.map((id) => this.stores.traces.get(id)))).filter((t): t is Trace => t !== undefined);
        const hits = found.filter((t) => this.matches(t, s, base, feedbackById)).sort(byNewest).slice(0, limit);
        return { traces: hits.map((trace) => ({ trace, feedback: summarizeFeedback(feedbackById!.get(trace.requestId) ?? []) })), scanned: found.length, truncated: false };
      }
    }

    const hits: Trace[] = [];
    const seen = new Set<string>();
    let scanned = 0;
    let to = s.to;
    let exhausted = false;
    let pages = 0;
    // Each page either brings new traces or moves `to` back by at least 1 ms; this bounds both.
    const maxPages = 2 * Math.ceil(this.scanBudget / this.pageSize) + 2;
    while (hits.length < limit && scanned < this.scanBudget) {
      const pageLimit = Math.min(this.pageSize, this.scanBudget - scanned);
      const page = await this.stores.traces.query({ ...base, ...(to !== undefined ? { to } : {}), limit: pageLimit });
      let fresh = 0;
      for (const t of page) {
        if (seen.has(t.requestId)) continue;
        seen.add(t.requestId);
        fresh++;
        scanned++;
        if (this.matches(t, s, base, feedbackById) && hits.length < limit) hits.push(t);
      }
      if (page.length < pageLimit) {
        exhausted = true;
        break;
      }
      // Next page: up to and including the oldest time seen (ties at that millisecond are
      // de-duplicated by id); when a whole page shares one millisecond, step past it.
      const oldest = page[page.length - 1]!.startedAt;
      to = fresh === 0 || page[0]!.startedAt === oldest ? oldest : oldest + 1;
      if (++pages > maxPages) break;
    }
    const traces = feedbackById
      ? hits.map((trace) => ({ trace, feedback: summarizeFeedback(feedbackById!.get(trace.requestId) ?? []) }))
      : await this.withFeedback(hits, s.model);
    return { traces, scanned, truncated: !exhausted && hits.length < limit };
  }

  private matches(t: Trace, s: TraceSearch, base: TraceQuery, feedbackById?: Map<string, Feedback[]>): boolean {
    if (base.model !== undefined && t.model !== base.model) return false;
    if (base.version !== undefined && t.version !== base.version) return false;
    if (base.from !== undefined && t.startedAt < base.from) return false;
    if (base.to !== undefined && t.startedAt >= base.to) return false;
    if (base.status !== undefined && t.status !== base.status) return false;
    if (base.errorClass !== undefined && t.errorClass !== base.errorClass) return false;
    if (!s.shadow && t.shadow) return false;
    if (s.client !== undefined && t.client !== s.client) return false;
    if (s.validator !== undefined && !failedValidatorMatches(t, s.validator)) return false;
    if (s.feedback !== undefined && !matchesFeedback(feedbackById?.get(t.requestId), s.feedback)) return false;
    return true;
  }

  /** Feedback by request id for requests in [from, to) (a late label counts at its request's time). */
  private async feedbackIndex(model?: string, version?: string, from?: EpochMs, to?: EpochMs): Promise<Map<string, Feedback[]>> {
    const list = await this.stores.feedback.query({
      ...(model !== undefined ? { model } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      limit: 200_000,
    });
    const out = new Map<string, Feedback[]>();
    for (const f of list) {
      const l = out.get(f.requestId);
      if (l) l.push(f);
      else out.set(f.requestId, [f]);
    }
    return out;
  }

  /** The feedback of a page of traces, read in one query over the page's time range. */
  private async withFeedback(traces: Trace[], model?: string): Promise<TraceHit[]> {
    if (traces.length === 0) return [];
    let min = Infinity;
    let max = -Infinity;
    for (const t of traces) {
      min = Math.min(min, t.startedAt);
      max = Math.max(max, t.startedAt);
    }
    const index = await this.feedbackIndex(model, undefined, min, max + 1);
    return traces.map((trace) => {
      const list = index.get(trace.requestId);
      return list ? { trace, feedback: summarizeFeedback(list) } : { trace };
    });
  }
}
