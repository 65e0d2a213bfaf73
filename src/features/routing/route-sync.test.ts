import { afterEach, describe, expect, it } from 'vitest';
import { createFoundation, seedSupportBot, type Foundation } from '../../../test/helpers/foundation.ts';
import { createPostgresStorage, pgAdminUrl, type TestStorage } from '../../../test/helpers/storage.ts';
import { openStorage, type StorageHandle } from '../../storage/database.ts';
import { createKyselyStores } from '../../storage/kysely-stores.ts';
import { capabilitiesFor } from '../../storage/capabilities.ts';
import { createRouteSync, type RouteSync } from './route-sync.ts';

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - started;
}

describe('route sync', () => {
  it('is disabled on a single-replica engine', async () => {
    const f = createFoundation();
    const sync = createRouteSync({ storage: { caps: capabilitiesFor('sqlite') }, routing: f.routing });
    expect(sync.enabled).toBe(false);
    await sync.start();
    await sync.stop();
  });
});

describe.skipIf(!pgAdminUrl)('route sync over PostgreSQL LISTEN/NOTIFY (two replicas)', () => {
  let storage: TestStorage;
  let second: StorageHandle | undefined;
  const syncs: RouteSync[] = [];

  afterEach(async () => {
    for (const s of syncs.splice(0)) await s.stop();
    await second?.close();
    second = undefined;
    await storage?.cleanup();
  });

  async function twoReplicas(): Promise<[Foundation, Foundation]> {
    storage = await createPostgresStorage();
    second = await openStorage(storage.url, { migrate: false });
    const a = createFoundation({ stores: createKyselyStores(storage.handle) });
    const b = createFoundation({ stores: createKyselyStores(second) });
    for (const [f, handle] of [[a, storage.handle], [b, second]] as const) {
      const sync = createRouteSync({ storage: handle, routing: f.routing, onError: (err) => f.errors.push(err) });
      expect(sync.enabled).toBe(true);
      await sync.start();
      syncs.push(sync);
    }
    return [a, b];
  }

  it('a route change on one replica reaches the other within a second', async () => {
    const [a, b] = await twoReplicas();
    await seedSupportBot(a);
    await waitFor(() => b.sink.models.get('support-bot')?.route.revision === 1, 1000);
    await a.routing.setWeights('support-bot', { v1: 80, v2: 20 }, { actor: 'key:ops' });
    const ms = await waitFor(() => b.sink.models.get('support-bot')?.route.revision === 2, 1000);
    expect(ms).toBeLessThan(1000);
    expect(b.sink.models.get('support-bot')!.route.weights).toEqual({ v1: 80, v2: 20 });
    expect(b.sink.models.get('support-bot')!.versions.v2!.state).toBe('live');

    // And back the other way, including a pause and a version state change.
    await b.routing.pause('support-bot', { actor: 'key:ops' });
    await waitFor(() => a.sink.models.get('support-bot')?.route.mode === 'paused', 1000);
    await b.registry.setVersionState('support-bot', 'v2', 'faulty', { actor: 'key:ops' });
    await waitFor(() => a.sink.models.get('support-bot')?.versions.v2?.state === 'faulty', 1000);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('a replica that starts listening late loads the current routes', async () => {
    storage = await createPostgresStorage();
    const a = createFoundation({ stores: createKyselyStores(storage.handle) });
    await seedSupportBot(a);
    await a.routing.setWeights('support-bot', { v1: 70, v2: 30 }, { actor: 'key:ops' });
    second = await openStorage(storage.url, { migrate: false });
    const b = createFoundation({ stores: createKyselyStores(second) });
    const sync = createRouteSync({ storage: second, routing: b.routing });
    syncs.push(sync);
    await sync.start();
    expect(b.sink.models.get('support-bot')!.route.weights).toEqual({ v1: 70, v2: 30 });
  });
});
