// Where do failures concentrate? Every value of every dimension is a segment; each is tested
// against the rest of the traffic with a one-sided Fisher exact test, and the p-values are
// Bonferroni-corrected over all segments tested, because with dozens of clients and tags some
// segment always looks bad by chance.
import { FIRST_UPSTREAM_HOST_TAG, type Trace } from '../types.ts';
import { armOf, failedValidator, firstAttemptHost, isOperationalFailure } from './failure-judge.ts';
import type { SegmentFinding } from './rca-types.ts';
import { fisherGreater, liftOf } from './rca-stats.ts';

/** `tags` expands to one `tag:<key>` dimension per tag key seen in the traces. */
export type SegmentDimension = 'inputLength' | 'client' | 'version' | 'upstreamHost' | 'tags' | `tag:${string}`;

export const defaultSegmentDimensions: SegmentDimension[] = ['inputLength', 'client', 'version', 'upstreamHost', 'tags'];

export interface SegmentOptions {
  isFailure?: (trace: Trace) => boolean;
  /** Family-wise error rate for `significant` (default 0.01). */
  alpha?: number;
  /** Segments smaller than this are not tested (default 20). */
  minRequests?: number;
  maxSamples?: number;
  /** At most this many findings, most significant first (default 25). */
  limit?: number;
  /** Host for the `upstreamHost` dimension (default: the first attempt's, see firstAttemptHost). */
  hostOf?: (trace: Trace) => string | undefined;
}

// Powers of four: readable boundaries ("1k–4k chars") that still separate short chat turns
// from pasted documents and from inputs near a context window (4k tokens ≈ 16k chars).
const LENGTH_EDGES = [64, 256, 1024, 4096, 16384, 65536];
const LENGTH_LABELS = ['<64', '64-256', '256-1k', '1k-4k', '4k-16k', '16k-64k', '>=64k'];

/** Input length bucket label of a request (characters). */
export function inputLengthBucket(chars: number): string {
  let i = 0;
  while (i < LENGTH_EDGES.length && chars >= LENGTH_EDGES[i]) i++;
  return LENGTH_LABELS[i];
}

/** Lower bound in characters of a bucket label (for ordering buckets). */
export const inputLengthBucketIndex = (label: string): number => LENGTH_LABELS.indexOf(label);

const defaultIsFailure = (t: Trace) => isOperationalFailure(t) || failedValidator(t);

function valueOf(trace: Trace, dimension: string, hostOf: (trace: Trace) => string | undefined): string | undefined {
  switch (dimension) {
    case 'inputLength':
      return inputLengthBucket(trace.inputChars);
    case 'client':
      return trace.client ?? '(none)';
    case 'version':
      return armOf(trace);
    case 'upstreamHost':
      return hostOf(trace) ?? '(none)';
    default:
      if (dimension.startsWith('tag:')) return trace.tags?.[dimension.slice(4)] ?? '(none)';
      return undefined;
  }
}

export function segmentFailures(
  traces: readonly Trace[],
  dimensions: readonly SegmentDimension[] = defaultSegmentDimensions,
  options: SegmentOptions = {},
): SegmentFinding[] {
  const isFailure = options.isFailure ?? defaultIsFailure;
  const alpha = options.alpha ?? 0.01;
  const minRequests = options.minRequests ?? 20;
  const maxSamples = options.maxSamples ?? 5;
  const limit = options.limit ?? 25;
  const hostOf = options.hostOf ?? ((t: Trace) => firstAttemptHost(t));

  const expanded: string[] = [];
  for (const d of dimensions) {
    if (d !== 'tags') {
      if (!expanded.includes(d)) expanded.push(d);
      continue;
    }
    const keys = new Set<string>();
    // The first attempt's host is the upstreamHost dimension already, not a tag of its own.
    for (const t of traces) for (const k of Object.keys(t.tags ?? {})) if (k !== FIRST_UPSTREAM_HOST_TAG) keys.add(k);
    for (const k of [...keys].sort()) if (!expanded.includes(`tag:${k}`)) expanded.push(`tag:${k}`);
  }

  const failed = traces.map(isFailure);
  const total = traces.length;
  const totalFailures = failed.filter(Boolean).length;
  if (total === 0 || totalFailures === 0) return [];
  const overallRate = totalFailures / total;

  interface Group {
    dimension: string;
    value: string;
    requests: number;
    failures: number;
    samples: string[];
  }
  const groups: Group[] = [];
  for (const dimension of expanded) {
    const byValue = new Map<string, Group>();
    traces.forEach((t, i) => {
      const value = valueOf(t, dimension, hostOf);
      if (value === undefined) return;
      let g = byValue.get(value);
      if (!g) byValue.set(value, (g = { dimension, value, requests: 0, failures: 0, samples: [] }));
      g.requests++;
      if (failed[i]) {
        g.failures++;
        if (g.samples.length < maxSamples) g.samples.push(t.requestId);
      }
    });
    // A dimension with a single value explains nothing (every request is in it).
    if (byValue.size < 2) continue;
    groups.push(...byValue.values());
  }

  const tested = groups.filter((g) => g.requests >= minRequests && g.requests < total && g.failures > 0);
  const m = Math.max(1, tested.length);
  const findings: SegmentFinding[] = [];
  for (const g of tested) {
    const restRequests = total - g.requests;
    const restFailures = totalFailures - g.failures;
    const failureRate = g.failures / g.requests;
    const restFailureRate = restFailures / restRequests;
    if (failureRate <= restFailureRate) continue;
    const pValue = fisherGreater(g.failures, g.requests, totalFailures, total);
    const adjustedPValue = Math.min(1, pValue * m);
    findings.push({
      dimension: g.dimension,
      value: g.value,
      requests: g.requests,
      failures: g.failures,
      failureRate,
      restFailureRate,
      lift: liftOf(failureRate, overallRate),
      shareOfFailures: g.failures / totalFailures,
      pValue,
      adjustedPValue,
      significant: adjustedPValue < alpha,
      sampleTraceIds: g.samples,
    });
  }
  findings.sort(
    (a, b) =>
      Number(b.significant) - Number(a.significant) ||
      a.adjustedPValue - b.adjustedPValue ||
      b.shareOfFailures - a.shareOfFailures ||
      (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : a.value < b.value ? -1 : 1),
  );
  return findings.slice(0, limit);
}
