// What changed between two versions of a model: the first thing an on-call engineer asks
// after "what deployed?". Compares the parts of the bundle that change behaviour: prompt,
// parameters, upstream (url, model id, provider, timeout, context window), metadata.
import type { VersionSpec } from '../types.ts';
import type { DiffEntry, VersionDiff } from './rca-types.ts';

type Diffable = VersionSpec & { contentHash?: string };

const MAX_PROMPT_DIFF_LINES = 60;
const MAX_LCS_CELLS = 250_000;

/** Differences from `a` (usually the last stable version, M-1) to `b` (the suspect). */
export function diffVersions(a: Diffable, b: Diffable): VersionDiff {
  const changes: DiffEntry[] = [];
  const push = (field: string, before: unknown, after: unknown) => {
    if (sameValue(before, after)) return;
    if (before === undefined) changes.push({ field, change: 'added', after });
    else if (after === undefined) changes.push({ field, change: 'removed', before });
    else changes.push({ field, change: 'changed', before, after });
  };

  push('upstream.url', a.upstream.url, b.upstream.url);
  push('upstream.model', a.upstream.model, b.upstream.model);
  push('upstream.provider', a.upstream.provider, b.upstream.provider);
  push('upstream.timeoutMs', a.upstream.timeoutMs, b.upstream.timeoutMs);
  push('upstream.contextWindow', a.upstream.contextWindow, b.upstream.contextWindow);
  // Header values may hold credentials: report which headers changed, never their values.
  const headerKeys = new Set([...Object.keys(a.upstream.headers ?? {}), ...Object.keys(b.upstream.headers ?? {})]);
  for (const key of [...headerKeys].sort()) {
    const before = a.upstream.headers?.[key];
    const after = b.upstream.headers?.[key];
    if (before === after) continue;
    const field = `upstream.headers.${key}`;
    if (before === undefined) changes.push({ field, change: 'added', after: '<redacted>' });
    else if (after === undefined) changes.push({ field, change: 'removed', before: '<redacted>' });
    else changes.push({ field, change: 'changed', before: '<redacted>', after: '<redacted>' });
  }
  push('prompt', a.prompt, b.prompt);
  for (const [path, before, after] of flattenPair(a.params ?? {}, b.params ?? {}, 'params')) push(path, before, after);
  for (const [path, before, after] of flattenPair(a.metadata ?? {}, b.metadata ?? {}, 'metadata')) push(path, before, after);

  const promptChanged = (a.prompt ?? '') !== (b.prompt ?? '');
  const identicalContent = changes.length === 0;
  return {
    from: a.version,
    to: b.version,
    changes,
    ...(promptChanged ? { promptDiff: lineDiff(a.prompt ?? '', b.prompt ?? '') } : {}),
    identicalContent,
  };
}

/** Changes that alter behaviour (metadata such as git sha or author does not by itself). */
export function behaviouralChanges(diff: VersionDiff): DiffEntry[] {
  return diff.changes.filter((c) => !c.field.startsWith('metadata.'));
}

/** One line per change, for summaries: `prompt changed`, `params.temperature 0.2 → 0.9`. */
export function describeChanges(diff: VersionDiff, max = 4): string {
  const parts = diff.changes.slice(0, max).map((c) => {
    if (c.field === 'prompt') return 'prompt changed';
    if (c.change === 'added') return `${c.field} added (${short(c.after)})`;
    if (c.change === 'removed') return `${c.field} removed`;
    return `${c.field} ${short(c.before)} → ${short(c.after)}`;
  });
  if (diff.changes.length > max) parts.push(`${diff.changes.length - max} more`);
  return parts.join(', ');
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Pairs of leaf values under the same dotted path; arrays are compared whole. */
function flattenPair(a: Record<string, unknown>, b: Record<string, unknown>, prefix: string): Array<[string, unknown, unknown]> {
  const out: Array<[string, unknown, unknown]> = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    const path = `${prefix}.${key}`;
    const va = a[key];
    const vb = b[key];
    if (isPlainObject(va) && isPlainObject(vb)) out.push(...flattenPair(va, vb, path));
    else out.push([path, va, vb]);
  }
  return out;
}

/**
 * Line diff by longest common subsequence, with unchanged runs trimmed to one line of context.
 * Prompts are short; very long ones fall back to a before/after listing rather than O(n·m) work.
 */
export function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > MAX_LCS_CELLS) {
    return [...a.slice(0, 10).map((l) => `- ${l}`), ...b.slice(0, 10).map((l) => `+ ${l}`), '… (prompt too long for a line diff)'];
  }
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Array<{ op: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i] });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      // Removals before additions on ties, as unified diffs print them.
      ops.push({ op: '-', line: a[i++] });
    } else {
      ops.push({ op: '+', line: b[j++] });
    }
  }
  // Keep changed lines and one line of context around them.
  const keep = ops.map((o, k) => o.op !== ' ' || ops[k - 1]?.op === '-' || ops[k - 1]?.op === '+' || ops[k + 1]?.op === '-' || ops[k + 1]?.op === '+');
  const out: string[] = [];
  let skipped = false;
  for (let k = 0; k < ops.length; k++) {
    if (!keep[k]) {
      if (!skipped) out.push('…');
      skipped = true;
      continue;
    }
    skipped = false;
    out.push(`${ops[k].op} ${ops[k].line}`);
  }
  if (out.length > MAX_PROMPT_DIFF_LINES) return [...out.slice(0, MAX_PROMPT_DIFF_LINES), `… (${out.length - MAX_PROMPT_DIFF_LINES} more lines)`];
  return out;
}
