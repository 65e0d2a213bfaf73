import { describe, expect, it } from 'vitest';
import { configJsonSchema, parseConfig } from '../../config.ts';
import { createValidatorEngine } from './validator-engine.ts';

const withValidators = (validators: unknown[], extra: Record<string, unknown> = {}) => ({
  models: [
    {
      name: 'support-bot',
      kind: 'chat',
      versions: [{ version: 'v1', upstream: { url: 'http://127.0.0.1:9001/v1', model: 'sim-chat' } }],
      validators,
      ...extra,
    },
  ],
});

function configError(raw: unknown): string {
  try {
    parseConfig(raw, {});
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('validator config in failsafe.yaml', () => {
  it('accepts every type with defaults filled in, and builds an engine from it', () => {
    const config = parseConfig(
      withValidators([
        { type: 'json_schema', action: 'fallback', schema: { type: 'object', required: ['answer'] } },
        { type: 'regex', mustNotMatch: ['secret', 'token'], flags: 'i' },
        { type: 'length', max: 2000 },
        { type: 'banned_terms', terms: ['competitor'] },
        { name: 'no-pii', type: 'pii', action: 'block', checkpoints: ['response'] },
        { type: 'not_empty' },
        { type: 'refusal', action: 'fallback' },
        { type: 'webhook', url: 'http://127.0.0.1:8000/validate', onError: 'fail' },
      ]),
      {},
    );
    const v = config.models[0].validators!;
    expect(v[1]).toMatchObject({ action: 'flag', checkpoints: ['response', 'stream'] });
    expect(v[4]).toMatchObject({ kinds: ['email', 'phone', 'card', 'iban'], checkpoints: ['response'] });
    expect(v[7]).toMatchObject({ timeoutMs: 2000, onError: 'fail' });
    const engine = createValidatorEngine(v);
    expect(engine.validators.map((x) => x.name)).toEqual(['json_schema', 'regex', 'length', 'banned_terms', 'no-pii', 'not_empty', 'refusal', 'webhook']);
    expect(engine.hasAsync.response).toBe(true);
  });

  it('names the path of a bad regex', () => {
    expect(configError(withValidators([{ type: 'length', max: 5 }, { type: 'regex', pattern: 'a(b' }]))).toMatch(
      /models\[0\]\.validators\[1\]\.pattern: invalid regex: .*/,
    );
    expect(configError(withValidators([{ type: 'regex', mustNotMatch: ['ok', '[z-a]'] }]))).toMatch(
      /models\[0\]\.validators\[0\]\.mustNotMatch\[1\]: invalid regex/,
    );
    expect(configError(withValidators([{ type: 'refusal', patterns: ['(?<'] }]))).toMatch(/models\[0\]\.validators\[0\]\.patterns\[0\]: invalid regex/);
    expect(configError(withValidators([{ type: 'regex' }]))).toMatch(/models\[0\]\.validators\[0\]: regex validator needs pattern, mustMatch or mustNotMatch/);
  });

  it('names the path of a bad JSON schema', () => {
    expect(configError(withValidators([{ type: 'json_schema', schema: { type: 'objekt' } }]))).toMatch(
      /models\[0\]\.validators\[0\]\.schema: invalid JSON schema: .*type/,
    );
    // ajv strict mode: a misspelt keyword is a mistake, not an ignored annotation.
    expect(configError(withValidators([{ type: 'json_schema', schema: { type: 'object', requried: ['a'] } }]))).toMatch(
      /validators\[0\]\.schema: invalid JSON schema: .*requried/,
    );
  });

  it('refuses unknown types, unknown fields, bad actions, bad values', () => {
    expect(configError(withValidators([{ type: 'toxicity' }]))).toMatch(
      /models\[0\]\.validators\[0\]\.type: unknown validator type "toxicity"; expected one of json_schema, regex/,
    );
    expect(configError(withValidators([{ type: 'length', max: 5, maxx: 3 }]))).toMatch(/models\[0\]\.validators\[0\]: Unrecognized key: "maxx"/);
    expect(configError(withValidators([{ type: 'pii', action: 'explode' }]))).toMatch(/models\[0\]\.validators\[0\]\.action: /);
    expect(configError(withValidators([{ type: 'pii', kinds: ['ssn'] }]))).toMatch(/models\[0\]\.validators\[0\]\.kinds\[0\]/);
    expect(configError(withValidators([{ type: 'pii', checkpoints: ['output'] }]))).toMatch(/validators\[0\]\.checkpoints\[0\]/);
    expect(configError(withValidators([{ type: 'length', min: 10, max: 5 }]))).toMatch(/validators\[0\]\.min: min \(10\) is greater than max \(5\)/);
    expect(configError(withValidators([{ type: 'webhook', url: 'ftp://x' }]))).toMatch(/validators\[0\]\.url/);
    expect(configError(withValidators([{ type: 'pii', name: 'a' }, { type: 'not_empty', name: 'a' }]))).toMatch(/validators\[1\]\.name: duplicate validator name "a"/);
  });

  it('the editor JSON Schema describes validators and staging gates', () => {
    const text = JSON.stringify(configJsonSchema());
    for (const word of ['json_schema', 'banned_terms', 'mustNotMatch', 'onError', 'minPassRate', 'latencyBudgetMs']) expect(text).toContain(word);
  });

  it('staging gates: defaults and bounds', () => {
    const ok = parseConfig(withValidators([], { golden: './golden/support-bot.jsonl', staging: { minPassRate: 0.9 } }), {});
    expect(ok.models[0].staging).toEqual({ minPassRate: 0.9, latencyBudgetMs: 2000, concurrency: 4, timeoutMs: 10000, useModelValidators: true });
    expect(configError(withValidators([], { staging: { minPassRate: 95 } }))).toMatch(/models\[0\]\.staging\.minPassRate/);
    expect(configError(withValidators([], { staging: { p95: 5 } }))).toMatch(/models\[0\]\.staging: Unrecognized key: "p95"/);
  });
});
