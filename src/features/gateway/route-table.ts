// The gateway's in-memory route table. The routing service compiles every route change into a
// ServingModel and calls apply(); we turn it into a structure that answers "which version serves
// this request" with a few comparisons, and publish it with one Map.set. A request reads the
// entry once at its start, so it sees either the old or the new route, never a mix, and every
// request that starts after apply() returns uses the new one.
import type { ModelKind, ModelVersion, RouteMode } from '../../core/types.ts';
import type { ServingModel, ServingSink } from '../routing/serving-model.ts';

/** How the sticky value of a request is found: a top-level body field or a request header. */
export type StickySource = { kind: 'body'; field: string } | { kind: 'header'; name: string };

export interface CompiledVersion {
  readonly name: string;
  readonly spec: ModelVersion;
  /** Chat: `<base>/chat/completions`; predict: the endpoint URL as configured. */
  readonly url: string;
  readonly origin: string;
  /** Path plus query, ready for undici's `path` option. */
  readonly path: string;
  readonly host: string;
  readonly upstreamModel?: string;
  readonly prompt?: string;
  /** Version params as an entries array: merging defaults is a short loop, no Object.keys per request. */
  readonly params?: ReadonlyArray<readonly [string, unknown]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface CompiledRoute {
  readonly name: string;
  readonly kind: ModelKind;
  readonly mode: RouteMode;
  readonly revision: number;
  readonly serving: ServingModel;
  /** Versions that get traffic, in weight order, with cumulative upper bounds in 0..total. */
  readonly arms: ReadonlyArray<CompiledVersion>;
  readonly bounds: Float64Array;
  readonly total: number;
  /** Every non-retired version (pinning with `name@version`). */
  readonly versions: ReadonlyMap<string, CompiledVersion>;
  readonly stable?: CompiledVersion;
  readonly shadow?: { version: CompiledVersion; percent: number };
  readonly sticky?: StickySource;
}

export interface PickOptions {
  pinnedVersion?: string;
  stickyValue?: string;
}

export type PickResult =
  | { ok: true; version: CompiledVersion; route: CompiledRoute }
  | { ok: false; reason: 'unknown_model' | 'unknown_version' | 'no_version'; route?: CompiledRoute };

export function compileServingModel(serving: ServingModel): CompiledRoute {
  const { model, route } = serving;
  const versions = new Map<string, CompiledVersion>();
  for (const [name, spec] of Object.entries(serving.versions)) {
    if (spec.state === 'retired') continue;
    versions.set(name, compileVersion(model.kind, spec));
  }
  const weighted = Object.entries(route.weights)
    .filter(([v, w]) => w > 0 && versions.has(v))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const arms: CompiledVersion[] = [];
  const bounds = new Float64Array(weighted.length);
  let total = 0;
  weighted.forEach(([v, w], i) => {
    total += w;
    bounds[i] = total;
    arms.push(versions.get(v)!);
  });
  const stable = serving.stableVersion ? versions.get(serving.stableVersion) : undefined;
  const shadowVersion = route.shadow && route.shadow.percent > 0 ? versions.get(route.shadow.version) : undefined;
  return {
    name: model.name,
    kind: model.kind,
    mode: route.mode,
    revision: route.revision,
    serving,
    arms,
    bounds,
    total,
    versions,
    stable,
    shadow: shadowVersion ? { version: shadowVersion, percent: route.shadow!.percent } : undefined,
    sticky: parseStickyKey(route.stickyKey),
  };
}

export function parseStickyKey(key: string | undefined): StickySource | undefined {
  if (!key) return undefined;
  if (key.startsWith('header:')) {
    const name = key.slice('header:'.length).trim().toLowerCase();
    return name ? { kind: 'header', name } : undefined;
  }
  const field = key.startsWith('body:') ? key.slice('body:'.length) : key;
  return field ? { kind: 'body', field } : undefined;
}

function compileVersion(kind: ModelKind, spec: ModelVersion): CompiledVersion {
  const base = spec.upstream.url;
  const url = kind === 'chat' ? `${base.replace(/\/+$/, '')}/chat/completions` : base;
  const parsed = new URL(url);
  const params = spec.params ? Object.entries(spec.params) : undefined;
  return {
    name: spec.version,
    spec,
    url,
    origin: parsed.origin,
    path: `${parsed.pathname}${parsed.search}`,
    host: parsed.host,
    upstreamModel: spec.upstream.model,
    prompt: spec.prompt || undefined,
    params: params && params.length > 0 ? params : undefined,
    headers: spec.upstream.headers && Object.keys(spec.upstream.headers).length > 0 ? spec.upstream.headers : undefined,
    timeoutMs: spec.upstream.timeoutMs,
  };
}

/** FNV-1a 32-bit: stable across processes and replicas, so a client stays on one arm everywhere. */
export function stickyBucket(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}

/** Index of the arm whose cumulative bound exceeds x (x in [0, total)). */
function armAt(bounds: Float64Array, x: number): number {
  const n = bounds.length;
  for (let i = 0; i < n - 1; i++) if (x < bounds[i]) return i;
  return n - 1;
}

export function pickFrom(route: CompiledRoute, options: PickOptions = {}, random: () => number = Math.random): PickResult {
  if (options.pinnedVersion !== undefined) {
    const v = route.versions.get(options.pinnedVersion);
    return v ? { ok: true, version: v, route } : { ok: false, reason: 'unknown_version', route };
  }
  const n = route.arms.length;
  if (n === 0) {
    // Nothing weighted (every arm isolated): the last stable version is still a safe answer.
    return route.stable ? { ok: true, version: route.stable, route } : { ok: false, reason: 'no_version', route };
  }
  if (n === 1) return { ok: true, version: route.arms[0], route };
  // Sticky values map into 0..99 and are scaled onto the total, so weights that do not sum to
  // exactly 100 still split sticky clients in proportion.
  const x =
    options.stickyValue !== undefined
      ? (stickyBucket(options.stickyValue) / 100) * route.total
      : random() * route.total;
  return { ok: true, version: route.arms[armAt(route.bounds, x)], route };
}

export class RouteTable implements ServingSink {
  private readonly routes = new Map<string, CompiledRoute>();
  private readonly random: () => number;

  constructor(options: { random?: () => number } = {}) {
    this.random = options.random ?? Math.random;
  }

  /** ServingSink: compile first, then publish with one Map.set. A bad spec throws before the swap. */
  apply(serving: ServingModel): void {
    const compiled = compileServingModel(serving);
    this.routes.set(compiled.name, compiled);
  }

  remove(model: string): void {
    this.routes.delete(model);
  }

  get(model: string): CompiledRoute | undefined {
    return this.routes.get(model);
  }

  models(): CompiledRoute[] {
    return [...this.routes.values()];
  }

  pick(model: string, options: PickOptions = {}): PickResult {
    const route = this.routes.get(model);
    if (!route) return { ok: false, reason: 'unknown_model' };
    return pickFrom(route, options, this.random);
  }

  /** Whether this request also goes to the shadow version (its answer is recorded, never returned). */
  shadowFor(route: CompiledRoute, chosen: CompiledVersion): CompiledVersion | undefined {
    const s = route.shadow;
    if (!s || s.version === chosen) return undefined;
    return this.random() * 100 < s.percent ? s.version : undefined;
  }
}
