// Test kit for the control-plane foundation: a clock tests move by hand, a serving sink that
// records what the gateway would have been given, and the services wired over any Stores.
import { EventBus } from '../../src/core/events.ts';
import type { Clock, EpochMs } from '../../src/core/types.ts';
import { createFoundationServices, type FoundationDeps, type FoundationServices } from '../../src/features/foundation-services.ts';
import { createMemoryStores } from '../../src/features/memory-stores.ts';
import type { ServingModel, ServingSink } from '../../src/features/routing/serving-model.ts';
import type { Stores } from '../../src/features/stores.ts';

export class ManualClock implements Clock {
  constructor(public t: EpochMs = Date.UTC(2025, 0, 1)) {}
  now(): EpochMs {
    return this.t;
  }
  advance(ms: number): EpochMs {
    this.t += ms;
    return this.t;
  }
}

export class RecordingSink implements ServingSink {
  readonly models = new Map<string, ServingModel>();
  readonly log: Array<{ op: 'apply' | 'remove'; model: string; revision?: number }> = [];
  apply(serving: ServingModel): void {
    this.models.set(serving.model.name, serving);
    this.log.push({ op: 'apply', model: serving.model.name, revision: serving.route.revision });
  }
  remove(model: string): void {
    this.models.delete(model);
    this.log.push({ op: 'remove', model });
  }
}

export interface Foundation extends FoundationServices {
  stores: Stores;
  clock: ManualClock;
  bus: EventBus;
  sink: RecordingSink;
  errors: unknown[];
}

export function createFoundation(options: Partial<Omit<FoundationDeps, 'clock' | 'sink' | 'bus'>> & { clock?: ManualClock } = {}): Foundation {
  const stores = options.stores ?? createMemoryStores();
  const clock = options.clock ?? new ManualClock();
  const errors: unknown[] = [];
  const bus = new EventBus((err) => errors.push(err));
  const sink = new RecordingSink();
  const services = createFoundationServices({ ...options, stores, clock, bus, sink, onError: (err) => errors.push(err) });
  return { ...services, stores, clock, bus, sink, errors };
}

export const chatUpstream = (port = 9001) => ({ url: `http://127.0.0.1:${port}/v1`, model: 'sim-chat' });

/** support-bot with v1 (stable) and v2 (candidate), no route. */
export async function seedSupportBot(f: Foundation): Promise<void> {
  await f.registry.seedFromConfig({
    models: [
      {
        name: 'support-bot',
        kind: 'chat',
        tags: [],
        versions: [
          { version: 'v1', upstream: { ...chatUpstream(9001), provider: 'openai' }, stable: true },
          { version: 'v2', upstream: { ...chatUpstream(9002), provider: 'openai' } },
        ],
        route: { v1: 100 },
      },
    ],
  });
}
