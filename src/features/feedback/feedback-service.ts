// Feedback (ratings, scores, ground-truth labels) attached to a request by id, possibly hours later.
// The request is found first among those the gateway answered recently (kept in memory, so feedback
// sent right after an answer is accepted before its trace is written), then in the trace store.
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import type { Clock, EpochMs, Feedback } from '../../core/types.ts';
import type { Stores } from '../stores.ts';

/** What feedback needs to know about the request it is about. */
export interface RecentRequest {
  model: string;
  version?: string;
  startedAt: EpochMs;
}

/** Looks up a request the gateway answered recently; injected by the composition root. */
export type RecentRequests = (requestId: string) => RecentRequest | undefined;

export interface FeedbackInput {
  requestId: string;
  rating?: 1 | -1;
  score?: number;
  label?: string;
  comment?: string;
}

export interface FeedbackQuery {
  requestId?: string;
  model?: string;
  version?: string;
  from?: EpochMs;
  to?: EpochMs;
  limit?: number;
}

export interface FeedbackServiceOptions {
  stores: Stores;
  clock: Clock;
  bus: EventBus;
  recentRequests?: RecentRequests;
  /** Called with every stored feedback (the gateway's metric windows count it). */
  onFeedback?: (feedback: Feedback) => void;
  onError?: (err: unknown) => void;
}

export class FeedbackService {
  private readonly stores: Stores;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private recentRequests?: RecentRequests;
  private onFeedback?: (feedback: Feedback) => void;
  private readonly onError: (err: unknown) => void;

  constructor(options: FeedbackServiceOptions) {
    this.stores = options.stores;
    this.clock = options.clock;
    this.bus = options.bus;
    this.recentRequests = options.recentRequests;
    this.onFeedback = options.onFeedback;
    this.onError = options.onError ?? (() => {});
  }

  /** Late wiring, for when the gateway is built after this service. */
  wire(hooks: { recentRequests?: RecentRequests; onFeedback?: (feedback: Feedback) => void }): void {
    if (hooks.recentRequests) this.recentRequests = hooks.recentRequests;
    if (hooks.onFeedback) this.onFeedback = hooks.onFeedback;
  }

  private async findRequest(requestId: string): Promise<RecentRequest | undefined> {
    const recent = this.recentRequests?.(requestId);
    if (recent) return recent;
    const trace = await this.stores.traces.get(requestId);
    if (!trace || trace.shadow) return undefined;
    return { model: trace.model, version: trace.version, startedAt: trace.startedAt };
  }

  async submit(input: FeedbackInput): Promise<Feedback> {
    validate(input);
    const request = await this.findRequest(input.requestId);
    if (!request) {
      throw new FailsafeError('REQUEST_NOT_FOUND', `no request with id "${input.requestId}" was answered by this gateway`);
    }
    const feedback = await this.stores.feedback.insert({
      requestId: input.requestId,
      model: request.model,
      version: request.version,
      requestAt: request.startedAt,
      receivedAt: this.clock.now(),
      rating: input.rating,
      score: input.score,
      label: input.label,
      comment: input.comment,
    });
    this.bus.emit('feedback.received', { requestId: feedback.requestId, model: feedback.model, version: feedback.version });
    try {
      this.onFeedback?.(feedback);
    } catch (err) {
      this.onError(err);
    }
    return feedback;
  }

  async forRequest(requestId: string): Promise<Feedback[]> {
    return this.stores.feedback.forRequest(requestId);
  }

  async query(q: FeedbackQuery): Promise<Feedback[]> {
    if (q.requestId) return this.forRequest(q.requestId);
    return this.stores.feedback.query({
      model: q.model,
      version: q.version,
      from: q.from,
      to: q.to,
      limit: Math.min(Math.max(q.limit ?? 100, 1), 1000),
    });
  }
}

function validate(input: FeedbackInput): void {
  const bad = (message: string) => new FailsafeError('VALIDATION_FAILED', message);
  if (typeof input.requestId !== 'string' || input.requestId.length === 0 || input.requestId.length > 200) {
    throw bad('requestId: expected the x-request-id of an answered request');
  }
  if (input.rating === undefined && input.score === undefined && input.label === undefined) {
    throw bad('give at least one of rating (1 or -1), score or label');
  }
  if (input.rating !== undefined && input.rating !== 1 && input.rating !== -1) throw bad('rating: expected 1 or -1');
  if (input.score !== undefined && (typeof input.score !== 'number' || !Number.isFinite(input.score))) throw bad('score: expected a finite number');
  if (input.label !== undefined && (typeof input.label !== 'string' || input.label.length === 0 || input.label.length > 1000)) {
    throw bad('label: expected a string of 1-1000 characters');
  }
  if (input.comment !== undefined && (typeof input.comment !== 'string' || input.comment.length > 10_000)) {
    throw bad('comment: expected a string of at most 10000 characters');
  }
}

export const createFeedbackService = (options: FeedbackServiceOptions): FeedbackService => new FeedbackService(options);
