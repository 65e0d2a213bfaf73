// Judging one golden case: what the version answered against what the case expects.
// Chat answers are the assistant text; predict answers are the first prediction.
import { formatAjvErrors } from '../validators/validator-config.ts';
import type { GoldenCase } from './golden-set.ts';

export interface MatchVerdict {
  passed: boolean;
  reason?: string;
}

const clip = (s: string, n = 120) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** The label in an answer: a JSON object's `label` (or `class`/`prediction`), else the text itself. */
export function extractLabel(got: unknown): string | undefined {
  if (got === null || got === undefined) return undefined;
  if (typeof got === 'string') {
    const t = got.trim();
    if (t.startsWith('{')) {
      try {
        return extractLabel(JSON.parse(t));
      } catch {
        return t;
      }
    }
    return t;
  }
  if (typeof got === 'number' || typeof got === 'boolean') return String(got);
  if (typeof got === 'object' && !Array.isArray(got)) {
    const o = got as Record<string, unknown>;
    for (const k of ['label', 'class', 'prediction', 'predicted_label']) {
      if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'object') return String(o[k]);
    }
  }
  return undefined;
}

/** Text form of an answer for exact/contains/regex (a predict answer that is not a string is its JSON). */
export function answerText(got: unknown): string {
  return typeof got === 'string' ? got : JSON.stringify(got) ?? '';
}

export function judgeCase(c: GoldenCase, got: unknown): MatchVerdict {
  const text = answerText(got);
  switch (c.match) {
    case 'exact':
      return text.trim() === c.expected!.trim() ? { passed: true } : { passed: false, reason: `expected exactly "${clip(c.expected!)}"` };
    case 'contains':
      return text.toLowerCase().includes(c.expected!.toLowerCase())
        ? { passed: true }
        : { passed: false, reason: `expected to contain "${clip(c.expected!)}"` };
    case 'regex':
      return c.regex!.test(text) ? { passed: true } : { passed: false, reason: `expected to match /${clip(c.expected!)}/` };
    case 'json_schema': {
      let value: unknown = got;
      if (typeof got === 'string') {
        try {
          value = JSON.parse(got);
        } catch (e) {
          return { passed: false, reason: `not valid JSON: ${(e as Error).message}` };
        }
      }
      return c.validate!(value) ? { passed: true } : { passed: false, reason: `schema: ${formatAjvErrors(c.validate!)}` };
    }
    case 'label': {
      const label = extractLabel(got);
      if (label === undefined) return { passed: false, reason: `expected label "${c.label}", answer has no label` };
      return label.toLowerCase() === c.label!.toLowerCase()
        ? { passed: true }
        : { passed: false, reason: `expected label "${c.label}", got "${clip(label, 60)}"` };
    }
  }
}
