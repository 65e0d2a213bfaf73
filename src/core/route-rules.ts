// Rules every route must satisfy, as pure functions so routing, isolation, rollback and canary
// steps all check a proposed route the same way before anything is saved.
import { FailsafeError } from './errors.ts';
import type { ModelVersion, Route, RouteMode } from './types.ts';
import { canServe } from './version-state.ts';

export const routeModes: readonly RouteMode[] = ['serving', 'paused', 'fallback'];

// `user` and `body:user` name a top-level request field; `header:x-client-id` a request header.
const STICKY_RE = /^(header:[A-Za-z0-9-]{1,64}|(body:)?[A-Za-z_][A-Za-z0-9_.]{0,63})$/;

const invalid = (message: string) => new FailsafeError('INVALID_ROUTE', message);

export const sumWeights = (weights: Record<string, number>): number => Object.values(weights).reduce((a, b) => a + b, 0);

/**
 * Weights are non-negative integers summing to 100, over registered versions; a version that is
 * faulty or retired may appear only with weight 0 (isolation leaves it visible at 0).
 */
export function validateWeights(
  model: string,
  weights: unknown,
  versions: readonly ModelVersion[],
  /** `allowNone`: all weights 0 is accepted (a paused or fallback-mode route whose versions are all out of rotation). */
  options: { allowNone?: boolean } = {},
): Record<string, number> {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
    throw invalid('weights: expected an object of version -> weight, e.g. {"v1":90,"v2":10}');
  }
  const byName = new Map(versions.map((v) => [v.version, v]));
  const out: Record<string, number> = {};
  for (const [version, weight] of Object.entries(weights as Record<string, unknown>)) {
    const v = byName.get(version);
    if (!v) {
      const known = versions.map((x) => x.version).join(', ') || 'none';
      throw invalid(`weights.${version}: ${model} has no version "${version}" (registered: ${known})`);
    }
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw invalid(`weights.${version}: expected an integer from 0 to 100, got ${JSON.stringify(weight)}`);
    }
    if (weight > 0 && !canServe(v.state)) {
      throw invalid(`weights.${version}: ${model} ${version} is ${v.state} and cannot take traffic`);
    }
    out[version] = weight;
  }
  const total = sumWeights(out);
  if (total !== 100 && !(options.allowNone && total === 0)) throw invalid(`weights must sum to 100, got ${total}`);
  return out;
}

export function validateShadow(
  model: string,
  shadow: unknown,
  versions: readonly ModelVersion[],
): { version: string; percent: number } {
  const s = shadow as { version?: unknown; percent?: unknown } | null;
  if (!s || typeof s !== 'object' || typeof s.version !== 'string') {
    throw invalid('shadow: expected {"version": "...", "percent": 0-100}');
  }
  const v = versions.find((x) => x.version === s.version);
  if (!v) throw invalid(`shadow.version: ${model} has no version "${s.version}"`);
  if (!canServe(v.state)) throw invalid(`shadow.version: ${model} ${s.version} is ${v.state} and cannot take traffic`);
  const percent = s.percent === undefined ? 100 : s.percent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw invalid(`shadow.percent: expected a number from 0 to 100, got ${JSON.stringify(s.percent)}`);
  }
  return { version: s.version, percent };
}

export function validateStickyKey(key: unknown): string {
  if (typeof key !== 'string' || !STICKY_RE.test(key)) {
    throw invalid('stickyKey: expected a request field (e.g. "user") or "header:<name>" (e.g. "header:x-client-id")');
  }
  return key;
}

export function validateMode(mode: unknown): RouteMode {
  if (!routeModes.includes(mode as RouteMode)) throw invalid(`mode: expected one of ${routeModes.join(', ')}`);
  return mode as RouteMode;
}

/** A serving route must have somewhere to send traffic. */
export function assertServable(model: string, route: Pick<Route, 'mode' | 'weights'>): void {
  if (route.mode === 'serving' && sumWeights(route.weights) !== 100) {
    throw invalid(`${model} has no route weights to serve with; set them first (PUT /api/v1/models/${model}/route)`);
  }
}

/** Versions with weight > 0, i.e. the ones that actually receive traffic. */
export const servingVersions = (weights: Record<string, number>): string[] =>
  Object.entries(weights)
    .filter(([, w]) => w > 0)
    .map(([v]) => v);
