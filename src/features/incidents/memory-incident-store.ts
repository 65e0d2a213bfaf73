// In-memory IncidentStore for service and route tests; the contract suite holds it to the same
// behaviour as the SQLite and PostgreSQL stores. Values are copied in and out, like a database.
import { FailsafeError } from '../../core/errors.ts';
import { isActive } from '../../core/incident-lifecycle.ts';
import type { Incident, TimelineEvent } from '../../core/types.ts';
import type { IncidentQuery, IncidentStore, TimelineQuery } from './incident-store.ts';

const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export class MemoryIncidentStore implements IncidentStore {
  private readonly incidents = new Map<string, Incident>();
  private readonly events: TimelineEvent[] = [];
  private readonly signatures = new Map<string, number>();
  private nextEventId = 1;

  async nextSequence(prefix: string): Promise<number> {
    let n = 0;
    for (const id of this.incidents.keys()) if (id.startsWith(prefix)) n++;
    return n + 1;
  }

  private activeHolder(dedupKey: string): Incident | undefined {
    for (const i of this.incidents.values()) if (i.dedupKey === dedupKey && isActive(i.status)) return i;
    return undefined;
  }

  async insert(incident: Incident): Promise<void> {
    if (this.incidents.has(incident.id) || (isActive(incident.status) && this.activeHolder(incident.dedupKey))) {
      throw new FailsafeError('CONFLICT', `incident ${incident.id} or another active incident for ${incident.dedupKey} already exists`);
    }
    this.incidents.set(incident.id, copy({ ...incident, evidenceCount: incident.evidenceCount ?? incident.evidence.length }));
  }

  async update(incident: Incident): Promise<void> {
    if (!this.incidents.has(incident.id)) throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${incident.id} not found`);
    const holder = isActive(incident.status) ? this.activeHolder(incident.dedupKey) : undefined;
    if (holder && holder.id !== incident.id) throw new FailsafeError('CONFLICT', `another active incident holds ${incident.dedupKey}`);
    this.incidents.set(incident.id, copy({ ...incident, evidenceCount: incident.evidenceCount ?? incident.evidence.length }));
  }

  async get(id: string): Promise<Incident | undefined> {
    return copy(this.incidents.get(id));
  }

  async findActive(dedupKey: string): Promise<Incident | undefined> {
    return copy(this.activeHolder(dedupKey));
  }

  async list(q: IncidentQuery = {}): Promise<Incident[]> {
    const out = [...this.incidents.values()]
      .filter(
        (i) =>
          (q.model === undefined || i.model === q.model) &&
          (q.version === undefined || i.version === q.version) &&
          (!q.status?.length || q.status.includes(i.status)) &&
          (!q.severity?.length || q.severity.includes(i.severity)) &&
          (q.before === undefined || i.detectedAt < q.before) &&
          (q.since === undefined || i.detectedAt >= q.since),
      )
      .sort((a, b) => b.detectedAt - a.detectedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return copy(q.limit === undefined ? out : out.slice(0, q.limit));
  }

  async lock(_key: string): Promise<void> {}

  async appendTimeline(event: Omit<TimelineEvent, 'id'>): Promise<TimelineEvent> {
    if (!this.incidents.has(event.incidentId)) throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${event.incidentId} not found`);
    const stored = copy({ ...event, id: this.nextEventId++ });
    if (stored.data === undefined) delete stored.data;
    this.events.push(stored);
    return copy(stored);
  }

  async timeline(incidentId: string, q: TimelineQuery = {}): Promise<TimelineEvent[]> {
    const out = this.events.filter(
      (e) =>
        e.incidentId === incidentId && (!q.kinds?.length || q.kinds.includes(e.kind)) && (q.afterId === undefined || e.id > q.afterId),
    );
    return copy(q.limit === undefined ? out : out.slice(0, q.limit));
  }

  async claimSignature(signature: string, at: number, forgetBefore: number): Promise<boolean> {
    for (const [sig, seenAt] of this.signatures) if (seenAt < forgetBefore) this.signatures.delete(sig);
    if (this.signatures.has(signature)) return false;
    this.signatures.set(signature, at);
    return true;
  }
}
