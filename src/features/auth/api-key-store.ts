import type { ApiKey } from '../../core/types.ts';

export interface ApiKeyStore {
  insert(key: ApiKey, hash: string): Promise<void>;
  findByHash(hash: string): Promise<ApiKey | undefined>;
  list(): Promise<ApiKey[]>;
  revoke(id: string, at: number): Promise<void>;
  touch(id: string, at: number): Promise<void>;
}
