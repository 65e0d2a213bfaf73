// The version life cycle. One table, used by the registry (explicit transitions) and by routing
// (a version given traffic goes live), so no path can put a version in a state it cannot reach.
import { FailsafeError } from './errors.ts';
import type { VersionState } from './types.ts';

export const versionStates: readonly VersionState[] = ['candidate', 'validated', 'live', 'stable', 'faulty', 'retired'];

const allowed: Record<VersionState, readonly VersionState[]> = {
  candidate: ['validated', 'live', 'faulty', 'retired'],
  // validated → candidate: its validation went stale (e.g. the golden set changed) and must run again.
  validated: ['candidate', 'live', 'faulty', 'retired'],
  // live → validated: taken out of rotation without a fault (a paused or aborted canary).
  live: ['validated', 'stable', 'faulty', 'retired'],
  stable: ['faulty', 'retired'],
  // A faulty version can be validated again once fixed upstream, or retired for good.
  faulty: ['candidate', 'retired'],
  // Versions are immutable and cannot be registered twice, so un-retiring goes through validation.
  retired: ['candidate'],
};

export const canTransition = (from: VersionState, to: VersionState): boolean => allowed[from].includes(to);

export const allowedTransitions = (from: VersionState): readonly VersionState[] => allowed[from];

/** Throws INVALID_STATE naming the allowed targets when `from → to` is not a legal transition. */
export function assertTransition(label: string, from: VersionState, to: VersionState): void {
  if (from === to || canTransition(from, to)) return;
  const targets = allowed[from];
  throw new FailsafeError(
    'INVALID_STATE',
    `${label} is ${from}; it cannot become ${to} (from ${from} it can become ${targets.join(', ') || 'nothing'})`,
  );
}

/** States in which a version may receive traffic. */
export const canServe = (state: VersionState): boolean => state !== 'faulty' && state !== 'retired';
