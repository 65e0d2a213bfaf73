// Golden sets: JSONL files of inputs and what a healthy version must answer. One case per line:
//   {"id"?, "input": <string prompt | chat messages | {messages, ...request fields} | predict instance>,
//    "match": "exact"|"contains"|"regex"|"json_schema"|"label", "expected"?, "label"?, "schema"?}
// Everything a replay could only discover case by case (bad regex, bad schema, missing expected)
// is refused at load, with the file and line number.
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { z } from 'zod';
import { FailsafeError } from '../../core/errors.ts';
import type { ModelKind } from '../../core/types.ts';
import { formatPath } from '../../config.ts';
import { compileJsonSchema } from '../validators/validator-config.ts';

export const goldenMatchKinds = ['exact', 'contains', 'regex', 'json_schema', 'label'] as const;
export type GoldenMatch = (typeof goldenMatchKinds)[number];

const messageSchema = z.looseObject({ role: z.string().min(1), content: z.unknown().optional() });

export const goldenLineSchema = z
  .strictObject({
    id: z.string().min(1).max(200).optional(),
    input: z.unknown().refine((v) => v !== undefined && v !== null, 'input is required'),
    /** Default: exact when `expected` is set, label when `label` is, json_schema when `schema` is. */
    match: z.enum(goldenMatchKinds).optional(),
    expected: z.union([z.string(), z.number(), z.boolean()]).optional(),
    label: z.union([z.string(), z.number(), z.boolean()]).optional(),
    schema: z.record(z.string(), z.unknown()).optional(),
    /** Free-form tags (segment, difficulty), kept in failures. */
    tags: z.array(z.string()).optional(),
  })
  .superRefine((l, ctx) => {
    const match = l.match ?? (l.expected !== undefined ? 'exact' : l.label !== undefined ? 'label' : l.schema !== undefined ? 'json_schema' : undefined);
    if (match === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'needs "match" with "expected", "label" or "schema"' });
      return;
    }
    if ((match === 'exact' || match === 'contains' || match === 'regex') && l.expected === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expected'], message: `match "${match}" needs "expected"` });
    }
    if (match === 'label' && l.label === undefined && l.expected === undefined) {
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'match "label" needs "label"' });
    }
    if (match === 'json_schema') {
      if (l.schema === undefined) ctx.addIssue({ code: 'custom', path: ['schema'], message: 'match "json_schema" needs "schema"' });
      else {
        try {
          compileJsonSchema(l.schema);
        } catch (e) {
          ctx.addIssue({ code: 'custom', path: ['schema'], message: `invalid JSON schema: ${(e as Error).message}` });
        }
      }
    }
    if (match === 'regex' && l.expected !== undefined) {
      try {
        new RegExp(String(l.expected));
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['expected'], message: `invalid regex: ${(e as Error).message}` });
      }
    }
  });

/** Chat inputs given as an array must be messages; an array of plain values is a predict instance. */
function checkInput(input: unknown, kind: ModelKind | undefined): { path: PropertyKey[]; message: string } | undefined {
  if (kind === 'predict') return undefined;
  const messages = Array.isArray(input)
    ? input
    : input && typeof input === 'object' && Array.isArray((input as { messages?: unknown }).messages)
      ? (input as { messages: unknown[] }).messages
      : undefined;
  if (!messages) {
    if (kind === 'chat' && typeof input !== 'string' && !(input && typeof input === 'object')) {
      return { path: ['input'], message: 'expected a prompt string, a messages array or {messages, ...}' };
    }
    return undefined;
  }
  const isList = Array.isArray(input);
  if (kind === undefined && isList && !messages.some((m) => m !== null && typeof m === 'object')) return undefined;
  if (kind === 'chat' && messages.length === 0) return { path: isList ? ['input'] : ['input', 'messages'], message: 'expected at least one message' };
  for (let i = 0; i < messages.length; i++) {
    if (!messageSchema.safeParse(messages[i]).success) {
      return { path: isList ? ['input', i] : ['input', 'messages', i], message: 'expected a chat message {role, content}' };
    }
  }
  return undefined;
}

export type GoldenLine = z.output<typeof goldenLineSchema>;

export interface GoldenCase {
  /** 1-based line number in the file. */
  line: number;
  id: string;
  input: unknown;
  match: GoldenMatch;
  expected?: string;
  label?: string;
  schema?: Record<string, unknown>;
  tags?: string[];
  /** Compiled once at load. */
  regex?: RegExp;
  validate?: ValidateFunction;
}

export interface GoldenSet {
  /** The path as given (what error messages and reports name). */
  path: string;
  cases: GoldenCase[];
}

/**
 * Parses JSONL text; `file` names it in errors (`golden/support-bot.jsonl:7: …`). With `kind`,
 * inputs are checked for that kind of model (chat messages, predict instances).
 */
export function parseGoldenSet(text: string, file: string, kind?: ModelKind): GoldenSet {
  const cases: GoldenCase[] = [];
  const ids = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  const fail = (line: number, message: string): never => {
    throw new FailsafeError('VALIDATION_FAILED', `${file}:${line}: ${message}`, { file, line });
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      fail(lineNo, `not valid JSON: ${(e as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(lineNo, 'expected a JSON object');
    const parsed = goldenLineSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? `${formatPath(issue.path)}: ` : '';
      fail(lineNo, `${where}${issue.message}`);
    }
    const l = parsed.data!;
    const bad = checkInput(l.input, kind);
    if (bad) fail(lineNo, `${formatPath(bad.path)}: ${bad.message}`);
    const match: GoldenMatch = l.match ?? (l.expected !== undefined ? 'exact' : l.label !== undefined ? 'label' : 'json_schema');
    const id = l.id ?? `line ${lineNo}`;
    if (l.id !== undefined) {
      const prev = ids.get(l.id);
      if (prev !== undefined) fail(lineNo, `duplicate id "${l.id}" (first on line ${prev})`);
      ids.set(l.id, lineNo);
    }
    const c: GoldenCase = { line: lineNo, id, input: l.input, match };
    if (l.expected !== undefined) c.expected = String(l.expected);
    if (l.label !== undefined) c.label = String(l.label);
    else if (match === 'label') c.label = c.expected;
    if (l.schema !== undefined) c.schema = l.schema;
    if (l.tags) c.tags = l.tags;
    if (match === 'regex') c.regex = new RegExp(c.expected!);
    if (match === 'json_schema') c.validate = compileJsonSchema(l.schema!);
    cases.push(c);
  }
  if (cases.length === 0) throw new FailsafeError('VALIDATION_FAILED', `${file}: golden set has no cases`, { file });
  return { path: file, cases };
}

export function loadGoldenSet(path: string, kind?: ModelKind): GoldenSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FailsafeError('VALIDATION_FAILED', `${path}: cannot read golden set: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  return parseGoldenSet(text, path, kind);
}
