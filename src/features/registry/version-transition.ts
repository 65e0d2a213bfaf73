// One version state change inside a caller's transaction: checked against the life cycle, stamped
// (liveSince, stableSince), audited. Shared by the registry (explicit changes) and routing (a version
// given traffic goes live; isolation and rollback mark versions faulty together with the route
// change), so every path records the same thing. The caller emits `version.state` after commit.
import { assertTransition } from '../../core/version-state.ts';
import type { EpochMs, ModelVersion, VersionState } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { Stores } from '../stores.ts';

export interface VersionStateEvent {
  model: string;
  version: string;
  from: VersionState;
  to: VersionState;
  actor: string;
  reason?: string;
}

export interface TransitionContext {
  actor: string;
  reason?: string;
  requestId?: string;
}

/** Applies `current → to` (which must be legal and different) and returns the updated version. */
export async function transitionVersion(
  tx: Stores,
  audit: AuditLog,
  current: ModelVersion,
  to: VersionState,
  now: EpochMs,
  ctx: TransitionContext,
): Promise<{ version: ModelVersion; event: VersionStateEvent }> {
  assertTransition(`${current.model} ${current.version}`, current.state, to);
  const extra: { liveSince?: number; stableSince?: number } = {};
  if (to === 'live' && current.liveSince === undefined) extra.liveSince = now;
  if (to === 'stable') extra.stableSince = now;
  await tx.versions.setState(current.model, current.version, to, now, extra);
  await audit.append(tx, {
    actor: ctx.actor,
    action: 'version.state',
    target: `version:${current.model}@${current.version}`,
    before: { state: current.state },
    after: { state: to },
    reason: ctx.reason,
    requestId: ctx.requestId,
  });
  return {
    version: { ...current, ...extra, state: to, stateChangedAt: now },
    event: { model: current.model, version: current.version, from: current.state, to, actor: ctx.actor, reason: ctx.reason },
  };
}
