// Models and their immutable versions. A version's content hash (sha256 of the canonical JSON of its
// spec) makes registration idempotent and refuses a second, different bundle under the same id.
// Every change is audited in its own transaction; the gateway is refreshed before a call returns.
import type { FailsafeConfig, ModelConfig } from '../../config.ts';
import { canonicalJson, sha256Hex } from '../../core/canonical-json.ts';
import { FailsafeError } from '../../core/errors.ts';
import type { EventBus } from '../../core/events.ts';
import { lastKnownStable } from '../../core/last-stable.ts';
import { sumWeights } from '../../core/route-rules.ts';
import type { Clock, Model, ModelKind, ModelVersion, Route, Upstream, VersionSpec, VersionState } from '../../core/types.ts';
import { assertTransition } from '../../core/version-state.ts';
import { transitionVersion } from './version-transition.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { Stores } from '../stores.ts';

export interface ChangeContext {
  actor: string;
  reason?: string;
  requestId?: string;
}

export interface RegisterModelInput {
  name: string;
  kind: ModelKind;
  tags?: string[];
}

export interface ModelSummary {
  model: Model;
  /** The route as it serves now (undefined before one was set). */
  route?: Route;
  versions: ModelVersion[];
  stableVersion?: string;
}

export interface SeedReport {
  modelsCreated: string[];
  versionsCreated: string[];
  routesSet: string[];
  warnings: string[];
}

export interface RegistryServiceOptions {
  stores: Stores;
  audit: AuditLog;
  clock: Clock;
  bus: EventBus;
  routing: RoutingService;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The fields that make a version what it is; `provider` defaults as the config does, so both paths hash alike. */
export function normalizeSpec(spec: VersionSpec): VersionSpec {
  const upstream: Upstream = { ...spec.upstream, provider: spec.upstream.provider || 'openai' };
  return { version: spec.version, upstream, prompt: spec.prompt, params: spec.params, metadata: spec.metadata };
}

export const versionContentHash = (spec: VersionSpec): string => sha256Hex(canonicalJson(normalizeSpec(spec)));

/** Top-level spec fields whose content differs (for a conflict message that says what changed). */
function changedFields(a: VersionSpec, b: VersionSpec): string[] {
  const na = normalizeSpec(a) as unknown as Record<string, unknown>;
  const nb = normalizeSpec(b) as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const key of ['upstream', 'prompt', 'params', 'metadata']) {
    if (key === 'upstream') {
      const ua = na.upstream as Record<string, unknown>;
      const ub = nb.upstream as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ua), ...Object.keys(ub)])) {
        if (canonicalJson(ua[k]) !== canonicalJson(ub[k])) out.push(`upstream.${k}`);
      }
    } else if (canonicalJson(na[key]) !== canonicalJson(nb[key])) out.push(key);
  }
  return out;
}

export class RegistryService {
  private readonly stores: Stores;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private readonly routing: RoutingService;

  constructor(options: RegistryServiceOptions) {
    this.stores = options.stores;
    this.audit = options.audit;
    this.clock = options.clock;
    this.bus = options.bus;
    this.routing = options.routing;
  }

  async getModel(name: string): Promise<Model> {
    const model = await this.stores.models.get(name);
    if (!model) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${name}"`);
    return model;
  }

  async listModels(): Promise<ModelSummary[]> {
    const [models, routes] = await Promise.all([this.stores.models.list(), this.stores.routes.list()]);
    const routeOf = new Map(routes.map((r) => [r.model, r]));
    return Promise.all(
      models.map(async (model) => {
        const versions = await this.stores.versions.list(model.name);
        return { model, route: routeOf.get(model.name), versions, stableVersion: lastKnownStable(versions)?.version };
      }),
    );
  }

  async describeModel(name: string): Promise<ModelSummary> {
    const model = await this.getModel(name);
    const [route, versions] = await Promise.all([this.stores.routes.get(name), this.stores.versions.list(name)]);
    return { model, route, versions, stableVersion: lastKnownStable(versions)?.version };
  }

  async registerModel(input: RegisterModelInput, ctx: ChangeContext): Promise<Model> {
    if (!NAME_RE.test(input.name)) {
      throw new FailsafeError('VALIDATION_FAILED', 'name: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    }
    if (input.kind !== 'chat' && input.kind !== 'predict') throw new FailsafeError('VALIDATION_FAILED', 'kind: expected chat or predict');
    const model: Model = { name: input.name, kind: input.kind, tags: [...new Set(input.tags ?? [])], createdAt: this.clock.now() };
    await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      if (await tx.models.get(model.name)) throw new FailsafeError('MODEL_EXISTS', `a model named "${model.name}" exists already`);
      await tx.models.insert(model);
      await this.audit.append(tx, { ...auditBase(ctx), action: 'model.register', target: `model:${model.name}`, after: model });
    });
    await this.routing.refresh(model.name);
    return model;
  }

  async setTags(name: string, tags: string[], ctx: ChangeContext): Promise<Model> {
    const unique = [...new Set(tags)];
    const updated = await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      const model = await tx.models.get(name);
      if (!model) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${name}"`);
      if (canonicalJson(model.tags) === canonicalJson(unique)) return undefined;
      await tx.models.updateTags(name, unique);
      await this.audit.append(tx, { ...auditBase(ctx), action: 'model.tags', target: `model:${name}`, before: { tags: model.tags }, after: { tags: unique } });
      return { ...model, tags: unique };
    });
    if (!updated) return this.getModel(name);
    await this.routing.refresh(name);
    return updated;
  }

  async getVersion(model: string, version: string): Promise<ModelVersion> {
    await this.getModel(model);
    const found = await this.stores.versions.get(model, version);
    if (!found) throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${version}"`);
    return found;
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    await this.getModel(model);
    return this.stores.versions.list(model);
  }

  /**
   * Registers an immutable version. The same id with the same content is an idempotent success
   * (`created: false`); the same id with other content is refused with VERSION_CONFLICT.
   */
  async registerVersion(
    model: string,
    spec: VersionSpec,
    ctx: ChangeContext & { initialState?: VersionState },
  ): Promise<{ version: ModelVersion; created: boolean }> {
    if (!NAME_RE.test(spec.version)) {
      throw new FailsafeError('VALIDATION_FAILED', 'version: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    }
    const normalized = normalizeSpec(spec);
    const contentHash = versionContentHash(normalized);
    const now = this.clock.now();
    const state = ctx.initialState ?? 'candidate';
    const result = await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      if (!(await tx.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
      const existing = await tx.versions.get(model, spec.version);
      if (existing) {
        if (existing.contentHash === contentHash) return { version: existing, created: false };
        const fields = changedFields(existing, normalized);
        throw new FailsafeError(
          'VERSION_CONFLICT',
          `${model} ${spec.version} is already registered with different content (${fields.join(', ') || 'content'} differ); ` +
            'versions are immutable: register the changed bundle under a new version id',
          { existingHash: existing.contentHash, newHash: contentHash, fields },
        );
      }
      const version: ModelVersion = {
        ...normalized,
        model,
        state,
        contentHash,
        createdAt: now,
        stateChangedAt: now,
        stableSince: state === 'stable' ? now : undefined,
        liveSince: state === 'live' ? now : undefined,
      };
      await tx.versions.insert(version);
      await this.audit.append(tx, {
        ...auditBase(ctx),
        action: 'version.register',
        target: `version:${model}@${spec.version}`,
        after: auditableVersion(version),
      });
      return { version, created: true };
    });
    if (result.created) await this.routing.refresh(model);
    return result;
  }

  /**
   * The one way a version changes state (besides routing traffic to it, which makes it live).
   * Checks the transition, refuses to retire a version that still has traffic, audits, refreshes
   * the gateway (the last stable version may have changed), and emits `version.state`.
   */
  async setVersionState(model: string, version: string, to: VersionState, ctx: ChangeContext): Promise<ModelVersion> {
    const now = this.clock.now();
    const result = await this.stores.transaction(async (tx) => {
      await this.audit.lock(tx);
      if (!(await tx.models.get(model))) throw new FailsafeError('MODEL_NOT_FOUND', `no model named "${model}"`);
      const current = await tx.versions.get(model, version);
      if (!current) throw new FailsafeError('VERSION_NOT_FOUND', `${model} has no version "${version}"`);
      if (current.state === to) return { version: current, from: current.state, changed: false };
      if (to === 'retired') {
        const route = await tx.routes.get(model);
        const weight = route?.weights[version] ?? 0;
        if (weight > 0 || route?.shadow?.version === version) {
          assertTransition(`${model} ${version}`, current.state, to);
          throw new FailsafeError(
            'INVALID_STATE',
            `${model} ${version} still ${weight > 0 ? `receives ${weight}% of traffic` : 'receives shadow traffic'}; move traffic off it before retiring it`,
          );
        }
      }
      const { version: updated } = await transitionVersion(tx, this.audit, current, to, now, ctx);
      return { version: updated, from: current.state, changed: true };
    });
    if (!result.changed) return result.version;
    await this.routing.refresh(model);
    this.bus.emit('version.state', { model, version, from: result.from, to, actor: ctx.actor, reason: ctx.reason });
    return result.version;
  }

  /**
   * Registers what failsafe.yaml declares (actor `config`). Versions marked `stable: true` start
   * stable. A model's route is set from `route:` only while it has none, so a route changed at run
   * time survives restarts. A declared version whose content differs from the registered one stops
   * the start: versions are immutable, and serving other content than the file says would mislead.
   */
  async seedFromConfig(config: Pick<FailsafeConfig, 'models'>): Promise<SeedReport> {
    const report: SeedReport = { modelsCreated: [], versionsCreated: [], routesSet: [], warnings: [] };
    const ctx: ChangeContext = { actor: 'config', reason: 'declared in configuration' };
    for (const [i, mc] of config.models.entries()) {
      const existing = await this.stores.models.get(mc.name);
      if (!existing) {
        try {
          await this.registerModel({ name: mc.name, kind: mc.kind, tags: mc.tags }, ctx);
          report.modelsCreated.push(mc.name);
        } catch (err) {
          // Another replica starting at the same moment registered it first.
          if (!(err instanceof FailsafeError && err.code === 'MODEL_EXISTS')) throw err;
        }
      } else {
        if (existing.kind !== mc.kind) {
          report.warnings.push(`models[${i}].kind: ${mc.name} is registered as ${existing.kind}; the kind of a model cannot change (keeping ${existing.kind})`);
        }
        if (canonicalJson(existing.tags) !== canonicalJson([...new Set(mc.tags ?? [])])) await this.setTags(mc.name, mc.tags ?? [], ctx);
      }
      for (const [j, vc] of mc.versions.entries()) {
        const spec: VersionSpec = { version: vc.version, upstream: vc.upstream as Upstream, prompt: vc.prompt, params: vc.params, metadata: vc.metadata };
        try {
          const { created } = await this.registerVersion(mc.name, spec, { ...ctx, initialState: vc.stable ? 'stable' : 'candidate' });
          if (created) report.versionsCreated.push(`${mc.name}@${vc.version}`);
        } catch (err) {
          if (err instanceof FailsafeError && err.code === 'VERSION_CONFLICT') {
            throw new FailsafeError('VERSION_CONFLICT', `models[${i}].versions[${j}]: ${err.message}`, err.details);
          }
          throw err;
        }
      }
      await this.seedRoute(mc, i, report);
    }
    return report;
  }

  private async seedRoute(mc: ModelConfig, index: number, report: SeedReport): Promise<void> {
    const current = await this.stores.routes.get(mc.name);
    if (current) {
      if (mc.route && canonicalJson(mc.route) !== canonicalJson(current.weights)) {
        report.warnings.push(
          `models[${index}].route: ${mc.name} serves ${JSON.stringify(current.weights)} (changed at run time by ${current.updatedBy}); the configured route applies only to a model without one`,
        );
      }
      return;
    }
    let weights = mc.route && sumWeights(mc.route) === 100 ? mc.route : undefined;
    if (!weights) {
      const versions = await this.stores.versions.list(mc.name);
      const only = versions.length === 1 ? versions[0] : undefined;
      const target = lastKnownStable(versions) ?? only;
      if (!target) {
        report.warnings.push(`models[${index}].route: ${mc.name} has no route and no stable version to default to; set one with PUT /api/v1/models/${mc.name}/route`);
        return;
      }
      weights = { [target.version]: 100 };
    }
    await this.routing.update(
      mc.name,
      {
        weights,
        shadow: mc.shadow ? { version: mc.shadow.version, percent: mc.shadow.percent } : undefined,
        stickyKey: mc.stickyKey,
      },
      { actor: 'config', reason: mc.route ? 'initial route from configuration' : 'initial route: the stable version takes all traffic' },
    );
    report.routesSet.push(mc.name);
  }
}

const auditBase = (ctx: ChangeContext) => ({ actor: ctx.actor, reason: ctx.reason, requestId: ctx.requestId });

/** Upstream header values can hold credentials: the audit log keeps their names only. */
export function auditableVersion(v: ModelVersion) {
  const { headers, ...upstream } = v.upstream;
  return {
    version: v.version,
    state: v.state,
    contentHash: v.contentHash,
    upstream: headers ? { ...upstream, headerNames: Object.keys(headers) } : upstream,
    prompt: v.prompt,
    params: v.params,
    metadata: v.metadata,
  };
}

export const createRegistryService = (options: RegistryServiceOptions): RegistryService => new RegistryService(options);
