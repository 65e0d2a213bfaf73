// Long windows are read every second, and merging 300 one-second buckets (each with a latency
// sketch) for every monitor of every version every second is most of the monitors' cost. This
// reader composes a window from aligned 10-second blocks cached for up to 10 s, plus the newest
// seconds read fresh. Buckets change after their second in two ways: requests still in flight
// finish (the newest seconds, always read fresh) and feedback or labels arrive later (counted at
// their request's time, in any older bucket): those reach a cached block within `ttlMs`, the same
// staleness the baselines already have.
import type { EpochMs } from '../../core/types.ts';
import { emptyCounts, emptyWindow, type MetricWindow, type TenthCounts, type WindowCounts } from '../telemetry/metric-windows.ts';
import type { WindowReader } from './monitor-evaluator.ts';

export interface WindowCacheOptions {
  /** Seconds per cached block (default 10). */
  blockSeconds?: number;
  /**
   * The newest seconds, always read fresh (default 15): nearly every request finishes by then; the
   * rare slower one (a timeout) reaches its cached block within ttlMs like late feedback.
   */
  freshSeconds?: number;
  /**
   * A cached block is read again after this long (default 10 s), or a tenth of its age when that is
   * longer (up to maxTtlMs, default 3 min): late feedback shows up by then.
   */
  ttlMs?: number;
  maxTtlMs?: number;
}

const COUNT_KEYS = Object.keys(emptyCounts()) as Array<keyof WindowCounts>;

/** Adds `from` into `into` (the same merge the metric windows do for buckets). */
export function mergeWindowInto(into: MetricWindow, from: MetricWindow): void {
  into.activeSeconds += from.activeSeconds;
  for (const k of COUNT_KEYS) into[k] += from[k];
  if (from.latency.count > 0) into.latency.merge(from.latency);
  if (from.ttfb.count > 0) into.ttfb.merge(from.ttfb);
  for (const [k, v] of Object.entries(from.errorClasses)) into.errorClasses[k] = (into.errorClasses[k] ?? 0) + v;
  for (const [k, v] of Object.entries(from.predictions)) into.predictions[k] = (into.predictions[k] ?? 0) + v;
  for (const v of from.inputLengths) into.inputLengths.push(v);
  for (const f of from.features) into.features.push(f);
}

export class WindowCache implements WindowReader {
  private readonly blocks = new Map<string, { window: MetricWindow; at: EpochMs; usedAt: EpochMs }>();
  private readonly block: number;
  private readonly fresh: number;
  private readonly ttl: number;
  private readonly maxTtl: number;
  private now = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: WindowReader,
    options: WindowCacheOptions = {},
  ) {
    this.block = options.blockSeconds ?? 10;
    this.fresh = options.freshSeconds ?? 15;
    this.ttl = options.ttlMs ?? 10_000;
    this.maxTtl = Math.max(this.ttl, options.maxTtlMs ?? 180_000);
  }

  /** The evaluation instant: which seconds are fresh, which blocks are stale. Evicts unused blocks. */
  setNow(now: EpochMs): void {
    if (Math.floor(now / 60_000) !== Math.floor(this.now / 60_000)) {
      for (const [k, b] of this.blocks) if (b.usedAt < now - 2 * this.maxTtl) this.blocks.delete(k);
    }
    this.now = now;
  }

  /** Tenths are recent by nature: never cached. */
  tenths(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): TenthCounts[] {
    return this.inner.tenths?.(model, version, fromMs, toMs) ?? [];
  }

  snapshot(model: string, version: string, fromMs: EpochMs, toMs: EpochMs): MetricWindow {
    // The seconds MetricWindows.snapshot covers: [ceil(from/1000), ceil(to/1000) − 1].
    const first = Math.ceil(fromMs / 1000);
    const last = Math.ceil(toMs / 1000) - 1;
    const settled = Math.floor(this.now / 1000) - this.fresh;
    const B = this.block;
    const firstBlock = Math.ceil(first / B) * B;
    const lastBlockEnd = Math.floor((Math.min(last, settled) + 1) / B) * B; // exclusive
    if (lastBlockEnd - firstBlock < B) return this.inner.snapshot(model, version, fromMs, toMs);
    if (firstBlock === first && lastBlockEnd === last + 1 && lastBlockEnd - firstBlock === B) {
      // Exactly one settled block (batch means): the cached window itself; callers only read it.
      return this.cachedBlock(model, version, firstBlock);
    }
    const out = emptyWindow(model, version, fromMs, toMs);
    if (firstBlock > first) mergeWindowInto(out, this.inner.snapshot(model, version, first * 1000, firstBlock * 1000));
    for (let s = firstBlock; s < lastBlockEnd; s += B) mergeWindowInto(out, this.cachedBlock(model, version, s));
    if (last >= lastBlockEnd) mergeWindowInto(out, this.inner.snapshot(model, version, lastBlockEnd * 1000, (last + 1) * 1000));
    return out;
  }

  private cachedBlock(model: string, version: string, startSecond: number): MetricWindow {
    const key = `${model}\u0000${version}\u0000${startSecond}`;
    const hit = this.blocks.get(key);
    // Old blocks change rarely (a label for a request half an hour old) and matter to long windows
    // only: they are re-read less often, up to every tenth of their age.
    const ttl = Math.min(Math.max(this.ttl, (this.now - startSecond * 1000) / 10), this.maxTtl);
    if (hit && this.now - hit.at < ttl && this.now >= hit.at) {
      hit.usedAt = this.now;
      this.hits++;
      return hit.window;
    }
    this.misses++;
    const window = this.inner.snapshot(model, version, startSecond * 1000, (startSecond + this.block) * 1000);
    this.blocks.set(key, { window, at: this.now, usedAt: this.now });
    return window;
  }

  clear(): void {
    this.blocks.clear();
  }
}
