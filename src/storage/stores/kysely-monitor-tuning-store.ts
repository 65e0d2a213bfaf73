// Monitor tuning on SQLite and PostgreSQL: the settings patch as JSON text.
import type { MonitorTuning, MonitorTuningStore } from '../../features/monitoring/monitor-tuning-store.ts';
import type { MonitorTuningTable } from '../schema.ts';
import { type StoreContext } from './store-context.ts';
import { compact } from '../../core/compact.ts';

const toDomain = (r: MonitorTuningTable): MonitorTuning =>
  compact({
    model: r.model,
    monitor: r.monitor,
    settings: JSON.parse(r.settings) as MonitorTuning['settings'],
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
    reason: r.reason ?? undefined,
  });

export class KyselyMonitorTuningStore implements MonitorTuningStore {
  constructor(private readonly ctx: StoreContext) {}

  async list(model?: string): Promise<MonitorTuning[]> {
    let q = this.ctx.db.selectFrom('monitor_tuning').selectAll().orderBy('model').orderBy('monitor');
    if (model !== undefined) q = q.where('model', '=', model);
    return (await q.execute()).map(toDomain);
  }

  async get(model: string, monitor: string): Promise<MonitorTuning | undefined> {
    const row = await this.ctx.db.selectFrom('monitor_tuning').selectAll().where('model', '=', model).where('monitor', '=', monitor).executeTakeFirst();
    return row ? toDomain(row) : undefined;
  }

  async upsert(t: MonitorTuning): Promise<void> {
    const values = {
      settings: JSON.stringify(t.settings),
      updated_at: t.updatedAt,
      updated_by: t.updatedBy,
      reason: t.reason ?? null,
    };
    await this.ctx.db
      .insertInto('monitor_tuning')
      .values({ model: t.model, monitor: t.monitor, ...values })
      .onConflict((oc) => oc.columns(['model', 'monitor']).doUpdateSet(values))
      .execute();
  }

  async delete(model: string, monitor: string): Promise<boolean> {
    const res = await this.ctx.db.deleteFrom('monitor_tuning').where('model', '=', model).where('monitor', '=', monitor).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
