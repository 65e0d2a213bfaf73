// Public surface of the RCA engine (pure functions; see analyze.ts).
export { analyze } from './analyze.ts';
export { diffVersions, describeChanges, behaviouralChanges, lineDiff } from './diff-versions.ts';
export { segmentFailures, inputLengthBucket, defaultSegmentDimensions, type SegmentDimension, type SegmentOptions } from './segment-failures.ts';
export { clusterErrors, normalizeMessage, failureMessage, type ClusterOptions } from './cluster-errors.ts';
export { estimateOnset, type OnsetEstimate } from './estimate-onset.ts';
export { armOf, upstreamErrorClasses } from './failure-judge.ts';
export { MAX_CONFIDENCE } from './scoring.ts';
export * from './rca-types.ts';
