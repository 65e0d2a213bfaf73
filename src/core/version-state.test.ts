import { describe, expect, it } from 'vitest';
import { FailsafeError } from './errors.ts';
import { assertTransition, canServe, canTransition, versionStates } from './version-state.ts';

describe('version life cycle', () => {
  it('follows candidate → validated → live → stable', () => {
    expect(canTransition('candidate', 'validated')).toBe(true);
    expect(canTransition('validated', 'live')).toBe(true);
    expect(canTransition('live', 'stable')).toBe(true);
  });

  it('lets every serving state go faulty and every state but retired be retired', () => {
    for (const s of ['candidate', 'validated', 'live', 'stable'] as const) expect(canTransition(s, 'faulty')).toBe(true);
    for (const s of versionStates.filter((x) => x !== 'retired')) expect(canTransition(s, 'retired')).toBe(true);
  });

  it('sends a faulty version back through validation, never straight to live or stable', () => {
    expect(canTransition('faulty', 'candidate')).toBe(true);
    expect(canTransition('faulty', 'live')).toBe(false);
    expect(canTransition('faulty', 'stable')).toBe(false);
    expect(canTransition('candidate', 'stable')).toBe(false);
  });

  it('explains a refused transition with the allowed targets', () => {
    try {
      assertTransition('m v1', 'faulty', 'stable');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FailsafeError);
      expect((e as FailsafeError).code).toBe('INVALID_STATE');
      expect((e as FailsafeError).message).toContain('candidate, retired');
    }
    expect(() => assertTransition('m v1', 'live', 'live')).not.toThrow();
  });

  it('lets only non-faulty, non-retired versions serve', () => {
    expect(versionStates.filter(canServe)).toEqual(['candidate', 'validated', 'live', 'stable']);
  });
});
