// In-memory IncidentStore for service and route tests; the contract suite holds it to the same
// behaviour as the SQLite and PostgreSQL stores. Values are copied in and out, like a database,
// and writes made inside a failed transaction are undone.
import { FailsafeError } from '../../core/errors.ts';
import { isActive } from '../../core/incident-lifecycle.ts';
import type { Incident, TimelineEvent } from '../../core/types.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { IncidentQuery, IncidentStore, TimelineQuery } from './incident-store.ts';

interface IncidentData {
  incidents: Map<string, Incident>;
  events: TimelineEvent[];
  signatures: Map<string, number>;
  /** Like a database sequence, ids are not reused after a rollback. */
  nextEventId: number;
}

const stored = (incident: Incident): Incident =>
  compact(copy({ ...incident, evidenceCount: incident.evidenceCount ?? incident.evidence.length }));

export class MemoryIncidentStore implements IncidentStore {
  constructor(
    private readonly data: IncidentData = { incidents: new Map(), events: [], signatures: new Map(), nextEventId: 1 },
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryIncidentStore {
    return new MemoryIncidentStore(this.data, undo);
  }

  async nextSequence(prefix: string): Promise<number> {
    let n = 0;
    for (const id of this.data.incidents.keys()) if (id.startsWith(prefix)) n++;
    return n + 1;
  }

  private activeHolder(dedupKey: string): Incident | undefined {
    for (const i of this.data.incidents.values()) if (i.dedupKey === dedupKey && isActive(i.status)) return i;
    return undefined;
  }

  private put(incident: Incident): void {
    const before = this.data.incidents.get(incident.id);
    this.data.incidents.set(incident.id, stored(incident));
    this.undo.push(() => {
      if (before) this.data.incidents.set(incident.id, before);
      else this.data.incidents.delete(incident.id);
    });
  }

  async insert(incident: Incident): Promise<void> {
    if (this.data.incidents.has(incident.id) || (isActive(incident.status) && this.activeHolder(incident.dedupKey))) {
      throw new FailsafeError('CONFLICT', `incident ${incident.id} or another active incident for ${incident.dedupKey} already exists`);
    }
    this.put(incident);
  }

  async update(incident: Incident): Promise<void> {
    if (!this.data.incidents.has(incident.id)) throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${incident.id} not found`);
    const holder = isActive(incident.status) ? this.activeHolder(incident.dedupKey) : undefined;
    if (holder && holder.id !== incident.id) throw new FailsafeError('CONFLICT', `another active incident holds ${incident.dedupKey}`);
    this.put(incident);
  }

  async get(id: string): Promise<Incident | undefined> {
    return copy(this.data.incidents.get(id));
  }

  async findActive(dedupKey: string): Promise<Incident | undefined> {
    return copy(this.activeHolder(dedupKey));
  }

  async list(q: IncidentQuery = {}): Promise<Incident[]> {
    const out = [...this.data.incidents.values()]
      .filter(
        (i) =>
          (q.model === undefined || i.model === q.model) &&
          (q.version === undefined || i.version === q.version) &&
          (!q.status?.length || q.status.includes(i.status)) &&
          (!q.severity?.length || q.severity.includes(i.severity)) &&
          (q.before === undefined || i.detectedAt < q.before) &&
          (q.since === undefined || i.detectedAt >= q.since),
      )
      .sort((a, b) => b.detectedAt - a.detectedAt || cmp(b.id, a.id));
    return (q.limit === undefined ? out : out.slice(0, q.limit)).map(copy);
  }

  async lock(_key: string): Promise<void> {}

  async appendTimeline(event: Omit<TimelineEvent, 'id'>): Promise<TimelineEvent> {
    if (!this.data.incidents.has(event.incidentId)) throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${event.incidentId} not found`);
    const row = compact(copy({ ...event, id: this.data.nextEventId++ }));
    this.data.events.push(row);
    this.undo.push(() => {
      const i = this.data.events.indexOf(row);
      if (i >= 0) this.data.events.splice(i, 1);
    });
    return copy(row);
  }

  async timeline(incidentId: string, q: TimelineQuery = {}): Promise<TimelineEvent[]> {
    const out = this.data.events.filter(
      (e) =>
        e.incidentId === incidentId && (!q.kinds?.length || q.kinds.includes(e.kind)) && (q.afterId === undefined || e.id > q.afterId),
    );
    return (q.limit === undefined ? out : out.slice(0, q.limit)).map(copy);
  }

  async claimSignature(signature: string, at: number, forgetBefore: number): Promise<boolean> {
    for (const [sig, seenAt] of this.data.signatures) if (seenAt < forgetBefore) this.data.signatures.delete(sig);
    if (this.data.signatures.has(signature)) return false;
    this.data.signatures.set(signature, at);
    this.undo.push(() => this.data.signatures.delete(signature));
    return true;
  }
}
