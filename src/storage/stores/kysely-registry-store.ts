import type { Selectable } from 'kysely';
import { FailsafeError } from '../../core/errors.ts';
import type { Model, ModelKind, ModelVersion, Upstream, VersionState } from '../../core/types.ts';
import type { ModelStore, VersionStore } from '../../features/registry/registry-store.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { ModelsTable, VersionsTable } from '../schema.ts';
import { orNull, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

const modelFromRow = (row: Selectable<ModelsTable>): Model => ({
  name: row.name,
  kind: row.kind as ModelKind,
  tags: fromJson<string[]>(row.tags) ?? [],
  createdAt: row.created_at,
});

export class KyselyModelStore implements ModelStore {
  constructor(private readonly ctx: StoreContext) {}

  async get(name: string): Promise<Model | undefined> {
    const row = await this.ctx.db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? modelFromRow(row) : undefined;
  }

  async list(): Promise<Model[]> {
    const rows = await this.ctx.db.selectFrom('models').selectAll().orderBy('name').execute();
    return rows.map(modelFromRow);
  }

  async insert(model: Model): Promise<void> {
    // `do nothing` instead of catching the unique violation: on PostgreSQL a failed statement
    // would poison the caller's whole transaction.
    const result = await this.ctx.db
      .insertInto('models')
      .values({ name: model.name, kind: model.kind, tags: toJson(model.tags ?? [])!, created_at: model.createdAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
      throw new FailsafeError('MODEL_EXISTS', `model "${model.name}" already exists`);
    }
  }

  async updateTags(name: string, tags: string[]): Promise<void> {
    const result = await this.ctx.db
      .updateTable('models')
      .set({ tags: toJson(tags)! })
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new FailsafeError('MODEL_NOT_FOUND', `model "${name}" not found`);
  }
}

const versionFromRow = (row: Selectable<VersionsTable>): ModelVersion =>
  compact({
    model: row.model,
    version: row.version,
    state: row.state as VersionState,
    upstream: fromJson<Upstream>(row.upstream)!,
    prompt: orUndefined(row.prompt),
    params: fromJson<Record<string, unknown>>(row.params),
    metadata: fromJson<Record<string, unknown>>(row.metadata),
    contentHash: row.content_hash,
    createdAt: row.created_at,
    stateChangedAt: row.state_changed_at,
    liveSince: orUndefined(row.live_since),
    stableSince: orUndefined(row.stable_since),
  });

export class KyselyVersionStore implements VersionStore {
  constructor(private readonly ctx: StoreContext) {}

  async get(model: string, version: string): Promise<ModelVersion | undefined> {
    const row = await this.ctx.db
      .selectFrom('versions')
      .selectAll()
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    return row ? versionFromRow(row) : undefined;
  }

  async list(model: string): Promise<ModelVersion[]> {
    const rows = await this.ctx.db
      .selectFrom('versions')
      .selectAll()
      .where('model', '=', model)
      .orderBy('created_at')
      .orderBy('version')
      .execute();
    return rows.map(versionFromRow);
  }

  async insert(v: ModelVersion): Promise<void> {
    let inserted: number;
    try {
      const result = await this.ctx.db
        .insertInto('versions')
        .values({
          model: v.model,
          version: v.version,
          state: v.state,
          upstream: toJson(v.upstream)!,
          prompt: orNull(v.prompt),
          params: toJson(v.params),
          metadata: toJson(v.metadata),
          content_hash: v.contentHash,
          created_at: v.createdAt,
          state_changed_at: v.stateChangedAt,
          live_since: orNull(v.liveSince),
          stable_since: orNull(v.stableSince),
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      inserted = Number(result.numInsertedOrUpdatedRows ?? 0n);
    } catch (err) {
      if (this.ctx.caps.isForeignKeyViolation(err)) {
        throw new FailsafeError('MODEL_NOT_FOUND', `model "${v.model}" not found`);
      }
      throw err;
    }
    if (inserted === 0) {
      throw new FailsafeError('VERSION_CONFLICT', `version "${v.version}" of model "${v.model}" already exists`);
    }
  }

  async setState(
    model: string,
    version: string,
    state: VersionState,
    at: number,
    extra: { liveSince?: number; stableSince?: number } = {},
  ): Promise<void> {
    const result = await this.ctx.db
      .updateTable('versions')
      .set({
        state,
        state_changed_at: at,
        ...(extra.liveSince !== undefined ? { live_since: extra.liveSince } : {}),
        ...(extra.stableSince !== undefined ? { stable_since: extra.stableSince } : {}),
      })
      .where('model', '=', model)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      throw new FailsafeError('VERSION_NOT_FOUND', `version "${version}" of model "${model}" not found`);
    }
  }
}
