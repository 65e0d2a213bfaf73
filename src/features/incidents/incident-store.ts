import type { EpochMs, Incident, IncidentStatus, Severity, TimelineEvent } from '../../core/types.ts';

export interface IncidentQuery {
  model?: string;
  version?: string;
  status?: IncidentStatus[];
  severity?: Severity[];
  /** Only incidents detected before this time (paging newest first). */
  before?: EpochMs;
  since?: EpochMs;
  limit?: number;
}

export interface TimelineQuery {
  kinds?: string[];
  /** Only events with a larger id (tailing a timeline). */
  afterId?: number;
  limit?: number;
}

export interface IncidentStore {
  /** 1 + the number of incidents whose id starts with prefix (ids are never deleted). */
  nextSequence(prefix: string): Promise<number>;
  /**
   * Inserts a new incident. Throws CONFLICT when the id exists or another active incident holds
   * the same dedup key: the database, not only the service, keeps one active incident per key.
   */
  insert(incident: Incident): Promise<void>;
  /** Replaces the stored incident with this id (INCIDENT_NOT_FOUND when absent). */
  update(incident: Incident): Promise<void>;
  get(id: string): Promise<Incident | undefined>;
  /** The active (not resolved, reviewed or declined) incident for a dedup key. */
  findActive(dedupKey: string): Promise<Incident | undefined>;
  /** Newest first (detectedAt, then id). */
  list(query?: IncidentQuery): Promise<Incident[]>;
  /**
   * Serialises writers of one key (an incident id or a dedup key) until the current transaction
   * ends. PostgreSQL: a transaction-scoped advisory lock; SQLite and the fake serialise anyway.
   */
  lock(key: string): Promise<void>;
  appendTimeline(event: Omit<TimelineEvent, 'id'>): Promise<TimelineEvent>;
  /** Oldest first. */
  timeline(incidentId: string, query?: TimelineQuery): Promise<TimelineEvent[]>;
  /**
   * Records a signature of an inbound signed request. False when it was seen before (a replay).
   * Signatures first seen before `forgetBefore` are dropped: older requests fail the age check anyway.
   */
  claimSignature(signature: string, at: EpochMs, forgetBefore: EpochMs): Promise<boolean>;
}
