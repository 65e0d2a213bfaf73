// "Last known stable" is earned: a version that has served for `soakSeconds` with no breach (no
// finding, no incident for it, no active incident) becomes `stable`. A breach restarts its soak.
// Serving time is observed by this process (a restart starts the soak again: conservative).
import { isActive } from '../../core/incident-lifecycle.ts';
import { hasSoaked } from '../../core/rollback-plan.ts';
import type { EventBus } from '../../core/events.ts';
import type { Clock, EpochMs } from '../../core/types.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';

export interface SoakTrackerOptions {
  stores: Stores;
  registry: RegistryService;
  clock: Clock;
  bus: EventBus;
  /** Soak time of a model, in ms. */
  soakMsFor: (model: string) => number;
  /** How often `tick` runs once started (default 5 s: soaks last minutes, and each pass reads the store). */
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

export class SoakTracker {
  private readonly servingSince = new Map<string, EpochMs>();
  private readonly lastBreach = new Map<string, EpochMs>();
  private readonly startedAt: EpochMs;
  private ticking: Promise<string[]> | undefined;

  constructor(private readonly o: SoakTrackerOptions) {
    this.startedAt = o.clock.now();
  }

  /** Listens for breaches and ticks on an interval; returns the stop. */
  start(): () => void {
    const breach = (model: string, version: string | undefined) => {
      if (version !== undefined) this.lastBreach.set(`${model}@${version}`, this.o.clock.now());
    };
    const offs = [
      this.o.bus.on('finding', ({ finding }) => {
        if (finding.status === 'breach') breach(finding.model, finding.version);
      }),
      this.o.bus.on('incident.opened', ({ incident }) => breach(incident.model, incident.version)),
      this.o.bus.on('incident.updated', ({ incident }) => {
        if (isActive(incident.status)) breach(incident.model, incident.version);
      }),
    ];
    const timer = setInterval(() => void this.tick().catch((err) => this.o.onError?.(err)), this.o.intervalMs ?? 5_000);
    timer.unref();
    return () => {
      clearInterval(timer);
      offs.forEach((off) => off());
    };
  }

  /** Marks a breach by hand (tests, other features). */
  breach(model: string, version: string, at: EpochMs = this.o.clock.now()): void {
    this.lastBreach.set(`${model}@${version}`, at);
  }

  /** One pass: versions that soaked become stable. Returns `model@version` of each promoted. */
  tick(): Promise<string[]> {
    // One pass at a time: a slow store must not stack passes up.
    this.ticking ??= this.pass().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async pass(): Promise<string[]> {
    const now = this.o.clock.now();
    const promoted: string[] = [];
    const seen = new Set<string>();
    for (const model of await this.o.stores.models.list()) {
      const route = await this.o.stores.routes.get(model.name);
      if (!route || route.mode !== 'serving') continue;
      const versions = await this.o.stores.versions.list(model.name);
      for (const v of versions) {
        const key = `${model.name}@${v.version}`;
        if ((route.weights[v.version] ?? 0) <= 0 || v.state !== 'live') continue;
        seen.add(key);
        if (!this.servingSince.has(key)) this.servingSince.set(key, Math.max(v.liveSince ?? now, this.startedAt));
        const soakMs = this.o.soakMsFor(model.name);
        const candidate = { servingSince: this.servingSince.get(key), lastBreachAt: this.lastBreach.get(key), now, soakMs };
        if (!hasSoaked({ ...candidate, activeIncident: false })) continue;
        const open = (await this.o.stores.incidents.list({ model: model.name, version: v.version, status: ['open', 'acknowledged', 'contained', 'mitigated'], limit: 1 })).length > 0;
        if (!hasSoaked({ ...candidate, activeIncident: open })) continue;
        const seconds = Math.round((now - Math.max(candidate.servingSince!, candidate.lastBreachAt ?? 0)) / 1000);
        await this.o.registry.setVersionState(model.name, v.version, 'stable', { actor: 'system:soak', reason: `served ${seconds} s with no breach (soak ${Math.round(soakMs / 1000)} s)` });
        promoted.push(key);
      }
    }
    // A version that stopped serving starts its soak again when it returns.
    for (const key of this.servingSince.keys()) if (!seen.has(key)) this.servingSince.delete(key);
    return promoted;
  }
}
