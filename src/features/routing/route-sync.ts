// With PostgreSQL and several replicas, a route change made on one replica must reach every
// replica's gateway within a second. After a local change is applied, this replica sends
// NOTIFY failsafe_routes '<model>'; every replica LISTENs and reloads that model from the store.
// On (re)connection the listener reloads every model, covering notifications it may have missed.
import type pg from 'pg';
import type { StorageHandle } from '../../storage/database.ts';
import type { RoutingService } from './routing-service.ts';

export const ROUTE_CHANNEL = 'failsafe_routes';

export interface RouteSyncOptions {
  storage: Pick<StorageHandle, 'pgPool' | 'caps'>;
  routing: RoutingService;
  onError?: (err: unknown, context: string) => void;
  /** Delay before reconnecting a lost listener connection. */
  reconnectMs?: number;
}

export interface RouteSync {
  /** False on engines that serve one replica only: nothing to synchronise. */
  readonly enabled: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createRouteSync(options: RouteSyncOptions): RouteSync {
  const { storage, routing } = options;
  const onError = options.onError ?? (() => {});
  const reconnectMs = options.reconnectMs ?? 1_000;
  const pool = storage.pgPool;
  const enabled = Boolean(storage.caps.multiReplica && pool);

  let client: pg.PoolClient | undefined;
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const notify = (model: string) => {
    pool!.query('select pg_notify($1, $2)', [ROUTE_CHANNEL, model]).catch((err) => onError(err, 'notify'));
  };

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel !== ROUTE_CHANNEL || !msg.payload) return;
    routing.refresh(msg.payload, { propagate: false }).catch((err) => onError(err, `reload ${msg.payload}`));
  };

  const scheduleReconnect = () => {
    if (stopped || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().catch((err) => {
        onError(err, 'reconnect');
        scheduleReconnect();
      });
    }, reconnectMs);
    reconnectTimer.unref?.();
  };

  // The listening connection is destroyed rather than returned, so no pooled client keeps a LISTEN.
  const dropClient = (err?: unknown) => {
    const c = client;
    client = undefined;
    if (c) {
      c.removeListener('notification', onNotification);
      c.release(err instanceof Error ? err : true);
    }
  };

  async function connect(): Promise<void> {
    const c = await pool!.connect();
    c.on('notification', onNotification);
    c.on('error', (err) => {
      if (client !== c) return;
      onError(err, 'listener connection');
      dropClient(err);
      scheduleReconnect();
    });
    try {
      await c.query(`LISTEN ${ROUTE_CHANNEL}`);
    } catch (err) {
      c.removeListener('notification', onNotification);
      c.release(err as Error);
      throw err;
    }
    if (stopped) {
      c.removeListener('notification', onNotification);
      c.release(true);
      return;
    }
    client = c;
    // Anything changed while we were not listening is picked up here.
    await routing.loadAll();
  }

  return {
    enabled,
    async start() {
      if (!enabled) return;
      stopped = false;
      unsubscribe = routing.onServingChanged(notify);
      await connect();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      unsubscribe = undefined;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      dropClient();
    },
  };
}
