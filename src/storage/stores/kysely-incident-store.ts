import type { Insertable, Selectable } from 'kysely';
import { FailsafeError } from '../../core/errors.ts';
import { isActive } from '../../core/incident-lifecycle.ts';
import type { Incident, IncidentSignal, IncidentStatus, Severity, TimelineEvent } from '../../core/types.ts';
import type { IncidentQuery, IncidentStore, TimelineQuery } from '../../features/incidents/incident-store.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { IncidentTimelineTable, IncidentsTable } from '../schema.ts';
import { orNull, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

/** Both engines' unique-violation codes; the capability module has no such probe yet. */
const isUniqueViolation = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
};

/** Advisory-lock keys for incident keys live in their own range, apart from src/storage lockKeys. */
export function incidentLockKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 8_000_000_000 + h;
}

const incidentFromRow = (row: Selectable<IncidentsTable>): Incident =>
  compact({
    id: row.id,
    model: row.model,
    version: orUndefined(row.version),
    family: row.family,
    title: row.title,
    severity: row.severity as Severity,
    status: row.status as IncidentStatus,
    source: row.source as Incident['source'],
    dedupKey: row.dedup_key,
    detectedAt: row.detected_at,
    onsetAt: orUndefined(row.onset_at),
    acknowledgedAt: orUndefined(row.acknowledged_at),
    containedAt: orUndefined(row.contained_at),
    mitigatedAt: orUndefined(row.mitigated_at),
    resolvedAt: orUndefined(row.resolved_at),
    reviewedAt: orUndefined(row.reviewed_at),
    declinedAt: orUndefined(row.declined_at),
    updatedAt: orUndefined(row.updated_at),
    impact: fromJson<Incident['impact']>(row.impact) ?? {},
    evidence: fromJson<Incident['evidence']>(row.evidence) ?? [],
    evidenceCount: row.evidence_count,
    rootCause: fromJson<Incident['rootCause']>(row.root_cause),
    runbook: fromJson<Incident['runbook']>(row.runbook),
    sources: fromJson<Record<string, IncidentSignal>>(row.sources),
    severityBasis: fromJson<Incident['severityBasis']>(row.severity_basis),
    declineReason: orUndefined(row.decline_reason),
  });

const incidentToRow = (i: Incident): Insertable<IncidentsTable> => ({
  id: i.id,
  model: i.model,
  version: orNull(i.version),
  family: i.family,
  title: i.title,
  severity: i.severity,
  status: i.status,
  source: i.source,
  dedup_key: i.dedupKey,
  open_key: isActive(i.status) ? i.dedupKey : null,
  detected_at: i.detectedAt,
  onset_at: orNull(i.onsetAt),
  acknowledged_at: orNull(i.acknowledgedAt),
  contained_at: orNull(i.containedAt),
  mitigated_at: orNull(i.mitigatedAt),
  resolved_at: orNull(i.resolvedAt),
  reviewed_at: orNull(i.reviewedAt),
  declined_at: orNull(i.declinedAt),
  updated_at: orNull(i.updatedAt),
  impact: toJson(i.impact ?? {})!,
  evidence: toJson(i.evidence ?? [])!,
  evidence_count: i.evidenceCount ?? i.evidence.length,
  root_cause: toJson(i.rootCause),
  runbook: toJson(i.runbook),
  sources: toJson(i.sources),
  severity_basis: toJson(i.severityBasis),
  decline_reason: orNull(i.declineReason),
});

const eventFromRow = (row: Selectable<IncidentTimelineTable>): TimelineEvent =>
  compact({
    id: Number(row.id),
    incidentId: row.incident_id,
    at: row.at,
    kind: row.kind,
    actor: row.actor,
    message: row.message,
    data: fromJson<unknown>(row.data),
  });

export class KyselyIncidentStore implements IncidentStore {
  constructor(private readonly ctx: StoreContext) {}

  async nextSequence(prefix: string): Promise<number> {
    const row = await this.ctx.db
      .selectFrom('incidents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'like', `${prefix}%`)
      .executeTakeFirst();
    return Number(row?.n ?? 0) + 1;
  }

  async insert(incident: Incident): Promise<void> {
    try {
      await this.ctx.db.insertInto('incidents').values(incidentToRow(incident)).execute();
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new FailsafeError('CONFLICT', `incident ${incident.id} or another active incident for ${incident.dedupKey} already exists`);
      }
      throw err;
    }
  }

  async update(incident: Incident): Promise<void> {
    const { id: _id, ...row } = incidentToRow(incident);
    let result;
    try {
      result = await this.ctx.db.updateTable('incidents').set(row).where('id', '=', incident.id).executeTakeFirst();
    } catch (err) {
      if (isUniqueViolation(err)) throw new FailsafeError('CONFLICT', `another active incident holds ${incident.dedupKey}`);
      throw err;
    }
    if (Number(result.numUpdatedRows) === 0) throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${incident.id} not found`);
  }

  async get(id: string): Promise<Incident | undefined> {
    const row = await this.ctx.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? incidentFromRow(row) : undefined;
  }

  async findActive(dedupKey: string): Promise<Incident | undefined> {
    const row = await this.ctx.db.selectFrom('incidents').selectAll().where('open_key', '=', dedupKey).executeTakeFirst();
    return row ? incidentFromRow(row) : undefined;
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    let q = this.ctx.db.selectFrom('incidents').selectAll().orderBy('detected_at', 'desc').orderBy('id', 'desc');
    if (query.model !== undefined) q = q.where('model', '=', query.model);
    if (query.version !== undefined) q = q.where('version', '=', query.version);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.severity?.length) q = q.where('severity', 'in', query.severity);
    if (query.before !== undefined) q = q.where('detected_at', '<', query.before);
    if (query.since !== undefined) q = q.where('detected_at', '>=', query.since);
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map(incidentFromRow);
  }

  async lock(key: string): Promise<void> {
    if (this.ctx.trx) await this.ctx.caps.lockInTransaction(this.ctx.trx, incidentLockKey(key));
  }

  async appendTimeline(event: Omit<TimelineEvent, 'id'>): Promise<TimelineEvent> {
    let row;
    try {
      row = await this.ctx.db
        .insertInto('incident_timeline')
        .values({
          incident_id: event.incidentId,
          at: event.at,
          kind: event.kind,
          actor: event.actor,
          message: event.message,
          data: toJson(event.data),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    } catch (err) {
      if (this.ctx.caps.isForeignKeyViolation(err)) {
        throw new FailsafeError('INCIDENT_NOT_FOUND', `incident ${event.incidentId} not found`);
      }
      throw err;
    }
    return compact({ ...event, id: Number(row.id), data: event.data === undefined ? undefined : JSON.parse(JSON.stringify(event.data)) });
  }

  async timeline(incidentId: string, query: TimelineQuery = {}): Promise<TimelineEvent[]> {
    let q = this.ctx.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', incidentId).orderBy('id', 'asc');
    if (query.kinds?.length) q = q.where('kind', 'in', query.kinds);
    if (query.afterId !== undefined) q = q.where('id', '>', query.afterId);
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map(eventFromRow);
  }

  async claimSignature(signature: string, at: number, forgetBefore: number): Promise<boolean> {
    await this.ctx.db.deleteFrom('signed_requests').where('seen_at', '<', forgetBefore).execute();
    const inserted = await this.ctx.db
      .insertInto('signed_requests')
      .values({ signature, seen_at: at })
      .onConflict((oc) => oc.column('signature').doNothing())
      .returning('signature')
      .execute();
    return inserted.length === 1;
  }
}
