// Detectors: pure functions of windows → Finding-compatible results (ok / breach /
// insufficient_data) with their evidence. Monitors add identity and time with toFinding.
export * from './detector-result.ts';
export * from './severity.ts';
export * from './rate-detector.ts';
export * from './latency-detector.ts';
export * from './drift-detector.ts';
export * from './burn-rate-detector.ts';
export * from './estimate-onset.ts';
export * from './simulate-traffic.ts';
export * from './simulate-labels.ts';
