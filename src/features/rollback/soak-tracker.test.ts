import { describe, expect, it } from 'vitest';
import { createContainmentKit } from '../containment/containment-test-kit.ts';

describe('SoakTracker', () => {
  it('makes a live version stable after serving its soak with no breach; a breach restarts the soak', async () => {
    const k = await createContainmentKit({ route: { v3: 100 }, containment: { soakSeconds: 60 } });
    expect((await k.f.stores.versions.get('bot', 'v3'))!.state).toBe('live');
    expect(await k.soak.tick()).toEqual([]);
    k.f.clock.advance(30_000);
    k.soak.breach('bot', 'v3');
    k.f.clock.advance(59_000);
    expect(await k.soak.tick()).toEqual([]);
    k.f.clock.advance(1_000);
    expect(await k.soak.tick()).toEqual(['bot@v3']);
    const v3 = (await k.f.stores.versions.get('bot', 'v3'))!;
    expect(v3.state).toBe('stable');
    expect(v3.stableSince).toBe(k.f.clock.now());
    // It is now M-1 (the newest stable version).
    expect(k.f.sink.models.get('bot')!.stableVersion).toBe('v3');
  });

  it('never promotes a version with an active incident, nor one without traffic', async () => {
    const k = await createContainmentKit({ versions: { v1: 'stable', v2: 'candidate', v3: 'candidate' }, route: { v1: 50, v3: 50 }, containment: { soakSeconds: 10 } });
    const stop = k.soak.start();
    await k.soak.tick();
    await k.open('v3', 'SEV4'); // SEV4: the playbook is not running here anyway
    k.f.clock.advance(3_600_000);
    expect(await k.soak.tick()).toEqual([]);
    expect((await k.f.stores.versions.get('bot', 'v2'))!.state).toBe('candidate');
    stop();
  });
});
