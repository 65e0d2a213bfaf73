// The optional CI/CD deploy hook of a rollback: POST the target to a pipeline, then wait until it
// reports ready. Bounded by a total timeout with a few retries; a hook that times out, answers 5xx
// or never becomes ready leaves traffic where it was, and the rollback records why.
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { DeployHookOutcome } from './rollback-store.ts';
import type { DeployHookConfig } from './rollback-config.ts';

export interface DeployHookPayload {
  event: 'failsafe.rollback';
  rollbackId: string;
  model: string;
  version: string;
  from?: string;
  reason?: string;
  incidentId?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a readiness answer says ready: 2xx, and not a JSON body with `ready: false` or a not-ready status. */
function saysReady(status: number, text: string): boolean {
  if (status < 200 || status >= 300) return false;
  try {
    const j = JSON.parse(text) as { ready?: unknown; status?: unknown };
    if (j && typeof j === 'object') {
      if (j.ready === false) return false;
      if (typeof j.status === 'string' && /^(pending|running|deploying|in_progress|queued)$/i.test(j.status)) return false;
    }
  } catch {
    // not JSON: a 2xx is ready
  }
  return true;
}

export async function runDeployHook(config: DeployHookConfig, payload: DeployHookPayload): Promise<DeployHookOutcome> {
  const t0 = performance.now();
  const deadline = t0 + config.timeoutMs;
  const left = () => Math.max(1, Math.round(deadline - performance.now()));
  const headers = { 'content-type': 'application/json', accept: 'application/json', ...(config.headers ?? {}) };
  let attempts = 0;
  let status: number | undefined;
  let error: string | undefined;
  let body = '';
  const done = (ok: boolean, extra: Partial<DeployHookOutcome> = {}): DeployHookOutcome => ({
    ok,
    attempts,
    status,
    ...(error && !ok ? { error } : {}),
    ...extra,
    durationMs: Math.round(performance.now() - t0),
  });

  // The POST, retried on 5xx, 429, timeouts and connection errors; a 4xx is final.
  let posted = false;
  while (attempts <= config.retries && performance.now() < deadline) {
    attempts++;
    try {
      const res = await request(config.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(left()),
      });
      status = res.statusCode;
      body = await res.body.text();
      if (status >= 200 && status < 300) {
        posted = true;
        break;
      }
      error = `deploy hook answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
      if (status < 500 && status !== 429 && status !== 408) return done(false);
    } catch (e) {
      const err = e as Error & { code?: string };
      error = err.name === 'TimeoutError' || err.name === 'AbortError' ? `deploy hook timed out after ${config.timeoutMs} ms` : `deploy hook unreachable: ${err.code ?? err.message}`;
    }
    if (attempts <= config.retries) await sleep(Math.min(200 * 2 ** (attempts - 1), left()));
  }
  if (!posted) return done(false, error ? {} : { error: `deploy hook timed out after ${config.timeoutMs} ms` });

  // Ready: the hook's own answer says so, or the readiness URL does.
  if (!config.readyUrl) {
    if (saysReady(status!, body)) return done(true, { ready: true });
    error = 'deploy hook accepted the deploy but did not report ready, and no readyUrl is configured to wait on';
    return done(false, { ready: false });
  }
  while (performance.now() < deadline) {
    try {
      const res = await request(config.readyUrl, { method: 'GET', headers: { accept: 'application/json', ...(config.headers ?? {}) }, signal: AbortSignal.timeout(left()) });
      const text = await res.body.text();
      if (saysReady(res.statusCode, text)) return done(true, { ready: true });
      error = `not ready (readiness answered HTTP ${res.statusCode}${text ? `: ${text.slice(0, 120)}` : ''})`;
    } catch (e) {
      const err = e as Error & { code?: string };
      error = `readiness check failed: ${err.code ?? err.message}`;
    }
    await sleep(Math.min(config.pollIntervalMs, left()));
  }
  error = `deploy did not become ready within ${config.timeoutMs} ms (${error ?? 'no answer'})`;
  return done(false, { ready: false });
}
