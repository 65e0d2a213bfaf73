// Pure statistics for detection: no I/O, no clock. See each module's header for the method and
// the reference it was tested against.
export * from './random.ts';
export * from './distributions.ts';
export * from './mann-whitney.ts';
export * from './kolmogorov.ts';
export * from './ks.ts';
export * from './binning.ts';
export * from './chi-square.ts';
export * from './psi.ts';
export * from './jensen-shannon.ts';
export * from './sequential.ts';
export * from './burn-rate.ts';
export * from './latency-sketch.ts';
