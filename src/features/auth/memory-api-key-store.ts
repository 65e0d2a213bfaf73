import { FailsafeError } from '../../core/errors.ts';
import type { ApiKey } from '../../core/types.ts';
import { cmp, copy, noUndo, type UndoLog } from '../memory-undo.ts';
import { compact } from '../../core/compact.ts';
import type { ApiKeyStore } from './api-key-store.ts';

interface StoredKey {
  key: ApiKey;
  hash: string;
}

export class MemoryApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly keys = new Map<string, StoredKey>(),
    private readonly undo: UndoLog = noUndo,
  ) {}

  bound(undo: UndoLog): MemoryApiKeyStore {
    return new MemoryApiKeyStore(this.keys, undo);
  }

  async insert(key: ApiKey, hash: string): Promise<void> {
    for (const s of this.keys.values()) {
      if (s.key.id === key.id || s.key.name === key.name || s.hash === hash) {
        throw new FailsafeError('CONFLICT', `an API key named "${key.name}" (or with that id or secret) already exists`);
      }
    }
    this.keys.set(key.id, { key: compact(copy(key)), hash });
    this.undo.push(() => this.keys.delete(key.id));
  }

  async findByHash(hash: string): Promise<ApiKey | undefined> {
    for (const s of this.keys.values()) if (s.hash === hash) return copy(s.key);
    return undefined;
  }

  async list(): Promise<ApiKey[]> {
    return [...this.keys.values()]
      .map((s) => s.key)
      .sort((a, b) => a.createdAt - b.createdAt || cmp(a.name, b.name))
      .map(copy);
  }

  async revoke(id: string, at: number): Promise<void> {
    const s = this.keys.get(id);
    if (!s) throw new FailsafeError('NOT_FOUND', `API key "${id}" not found`);
    this.replace(s, { ...s.key, revokedAt: s.key.revokedAt ?? at });
  }

  async touch(id: string, at: number): Promise<void> {
    const s = this.keys.get(id);
    if (!s || (s.key.lastUsedAt !== undefined && s.key.lastUsedAt >= at)) return;
    this.replace(s, { ...s.key, lastUsedAt: at });
  }

  private replace(s: StoredKey, key: ApiKey): void {
    const before = s.key;
    s.key = key;
    this.undo.push(() => (s.key = before));
  }
}
