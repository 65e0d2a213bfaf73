// Which tighter settings a postmortem replays for a monitor: one knob at a time (so a suggestion
// changes as little as possible), then all of them together. Pure. The patches use the monitoring
// feature's setting names (src/features/monitoring/monitor-config.ts) and stay inside its limits,
// so any of them can be applied as it is.

export type MonitorKindName = 'rate' | 'latency' | 'drift' | 'mean';

export interface TrialSpec {
  label: string;
  patch: Record<string, unknown>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

/** The window list with one shorter window in front (windows are whole seconds, at most 8). */
function shorterWindows(windows: unknown): number[] | undefined {
  if (!Array.isArray(windows) || windows.length === 0) return undefined;
  const list = windows.filter((w): w is number => typeof w === 'number').sort((a, b) => a - b);
  const shortest = list[0]!;
  if (shortest <= 1 || list.length >= 8) return undefined;
  return [Math.max(1, Math.floor(shortest / 2)), ...list];
}

/** Tighter variants of `settings` (the settings in force) for a monitor of this kind. */
export function tighterTrials(kind: MonitorKindName, settings: Record<string, unknown>): TrialSpec[] {
  const single: TrialSpec[] = [];
  const add = (label: string, patch: Record<string, unknown>) => single.push({ label, patch });

  const alpha = num(settings.alpha);
  if (alpha !== undefined && alpha < 0.05) add(`alpha ${round(Math.min(0.05, alpha * 10))}`, { alpha: round(Math.min(0.05, alpha * 10)) });
  const confidence = num(settings.confidence);
  if ((kind === 'rate' || kind === 'latency') && confidence !== undefined && confidence > 0.99) add('confidence 0.99', { confidence: 0.99 });

  if (kind === 'rate') {
    const t = num(settings.absoluteThreshold);
    if (t !== undefined && t > 0.002) add(`absoluteThreshold ${round(t / 2)}`, { absoluteThreshold: round(t / 2) });
    const effect = settings.minEffect as { absolute?: number; relative?: number } | undefined;
    if (effect && typeof effect.relative === 'number' && effect.relative > 1.2) {
      add(`minEffect.relative ${round(Math.max(1.1, effect.relative * 0.8), 3)}`, { minEffect: { relative: round(Math.max(1.1, effect.relative * 0.8), 3) } });
    }
  }
  if (kind === 'latency') {
    const ratio = num(settings.minRatio);
    if (ratio !== undefined && ratio > 1.2) add(`minRatio ${round(Math.max(1.1, ratio * 0.8), 3)}`, { minRatio: round(Math.max(1.1, ratio * 0.8), 3) });
    const thresholds = settings.thresholdsMs as Record<string, number> | null | undefined;
    if (thresholds && Object.keys(thresholds).length > 0) {
      const lower = Object.fromEntries(Object.entries(thresholds).map(([q, ms]) => [q, Math.max(1, Math.round(ms * 0.7))]));
      add(`thresholdsMs ×0.7`, { thresholdsMs: lower });
    }
  }
  if (kind === 'mean') {
    const ratio = num(settings.minRatio);
    if (ratio !== undefined && ratio > 1.2) add(`minRatio ${round(Math.max(1.1, ratio * 0.8), 3)}`, { minRatio: round(Math.max(1.1, ratio * 0.8), 3) });
  }
  if (kind === 'drift') {
    const test = settings.test;
    const threshold = num(settings.threshold);
    // PSI/JS: a smaller distance; KS: the threshold is a p-value level, so a larger one.
    if (test === 'ks') {
      const level = threshold ?? 0.01;
      if (level < 0.05) add(`threshold ${round(Math.min(0.05, level * 5))}`, { threshold: round(Math.min(0.05, level * 5)) });
    } else {
      const distance = threshold ?? 0.1;
      add(`threshold ${round(distance / 2)}`, { threshold: round(distance / 2) });
    }
    const minStatistic = num(settings.minStatistic);
    if (minStatistic !== undefined && minStatistic > 0.01) add(`minStatistic ${round(minStatistic / 2)}`, { minStatistic: round(minStatistic / 2) });
  }

  const minSamples = num(settings.minSamples);
  if (minSamples !== undefined && minSamples > 5) add(`minSamples ${Math.max(5, Math.ceil(minSamples / 2))}`, { minSamples: Math.max(5, Math.ceil(minSamples / 2)) });
  const windows = shorterWindows(settings.windows);
  if (windows) add(`windows ${JSON.stringify(windows)}`, { windows });
  const consecutive = num(settings.consecutiveBreaches);
  if (consecutive !== undefined && consecutive > 1) add('consecutiveBreaches 1', { consecutiveBreaches: 1 });

  if (single.length < 2) return single;
  // Everything at once: the most sensitive setting, usually the one that pays in false alarms.
  const all: Record<string, unknown> = {};
  for (const t of single) Object.assign(all, t.patch);
  return [...single, { label: 'all of the above', patch: all }];
}
