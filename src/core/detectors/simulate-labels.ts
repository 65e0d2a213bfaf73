// Labels needed by the production path: the rateDetector itself, fed one label at a time on a
// cumulative window (carrying its always-valid p-value), rather than the bare sequential test
// that stats/sequential.ts's labelsNeededForPower measures.
import { createRandom, deriveSeed } from '../stats/random.ts';
import { labelsForPower } from '../stats/sequential.ts';
import { CUMULATIVE_WINDOW_SETTINGS, rateDetector, type RateDetectorInput } from './rate-detector.ts';

export interface LabelDetectionOptions {
  /** Detector settings; default CUMULATIVE_WINDOW_SETTINGS. */
  detector?: Omit<RateDetectorInput, 'current' | 'baseline' | 'direction' | 'previousPValue'>;
  maxLabels?: number;
  baseSeed?: number;
}

export interface LabelDetectionResult {
  /** Labels after which `power` of the simulated streams had breached (Infinity if not within maxLabels). */
  labels: number;
  medianLabels: number;
  seeds: number;
  detectionTimes: number[];
}

/**
 * Accuracy (or any rate) drops from p0 to p1: simulate `seeds` label streams with true rate p1,
 * run rateDetector against the baseline rate p0 after every label, and report how many labels
 * it took to breach in `power` of the streams.
 */
export function detectorLabelsForPower(
  p0: number,
  p1: number,
  power: number,
  seeds: number,
  options: LabelDetectionOptions = {},
): LabelDetectionResult {
  const maxLabels = options.maxLabels ?? 3000;
  const detector = options.detector ?? CUMULATIVE_WINDOW_SETTINGS;
  const direction = p1 < p0 ? 'decrease' : 'increase';
  const detectionTimes: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const random = createRandom(deriveSeed(options.baseSeed ?? 1, s));
    let events = 0;
    let previousPValue: number | undefined;
    let found = Infinity;
    for (let n = 1; n <= maxLabels; n++) {
      if (random.next() < p1) events++;
      const r = rateDetector({ family: 'accuracy', ...detector, direction, current: { events, trials: n }, baseline: { rate: p0 }, previousPValue });
      previousPValue = r.pValue ?? previousPValue;
      if (r.status === 'breach') {
        found = n;
        break;
      }
    }
    detectionTimes.push(found);
  }
  return {
    labels: labelsForPower(detectionTimes, power),
    medianLabels: labelsForPower(detectionTimes, 0.5),
    seeds,
    detectionTimes,
  };
}
