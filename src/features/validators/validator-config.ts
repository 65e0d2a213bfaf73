// Configuration of output validators (guardrails), per model in failsafe.yaml:
//   validators:
//     - { type: pii, action: block }
//     - { type: json_schema, action: fallback, schema: { type: object, required: [answer] } }
// Every problem a validator could only hit at request time (bad regex, bad JSON Schema) is refused
// here, at config load, with the path of the field; JSON Schemas are compiled once, here.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import { PII_KINDS } from '../../core/pii.ts';

export const validatorActions = ['flag', 'fallback', 'block'] as const;
export type ValidatorAction = (typeof validatorActions)[number];
// `input` checks the request before any upstream call (opt-in); `response` a complete answer;
// `stream` a streamed answer, chunk by chunk where the check allows it, and at its end.
export const validatorCheckpoints = ['input', 'response', 'stream'] as const;
export type ValidatorCheckpoint = (typeof validatorCheckpoints)[number];

// ajv-formats is CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;

const ajv = addFormats(
  new Ajv({ allErrors: false, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, logger: false }),
);
const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles (once per schema object) a JSON Schema; throws with ajv's message when it is invalid. */
export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

export function formatAjvErrors(fn: ValidateFunction): string {
  const e = fn.errors?.[0];
  if (!e) return 'does not match the schema';
  return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`;
}

const base = {
  /** Name in traces and results; defaults to the type (with #2, #3 … when a type repeats). */
  name: z.string().min(1).max(64).optional(),
  /** What a failure does: flag (record only), fallback (serve the fallback answer), block (refuse). */
  action: z.enum(validatorActions).default('flag'),
  /** Where it runs (default response and stream): input, complete responses, streamed responses. */
  checkpoints: z.array(z.enum(validatorCheckpoints)).min(1).default(['response', 'stream']),
};

function checkRegex(ctx: z.RefinementCtx, source: string, flags: string | undefined, path: PropertyKey[]) {
  try {
    new RegExp(source, flags);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path, message: `invalid regex: ${(e as Error).message}` });
  }
}

const patternList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const regexFlags = z.string().regex(/^[imsu]*$/, 'expected flags among i, m, s, u').optional();

export const jsonSchemaValidatorSchema = z
  .strictObject({
    ...base,
    type: z.literal('json_schema'),
    /** JSON Schema (draft-07) the answer, parsed as JSON, must match. */
    schema: z.record(z.string(), z.unknown()),
    /** Accept an answer wrapped in a Markdown code fence (```json … ```). */
    allowCodeFence: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    try {
      compileJsonSchema(v.schema);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['schema'], message: `invalid JSON schema: ${(e as Error).message}` });
    }
  });

export const regexValidatorSchema = z
  .strictObject({
    ...base,
    type: z.literal('regex'),
    /** Shorthand for mustMatch. */
    pattern: z.string().min(1).optional(),
    mustMatch: patternList.optional(),
    mustNotMatch: patternList.optional(),
    flags: regexFlags,
  })
  .superRefine((v, ctx) => {
    if (v.pattern === undefined && v.mustMatch === undefined && v.mustNotMatch === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'regex validator needs pattern, mustMatch or mustNotMatch' });
    }
    if (v.pattern !== undefined) checkRegex(ctx, v.pattern, v.flags, ['pattern']);
    for (const key of ['mustMatch', 'mustNotMatch'] as const) {
      const p = v[key];
      if (typeof p === 'string') checkRegex(ctx, p, v.flags, [key]);
      else p?.forEach((s, i) => checkRegex(ctx, s, v.flags, [key, i]));
    }
  });

export const lengthValidatorSchema = z
  .strictObject({
    ...base,
    type: z.literal('length'),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.min === undefined && v.max === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'length validator needs min or max' });
    }
    if (v.min !== undefined && v.max !== undefined && v.min > v.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: `min (${v.min}) is greater than max (${v.max})` });
    }
  });

export const bannedTermsValidatorSchema = z.strictObject({
  ...base,
  type: z.literal('banned_terms'),
  /** Words or phrases, matched case-insensitively as whole words. */
  terms: z.array(z.string().trim().min(1)).min(1),
  /** false: also inside longer words ("class" in "classic"). */
  wholeWords: z.boolean().default(true),
});

export const piiValidatorSchema = z.strictObject({
  ...base,
  type: z.literal('pii'),
  /** Kinds to look for (default all): email, phone, card (Luhn-checked), iban (mod-97-checked). */
  kinds: z.array(z.enum(PII_KINDS as [string, ...string[]])).min(1).default([...PII_KINDS]),
});

export const notEmptyValidatorSchema = z.strictObject({
  ...base,
  type: z.literal('not_empty'),
  /** Fewer non-space characters than this count as empty (default 1). */
  minChars: z.number().int().min(1).default(1),
});

export const refusalValidatorSchema = z
  .strictObject({
    ...base,
    type: z.literal('refusal'),
    /** Extra refusal patterns (regexes, case-insensitive) on top of the built-in phrases. */
    patterns: z.array(z.string().min(1)).optional(),
    /** An empty answer counts as a refusal too (default true). */
    empty: z.boolean().default(true),
  })
  .superRefine((v, ctx) => v.patterns?.forEach((p, i) => checkRegex(ctx, p, 'i', ['patterns', i])));

export const webhookValidatorSchema = z.strictObject({
  ...base,
  type: z.literal('webhook'),
  /** Receives POST {model, version, input, output}; answers {passed: boolean, message?}. */
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  timeoutMs: z.number().int().positive().max(60_000).default(2_000),
  /** What a timeout, error status or unreadable answer means: pass (fail open) or fail. */
  onError: z.enum(['pass', 'fail']).default('pass'),
  headers: z.record(z.string(), z.string()).optional(),
});

export const validatorTypes = [
  'json_schema',
  'regex',
  'length',
  'banned_terms',
  'pii',
  'not_empty',
  'refusal',
  'webhook',
] as const;

export const validatorConfigSchema = z.discriminatedUnion(
  'type',
  [
    jsonSchemaValidatorSchema,
    regexValidatorSchema,
    lengthValidatorSchema,
    bannedTermsValidatorSchema,
    piiValidatorSchema,
    notEmptyValidatorSchema,
    refusalValidatorSchema,
    webhookValidatorSchema,
  ],
  {
    error: (iss) => {
      if (iss.code !== 'invalid_union') return undefined;
      const type = (iss.input as { type?: unknown } | undefined)?.type;
      const known = `expected one of ${validatorTypes.join(', ')}`;
      return type === undefined ? `missing validator type; ${known}` : `unknown validator type ${JSON.stringify(type)}; ${known}`;
    },
  },
);

export const validatorsConfigSchema = z.array(validatorConfigSchema).superRefine((list, ctx) => {
  const names = new Set<string>();
  list.forEach((v, i) => {
    if (v.name === undefined) return;
    if (names.has(v.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate validator name "${v.name}"` });
    names.add(v.name);
  });
});

export type ValidatorConfig = z.output<typeof validatorConfigSchema>;
export type ValidatorConfigInput = z.input<typeof validatorConfigSchema>;
export type ValidatorType = ValidatorConfig['type'];
