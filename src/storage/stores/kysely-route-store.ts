import type { Selectable } from 'kysely';
import { FailsafeError } from '../../core/errors.ts';
import type { Route, RouteChange, RouteMode } from '../../core/types.ts';
import type { RouteStore } from '../../features/routing/route-store.ts';
import { fromJson, orUndefined, toJson } from '../json.ts';
import type { RouteHistoryTable, RoutesTable } from '../schema.ts';
import { atomically, orNull, type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

type Shadow = { version: string; percent: number };

const routeFromRow = (row: Selectable<RoutesTable>): Route =>
  compact({
    model: row.model,
    weights: fromJson<Record<string, number>>(row.weights) ?? {},
    shadow: fromJson<Shadow>(row.shadow),
    stickyKey: orUndefined(row.sticky_key),
    mode: row.mode as RouteMode,
    revision: row.revision,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
    reason: orUndefined(row.reason),
  });

const changeFromRow = (row: Selectable<RouteHistoryTable>): RouteChange =>
  compact({
    model: row.model,
    revision: row.revision,
    weights: fromJson<Record<string, number>>(row.weights) ?? {},
    shadow: fromJson<Shadow>(row.shadow),
    mode: row.mode as RouteMode,
    actor: row.actor,
    reason: orUndefined(row.reason),
    at: row.at,
  });

export class KyselyRouteStore implements RouteStore {
  constructor(private readonly ctx: StoreContext) {}

  async get(model: string): Promise<Route | undefined> {
    const row = await this.ctx.db.selectFrom('routes').selectAll().where('model', '=', model).executeTakeFirst();
    return row ? routeFromRow(row) : undefined;
  }

  async list(): Promise<Route[]> {
    const rows = await this.ctx.db.selectFrom('routes').selectAll().orderBy('model').execute();
    return rows.map(routeFromRow);
  }

  async save(route: Route, change: RouteChange): Promise<void> {
    const values = {
      model: route.model,
      weights: toJson(route.weights)!,
      shadow: toJson(route.shadow),
      sticky_key: orNull(route.stickyKey),
      mode: route.mode,
      revision: route.revision,
      updated_at: route.updatedAt,
      updated_by: route.updatedBy,
      reason: orNull(route.reason),
    };
    const { model: _model, ...update } = values;
    try {
      await atomically(this.ctx, async (db) => {
        await db
          .insertInto('routes')
          .values(values)
          .onConflict((oc) => oc.column('model').doUpdateSet(update))
          .execute();
        await db
          .insertInto('route_history')
          .values({
            model: change.model,
            revision: change.revision,
            weights: toJson(change.weights)!,
            shadow: toJson(change.shadow),
            mode: change.mode,
            actor: change.actor,
            reason: orNull(change.reason),
            at: change.at,
          })
          .execute();
      });
    } catch (err) {
      if (this.ctx.caps.isForeignKeyViolation(err)) {
        throw new FailsafeError('MODEL_NOT_FOUND', `model "${route.model}" not found`);
      }
      throw err;
    }
  }

  async history(model: string, options: { limit?: number; since?: number } = {}): Promise<RouteChange[]> {
    let q = this.ctx.db
      .selectFrom('route_history')
      .selectAll()
      .where('model', '=', model)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc');
    if (options.since !== undefined) q = q.where('at', '>=', options.since);
    if (options.limit !== undefined) q = q.limit(options.limit);
    const rows = await q.execute();
    return rows.map(changeFromRow);
  }
}
