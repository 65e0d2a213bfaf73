// The validator engine the gateway (and staging) calls: one per model, built when the config
// loads. Synchronous validators run inline and cost microseconds; a webhook validator is the only
// thing that makes validation asynchronous, and only when configured (`hasAsync`).
import type { ValidatorResult } from '../../core/types.ts';
import { validatorsConfigSchema, type ValidatorCheckpoint, type ValidatorConfig, type ValidatorConfigInput } from './validator-config.ts';
import { compileValidator, type CompiledValidator, type ValidationContext } from './validators.ts';

export type ValidationDecision = 'pass' | 'flag' | 'fallback' | 'block';

export interface StreamValidator {
  /**
   * Adds a chunk of the streamed answer; returns the failures that became certain with it
   * (each validator fails at most once per stream). Empty array when nothing new failed.
   */
  push(chunkText: string): ValidatorResult[];
  /** The answer is complete: the full verdict of every stream-checkpoint validator, in config order. */
  end(): Promise<ValidatorResult[]>;
  /** Text accumulated so far. */
  readonly text: string;
  /** Failures reported so far (by push). */
  readonly failures: readonly ValidatorResult[];
}

export interface ValidatorEngine {
  readonly validators: readonly CompiledValidator[];
  /** True when no validator is configured for any checkpoint. */
  readonly empty: boolean;
  /** True when a validator of the `response` checkpoint is asynchronous (webhook). */
  readonly hasAsync: boolean;
  /** Checks a complete (non-streamed) answer: one result per `response` validator, in config order. */
  validate(output: string, ctx?: ValidationContext): Promise<ValidatorResult[]>;
  /** Synchronous validators of the `response` checkpoint only (asynchronous ones are skipped). */
  validateSync(output: string): ValidatorResult[];
  streamValidator(ctx?: ValidationContext): StreamValidator;
  decide(results: readonly ValidatorResult[]): ValidationDecision;
}

const rank: Record<ValidationDecision, number> = { pass: 0, flag: 1, fallback: 2, block: 3 };

/** The strongest action among failed results wins: block > fallback > flag; no failure → pass. */
export function decideValidation(results: readonly ValidatorResult[]): ValidationDecision {
  let d: ValidationDecision = 'pass';
  for (const r of results) if (!r.passed && rank[r.action] > rank[d]) d = r.action;
  return d;
}

/** Default names: the type, with #2, #3 … for repeats, unless the config names the validator. */
export function validatorNames(configs: readonly ValidatorConfig[]): string[] {
  const taken = new Set(configs.map((c) => c.name).filter((n): n is string => n !== undefined));
  const seen = new Map<string, number>();
  return configs.map((c) => {
    if (c.name !== undefined) return c.name;
    let n = (seen.get(c.type) ?? 0) + 1;
    let name = n === 1 ? c.type : `${c.type}#${n}`;
    while (taken.has(name)) name = `${c.type}#${++n}`;
    seen.set(c.type, n);
    taken.add(name);
    return name;
  });
}

/** Parses validator configs given as plain data (API bodies, tests); throws zod's error on bad input. */
export function parseValidatorConfigs(raw: readonly ValidatorConfigInput[] | unknown): ValidatorConfig[] {
  return validatorsConfigSchema.parse(raw);
}

function result(v: CompiledValidator, checkpoint: ValidatorCheckpoint, message: string | undefined): ValidatorResult {
  return message === undefined
    ? { validator: v.name, passed: true, action: v.action, checkpoint }
    : { validator: v.name, passed: false, action: v.action, message, checkpoint };
}

export function createValidatorEngine(configs: readonly ValidatorConfig[] = []): ValidatorEngine {
  const names = validatorNames(configs);
  const validators = configs.map((c, i) => compileValidator(c, names[i]));
  const onResponse = validators.filter((v) => v.onResponse);
  const onStream = validators.filter((v) => v.onStream);
  const responseSync = onResponse.filter((v) => v.check);
  const hasAsync = onResponse.some((v) => v.checkAsync);

  function validateSync(output: string): ValidatorResult[] {
    const out: ValidatorResult[] = [];
    for (const v of responseSync) out.push(result(v, 'response', v.check!(output)));
    return out;
  }

  async function runAll(list: readonly CompiledValidator[], output: string, ctx: ValidationContext, checkpoint: ValidatorCheckpoint, done?: Map<CompiledValidator, ValidatorResult>) {
    const out: (ValidatorResult | Promise<ValidatorResult>)[] = [];
    for (const v of list) {
      const prior = done?.get(v);
      if (prior) out.push(prior);
      else if (v.check) out.push(result(v, checkpoint, v.check(output)));
      else out.push(v.checkAsync!(output, ctx).then((r) => ({ validator: v.name, passed: r.passed, action: v.action, checkpoint, ...(r.message !== undefined ? { message: r.message } : {}) })));
    }
    return Promise.all(out);
  }

  return {
    validators,
    empty: onResponse.length === 0 && onStream.length === 0,
    hasAsync,
    validateSync,
    validate(output, ctx = {}) {
      if (!hasAsync) return Promise.resolve(validateSync(output));
      return runAll(onResponse, output, ctx, 'response');
    },
    streamValidator(ctx = {}) {
      let text = '';
      const failed = new Map<CompiledValidator, ValidatorResult>();
      const failures: ValidatorResult[] = [];
      const judges = onStream.filter((v) => v.incremental).map((v) => ({ v, judge: v.incremental!() }));
      return {
        get text() {
          return text;
        },
        get failures() {
          return failures;
        },
        push(chunk) {
          if (chunk.length === 0 || judges.length === 0) {
            text += chunk;
            return [];
          }
          text += chunk;
          let fresh: ValidatorResult[] | undefined;
          for (const { v, judge } of judges) {
            if (failed.has(v)) continue;
            const msg = judge(text);
            if (msg !== undefined) {
              const r = result(v, 'stream', msg);
              failed.set(v, r);
              failures.push(r);
              (fresh ??= []).push(r);
            }
          }
          return fresh ?? [];
        },
        end() {
          return runAll(onStream, text, ctx, 'stream', failed);
        },
      };
    },
    decide: decideValidation,
  };
}
