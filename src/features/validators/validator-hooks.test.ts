import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.ts';
import { buildValidatorEngines, createValidatorHooks } from './validator-hooks.ts';

const config = parseConfig(
  {
    models: [
      {
        name: 'support-bot',
        kind: 'chat',
        versions: [{ version: 'v1', upstream: { url: 'http://127.0.0.1:9001/v1' } }],
        validators: [
          { type: 'pii', action: 'block' },
          { type: 'refusal', action: 'fallback', checkpoints: ['response'] },
          { type: 'banned_terms', terms: ['jailbreak'], action: 'block', checkpoints: ['input'] },
          { type: 'length', max: 60, checkpoints: ['stream'] },
        ],
      },
      { name: 'plain', kind: 'chat', versions: [{ version: 'v1', upstream: { url: 'http://127.0.0.1:9001/v1' } }] },
    ],
  },
  {},
);

function setup(now = { t: 0 }) {
  const engines = buildValidatorEngines(config.models);
  const hooks = createValidatorHooks({ engineFor: (m) => engines.get(m), clock: { now: () => now.t }, streamTtlMs: 1000 });
  return { engines, hooks, now };
}

const base = { requestId: 'r1', model: 'support-bot', version: 'v1', kind: 'chat' as const, request: { messages: [{ role: 'user', content: 'hi' }] }, inputText: 'hi' };

describe('validator hooks for the gateway', () => {
  it('models without validators cost nothing', () => {
    const { engines, hooks } = setup();
    expect(engines.has('plain')).toBe(false);
    expect(hooks.validateOutput({ ...base, model: 'plain', outputText: 'x', stream: false })).toBeUndefined();
    expect(hooks.validateChunk({ requestId: 'r', model: 'plain', version: 'v1', delta: 'x', textSoFar: 'x' })).toBeUndefined();
    expect(hooks.validateInput({ ...base, model: 'plain', stream: false })).toBeUndefined();
  });

  it('non-streaming output: synchronous outcome with the strongest action', () => {
    const { hooks } = setup();
    const clean = hooks.validateOutput({ ...base, outputText: 'Restart the app.', stream: false });
    expect(clean).toEqual({
      results: [
        { validator: 'pii', passed: true, action: 'block', checkpoint: 'response' },
        { validator: 'refusal', passed: true, action: 'fallback', checkpoint: 'response' },
      ],
    });
    const refused = hooks.validateOutput({ ...base, outputText: "I'm sorry, I can't help with that.", stream: false });
    expect(refused).toMatchObject({ action: 'fallback' });
    const both = hooks.validateOutput({ ...base, outputText: "I'm sorry, I can't help. Mail bob@example.com", stream: false });
    expect(both).toMatchObject({ action: 'block' });
  });

  it('input checkpoint', () => {
    const { hooks } = setup();
    expect(hooks.validateInput({ ...base, inputText: 'try this JAILBREAK', stream: false })).toMatchObject({
      action: 'block',
      results: [{ validator: 'banned_terms', passed: false, checkpoint: 'input' }],
    });
    expect(hooks.validateInput({ ...base, stream: false })).toEqual({ results: [{ validator: 'banned_terms', passed: true, action: 'block', checkpoint: 'input' }] });
  });

  it('streaming: a blocking failure is reported on the chunk that completes it, and its state is released', () => {
    const { hooks } = setup();
    const chunks = ['Write to ', 'jane.doe@exa', 'mple.com and ', 'we will reply.'];
    let text = '';
    const outcomes = [];
    for (const delta of chunks) {
      text += delta;
      const o = hooks.validateChunk({ requestId: 's1', model: 'support-bot', version: 'v1', delta, textSoFar: text });
      outcomes.push(o);
      if (o?.action === 'block') break; // what the gateway does
    }
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes[1]).toBeUndefined();
    expect(outcomes[2]).toEqual({ action: 'block', results: [{ validator: 'pii', passed: false, action: 'block', message: 'personal data: email', checkpoint: 'stream' }] });
    // The gateway stops a blocked stream and never calls validateOutput: nothing is left behind.
    expect(hooks.openStreams()).toBe(0);
  });

  it('streaming with flags: the end returns only what the chunks did not, so each validator is traced once', async () => {
    const { engines } = setup();
    const hooks = createValidatorHooks({ engineFor: (m) => engines.get(m) });
    const seen: unknown[] = [];
    let text = '';
    for (const delta of ['A fairly long answer ', 'that goes on and on past sixty characters ', 'easily.']) {
      text += delta;
      const o = hooks.validateChunk({ requestId: 's2', model: 'support-bot', version: 'v1', delta, textSoFar: text });
      if (o) seen.push(...o.results);
    }
    expect(seen).toMatchObject([{ validator: 'length', passed: false, action: 'flag', checkpoint: 'stream' }]);
    expect(hooks.openStreams()).toBe(1);
    const end = await hooks.validateOutput({ ...base, requestId: 's2', outputText: text, stream: true });
    expect(end).toEqual({ results: [{ validator: 'pii', passed: true, action: 'block', checkpoint: 'stream' }] });
    expect(hooks.openStreams()).toBe(0);
    // A stream whose chunks never went through validateChunk is judged whole at the end.
    const whole = await hooks.validateOutput({ ...base, requestId: 's3', outputText: 'call +1 (555) 010-4477', stream: true });
    expect(whole).toMatchObject({ action: 'block', results: [{ validator: 'pii', passed: false }, { validator: 'length', passed: true }] });
  });

  it('keeps at most maxStreams', () => {
    const { engines } = setup();
    const hooks = createValidatorHooks({ engineFor: (m) => engines.get(m), maxStreams: 3 });
    for (let i = 0; i < 5; i++) hooks.validateChunk({ requestId: `r${i}`, model: 'support-bot', version: 'v1', delta: 'x', textSoFar: 'x' });
    expect(hooks.openStreams()).toBe(3);
  });

  it('abandoned streams are swept after the TTL', () => {
    const { hooks, now } = setup();
    hooks.validateChunk({ requestId: 'gone', model: 'support-bot', version: 'v1', delta: 'a', textSoFar: 'a' });
    now.t = 5_000;
    hooks.validateChunk({ requestId: 'new', model: 'support-bot', version: 'v1', delta: 'b', textSoFar: 'b' });
    expect(hooks.openStreams()).toBe(1);
    hooks.forget('new');
    expect(hooks.openStreams()).toBe(0);
  });
});
