// Run-time tuning of monitors (what the postmortem suggests and someone applies): one row per
// model + monitor holding the settings patch in force. History lives in the audit log.
import type { Actor, EpochMs } from '../../core/types.ts';
import type { MonitorSettingsPatch } from './monitor-config.ts';

export interface MonitorTuning {
  model: string;
  monitor: string;
  /** Applied over the configuration's settings for this model's monitor. */
  settings: MonitorSettingsPatch;
  updatedAt: EpochMs;
  updatedBy: Actor;
  reason?: string;
}

export interface MonitorTuningStore {
  /** Every tuning, or one model's; ordered by model, then monitor. */
  list(model?: string): Promise<MonitorTuning[]>;
  get(model: string, monitor: string): Promise<MonitorTuning | undefined>;
  /** Inserts or replaces the tuning of model + monitor. */
  upsert(tuning: MonitorTuning): Promise<void>;
  /** True when there was one to delete. */
  delete(model: string, monitor: string): Promise<boolean>;
}
