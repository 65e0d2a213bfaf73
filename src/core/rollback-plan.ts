// Pure planning for containment and rollback: where traffic goes when a version is isolated,
// which versions a rollback may land on and in which order, the weights of a stepped switch,
// when a version has soaked long enough to be called stable, and whether automation is still
// allowed to act. No I/O and no clock: callers pass the state and the time in, so the same
// decisions run in the services, in tests and in simulations.
import { FailsafeError } from './errors.ts';
import { lastKnownStable } from './last-stable.ts';
import type { EpochMs, ModelVersion, Route, RouteMode, VersionState } from './types.ts';
import { canServe } from './version-state.ts';

/**
 * Integer weights summing to `total` in proportion to `shares` (largest remainder; ties go to the
 * earlier key in the order given, so the result is deterministic). Undefined when every share is 0.
 */
export function proportionalWeights(shares: ReadonlyArray<readonly [string, number]>, total = 100): Record<string, number> | undefined {
  const sum = shares.reduce((a, [, w]) => a + Math.max(w, 0), 0);
  if (sum <= 0) return undefined;
  const exact = shares.map(([v, w]) => [v, (Math.max(w, 0) / sum) * total] as const);
  const out: Record<string, number> = {};
  let assigned = 0;
  for (const [v, x] of exact) {
    out[v] = Math.floor(x);
    assigned += out[v];
  }
  const byRemainder = exact
    .map(([v, x], i) => ({ v, r: x - Math.floor(x), i }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; assigned < total && k < byRemainder.length; k++, assigned++) out[byRemainder[k].v]++;
  return out;
}

export type IsolationOutcome =
  /** The isolated version's share went to the other versions that were already serving. */
  | 'renormalized'
  /** No other version was serving: the last known stable version takes all traffic. */
  | 'stable'
  /** Nothing healthy and validated is left: the model answers from its fallbacks (or 503). */
  | 'fallback'
  /** The version had no traffic: it is only marked faulty. */
  | 'marked'
  /** The version already had no traffic and was faulty: nothing to do. */
  | 'noop';

export interface IsolationPlan {
  outcome: IsolationOutcome;
  weights: Record<string, number>;
  mode: RouteMode;
  versionStates: Record<string, VersionState>;
  /** The versions that take the traffic afterwards. */
  serving: string[];
  /** One sentence for timelines and answers. */
  summary: string;
}

/**
 * Where traffic goes when `version` is taken out of rotation. Traffic only ever moves to versions
 * that were already serving (live or stable) or to the last known stable one: never to a version
 * nobody validated.
 */
export function planIsolation(route: Pick<Route, 'weights' | 'mode'> | undefined, versions: readonly ModelVersion[], version: string): IsolationPlan {
  const target = versions.find((v) => v.version === version);
  if (!target) throw new FailsafeError('VERSION_NOT_FOUND', `no version "${version}"`);
  if (target.state === 'retired') throw new FailsafeError('INVALID_STATE', `${version} is retired; there is nothing to isolate`);
  const weights = route?.weights ?? {};
  const mode: RouteMode = route?.mode ?? 'serving';
  const own = weights[version] ?? 0;
  const states = new Map(versions.map((v) => [v.version, v.state]));
  const versionStates: Record<string, VersionState> = target.state === 'faulty' ? {} : { [version]: 'faulty' };
  const zeroed: Record<string, number> = {};
  for (const v of Object.keys(weights)) zeroed[v] = 0;
  zeroed[version] = 0;

  if (own === 0 && target.state === 'faulty') {
    const serving = Object.entries(weights).filter(([, w]) => w > 0).map(([v]) => v);
    return { outcome: 'noop', weights: { ...weights }, mode, versionStates: {}, serving, summary: `${version} is already isolated` };
  }

  const others = Object.entries(weights).filter(([v, w]) => v !== version && w > 0 && canServe(states.get(v) ?? 'retired'));
  if (own === 0) {
    // No traffic to move: only the state changes.
    return { outcome: 'marked', weights: { ...weights }, mode, versionStates, serving: others.map(([v]) => v), summary: `${version} marked faulty (it had no traffic)` };
  }
  const renormalized = proportionalWeights(others);
  if (renormalized) {
    const next = { ...zeroed, ...renormalized };
    const list = others.map(([v]) => `${v} ${next[v]}%`).join(', ');
    return { outcome: 'renormalized', weights: next, mode, versionStates, serving: others.map(([v]) => v), summary: `${version} isolated; its ${own}% moved to ${list}` };
  }
  const stable = lastKnownStable(versions, { exclude: [version] });
  if (stable) {
    return {
      outcome: 'stable',
      weights: { ...zeroed, [stable.version]: 100 },
      mode,
      versionStates,
      serving: [stable.version],
      summary: `${version} isolated; all traffic on the last known stable version ${stable.version}`,
    };
  }
  return {
    outcome: 'fallback',
    weights: zeroed,
    mode: 'fallback',
    versionStates,
    serving: [],
    summary: `${version} isolated; no healthy or stable version is left, so the model answers from its fallbacks`,
  };
}

export interface RollbackCandidatesInput {
  versions: readonly ModelVersion[];
  /** The version being rolled back from (excluded, marked faulty by the switch). */
  from?: string;
  /** An explicit target: the only candidate. */
  to?: string;
  /** How many stable versions to try, newest first (M-1, M-2, ...). */
  depth: number;
}

/**
 * Versions a rollback may land on, in the order to try them. An explicit `to` must exist and be
 * able to serve; otherwise the newest stable versions (excluding `from`), up to `depth`. Throws
 * VERSION_NOT_FOUND, INVALID_STATE, CONFLICT or NO_STABLE_VERSION before anything moves.
 */
export function rollbackCandidates(model: string, input: RollbackCandidatesInput): ModelVersion[] {
  const { versions, from, to } = input;
  if (to !== undefined) {
    const v = versions.find((x) => x.version === to);
    if (!v) {
      const known = versions.map((x) => x.version).join(', ') || 'none';
      throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${to}" (registered: ${known})`);
    }
    if (v.state === 'faulty' || v.state === 'retired') {
      throw new FailsafeError('INVALID_STATE', `${model} ${to} is ${v.state}; it cannot be a rollback target`);
    }
    if (to === from) throw new FailsafeError('CONFLICT', `${model} ${to} is the version being rolled back from`);
    return [v];
  }
  const out: ModelVersion[] = [];
  const exclude = new Set(from !== undefined ? [from] : []);
  const depth = Math.max(1, Math.floor(input.depth));
  while (out.length < depth) {
    const next = lastKnownStable(versions, { exclude });
    if (!next) break;
    out.push(next);
    exclude.add(next.version);
  }
  if (out.length === 0) {
    throw new FailsafeError(
      'NO_STABLE_VERSION',
      `${model} has no stable version to roll back to${from ? ` (besides ${from})` : ''}; name one with "to", or keep the model contained`,
    );
  }
  return out;
}

/**
 * The route changes of a switch to `to`: one change ({to: 100}) by default, or one per configured
 * step. `from` gets 0 from the first change on (it is faulty); the rest of each step stays with the
 * other versions that serve now, in proportion. When nothing else serves, a step cannot be
 * honoured without keeping traffic on the faulty version, so the switch is one change.
 */
export function switchWeights(current: Record<string, number>, from: string | undefined, to: string, steps?: readonly number[]): Record<string, number>[] {
  const zeroed: Record<string, number> = {};
  for (const v of Object.keys(current)) zeroed[v] = 0;
  if (from !== undefined) zeroed[from] = 0;
  const final = { ...zeroed, [to]: 100 };
  const others = Object.entries(current).filter(([v, w]) => v !== from && v !== to && w > 0);
  const plan = [...new Set((steps ?? []).filter((s) => s > 0 && s < 100))].sort((a, b) => a - b);
  if (plan.length === 0 || others.length === 0) return [final];
  const out: Record<string, number>[] = [];
  for (const s of plan) {
    const rest = proportionalWeights(others, 100 - s)!;
    out.push({ ...zeroed, ...rest, [to]: s });
  }
  out.push(final);
  return out;
}

/**
 * The version a rollback is from when the caller did not say: the version of the incident, else
 * the version with the most traffic when it is not stable, else the most recently faulted one.
 */
export function rollbackSource(route: Pick<Route, 'weights'> | undefined, versions: readonly ModelVersion[], incidentVersion?: string): string | undefined {
  if (incidentVersion !== undefined && versions.some((v) => v.version === incidentVersion)) return incidentVersion;
  const byName = new Map(versions.map((v) => [v.version, v]));
  const primary = Object.entries(route?.weights ?? {})
    .filter(([v, w]) => w > 0 && byName.has(v))
    .sort((a, b) => b[1] - a[1] || byName.get(b[0])!.createdAt - byName.get(a[0])!.createdAt)[0]?.[0];
  if (primary && byName.get(primary)!.state !== 'stable') return primary;
  const faulted = versions.filter((v) => v.state === 'faulty').sort((a, b) => b.stateChangedAt - a.stateChangedAt)[0];
  return faulted?.version ?? primary;
}

/**
 * Whether a version has soaked: served for `soakMs` since it started serving and since its last
 * breach, with no active incident. `servingSince` undefined means it is not serving.
 */
export function hasSoaked(input: { servingSince?: EpochMs; lastBreachAt?: EpochMs; activeIncident: boolean; now: EpochMs; soakMs: number }): boolean {
  if (input.servingSince === undefined || input.activeIncident) return false;
  const start = Math.max(input.servingSince, input.lastBreachAt ?? -Infinity);
  return input.now - start >= input.soakMs;
}

/** True when fewer than `max` of `times` fall inside the window ending at `now`. */
export function underRateLimit(times: readonly EpochMs[], now: EpochMs, max: number, windowMs: number): boolean {
  let n = 0;
  for (const t of times) if (t > now - windowMs && t <= now) n++;
  return n < max;
}
