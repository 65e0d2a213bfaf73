import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimServer, type SimServer } from './sim-server.ts';
import { simProfiles } from './sim-faults.ts';
import { SIM_PII_SENTENCE, SIM_REFUSAL, simAnswer, simLabel, simWrongAnswer } from './sim-replies.ts';

const userMsg = (content: string) => [{ role: 'user' as const, content }];

async function postJson(url: string, body: unknown, method = 'POST'): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

async function chatRaw(sim: SimServer, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  return postJson(`${sim.url}/v1/chat/completions`, { model: 'sim-chat', ...body });
}

describe('sim-server', () => {
  let sim: SimServer;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startSimServer({ seed: 42, models: ['sim-chat', 'sim-chat-mini'] });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 5000 });
  });
  afterEach(() => {
    sim.setFaults({});
  });
  afterAll(async () => {
    await sim.close();
  });

  describe('healthy answers', () => {
    it('answers a chat completion in OpenAI shape with deterministic content', async () => {
      const text = 'How do I reset my password?';
      const r = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg(text) });
      expect(r.object).toBe('chat.completion');
      expect(r.id).toMatch(/^chatcmpl-/);
      expect(r.model).toBe('sim-chat');
      expect(typeof r.created).toBe('number');
      expect(r.choices[0].message.role).toBe('assistant');
      expect(r.choices[0].message.content).toBe(simAnswer(text));
      expect(r.choices[0].finish_reason).toBe('stop');
      expect(r.usage?.prompt_tokens).toBe(Math.ceil(text.length / 4));
      expect(r.usage?.completion_tokens).toBe(Math.ceil(simAnswer(text).length / 4));
      expect(r.usage?.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
      const again = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg(text) });
      expect(again.choices[0].message.content).toBe(r.choices[0].message.content);
      expect(again.id).not.toBe(r.id);
    });

    it('answers from the last user message, and different inputs get different answers', async () => {
      const r = await client.chat.completions.create({
        model: 'sim-chat',
        messages: [
          { role: 'system', content: 'You are a support bot.' },
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'an answer' },
          { role: 'user', content: [{ type: 'text', text: 'my app is broken' }] },
        ],
      });
      expect(r.choices[0].message.content).toBe(simAnswer('my app is broken'));
      expect(simAnswer('my app is broken')).not.toBe(simAnswer('first question'));
    });

    it('streams SSE chunks in the OpenAI chunk format that the official client reads', async () => {
      const text = 'thanks, where can I see my invoices?';
      const stream = await client.chat.completions.create({
        model: 'sim-chat',
        messages: userMsg(text),
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = '';
      const finishes: Array<string | null> = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        expect(chunk.object).toBe('chat.completion.chunk');
        expect(chunk.model).toBe('sim-chat');
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          content += c.delta.content ?? '';
          finishes.push(c.finish_reason);
        }
      }
      expect(content).toBe(simAnswer(text));
      expect(chunks).toBeGreaterThan(4);
      expect(finishes.at(-1)).toBe('stop');
      expect(finishes.slice(0, -1).every((f) => f === null)).toBe(true);
      expect(usage?.prompt_tokens).toBe(Math.ceil(text.length / 4));
    });

    it('ends the raw stream with data: [DONE]', async () => {
      const res = await fetch(`${sim.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: userMsg('hello'), stream: true }),
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = await res.text();
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
      const first = JSON.parse(body.split('\n\n')[0].slice('data: '.length));
      expect(first.choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    });

    it('replies with valid JSON when JSON output is requested', async () => {
      const text = 'I hate this, it is broken';
      const a = await client.chat.completions.create({
        model: 'sim-chat',
        messages: userMsg(text),
        response_format: { type: 'json_object' },
      });
      expect(JSON.parse(a.choices[0].message.content!)).toEqual({ answer: simAnswer(text), label: 'negative' });
      const b = await client.chat.completions.create({
        model: 'sim-chat',
        messages: [{ role: 'system', content: 'Answer as JSON with answer and label.' }, ...userMsg('great service')],
      });
      expect(JSON.parse(b.choices[0].message.content!)).toEqual({ answer: simAnswer('great service'), label: 'positive' });
      expect(simLabel('what time is it')).toBe('neutral');
    });

    it('cuts the answer at max_tokens with finish_reason length', async () => {
      const r = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('a long question'), max_tokens: 3 });
      expect(r.choices[0].finish_reason).toBe('length');
      expect(r.choices[0].message.content).toBe(simAnswer('a long question').slice(0, 12));
    });

    it('lists models', async () => {
      const page = await client.models.list();
      expect(page.data.map((m) => m.id)).toEqual(['sim-chat', 'sim-chat-mini']);
    });

    it('serves KServe V1 predict with a deterministic classifier', async () => {
      const r = await postJson(`${sim.url}/v1/models/fraud-scorer:predict`, {
        instances: [[1, 2, -0.5], [-1, -2], [0, 0], { features: [0.25] }, 3],
      });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toEqual({ predictions: ['positive', 'negative', 'negative', 'positive', 'positive'] });
      const bad = await postJson(`${sim.url}/v1/models/fraud-scorer:predict`, { instances: [['x']] });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).error).toMatch(/instances\[0\]/);
      const ready = await fetch(`${sim.url}/v1/models/fraud-scorer`).then((x) => x.json());
      expect(ready).toMatchObject({ name: 'fraud-scorer', ready: true });
    });

    it('answers health, unknown routes and bad bodies in the right shapes', async () => {
      expect(await fetch(`${sim.url}/healthz`).then((r) => r.status)).toBe(200);
      const nf = await fetch(`${sim.url}/nope`);
      expect(nf.status).toBe(404);
      expect((await nf.json()).error.type).toBe('invalid_request_error');
      const badJson = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{"messages": [' });
      expect(badJson.status).toBe(400);
      expect((await badJson.json()).error.message).toMatch(/parse the JSON/);
      const noMessages = await chatRaw(sim, { messages: [] });
      expect(noMessages.status).toBe(400);
      expect(JSON.parse(noMessages.text).error.param).toBe('messages');
    });
  });

  describe('faults at run time', () => {
    it('errorRate 1 with errorStatus gives OpenAI-shaped errors, set over HTTP', async () => {
      const put = await postJson(`${sim.url}/_sim/faults`, { errorRate: 1, errorStatus: 503 }, 'PUT');
      expect(put.status).toBe(200);
      expect(JSON.parse(put.text)).toEqual({ errorRate: 1, errorStatus: 503 });
      expect(sim.getFaults()).toEqual({ errorRate: 1, errorStatus: 503 });
      const err = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err.status).toBe(503);
      expect(err.type).toBe('server_error');
      const p = await postJson(`${sim.url}/v1/models/m:predict`, { instances: [[1]] });
      expect(p.status).toBe(503);
      expect(typeof JSON.parse(p.text).error).toBe('string');
      await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
      const ok = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') });
      expect(ok.choices[0].message.content).toBe(simAnswer('hi'));
    });

    it('errorRate 0.3 fails about 30% of requests', async () => {
      sim.setFaults({ errorRate: 0.3 });
      let errors = 0;
      for (let i = 0; i < 300; i++) {
        const r = await chatRaw(sim, { messages: userMsg(`q${i}`) });
        if (r.status === 500) errors++;
        else expect(r.status).toBe(200);
      }
      expect(errors).toBeGreaterThan(60);
      expect(errors).toBeLessThan(120);
    });

    it('adds latency, jitter and a multiplier of the base latency', async () => {
      const slow = await startSimServer({ baseLatencyMs: 15 });
      try {
        const time = async (): Promise<number> => {
          const t0 = performance.now();
          expect((await chatRaw(slow, { messages: userMsg('x') })).status).toBe(200);
          return performance.now() - t0;
        };
        const base = await time();
        expect(base).toBeGreaterThanOrEqual(14);
        slow.setFaults('slow');
        expect(slow.getFaults()).toEqual(simProfiles.slow);
        const tenfold = await time();
        expect(tenfold).toBeGreaterThanOrEqual(149);
        slow.setFaults({ latencyMs: 60, latencyJitterMs: 20 });
        // The fastest of three: a loaded machine can only add time, and the bound is on the fault.
        const added = Math.min(await time(), await time(), await time());
        expect(added).toBeGreaterThanOrEqual(74);
        expect(added).toBeLessThan(140);
      } finally {
        await slow.close();
      }
    });

    it('malformed: truncated JSON bodies, broken SSE frames, invalid JSON content in JSON mode', async () => {
      sim.setFaults({ malformedRate: 1 });
      const r = await chatRaw(sim, { messages: userMsg('hi') });
      expect(r.status).toBe(200);
      expect(() => JSON.parse(r.text)).toThrow();
      const viaSdk = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') }).catch((e) => e);
      expect(viaSdk).toBeInstanceOf(Error);

      const jsonMode = await chatRaw(sim, { messages: userMsg('hi'), response_format: { type: 'json_object' } });
      const content: string = JSON.parse(jsonMode.text).choices[0].message.content;
      expect(content.startsWith('{"answer":')).toBe(true);
      expect(() => JSON.parse(content)).toThrow();

      const stream = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hello there friend'), stream: true });
      const streamed = await (async () => {
        for await (const _ of stream) {
          /* drain */
        }
      })().catch((e) => e);
      expect(streamed).toBeInstanceOf(Error);

      const p = await postJson(`${sim.url}/v1/models/m:predict`, { instances: [[1]] });
      expect(() => JSON.parse(p.text)).toThrow();
    });

    it('wrongOutputRate: plausible wrong chat answers and flipped labels', async () => {
      sim.setFaults({ wrongOutputRate: 1 });
      const text = 'my order is broken';
      const r = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg(text) });
      expect(r.choices[0].message.content).toBe(simWrongAnswer(text));
      expect(simWrongAnswer(text)).not.toBe(simAnswer(text));
      const j = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg(text), response_format: { type: 'json_object' } });
      expect(JSON.parse(j.choices[0].message.content!).label).toBe('positive');
      const p = await postJson(`${sim.url}/v1/models/m:predict`, { instances: [[1], [-1]] });
      expect(JSON.parse(p.text).predictions).toEqual(['negative', 'positive']);
    });

    it('wrongOutputRate 0.25 flips about a quarter of predict labels', async () => {
      sim.setFaults({ wrongOutputRate: 0.25 });
      const instances = Array.from({ length: 400 }, (_, i) => [i % 2 === 0 ? 1 : -1]);
      const p = await postJson(`${sim.url}/v1/models/m:predict`, { instances });
      const preds: string[] = JSON.parse(p.text).predictions;
      const wrong = preds.filter((l, i) => l !== (i % 2 === 0 ? 'positive' : 'negative')).length;
      expect(wrong).toBeGreaterThan(70);
      expect(wrong).toBeLessThan(130);
    });

    it('emptyRate, refusalRate and piiRate change the content', async () => {
      sim.setFaults({ emptyRate: 1 });
      const e = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') });
      expect(e.choices[0].message.content).toBe('');
      const ep = await postJson(`${sim.url}/v1/models/m:predict`, { instances: [[1]] });
      expect(JSON.parse(ep.text)).toEqual({ predictions: [] });

      sim.setFaults({ refusalRate: 1 });
      const rf = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') });
      expect(rf.choices[0].message.content).toBe(SIM_REFUSAL);

      sim.setFaults({ piiRate: 1 });
      const pii = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('hi') });
      expect(pii.choices[0].message.content).toBe(`${simAnswer('hi')} ${SIM_PII_SENTENCE}`);
      expect(pii.choices[0].message.content).toMatch(/[\w.]+@[\w.]+\.\w+/);
      expect(pii.choices[0].message.content).toMatch(/\+1 \(555\) \d{3}-\d{4}/);
    });

    it('cutStreamRate closes the socket mid-stream without [DONE]', async () => {
      await postJson(`${sim.url}/_sim/faults`, { cutStreamRate: 1 }, 'PUT');
      const text = 'please explain how streaming works in detail';
      const res = await fetch(`${sim.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ messages: userMsg(text), stream: true }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let received = '';
      const dec = new TextDecoder();
      const outcome = await (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'ended';
          received += dec.decode(value);
        }
      })().catch(() => 'error');
      expect(outcome).toBe('error');
      expect(received).toContain('"delta":{"content":');
      expect(received).not.toContain('[DONE]');
      expect(received).not.toContain('"finish_reason":"stop"');

      const stream = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg(text), stream: true });
      const sdk = await (async () => {
        for await (const _ of stream) {
          /* drain */
        }
      })().catch((e) => e);
      expect(sdk).toBeInstanceOf(Error);
      // Non-streaming answers are not affected.
      expect((await chatRaw(sim, { messages: userMsg(text) })).status).toBe(200);
      expect(sim.stats().faults.cutStream).toBeGreaterThanOrEqual(2);
    });

    it('resetRate destroys the socket without a response', async () => {
      sim.setFaults({ resetRate: 1 });
      await expect(fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: userMsg('x') }) })).rejects.toThrow();
      await expect(postJson(`${sim.url}/v1/models/m:predict`, { instances: [[1]] })).rejects.toThrow();
    });

    it('longInputFailureChars and contextWindowTokens fail like OpenAI context overflow', async () => {
      sim.setFaults({ longInputFailureChars: 100 });
      const short = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('x'.repeat(100)) });
      expect(short.choices[0].message.content).toBeTruthy();
      const long = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('x'.repeat(101)) }).catch((e) => e);
      expect(long).toBeInstanceOf(OpenAI.BadRequestError);
      expect(long.code).toBe('context_length_exceeded');
      expect(long.param).toBe('messages');
      expect(long.message).toMatch(/maximum context length/);

      sim.setFaults({ contextWindowTokens: 50 });
      const fits = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('y'.repeat(40)), max_tokens: 30 });
      expect(fits.choices[0].message.content).toBeTruthy();
      const over = await client.chat.completions.create({ model: 'sim-chat', messages: userMsg('y'.repeat(40)), max_tokens: 50 }).catch((e) => e);
      expect(over.status).toBe(400);
      expect(over.code).toBe('context_length_exceeded');

      sim.setFaults('context-overflow');
      const p = await postJson(`${sim.url}/v1/models/m:predict`, { instances: [Array(1000).fill(1)] });
      expect(p.status).toBe(400);
      expect(sim.stats().faults.contextOverflow).toBeGreaterThanOrEqual(3);
    });

    it('slowOnLongInputChars slows only long inputs', async () => {
      sim.setFaults({ slowOnLongInputChars: 50, slowFactor: 8 });
      let t0 = performance.now();
      await chatRaw(sim, { messages: userMsg('short') });
      const short = performance.now() - t0;
      t0 = performance.now();
      await chatRaw(sim, { messages: userMsg('z'.repeat(51)) });
      const long = performance.now() - t0;
      expect(short).toBeLessThan(60);
      expect(long).toBeGreaterThanOrEqual(79);
    });

    it('hangRate never answers; close() still ends the server', async () => {
      const h = await startSimServer({ faults: { hangRate: 1 } });
      const err = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ messages: userMsg('x') }),
        signal: AbortSignal.timeout(150),
      }).catch((e) => e);
      expect((err as Error).name).toBe('TimeoutError');
      const pending = fetch(`${h.url}/v1/models/m:predict`, { method: 'POST', body: '{"instances":[[1]]}' }).catch((e) => e);
      // The aborted request is released, the pending one is held.
      await vi.waitFor(() => expect(h.stats()).toMatchObject({ hanging: 1, faults: { hang: 2 } }));
      await h.close();
      expect(await pending).toBeInstanceOf(Error);
    });
  });

  describe('control API and determinism', () => {
    it('validates, merges and clears faults over HTTP', async () => {
      const bad = await postJson(`${sim.url}/_sim/faults`, { errorRate: 2 }, 'PUT');
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).error.message).toMatch(/errorRate/);
      const unknown = await postJson(`${sim.url}/_sim/faults`, { profile: 'nope' }, 'PUT');
      expect(unknown.status).toBe(400);
      const prof = await postJson(`${sim.url}/_sim/faults`, { profile: 'bad-prompt', piiRate: 0.1 }, 'PUT');
      expect(JSON.parse(prof.text)).toEqual({ ...simProfiles['bad-prompt'], piiRate: 0.1 });
      const patched = await postJson(`${sim.url}/_sim/faults`, { refusalRate: null, latencyMs: 5 }, 'PATCH');
      expect(JSON.parse(patched.text)).toEqual({ wrongOutputRate: 0.5, piiRate: 0.1, latencyMs: 5 });
      expect(await fetch(`${sim.url}/_sim/faults`).then((r) => r.json())).toEqual(sim.getFaults());
      const cleared = await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' }).then((r) => r.json());
      expect(cleared).toEqual({});
      expect(() => sim.setFaults({ hangRate: -1 })).toThrow(/hangRate/);
    });

    it('counts requests by path and status, records recent requests, resets', async () => {
      const s = await startSimServer({ name: 'v2' });
      try {
        await chatRaw(s, { messages: userMsg('a'), temperature: 0.2 });
        await chatRaw(s, { messages: userMsg('b') });
        await postJson(`${s.url}/v1/models/m:predict`, { instances: [[1]] });
        await fetch(`${s.url}/_sim/faults`);
        const stats = await fetch(`${s.url}/_sim/stats`).then((r) => r.json());
        expect(stats).toMatchObject({
          name: 'v2',
          requests: 3,
          byPath: { '/v1/chat/completions': 2, '/v1/models/m:predict': 1 },
          byStatus: { '200': 3 },
        });
        const rec = await fetch(`${s.url}/_sim/requests`).then((r) => r.json());
        expect(rec.requests.map((r: any) => r.seq)).toEqual([0, 1, 2]);
        expect(rec.requests[0].body.temperature).toBe(0.2);
        await fetch(`${s.url}/_sim/reset`, { method: 'POST' });
        expect(s.stats().requests).toBe(0);
        expect(s.recentRequests()).toEqual([]);
      } finally {
        await s.close();
      }
    });

    it('gives the same fault sequence for the same seed and a different one for another seed', async () => {
      const faults = { errorRate: 0.3, wrongOutputRate: 0.3, emptyRate: 0.1 };
      const outcomes = async (seed: number): Promise<string[]> => {
        const s = await startSimServer({ seed, faults });
        try {
          const out: string[] = [];
          for (let i = 0; i < 60; i++) {
            const r = await chatRaw(s, { messages: userMsg(`question ${i}`) });
            out.push(r.status === 200 ? JSON.parse(r.text).choices[0].message.content : `status ${r.status}`);
          }
          return out;
        } finally {
          await s.close();
        }
      };
      const a = await outcomes(7);
      const b = await outcomes(7);
      const c = await outcomes(8);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      expect(new Set(a.map((x) => (x.startsWith('status') ? 'err' : x === '' ? 'empty' : 'ok'))).size).toBe(3);
    });

    it('restarts the sequence on reset so one server can replay a scenario', async () => {
      const s = await startSimServer({ seed: 3, faults: { errorRate: 0.5 } });
      try {
        const run = async (): Promise<number[]> => {
          const st: number[] = [];
          for (let i = 0; i < 20; i++) st.push((await chatRaw(s, { messages: userMsg('q') })).status);
          return st;
        };
        const first = await run();
        s.reset();
        expect(await run()).toEqual(first);
        s.reset({ seed: 4 });
        expect(await run()).not.toEqual(first);
      } finally {
        await s.close();
      }
    });
  });
});
