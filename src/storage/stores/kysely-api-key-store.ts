import { sql, type Selectable } from 'kysely';
import { FailsafeError } from '../../core/errors.ts';
import type { ApiKey, Role } from '../../core/types.ts';
import type { ApiKeyStore } from '../../features/auth/api-key-store.ts';
import { orUndefined } from '../json.ts';
import type { ApiKeysTable } from '../schema.ts';
import { orNull, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

const keyFromRow = (row: Selectable<ApiKeysTable>): ApiKey =>
  compact({
    id: row.id,
    name: row.name,
    role: row.role as Role,
    prefix: row.prefix,
    createdAt: row.created_at,
    expiresAt: orUndefined(row.expires_at),
    revokedAt: orUndefined(row.revoked_at),
    lastUsedAt: orUndefined(row.last_used_at),
  });

export class KyselyApiKeyStore implements ApiKeyStore {
  constructor(private readonly ctx: StoreContext) {}

  async insert(key: ApiKey, hash: string): Promise<void> {
    // `do nothing` covers the id, name and hash constraints without failing the caller's transaction.
    const result = await this.ctx.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        name: key.name,
        role: key.role,
        prefix: key.prefix,
        hash,
        created_at: key.createdAt,
        expires_at: orNull(key.expiresAt),
        revoked_at: orNull(key.revokedAt),
        last_used_at: orNull(key.lastUsedAt),
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
      throw new FailsafeError('CONFLICT', `an API key named "${key.name}" (or with that id or secret) already exists`);
    }
  }

  async findByHash(hash: string): Promise<ApiKey | undefined> {
    const row = await this.ctx.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? keyFromRow(row) : undefined;
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.ctx.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('name').execute();
    return rows.map(keyFromRow);
  }

  async revoke(id: string, at: number): Promise<void> {
    const result = await this.ctx.db
      .updateTable('api_keys')
      .set({ revoked_at: sql<number>`coalesce(revoked_at, ${at})` })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new FailsafeError('NOT_FOUND', `API key "${id}" not found`);
  }

  async touch(id: string, at: number): Promise<void> {
    await this.ctx.db
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
      .execute();
  }
}
