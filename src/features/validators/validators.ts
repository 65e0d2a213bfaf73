// One compiled validator per config entry. Synchronous checks are plain functions over the answer
// text (regexes compiled here, once); those that can judge a partial answer also build an
// incremental scanner for streams. Messages never repeat the personal data they found, because
// they end up in traces.
import { PII_KINDS, piiDetectors, type PiiKind } from '../../core/pii.ts';
import { compileJsonSchema, formatAjvErrors, type ValidatorAction, type ValidatorConfig } from './validator-config.ts';
import { createRegexScanner, firstMatch } from './regex-scanner.ts';
import { callValidatorWebhook } from './webhook-validator.ts';

export interface ValidationContext {
  model?: string;
  version?: string;
  /** The request input (chat messages or predict instances), sent to webhook checkers. */
  input?: unknown;
}

export interface AsyncVerdict {
  passed: boolean;
  message?: string;
}

export interface CompiledValidator {
  name: string;
  type: ValidatorConfig['type'];
  action: ValidatorAction;
  onInput: boolean;
  onResponse: boolean;
  onStream: boolean;
  /** Failure message for a complete answer, or undefined when it passes. */
  check?: (text: string) => string | undefined;
  checkAsync?: (text: string, ctx: ValidationContext) => Promise<AsyncVerdict>;
  /** A fresh incremental judge of "the answer so far" (a failure reported early, before the end). */
  incremental?: () => (textSoFar: string) => string | undefined;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const show = (re: RegExp) => `/${re.source}/${re.flags.replace('g', '')}`;

// Built-in refusal phrases: an apology followed by an inability, and the classic disclaimer.
const REFUSAL_SOURCES = [
  String.raw`\bas an ai(?: language)? (?:model|assistant)\b`,
  String.raw`\b(?:i['’]m|i am|we['’]re|we are)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry,?\s+(?:but\s+)?(?:i|we)\s+(?:can(?:no|['’])t|cannot|(?:am|['’]m|are|['’]re)\s+(?:unable|not able)\s+to|won['’]t|will not)\b`,
  String.raw`\b(?:i|we)\s+(?:can(?:no|['’])t|cannot|(?:am|['’]m|are|['’]re)\s+(?:unable|not able)\s+to)\s+(?:help|assist)\s+with\s+(?:that|this|your request)\b`,
  String.raw`\bi\s+must\s+(?:respectfully\s+)?decline\b`,
];

function pluralName(kinds: readonly string[]): string {
  return kinds.join(', ');
}

function stripCodeFence(text: string): string {
  const m = /^```[A-Za-z0-9_-]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1] : text;
}

function toList(p: string | string[] | undefined): string[] {
  return p === undefined ? [] : typeof p === 'string' ? [p] : p;
}

export function compileValidator(c: ValidatorConfig, name: string): CompiledValidator {
  const common = {
    name,
    type: c.type,
    action: c.action,
    onInput: c.checkpoints.includes('input'),
    onResponse: c.checkpoints.includes('response'),
    onStream: c.checkpoints.includes('stream'),
  };
  switch (c.type) {
    case 'json_schema': {
      const fn = compileJsonSchema(c.schema);
      return {
        ...common,
        check(text) {
          let value: unknown;
          const src = c.allowCodeFence ? stripCodeFence(text.trim()) : text;
          try {
            value = JSON.parse(src);
          } catch (e) {
            return `not valid JSON: ${(e as Error).message}`;
          }
          return fn(value) ? undefined : `schema: ${formatAjvErrors(fn)}`;
        },
      };
    }
    case 'regex': {
      const flags = c.flags ?? '';
      const must = [...(c.pattern !== undefined ? [c.pattern] : []), ...toList(c.mustMatch)].map((s) => new RegExp(s, flags));
      const mustNot = toList(c.mustNotMatch).map((s) => new RegExp(s, flags + 'g'));
      return {
        ...common,
        check(text) {
          for (const re of must) if (!re.test(text)) return `does not match ${show(re)}`;
          for (const re of mustNot) if (firstMatch(re, text) !== undefined) return `matches forbidden ${show(re)}`;
          return undefined;
        },
        incremental: mustNot.length
          ? () => {
              // Each scanner gets its own regex copy: two streams may interleave pushes.
              const scanners = mustNot.map((re) => ({ re, s: createRegexScanner({ regex: new RegExp(re.source, re.flags) }) }));
              return (text) => {
                for (const { re, s } of scanners) if (s.scan(text, false) !== undefined) return `matches forbidden ${show(re)}`;
                return undefined;
              };
            }
          : undefined,
      };
    }
    case 'length': {
      const { min, max } = c;
      return {
        ...common,
        check(text) {
          if (min !== undefined && text.length < min) return `too short: ${text.length} chars < min ${min}`;
          if (max !== undefined && text.length > max) return `too long: ${text.length} chars > max ${max}`;
          return undefined;
        },
        incremental:
          max === undefined ? undefined : () => (text) => (text.length > max ? `too long: over ${max} chars` : undefined),
      };
    }
    case 'banned_terms': {
      const terms = [...new Set(c.terms.map((t) => t.toLowerCase()))].sort((a, b) => b.length - a.length);
      const alt = terms.map((t) => escapeRegex(t).replace(/\s+/g, '\\s+')).join('|');
      const src = c.wholeWords ? `(?<![\\p{L}\\p{N}_])(?:${alt})(?![\\p{L}\\p{N}_])` : `(?:${alt})`;
      const re = new RegExp(src, 'giu');
      const lookback = 2 * terms[0].length + 16;
      const message = (m: string) => `banned term "${m.toLowerCase().replace(/\s+/g, ' ')}"`;
      return {
        ...common,
        check(text) {
          const m = firstMatch(re, text);
          return m === undefined ? undefined : message(m);
        },
        incremental: () => {
          const s = createRegexScanner({ regex: new RegExp(src, 'giu'), lookback, guard: c.wholeWords ? 1 : 0 });
          return (text) => {
            const m = s.scan(text, false);
            return m === undefined ? undefined : message(m);
          };
        },
      };
    }
    case 'pii': {
      const kinds = PII_KINDS.filter((k) => (c.kinds as string[]).includes(k));
      return {
        ...common,
        check(text) {
          const found: PiiKind[] = [];
          for (const k of kinds) {
            const d = piiDetectors[k];
            if (!d.absent(text) && firstMatch(d.regex, text, d.accept) !== undefined) found.push(k);
          }
          return found.length ? `personal data: ${pluralName(found)}` : undefined;
        },
        incremental: () => {
          const scanners = kinds.map((k) => {
            const d = piiDetectors[k];
            return {
              k,
              s: createRegexScanner({ regex: new RegExp(d.regex.source, d.regex.flags), accept: d.accept, guard: d.streamGuard, lookback: d.maxLength }),
            };
          });
          return (text) => {
            for (const { k, s } of scanners) if (s.scan(text, false) !== undefined) return `personal data: ${k}`;
            return undefined;
          };
        },
      };
    }
    case 'not_empty': {
      const minChars = c.minChars;
      return {
        ...common,
        check(text) {
          let n = 0;
          for (let i = 0; i < text.length && n < minChars; i++) if (text.charCodeAt(i) > 32) n++;
          return n < minChars ? (n === 0 ? 'empty answer' : `answer shorter than ${minChars} chars`) : undefined;
        },
      };
    }
    case 'refusal': {
      const src = [...REFUSAL_SOURCES, ...(c.patterns ?? [])].map((s) => `(?:${s})`).join('|');
      const re = new RegExp(src, 'gi');
      const lookback = c.patterns?.length ? 4096 : 256;
      const message = (m: string) => `refusal: "${m.length > 60 ? m.slice(0, 57) + '...' : m}"`;
      return {
        ...common,
        check(text) {
          if (c.empty && text.trim() === '') return 'empty answer';
          const m = firstMatch(re, text);
          return m === undefined ? undefined : message(m);
        },
        incremental: () => {
          const s = createRegexScanner({ regex: new RegExp(src, 'gi'), lookback });
          return (text) => {
            const m = s.scan(text, false);
            return m === undefined ? undefined : message(m);
          };
        },
      };
    }
    case 'webhook': {
      return {
        ...common,
        checkAsync: (text, ctx) => callValidatorWebhook(c, text, ctx),
      };
    }
  }
}
