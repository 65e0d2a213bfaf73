// Test kit: the foundation services over the memory stores with a manual clock, an incident
// service, and containment, rollback and playbooks with a scripted validator (no upstreams), so
// service tests decide which rollback target passes.
import { parseConfig } from '../../config.ts';
import type { Severity, VersionState } from '../../core/types.ts';
import { createFoundation, type Foundation } from '../../../test/helpers/foundation.ts';
import { IncidentService } from '../incidents/incident-service.ts';
import { PlaybookRunner } from '../playbooks/playbook-runner.ts';
import { RollbackService, type CandidateValidator } from '../rollback/rollback-service.ts';
import { SoakTracker } from '../rollback/soak-tracker.ts';
import { modelPolicy } from './containment-config.ts';
import { ContainmentService } from './containment-service.ts';

export interface ContainmentKit {
  f: Foundation;
  incidents: IncidentService;
  containment: ContainmentService;
  rollback: RollbackService;
  playbooks: PlaybookRunner;
  soak: SoakTracker;
  notified: Array<{ incident: string; kind: string; message?: string }>;
  /** Versions whose validation fails. */
  failing: Set<string>;
  validated: string[];
  errors: unknown[];
  open(version: string | undefined, severity?: Severity, family?: string): Promise<string>;
}

export async function createContainmentKit(
  options: { versions?: Record<string, VersionState | 'stable'>; route?: Record<string, number>; model?: Record<string, unknown>; containment?: Record<string, unknown> } = {},
): Promise<ContainmentKit> {
  const f = createFoundation();
  const versions = options.versions ?? { v1: 'stable', v2: 'stable', v3: 'candidate' };
  const raw = {
    containment: options.containment ?? {},
    models: [
      {
        name: 'bot',
        kind: 'chat',
        versions: Object.entries(versions).map(([version, state], i) => ({
          version,
          upstream: { url: `http://127.0.0.1:${9100 + i}/v1`, model: 'sim-chat' },
          stable: state === 'stable',
        })),
        route: options.route ?? { v3: 100 },
        ...options.model,
      },
    ],
  };
  const config = parseConfig(raw, {});
  // Stable versions earn their stamps in order, so "newest stable" is deterministic.
  for (const [version] of Object.entries(versions)) {
    f.clock.advance(1000);
    await f.registry.seedFromConfig({ models: [{ ...config.models[0], versions: config.models[0].versions.filter((v) => v.version === version), route: undefined }] });
  }
  await f.routing.update('bot', { weights: options.route ?? { v3: 100 } }, { actor: 'test' });
  const loaded = { config, baseDir: process.cwd() };
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  const incidents = new IncidentService({ stores: f.stores, clock: f.clock, bus: f.bus, audit: f.audit });
  const notified: ContainmentKit['notified'] = [];
  const notifier = { notify: (i: { id: string }, e: { kind: string; message?: string } | string) => (notified.push({ incident: i.id, ...(typeof e === 'string' ? { kind: e } : e) }), []) };
  const failing = new Set<string>();
  const validated: string[] = [];
  const validator: CandidateValidator = async ({ model, version, onProgress }) => {
    validated.push(version.version);
    onProgress(0, 2);
    onProgress(2, 2);
    const passed = !failing.has(version.version);
    const now = f.clock.now();
    return { version: version.version, kind: 'golden', passed, summary: `${model}@${version.version} ${passed ? 'passed' : 'FAILED'} staging: scripted`, report: { passRate: passed ? 1 : 0, total: 2 }, startedAt: now, finishedAt: now };
  };
  const containment = new ContainmentService({ routing: f.routing, clock: f.clock, incidents, onError });
  const rollback = new RollbackService({ stores: f.stores, routing: f.routing, audit: f.audit, clock: f.clock, loaded, incidents, notifier: notifier as never, validator, onError, sleep: async () => {} });
  const playbooks = new PlaybookRunner({ stores: f.stores, clock: f.clock, bus: f.bus, incidents, containment, rollback, notifier: notifier as never, policyFor: (m) => modelPolicy(config, m).playbook, onError });
  const soak = new SoakTracker({ stores: f.stores, registry: f.registry, clock: f.clock, bus: f.bus, soakMsFor: (m) => modelPolicy(config, m).soakMs });
  return {
    f,
    incidents,
    containment,
    rollback,
    playbooks,
    soak,
    notified,
    failing,
    validated,
    errors,
    open: async (version, severity = 'SEV2', family = 'errors') =>
      (await incidents.openManual({ model: 'bot', version, severity, family, title: `${version ?? 'bot'} broken` }, { actor: 'test' })).incident!.id,
  };
}
