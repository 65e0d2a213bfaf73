import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnCheckDigit, luhnValid } from '../../core/luhn.ts';
import { findPii } from '../../core/pii.ts';
import { createValidatorEngine, decideValidation, parseValidatorConfigs } from './validator-engine.ts';

const engineOf = (raw: unknown[]) => createValidatorEngine(parseValidatorConfigs(raw));

async function failuresOf(raw: unknown[], text: string) {
  const results = await engineOf(raw).validate(text);
  return results.filter((r) => !r.passed);
}

describe('validators catch their fault and pass clean text', () => {
  const clean = 'About "reset password": Start by checking the settings page, then try again.';

  it('json_schema', async () => {
    const v = [{ type: 'json_schema', action: 'fallback', schema: { type: 'object', required: ['answer', 'label'], properties: { label: { enum: ['positive', 'negative', 'neutral'] }, email: { type: 'string', format: 'email' } } } }];
    expect(await failuresOf(v, '{"answer":"ok","label":"neutral"}')).toEqual([]);
    const notJson = await failuresOf(v, '{"answer": "ok", "label": ');
    expect(notJson[0]).toMatchObject({ validator: 'json_schema', action: 'fallback', checkpoint: 'response' });
    expect(notJson[0].message).toMatch(/^not valid JSON/);
    expect((await failuresOf(v, '{"answer":"ok","label":"angry"}'))[0].message).toMatch(/\/label must be equal to one of the allowed values/);
    expect((await failuresOf(v, '{"answer":"ok"}'))[0].message).toMatch(/must have required property 'label'/);
    // ajv-formats is active
    expect((await failuresOf(v, '{"answer":"a","label":"neutral","email":"nope"}'))[0].message).toMatch(/format "email"/);
    // code fences only when allowed
    const fenced = '```json\n{"answer":"ok","label":"neutral"}\n```';
    expect(await failuresOf(v, fenced)).toHaveLength(1);
    expect(await failuresOf([{ ...v[0], allowCodeFence: true }], fenced)).toEqual([]);
  });

  it('regex mustMatch / mustNotMatch / pattern', async () => {
    expect(await failuresOf([{ type: 'regex', mustMatch: '^About ' }], clean)).toEqual([]);
    expect((await failuresOf([{ type: 'regex', mustMatch: ['^About ', 'refund'] }], clean))[0].message).toBe('does not match /refund/');
    expect((await failuresOf([{ type: 'regex', pattern: '^Answer:' }], clean))[0].message).toBe('does not match /^Answer:/');
    expect((await failuresOf([{ type: 'regex', mustNotMatch: 'SETTINGS', flags: 'i' }], clean))[0].message).toBe('matches forbidden /SETTINGS/i');
    expect(await failuresOf([{ type: 'regex', mustNotMatch: 'SETTINGS' }], clean)).toEqual([]);
  });

  it('length', async () => {
    expect(await failuresOf([{ type: 'length', min: 10, max: 200 }], clean)).toEqual([]);
    expect((await failuresOf([{ type: 'length', min: 100 }], clean))[0].message).toMatch(/too short: \d+ chars < min 100/);
    expect((await failuresOf([{ type: 'length', max: 20 }], clean))[0].message).toMatch(/too long/);
  });

  it('banned_terms: case-insensitive whole words', async () => {
    const v = [{ type: 'banned_terms', action: 'block', terms: ['competitor', 'Guaranteed Returns'] }];
    expect(await failuresOf(v, clean)).toEqual([]);
    expect((await failuresOf(v, 'Try COMPETITOR instead.'))[0]).toMatchObject({ action: 'block', message: 'banned term "competitor"' });
    expect((await failuresOf(v, 'We offer guaranteed\nreturns!'))[0].message).toBe('banned term "guaranteed returns"');
    expect(await failuresOf(v, 'competitors and noncompetitor are fine')).toEqual([]);
    expect(await failuresOf([{ ...v[0], wholeWords: false }], 'competitors')).toHaveLength(1);
  });

  it('pii: emails, phones, Luhn-valid cards, IBANs; not random numbers', async () => {
    const v = [{ type: 'pii', action: 'block' }];
    expect(await failuresOf(v, clean)).toEqual([]);
    expect(await failuresOf(v, 'Order 1234 5678 9012 3456 shipped 2024-03-01.')).toEqual([]); // 1234…3456 is not Luhn-valid
    const all = await failuresOf(v, 'Mail a@b.io, call +1 (555) 010-4477, card 4111 1111 1111 1111, IBAN DE89370400440532013000.');
    expect(all[0].message).toBe('personal data: email, phone, card, iban');
    expect(all[0].message).not.toContain('a@b.io');
    expect((await failuresOf([{ type: 'pii', kinds: ['card'] }], 'Mail a@b.io'))).toEqual([]);
  });

  it('not_empty and refusal', async () => {
    expect(await failuresOf([{ type: 'not_empty' }], clean)).toEqual([]);
    expect((await failuresOf([{ type: 'not_empty' }], '  \n '))[0].message).toBe('empty answer');
    const r = [{ type: 'refusal', action: 'fallback' }];
    expect(await failuresOf(r, clean)).toEqual([]);
    expect(await failuresOf(r, "I'm sorry you are having trouble; restart the app.")).toEqual([]);
    for (const text of [
      "I'm sorry, I can't help with that.",
      'I am sorry, but I cannot provide that information.',
      'As an AI language model, I do not have opinions.',
      'I’m sorry, I can’t help with that.',
      'Unfortunately I cannot assist with that request.',
      '',
    ]) {
      expect(await failuresOf(r, text), text).toHaveLength(1);
    }
    expect(await failuresOf([{ type: 'refusal', patterns: ['out of scope'] }], 'That is OUT OF SCOPE.')).toHaveLength(1);
  });
});

const typicalValidators = [
  { type: 'pii' },
  { type: 'banned_terms', terms: ['alpha', 'beta', 'gamma', 'delta'] },
  { type: 'refusal' },
  { type: 'regex', mustNotMatch: 'password\\s*[:=]' },
  { type: 'length', max: 4000 },
  { type: 'not_empty' },
];
const typicalAnswer = ('About "my order": Contact support with your order number 88123 if it persists. ').repeat(8);

describe('engine', () => {
  it('decide: strongest failed action wins', () => {
    const r = (action: 'flag' | 'fallback' | 'block', passed: boolean) => ({ validator: 'x', action, passed });
    expect(decideValidation([])).toBe('pass');
    expect(decideValidation([r('block', true), r('flag', false)])).toBe('flag');
    expect(decideValidation([r('flag', false), r('fallback', false)])).toBe('fallback');
    expect(decideValidation([r('fallback', false), r('block', false), r('flag', false)])).toBe('block');
  });

  it('names repeat types, honours checkpoints, reports every result in order', async () => {
    const e = engineOf([
      { type: 'regex', mustMatch: 'a' },
      { type: 'regex', mustMatch: 'b', action: 'block' },
      { type: 'length', max: 3, checkpoints: ['stream'] },
    ]);
    expect(e.validators.map((v) => v.name)).toEqual(['regex', 'regex#2', 'length']);
    const results = await e.validate('aaaa');
    expect(results).toEqual([
      { validator: 'regex', passed: true, action: 'flag', checkpoint: 'response' },
      { validator: 'regex#2', passed: false, action: 'block', message: 'does not match /b/', checkpoint: 'response' },
    ]);
    expect(e.decide(results)).toBe('block');
    expect(e.hasAsync.response).toBe(false);
    expect(createValidatorEngine([]).empty).toBe(true);
  });

  it('a clean typical answer passes every synchronous validator (cost: npm run bench:validators)', () => {
    const e = engineOf(typicalValidators);
    const text = typicalAnswer;
    expect(e.validateSync(text)).toHaveLength(typicalValidators.length);
    expect(e.validateSync(text).every((r) => r.passed)).toBe(true);
  });
});

describe('streaming', () => {
  const stream = (raw: unknown[]) => engineOf(raw).streamValidator({ model: 'm', version: 'v' });

  it('finds an email split over two chunks as soon as it is complete', async () => {
    const s = stream([{ type: 'pii', action: 'block' }]);
    expect(s.push('Sure! Write to jane.do')).toEqual([]);
    expect(s.push('e@example.c')).toEqual([]);
    const hit = s.push('om and we will reply.');
    expect(hit).toEqual([{ validator: 'pii', passed: false, action: 'block', message: 'personal data: email', checkpoint: 'stream' }]);
    expect(s.push(' More text with bob@example.org')).toEqual([]); // one failure per validator
    const final = await s.end();
    expect(final).toHaveLength(1);
    expect(final[0].passed).toBe(false);
  });

  it('word-piece streams (trailing spaces): the chunk that completes the data is the one that reports it', () => {
    const s = stream([{ type: 'pii', action: 'block' }]);
    expect(s.push('Mail ')).toEqual([]);
    expect(s.push('jane.doe@example.com')).toHaveLength(1); // an email stays an email whatever follows
    const c = stream([{ type: 'pii', kinds: ['card'] }]);
    for (const piece of ['Card ', '4111 ', '1111 ', '1111 ']) expect(c.push(piece)).toEqual([]);
    expect(c.push('1111 ')).toHaveLength(1);
  });

  it('random non-card numbers streamed in tokenizer-sized pieces are never flagged; real cards always are', async () => {
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return (x >>> 8) % n;
    };
    const pieces = (text: string) => {
      const out: string[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + rnd(3);
        out.push(text.slice(i, i + n));
        i += n;
      }
      return out;
    };
    let cards = 0;
    for (let k = 0; k < 300; k++) {
      let digits = String(2 + rnd(5));
      while (digits.length < 16) digits += String(rnd(10));
      const grouped = rnd(2) ? digits : digits.replace(/(\d{4})(?=\d)/g, '$1 ');
      const isCard = luhnValid(digits);
      cards += isCard ? 1 : 0;
      const s = stream([{ type: 'pii', kinds: ['card'] }]);
      const early = pieces(`Your reference is ${grouped} and it ships today.`).flatMap((p) => s.push(p));
      const final = await s.end();
      expect(early.length > 0, grouped).toBe(isCard);
      expect(final[0].passed, grouped).toBe(!isCard);
    }
    expect(cards).toBeGreaterThan(10); // both branches were exercised
  });

  it('does not judge a card number before its last digit arrived', async () => {
    const s = stream([{ type: 'pii', kinds: ['card'] }]);
    // A Luhn-valid 13-digit prefix whose 16-digit completion is not a card number.
    const p13 = '411111111111' + luhnCheckDigit('411111111111');
    const tail = ['234', '235'].find((t) => !luhnValid(p13 + t))!;
    expect(luhnValid(p13)).toBe(true);
    expect(findPii(`Ref ${p13} x`)).toEqual(['card']);
    expect(s.push(`Ref ${p13.slice(0, 4)} ${p13.slice(4, 8)} ${p13.slice(8, 12)} ${p13.slice(12)}`)).toEqual([]);
    expect(s.push(tail.slice(0, 2))).toEqual([]);
    expect(s.push(`${tail.slice(2)} done`)).toEqual([]);
    expect((await s.end())[0].passed).toBe(true);
  });

  it('a banned term split character by character, and a longer word that only starts like one', async () => {
    const s = stream([{ type: 'banned_terms', terms: ['refund'] }]);
    let hits = 0;
    for (const ch of 'Refunds are handled by the refun') hits += s.push(ch).length;
    expect(hits).toBe(0);
    expect(s.push('d')).toEqual([]); // not yet: "refund" might be "refunded"
    expect(s.push(' team.')).toHaveLength(1);
    const s2 = stream([{ type: 'banned_terms', terms: ['refund'] }]);
    s2.push('We refun');
    expect(s2.push('ded it')).toEqual([]);
    expect((await s2.end())[0].passed).toBe(true);
  });

  it('mustNotMatch across chunks, max length early, end() judges the rest', async () => {
    const s = stream([
      { type: 'regex', mustNotMatch: 'api[_-]key', action: 'block' },
      { type: 'length', max: 40 },
      { type: 'json_schema', schema: { type: 'object' } },
      { type: 'not_empty', checkpoints: ['response'] },
    ]);
    expect(s.push('your api_')).toEqual([]);
    expect(s.push('key is here')).toMatchObject([{ validator: 'regex', action: 'block' }]);
    expect(s.push(' and now it is way too long for the limit')).toMatchObject([{ validator: 'length' }]);
    const final = await s.end();
    expect(final.map((r) => [r.validator, r.passed])).toEqual([
      ['regex', false],
      ['length', false],
      ['json_schema', false],
    ]);
    expect(s.text).toContain('api_key');
  });

  it('end() catches what only the whole text shows', async () => {
    const s = stream([{ type: 'refusal' }, { type: 'regex', mustMatch: 'settings' }]);
    s.push("I'm sorry, I ");
    expect(s.push("can't")).toEqual([]); // "can't" may still become "can'tankerous"… judged when the next char arrives
    const final = await s.end();
    expect(final[0]).toMatchObject({ validator: 'refusal', passed: false });
    expect(final[1]).toMatchObject({ validator: 'regex', passed: false });
  });
});

describe('webhook', () => {
  let server: Server;
  let base = '';
  const seen: unknown[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url === '/slow') return void setTimeout(() => res.end('{"passed":true}'), 500);
        if (req.url === '/broken') {
          res.statusCode = 500;
          return void res.end('oops');
        }
        if (req.url === '/garbage') return void res.end('not json');
        const parsed = JSON.parse(body) as { output: string };
        seen.push(parsed);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(parsed.output.includes('toxic') ? { passed: false, message: 'toxic language' } : { passed: true }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  it('posts {model, version, input, output} and uses the verdict', async () => {
    const e = engineOf([{ type: 'webhook', url: `${base}/check`, action: 'block' }, { type: 'not_empty' }]);
    expect(e.hasAsync.response).toBe(true);
    const input = [{ role: 'user', content: 'hi' }];
    const bad = await e.validate('you are toxic', { model: 'support-bot', version: 'v2', input });
    expect(bad[0]).toEqual({ validator: 'webhook', passed: false, action: 'block', message: 'toxic language', checkpoint: 'response' });
    expect(bad[1].passed).toBe(true);
    expect(seen.at(-1)).toEqual({ model: 'support-bot', version: 'v2', input, output: 'you are toxic' });
    expect((await e.validate('fine'))[0].passed).toBe(true);
    const s = e.streamValidator({ model: 'support-bot' });
    s.push('so tox');
    s.push('ic');
    expect((await s.end())[0]).toMatchObject({ passed: false, checkpoint: 'stream' });
  });

  it('timeout and errors follow onError', async () => {
    const t0 = Date.now();
    const [slowPass] = await engineOf([{ type: 'webhook', url: `${base}/slow`, timeoutMs: 100 }]).validate('x');
    expect(Date.now() - t0).toBeLessThan(450);
    expect(slowPass).toMatchObject({ passed: true, message: 'webhook error (onError=pass): timed out after 100 ms' });
    const [slowFail] = await engineOf([{ type: 'webhook', url: `${base}/slow`, timeoutMs: 100, onError: 'fail', action: 'fallback' }]).validate('x');
    expect(slowFail).toMatchObject({ passed: false, action: 'fallback', message: 'webhook error: timed out after 100 ms' });
    const [broken] = await engineOf([{ type: 'webhook', url: `${base}/broken`, onError: 'fail' }]).validate('x');
    expect(broken.message).toBe('webhook error: status 500');
    const [garbage] = await engineOf([{ type: 'webhook', url: `${base}/garbage`, onError: 'fail' }]).validate('x');
    expect(garbage.message).toBe('webhook error: answer is not JSON');
    const [refused] = await engineOf([{ type: 'webhook', url: 'http://127.0.0.1:9/', onError: 'fail' }]).validate('x');
    expect(refused.message).toBe('webhook error: ECONNREFUSED');
  });
});
