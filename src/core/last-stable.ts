// "Last known stable" (M-1): the version traffic falls back to when the current one fails.
// Derived from version history rather than stored, so it can never disagree with the states:
// a version that went faulty or was retired stops being a candidate the moment its state changes.
import type { ModelVersion } from './types.ts';

export interface LastStableOptions {
  /** Versions that must not be chosen (e.g. the one being rolled back from). */
  exclude?: Iterable<string>;
}

/** Time a version earned `stable`; seeded versions without a stamp fall back to their last state change. */
const stableAt = (v: ModelVersion): number => v.stableSince ?? v.stateChangedAt ?? v.createdAt;

/**
 * The newest version in state `stable`: latest `stableSince`, then latest `createdAt`, then the later
 * one in the given order (stores list oldest first). Undefined when no version is stable.
 */
export function lastKnownStable(versions: readonly ModelVersion[], options: LastStableOptions = {}): ModelVersion | undefined {
  const exclude = new Set(options.exclude ?? []);
  let best: ModelVersion | undefined;
  for (const v of versions) {
    if (v.state !== 'stable' || exclude.has(v.version)) continue;
    if (!best || stableAt(v) > stableAt(best) || (stableAt(v) === stableAt(best) && v.createdAt >= best.createdAt)) best = v;
  }
  return best;
}
