// Error clustering: thousands of failures are usually a handful of distinct problems. Messages
// are normalised into templates (ids, numbers, quoted values become tokens), grouped by
// template, and near-identical templates are merged by token-set Jaccard similarity.
import type { Trace } from '../types.ts';
import { armOf, failedValidator, failureMessage, firstAttemptHost, isOperationalFailure } from './failure-judge.ts';
import type { ErrorCluster } from './rca-types.ts';

export interface ClusterOptions {
  /** Which traces to cluster (default: operational or validator failures). */
  isFailure?: (trace: Trace) => boolean;
  /** One-line description of a failure (default: error message, failed validator, error class). */
  messageOf?: (trace: Trace) => string;
  /** Templates at least this similar (token Jaccard) are merged (default 0.75). */
  mergeSimilarity?: number;
  maxSamples?: number;
  /** At most this many clusters (default 20); the rest are counted in the last one's share only. */
  limit?: number;
  /** Host a failure happened on (default: the first attempt's, see firstAttemptHost). */
  hostOf?: (trace: Trace) => string | undefined;
}

const MAX_TEMPLATE = 300;
// Merging is quadratic in the number of distinct templates; beyond this we keep exact groups.
const MAX_MERGE_GROUPS = 1500;

const PATTERNS: Array<[RegExp, string]> = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>]+/gi, '<url>'],
  [/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<email>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '<str>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>'],
  // Hex ids and hashes: 8+ hex characters with at least one digit, so words such as "accepted" stay.
  [/\b(0x)?(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\b\d+(\.\d+)?(ms|s|kb|mb|b)?\b/gi, '<num>'],
];

/** Normalised template of an error message. */
export function normalizeMessage(message: string): string {
  let text = message;
  for (const [pattern, token] of PATTERNS) text = text.replace(pattern, token);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_TEMPLATE ? `${text.slice(0, MAX_TEMPLATE)}…` : text;
}

export { failureMessage };

const tokensOf = (template: string) => new Set(template.toLowerCase().split(/[^a-z0-9<>_]+/).filter(Boolean));

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

interface Group {
  template: string;
  errorClass?: string;
  tokens: Set<string>;
  traces: Trace[];
}

export function clusterErrors(traces: readonly Trace[], options: ClusterOptions = {}): ErrorCluster[] {
  const isFailure = options.isFailure ?? ((t: Trace) => isOperationalFailure(t) || failedValidator(t));
  const threshold = options.mergeSimilarity ?? 0.75;
  const maxSamples = options.maxSamples ?? 5;
  const limit = options.limit ?? 20;
  const messageOf = options.messageOf ?? failureMessage;
  const hostOf = options.hostOf ?? ((t: Trace) => firstAttemptHost(t));

  const byKey = new Map<string, Group>();
  let total = 0;
  for (const t of traces) {
    if (!isFailure(t)) continue;
    total++;
    const template = normalizeMessage(messageOf(t));
    const key = `${t.errorClass ?? ''}\u0000${template}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { template, errorClass: t.errorClass, tokens: tokensOf(template), traces: [] }));
    g.traces.push(t);
  }
  const groups = [...byKey.values()].sort((a, b) => b.traces.length - a.traces.length || (a.template < b.template ? -1 : 1));

  const merged: Group[] = [];
  for (const g of groups) {
    const target =
      groups.length <= MAX_MERGE_GROUPS
        ? merged.find((m) => m.errorClass === g.errorClass && jaccard(m.tokens, g.tokens) >= threshold)
        : undefined;
    if (target) target.traces.push(...g.traces);
    else merged.push({ ...g, traces: [...g.traces] });
  }

  return merged
    .sort((a, b) => b.traces.length - a.traces.length)
    .slice(0, limit)
    .map((g) => {
      const sorted = [...g.traces].sort((a, b) => a.startedAt - b.startedAt);
      const versions: Record<string, number> = {};
      const upstreamHosts: Record<string, number> = {};
      for (const t of sorted) {
        const v = armOf(t);
        versions[v] = (versions[v] ?? 0) + 1;
        const host = hostOf(t);
        if (host) upstreamHosts[host] = (upstreamHosts[host] ?? 0) + 1;
      }
      return {
        template: g.template,
        ...(g.errorClass ? { errorClass: g.errorClass } : {}),
        count: sorted.length,
        share: sorted.length / total,
        sampleMessage: messageOf(sorted[0]),
        sampleTraceIds: sorted.slice(0, maxSamples).map((t) => t.requestId),
        versions,
        upstreamHosts,
        firstAt: sorted[0].startedAt,
        lastAt: sorted[sorted.length - 1].startedAt,
      };
    });
}
