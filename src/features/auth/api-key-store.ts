import type { ApiKey } from '../../core/types.ts';

export interface ApiKeyStore {
  /** Throws CONFLICT when the id, the name or the hash is taken. */
  insert(key: ApiKey, hash: string): Promise<void>;
  findByHash(hash: string): Promise<ApiKey | undefined>;
  /** Oldest first (createdAt, then name). */
  list(): Promise<ApiKey[]>;
  /** Keeps the first revocation time when revoked twice. Throws NOT_FOUND for an unknown id. */
  revoke(id: string, at: number): Promise<void>;
  /** Records use; never moves lastUsedAt backwards; an unknown id is ignored. */
  touch(id: string, at: number): Promise<void>;
}
