// Canonical JSON: object keys sorted, `undefined` members dropped, no whitespace. Two values that
// mean the same thing serialise to the same text, so their hashes can be compared (content hashes
// of versions, the audit chain) no matter in which order a client or a database wrote the keys.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value)) ?? 'null';
}

function sortDeep(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortDeep(v)));
  // Dates and other objects with toJSON serialise as JSON.stringify would.
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return sortDeep(withToJson.toJSON());
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortDeep(v);
  }
  return out;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
