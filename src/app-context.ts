// What every feature's routes and services may reach. Built once in src/main.ts (composition root).
// Feature areas add their service to `Services` (additive edits only).
import type { Logger } from 'pino';
import type { LoadedConfig } from './config.ts';
import type { EventBus } from './core/events.ts';
import type { Clock } from './core/types.ts';
import type { RequireRole } from './http/auth.ts';
import type { Stores } from './features/stores.ts';
import type { StorageHandle } from './storage/database.ts';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

export interface AppContext {
  loaded: LoadedConfig;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  storage: StorageHandle;
  stores: Stores;
  requireRole: RequireRole;
  services: Services;
}
