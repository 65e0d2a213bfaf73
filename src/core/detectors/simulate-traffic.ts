// Simulated traffic evaluated the way a monitor evaluates it: every second, each sliding window
// (default the last 1, 5 and 60 seconds) is compared with a fixed baseline by the rate and
// latency detectors. Used by the false-alarm test ("no false incident in an hour of healthy,
// noisy traffic") and by the benchmark (false-alarm rate, time to detect hard faults).
import type { EpochMs } from '../types.ts';
import { createRandom, deriveSeed, type Random } from '../stats/random.ts';
import { createSketch, mergeSketches, type LatencySketch } from '../stats/latency-sketch.ts';
import type { Evidence } from '../types.ts';
import { rateDetector, type RateDetectorInput } from './rate-detector.ts';
import { latencyDetector, type LatencyDetectorInput } from './latency-detector.ts';
import type { DetectorResult } from './detector-result.ts';
import { estimateOnset } from './estimate-onset.ts';

export interface TrafficModel {
  /** Request rate wanders (log-space random walk) between these bounds. */
  minRps: number;
  maxRps: number;
  /** Mean error rate. */
  errorRate: number;
  /** Per-second multiplicative jitter of the error rate: sd of its log. */
  errorJitter: number;
  latencyMedianMs: number;
  /** Log-normal shape of request latencies. */
  latencySigma: number;
  /** Per-second jitter of the median latency: sd of its log. */
  latencyDrift: number;
}

export const DEFAULT_TRAFFIC: TrafficModel = {
  minRps: 20,
  maxRps: 200,
  errorRate: 0.005,
  errorJitter: 0.3,
  latencyMedianMs: 120,
  latencySigma: 0.5,
  latencyDrift: 0.05,
};

type RateOptions = Omit<RateDetectorInput, 'current' | 'baseline' | 'window'>;
type LatencyOptions = Omit<LatencyDetectorInput, 'current' | 'baseline' | 'window'>;

export interface SimulationDetectorsConfig {
  /** Sliding windows evaluated every second. Default [1, 5, 60]. */
  windowsSeconds?: readonly number[];
  /** Healthy seconds simulated (separate random stream) to build the fixed baseline. Default 600. */
  baselineSeconds?: number;
  /** 'counts': two-sample test against the baseline's counts (default); 'rate': one-sample vs traffic.errorRate. */
  rateBaseline?: 'counts' | 'rate';
  traffic?: Partial<TrafficModel>;
  /** Default { absoluteThreshold: 0.05 } on top of rateDetector's defaults. */
  rate?: RateOptions;
  /** Default { thresholdsMs: { p99: 2000 } } on top of latencyDetector's defaults. */
  latency?: LatencyOptions;
  /** Epoch of second 0 (only affects evidence windows). Default 0. */
  startAt?: EpochMs;
}

export interface SimulatedBreach {
  second: number;
  detector: 'rate' | 'latency';
  windowSeconds: number;
  evidence: Evidence;
}

export interface HealthySimulationResult {
  seed: number;
  seconds: number;
  requests: number;
  /** Detector evaluations (seconds × windows × 2 detectors). */
  evaluations: number;
  /** Evaluations that returned `breach`. Every one is a false alarm: the traffic is healthy. */
  breaches: number;
  breachesByDetector: { rate: number; latency: number };
  insufficientData: number;
  /** The first few breaches, with their evidence, for diagnosis. */
  firstBreaches: SimulatedBreach[];
}

interface Second {
  trials: number;
  errors: number;
  sketch: LatencySketch;
}

/** Generates one second of traffic at a time; the request rate wanders in log space. */
class TrafficGenerator {
  private logRps: number;
  constructor(
    private readonly random: Random,
    private readonly model: TrafficModel,
  ) {
    this.logRps = random.uniform(Math.log(model.minRps), Math.log(model.maxRps));
  }

  next(override?: { errorRate?: number; latencyFactor?: number; rps?: number }): Second {
    const m = this.model;
    const lo = Math.log(m.minRps);
    const hi = Math.log(m.maxRps);
    this.logRps = Math.min(hi, Math.max(lo, this.logRps + this.random.normal(0, 0.05)));
    const trials = this.random.poisson(override?.rps ?? Math.exp(this.logRps));
    // Mean-preserving log-normal jitter.
    const jitter = Math.exp(this.random.normal(-0.5 * m.errorJitter ** 2, m.errorJitter));
    const errorRate = override?.errorRate ?? Math.min(1, m.errorRate * jitter);
    const errors = this.random.binomial(trials, errorRate);
    const logMedian = Math.log(m.latencyMedianMs * (override?.latencyFactor ?? 1)) + this.random.normal(0, m.latencyDrift);
    const sketch = createSketch();
    for (let i = 0; i < trials; i++) sketch.add(Math.exp(this.random.normal(logMedian, m.latencySigma)));
    return { trials, errors, sketch };
  }
}

interface Harness {
  evaluate(second: number): Array<{ detector: 'rate' | 'latency'; windowSeconds: number; result: DetectorResult }>;
  push(s: Second): void;
  seconds: Second[];
}

function buildHarness(seed: number, config: SimulationDetectorsConfig, model: TrafficModel): Harness {
  const windows = config.windowsSeconds ?? [1, 5, 60];
  const startAt = config.startAt ?? 0;
  // Baseline: an independent stream of healthy traffic, as the stable version's recent history.
  const baselineGen = new TrafficGenerator(createRandom(deriveSeed(seed, 'baseline')), model);
  const baselineSketches: LatencySketch[] = [];
  let baselineTrials = 0;
  let baselineErrors = 0;
  for (let i = 0; i < (config.baselineSeconds ?? 600); i++) {
    const s = baselineGen.next();
    baselineTrials += s.trials;
    baselineErrors += s.errors;
    baselineSketches.push(s.sketch);
  }
  const baselineSketch = mergeSketches(...baselineSketches);
  const rateBaseline =
    (config.rateBaseline ?? 'counts') === 'counts' ? { events: baselineErrors, trials: baselineTrials } : { rate: model.errorRate };
  const rateOptions: RateOptions = { absoluteThreshold: 0.05, ...config.rate };
  const latencyOptions: LatencyOptions = { thresholdsMs: { p99: 2000 }, ...config.latency };

  const seconds: Second[] = [];
  // One running sketch per window: merge the newest second, subtract the one that left.
  const windowSketches = windows.map(() => createSketch());
  return {
    seconds,
    push: (s) => {
      seconds.push(s);
      const t = seconds.length - 1;
      windows.forEach((w, i) => {
        windowSketches[i].merge(s.sketch);
        if (t - w >= 0) windowSketches[i].subtract(seconds[t - w].sketch);
      });
    },
    evaluate: (second) => {
      const out: Array<{ detector: 'rate' | 'latency'; windowSeconds: number; result: DetectorResult }> = [];
      windows.forEach((w, i) => {
        const first = Math.max(0, second - w + 1);
        let trials = 0;
        let errors = 0;
        for (let j = first; j <= second; j++) {
          trials += seconds[j].trials;
          errors += seconds[j].errors;
        }
        const window = { from: startAt + first * 1000, to: startAt + (second + 1) * 1000 };
        out.push({
          detector: 'rate',
          windowSeconds: w,
          result: rateDetector({ ...rateOptions, current: { events: errors, trials }, baseline: rateBaseline, window }),
        });
        out.push({
          detector: 'latency',
          windowSeconds: w,
          result: latencyDetector({ ...latencyOptions, current: windowSketches[i], baseline: baselineSketch, window }),
        });
      });
      return out;
    },
  };
}

function resolveModel(config: SimulationDetectorsConfig): TrafficModel {
  return { ...DEFAULT_TRAFFIC, ...config.traffic };
}

/**
 * One hour (3600 one-second windows) of healthy, noisy traffic, evaluated every second with
 * the rate and latency detectors over each sliding window against a fixed baseline.
 */
export function simulateHealthyHour(seed: number, config: SimulationDetectorsConfig = {}, seconds = 3600): HealthySimulationResult {
  const model = resolveModel(config);
  const harness = buildHarness(seed, config, model);
  const gen = new TrafficGenerator(createRandom(deriveSeed(seed, 'traffic')), model);
  const result: HealthySimulationResult = {
    seed,
    seconds,
    requests: 0,
    evaluations: 0,
    breaches: 0,
    breachesByDetector: { rate: 0, latency: 0 },
    insufficientData: 0,
    firstBreaches: [],
  };
  for (let t = 0; t < seconds; t++) {
    const s = gen.next();
    result.requests += s.trials;
    harness.push(s);
    for (const e of harness.evaluate(t)) {
      result.evaluations++;
      if (e.result.status === 'insufficient_data') result.insufficientData++;
      if (e.result.status !== 'breach') continue;
      result.breaches++;
      result.breachesByDetector[e.detector]++;
      if (result.firstBreaches.length < 5) {
        result.firstBreaches.push({ second: t, detector: e.detector, windowSeconds: e.windowSeconds, evidence: e.result.evidence });
      }
    }
  }
  return result;
}

export interface HealthySimulationSummary {
  seeds: number;
  hours: number;
  evaluations: number;
  breaches: number;
  /** Breaching evaluations ÷ all evaluations. */
  falseAlarmRate: number;
  /** Seeds (simulated hours) with at least one breach — what would have paged someone. */
  hoursWithFalseAlarm: number;
  results: HealthySimulationResult[];
}

/** Runs simulateHealthyHour for each seed and sums up — the benchmark's false-alarm figure. */
export function simulateHealthyHours(seeds: readonly number[], config: SimulationDetectorsConfig = {}): HealthySimulationSummary {
  return summarizeHealthyRuns(seeds.map((seed) => simulateHealthyHour(seed, config)));
}

export function summarizeHealthyRuns(results: readonly HealthySimulationResult[]): HealthySimulationSummary {
  const evaluations = results.reduce((a, r) => a + r.evaluations, 0);
  const breaches = results.reduce((a, r) => a + r.breaches, 0);
  return {
    seeds: results.length,
    hours: results.reduce((a, r) => a + r.seconds, 0) / 3600,
    evaluations,
    breaches,
    falseAlarmRate: evaluations > 0 ? breaches / evaluations : 0,
    hoursWithFalseAlarm: results.filter((r) => r.breaches > 0).length,
    results: [...results],
  };
}

export interface SimulatedFault {
  kind: 'errors' | 'latency';
  /** Error rate while the fault lasts (kind 'errors'). Default 0.5. */
  errorRate?: number;
  /** Latency multiplier while the fault lasts (kind 'latency'). Default 10. */
  latencyFactor?: number;
  /** Fixed request rate during the fault (default: the traffic keeps wandering). */
  rps?: number;
  /** Healthy seconds before the fault. Default 300. */
  startSecond?: number;
  /** Give up after this many faulty seconds. Default 30. */
  maxSeconds?: number;
}

export interface FaultDetectionResult {
  seed: number;
  detected: boolean;
  /** Seconds of faulty data that had arrived when the first breach fired (1 = after the first second). */
  detectionSeconds?: number;
  detector?: 'rate' | 'latency';
  windowSeconds?: number;
  evidence?: Evidence;
  /** Error faults: the second estimateOnset puts the onset at, relative to the true onset (0 = exact). */
  onsetErrorSeconds?: number;
  /** Breaches before the fault started (false alarms during warm-up). */
  breachesBeforeFault: number;
}

/** Healthy traffic, then a hard fault; how many seconds of faulty data until a detector breaches. */
export function simulateFaultDetection(seed: number, fault: SimulatedFault, config: SimulationDetectorsConfig = {}): FaultDetectionResult {
  const model = resolveModel(config);
  const harness = buildHarness(seed, config, model);
  const gen = new TrafficGenerator(createRandom(deriveSeed(seed, 'traffic')), model);
  const start = fault.startSecond ?? 300;
  const maxSeconds = fault.maxSeconds ?? 30;
  const startAt = config.startAt ?? 0;
  const out: FaultDetectionResult = { seed, detected: false, breachesBeforeFault: 0 };
  const override =
    fault.kind === 'errors'
      ? { errorRate: fault.errorRate ?? 0.5, rps: fault.rps }
      : { latencyFactor: fault.latencyFactor ?? 10, rps: fault.rps };
  for (let t = 0; t < start + maxSeconds; t++) {
    harness.push(t < start ? gen.next() : gen.next(override));
    const evaluations = harness.evaluate(t);
    const hit = evaluations.find((e) => e.result.status === 'breach');
    if (!hit) continue;
    if (t < start) {
      out.breachesBeforeFault++;
      continue;
    }
    out.detected = true;
    out.detectionSeconds = t - start + 1;
    out.detector = hit.detector;
    out.windowSeconds = hit.windowSeconds;
    out.evidence = hit.result.evidence;
    if (fault.kind === 'errors') {
      const series = harness.seconds.map((s, i) => ({ at: startAt + i * 1000, events: s.errors, trials: s.trials }));
      const onset = estimateOnset(series, model.errorRate);
      if (onset) out.onsetErrorSeconds = onset.index - start;
    }
    return out;
  }
  return out;
}
