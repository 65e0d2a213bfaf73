// External checker (a Guardrails AI server, a moderation service): POST {model, version, input,
// output}, expect {passed: boolean, message?}. A checker that is slow or down must not take the
// gateway with it: the call has a hard timeout and its failure means what `onError` says.
import { request } from 'undici';
import type { ValidatorConfig } from './validator-config.ts';
import type { AsyncVerdict, ValidationContext } from './validators.ts';

type WebhookConfig = Extract<ValidatorConfig, { type: 'webhook' }>;

async function postCheck(c: WebhookConfig, text: string, ctx: ValidationContext): Promise<AsyncVerdict> {
  const res = await request(c.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...c.headers },
    body: JSON.stringify({ model: ctx.model ?? null, version: ctx.version ?? null, input: ctx.input ?? null, output: text }),
    signal: AbortSignal.timeout(c.timeoutMs),
    headersTimeout: c.timeoutMs,
    bodyTimeout: c.timeoutMs,
  });
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump();
    throw new Error(`status ${res.statusCode}`);
  }
  let answer: unknown;
  try {
    answer = await res.body.json();
  } catch (e) {
    if ((e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError') throw e;
    throw new Error('answer is not JSON');
  }
  const passed = (answer as { passed?: unknown } | null)?.passed;
  if (typeof passed !== 'boolean') throw new Error('answer has no boolean "passed"');
  const message = (answer as { message?: unknown }).message;
  return { passed, message: typeof message === 'string' ? message.slice(0, 500) : undefined };
}

function describe(e: unknown, timeoutMs: number): string {
  const err = e as Error & { code?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') {
    return `timed out after ${timeoutMs} ms`;
  }
  return err?.code ?? err?.cause?.code ?? err?.message ?? String(e);
}

export async function callValidatorWebhook(c: WebhookConfig, text: string, ctx: ValidationContext): Promise<AsyncVerdict> {
  try {
    return await postCheck(c, text, ctx);
  } catch (e) {
    const why = describe(e, c.timeoutMs);
    return c.onError === 'pass'
      ? { passed: true, message: `webhook error (onError=pass): ${why}` }
      : { passed: false, message: `webhook error: ${why}` };
  }
}
