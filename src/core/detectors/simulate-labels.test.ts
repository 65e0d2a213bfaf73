import { describe, expect, it } from 'vitest';
import { detectorLabelsForPower } from './simulate-labels.ts';

describe('labels the rate detector needs to catch accuracy 90% → 80%', () => {
  it('cumulative-window settings (α 0.05, always valid): ≤ 400 labels at 95% power', () => {
    const cumulative = detectorLabelsForPower(0.9, 0.8, 0.95, 400);
    const slidingDefaults = detectorLabelsForPower(0.9, 0.8, 0.95, 400, { detector: {} });
    console.log(
      `rateDetector, 90%→80%, 95% power over 400 seeds: cumulative settings ${cumulative.labels} labels (median ${cumulative.medianLabels}); ` +
        `sliding-window defaults ${slidingDefaults.labels} (median ${slidingDefaults.medianLabels})`,
    );
    expect(cumulative.labels).toBeLessThanOrEqual(400);
    expect(cumulative.labels).toBeLessThan(slidingDefaults.labels);
    expect(cumulative.detectionTimes).toHaveLength(400);
  });

  it('does not fire when accuracy holds', () => {
    const r = detectorLabelsForPower(0.9, 0.9, 0.05, 200, { maxLabels: 1000 });
    const fired = r.detectionTimes.filter((t) => t !== Infinity).length;
    expect(fired / 200).toBeLessThanOrEqual(0.05);
  });
});
