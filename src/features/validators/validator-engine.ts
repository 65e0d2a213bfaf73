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
  /**
   * The answer is complete: the full verdict of every stream-checkpoint validator, in config
   * order, failures already returned by push included (this list is what a trace keeps).
   * `ctx`, when given, replaces the context the stream was opened with (webhooks see it).
   */
  end(ctx?: ValidationContext): Promise<ValidatorResult[]>;
  /** Text accumulated so far. */
  readonly text: string;
  /** Failures reported so far (by push). */
  readonly failures: readonly ValidatorResult[];
}

export interface ValidatorEngine {
  readonly validators: readonly CompiledValidator[];
  /** True when no validator is configured for any checkpoint. */
  readonly empty: boolean;
  /** Per checkpoint: whether any validator runs there, and whether one of them is asynchronous (webhook). */
  readonly has: Readonly<Record<ValidatorCheckpoint, boolean>>;
  readonly hasAsync: Readonly<Record<ValidatorCheckpoint, boolean>>;
  /** Checks a complete (non-streamed) answer: one result per `response` validator, in config order. */
  validate(output: string, ctx?: ValidationContext): Promise<ValidatorResult[]>;
  /** `response` validators that are synchronous (webhooks skipped): the allocation-light hot path. */
  validateSync(output: string): ValidatorResult[];
  /** Checks the request input text (validators with checkpoint `input`). */
  validateInput(inputText: string, ctx?: ValidationContext): Promise<ValidatorResult[]>;
  validateInputSync(inputText: string): ValidatorResult[];
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

function runSync(list: readonly CompiledValidator[], text: string, checkpoint: ValidatorCheckpoint): ValidatorResult[] {
  const out: ValidatorResult[] = [];
  for (const v of list) if (v.check) out.push(result(v, checkpoint, v.check(text)));
  return out;
}

function runAll(
  list: readonly CompiledValidator[],
  text: string,
  ctx: ValidationContext,
  checkpoint: ValidatorCheckpoint,
  done?: ReadonlyMap<CompiledValidator, ValidatorResult>,
): Promise<ValidatorResult[]> {
  const out: (ValidatorResult | Promise<ValidatorResult>)[] = [];
  for (const v of list) {
    const prior = done?.get(v);
    if (prior) out.push(prior);
    else if (v.check) out.push(result(v, checkpoint, v.check(text)));
    else {
      out.push(
        v.checkAsync!(text, ctx).then((r) =>
          r.message === undefined
            ? { validator: v.name, passed: r.passed, action: v.action, checkpoint }
            : { validator: v.name, passed: r.passed, action: v.action, message: r.message, checkpoint },
        ),
      );
    }
  }
  return Promise.all(out);
}

export function createValidatorEngine(configs: readonly ValidatorConfig[] = []): ValidatorEngine {
  const names = validatorNames(configs);
  const validators = configs.map((c, i) => compileValidator(c, names[i]));
  const at = {
    input: validators.filter((v) => v.onInput),
    response: validators.filter((v) => v.onResponse),
    stream: validators.filter((v) => v.onStream),
  };
  const has = { input: at.input.length > 0, response: at.response.length > 0, stream: at.stream.length > 0 };
  const hasAsync = {
    input: at.input.some((v) => v.checkAsync),
    response: at.response.some((v) => v.checkAsync),
    stream: at.stream.some((v) => v.checkAsync),
  };

  return {
    validators,
    empty: !has.input && !has.response && !has.stream,
    has,
    hasAsync,
    validateSync: (output) => runSync(at.response, output, 'response'),
    validate(output, ctx = {}) {
      if (!hasAsync.response) return Promise.resolve(runSync(at.response, output, 'response'));
      return runAll(at.response, output, ctx, 'response');
    },
    validateInputSync: (input) => runSync(at.input, input, 'input'),
    validateInput(input, ctx = {}) {
      if (!hasAsync.input) return Promise.resolve(runSync(at.input, input, 'input'));
      return runAll(at.input, input, ctx, 'input');
    },
    streamValidator(ctx = {}) {
      let text = '';
      const failed = new Map<CompiledValidator, ValidatorResult>();
      const failures: ValidatorResult[] = [];
      const judges = at.stream.filter((v) => v.incremental).map((v) => ({ v, judge: v.incremental!() }));
      return {
        get text() {
          return text;
        },
        get failures() {
          return failures;
        },
        push(chunk) {
          text += chunk;
          if (chunk.length === 0 || judges.length === 0) return [];
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
        end(endCtx) {
          return runAll(at.stream, text, endCtx ?? ctx, 'stream', failed);
        },
      };
    },
    decide: decideValidation,
  };
}
