import { describe, expect, it } from 'vitest';
import { splitModel, upstreamChatBody, withModelName } from './chat-handler.ts';
import { servingModel } from './gateway-test-kit.ts';
import { compileServingModel } from './route-table.ts';

describe('chat request and answer rewriting', () => {
  it('splits name@version', () => {
    expect(splitModel('bot')).toEqual({ name: 'bot' });
    expect(splitModel('bot@v2')).toEqual({ name: 'bot', pinned: 'v2' });
  });

  it('rewrites the request for a version: model id, system prompt first, params only as defaults', () => {
    const route = compileServingModel(
      servingModel('bot', 'chat', { v1: { url: 'http://127.0.0.1:1/v1', model: 'up-model', prompt: 'Be brief.', params: { temperature: 0, top_p: 0.5, model: 'ignored' } } }, { v1: 100 }),
    );
    const body = { model: 'bot@v1', messages: [{ role: 'user', content: 'hi' }], temperature: 1, user: 'u1' };
    const out = JSON.parse(upstreamChatBody(body, route.versions.get('v1')!, 'bot'));
    expect(out).toEqual({
      model: 'up-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      temperature: 1,
      top_p: 0.5,
      user: 'u1',
    });
    expect(body.messages).toHaveLength(1); // the client's body is not changed
    const bare = compileServingModel(servingModel('bot', 'chat', { v1: { url: 'http://127.0.0.1:1/v1' } }, { v1: 100 }));
    expect(JSON.parse(upstreamChatBody(body, bare.versions.get('v1')!, 'bot')).model).toBe('bot');
  });

  it('sets the Failsafe model name in the answer text, exactly as a re-serialization would', () => {
    const answer = { id: 'c1', object: 'chat.completion', model: 'sim-chat', choices: [{ message: { role: 'assistant', content: 'the "model":"sim-chat" is fine' } }] };
    const text = JSON.stringify(answer);
    const out = withModelName(text, answer, 'support-bot');
    expect(JSON.parse(out)).toEqual({ ...answer, model: 'support-bot' });
    // Pretty-printed or repeated pairs fall back to a full re-serialization, still correct.
    const pretty = JSON.stringify(answer, null, 2);
    expect(JSON.parse(withModelName(pretty, answer, 'support-bot'))).toEqual({ ...answer, model: 'support-bot' });
    const nested = { model: 'm', choices: [{ meta: { model: 'm' } }] };
    expect(JSON.parse(withModelName(JSON.stringify(nested), nested, 'bot'))).toEqual({ model: 'bot', choices: [{ meta: { model: 'm' } }] });
    const none = { choices: [] };
    expect(JSON.parse(withModelName(JSON.stringify(none), none, 'bot'))).toEqual({ choices: [], model: 'bot' });
  });
});
