// A small typed in-process event bus. Features publish what happened; others react
// (runbook steps complete themselves, notifications go out) without importing each other.
import type { Finding, Incident, RouteChange, TimelineEvent } from './types.ts';

export interface DomainEvents {
  'route.changed': { change: RouteChange };
  'version.state': { model: string; version: string; from: string; to: string; actor: string; reason?: string };
  'finding': { finding: Finding };
  'incident.opened': { incident: Incident };
  'incident.updated': { incident: Incident; change: string };
  'incident.timeline': { event: TimelineEvent };
  'feedback.received': { requestId: string; model: string; version?: string };
}

export type EventName = keyof DomainEvents;
type Handler<K extends EventName> = (payload: DomainEvents[K]) => void | Promise<void>;

export class EventBus {
  private readonly handlers = new Map<EventName, Set<Handler<any>>>();
  private readonly onError: (err: unknown, event: EventName) => void;

  constructor(onError: (err: unknown, event: EventName) => void = () => {}) {
    this.onError = onError;
  }

  on<K extends EventName>(event: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => set!.delete(handler);
  }

  /** Handlers run after the publisher's work; one failing handler never breaks the publisher. */
  emit<K extends EventName>(event: K, payload: DomainEvents[K]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const handler of set) {
      try {
        const result = handler(payload);
        if (result && typeof (result as Promise<void>).catch === 'function') {
          (result as Promise<void>).catch((err) => this.onError(err, event));
        }
      } catch (err) {
        this.onError(err, event);
      }
    }
  }
}
