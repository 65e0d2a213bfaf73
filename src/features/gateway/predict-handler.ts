// POST /v1/models/{name}:predict — KServe V1 (`{"instances":[...]}` → `{"predictions":[...]}`).
// The body goes to the version's endpoint as received and a valid answer comes back byte for
// byte: no re-serialization on the way in or out. Errors use the OpenAI shape (it is under /v1).
import { splitModel } from './chat-handler.ts';
import { Exchange, askFallback, chooseVersion, runValidator, sendApiError, sendFallback, sendJson, upstreamFailure, type GatewayCall, type GatewayRuntime } from './exchange.ts';
import { apiError, checkPredictRequest, instanceFeatures, isPlainObject, predictionLabel } from './openai-shapes.ts';
import type { CompiledVersion } from './route-table.ts';
import { UpstreamError, classifyError, describe } from './upstream-client.ts';

const SUFFIX = ':predict';

type PredictResult = { ok: true; text: string; predictions: unknown[]; body: Record<string, unknown> } | { ok: false; error: UpstreamError };

async function callPredict(ex: Exchange, v: CompiledVersion, bodyText: string): Promise<PredictResult> {
  const t = performance.now();
  ex.upstreamHost = v.host;
  try {
    const res = await ex.rt.upstream.postJson(v, bodyText);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new UpstreamError('malformed_output', 'answer is not valid JSON', { status: res.status });
    }
    if (!isPlainObject(parsed) || !Array.isArray(parsed.predictions)) {
      throw new UpstreamError('malformed_output', 'answer has no "predictions" array', { status: res.status });
    }
    ex.attempts.push({ version: v.name, ok: true, latencyMs: performance.now() - t });
    return { ok: true, text: res.text, predictions: parsed.predictions, body: parsed };
  } catch (err) {
    const e =
      err instanceof UpstreamError ? err : new UpstreamError(classifyError(err), describe(classifyError(err), err, 0), { cause: err });
    ex.attempts.push({ version: v.name, ok: false, errorClass: e.errorClass, latencyMs: performance.now() - t });
    return { ok: false, error: e };
  }
}

export function predictHandler(rt: GatewayRuntime) {
  /** `target` is the path after /v1/models/, decoded: `name:predict` or `name@version:predict`. */
  return async function predict(call: GatewayCall, target: string): Promise<void> {
    const { requestId, res } = call;
    if (!target.endsWith(SUFFIX)) {
      return sendApiError(res, requestId, apiError(404, `no such endpoint: POST /v1/models/${target} (did you mean /v1/models/${target}:predict?)`, 'not_found'));
    }
    const { name, pinned } = splitModel(target.slice(0, -SUFFIX.length));
    const body = call.body;
    const bad = checkPredictRequest(body);
    if (bad) return sendApiError(res, requestId, bad);
    const b = body as Record<string, unknown>;
    const route = rt.routes.get(name);
    if (!route) return sendApiError(res, requestId, apiError(404, `The model '${name}' does not exist`, 'model_not_found', 'model'));
    if (route.kind !== 'predict') {
      return sendApiError(res, requestId, apiError(400, `model '${name}' is a chat model: call POST /v1/chat/completions`, 'wrong_model_kind', 'model'));
    }
    const bodyText = call.rawBody;
    const ex = new Exchange(rt, requestId, 'predict', route, b, pinned);
    ex.inputChars = bodyText.length;
    ex.inputText = bodyText.length > rt.inputTextCap ? bodyText.slice(0, rt.inputTextCap) : bodyText;
    ex.client = call.apiKey?.name;
    const features = instanceFeatures(b.instances ?? b.inputs);

    const picked = await chooseVersion(ex, call, features);
    if (!picked) return;

    if (rt.hooks.validateInput) {
      const outcome = await runValidator(ex, rt.hooks.validateInput, { requestId, model: name, kind: 'predict', request: b, inputText: ex.inputText, stream: false });
      ex.addValidatorResults(outcome);
      if (outcome?.action === 'fallback') {
        const answer = await askFallback(ex, 'validator', { validators: outcome.results });
        if (answer) return sendFallback(ex, res, answer, 'input_validator');
      }
      if (outcome?.action === 'block' || outcome?.action === 'fallback') {
        ex.finish({ httpStatus: 400, status: 'blocked', errorClass: 'input_validator', features });
        return sendApiError(res, requestId, apiError(400, 'the request failed an input check', 'input_blocked', 'instances'));
      }
    }

    let version = picked;
    ex.firstVersion = version.name;
    let r = await callPredict(ex, version, bodyText);
    let firstError: UpstreamError | undefined;
    if (!r.ok) {
      firstError = r.error;
      const retry = ex.retryTarget(version);
      if (retry) {
        version = retry;
        r = await callPredict(ex, version, bodyText);
      }
    }
    if (!r.ok) {
      const err = r.error;
      const answer = await askFallback(ex, 'upstream_failed', { errorClass: err.errorClass, version: version.name });
      if (answer) return sendFallback(ex, res, answer, err.errorClass, err.message);
      const e = upstreamFailure(err, version.name);
      ex.version = version;
      ex.finish({ httpStatus: e.status, status: 'error', errorClass: err.errorClass, errorMessage: err.message, features });
      return sendApiError(res, requestId, e, version.name);
    }
    ex.version = version;

    if (rt.hooks.validateOutput) {
      const outcome = await runValidator(ex, rt.hooks.validateOutput, {
        requestId,
        model: name,
        version: version.name,
        kind: 'predict',
        request: b,
        inputText: ex.inputText,
        outputText: r.text,
        response: r.body,
        stream: false,
      });
      ex.addValidatorResults(outcome);
      if (outcome && (outcome.action === 'fallback' || outcome.action === 'block')) {
        if (outcome.action === 'fallback') {
          const answer = await askFallback(ex, 'validator', { version: version.name, validators: outcome.results });
          if (answer) return sendFallback(ex, res, answer, 'validator');
        }
        ex.finish({ httpStatus: 502, status: 'blocked', errorClass: 'validator', output: r.text, features });
        return sendApiError(res, requestId, apiError(502, `the answer of model version ${version.name} failed an output check`, 'output_blocked'), version.name);
      }
    }

    sendJson(res, 200, requestId, version.name, r.text);
    ex.finish({
      httpStatus: 200,
      status: 'ok',
      output: r.text,
      prediction: predictionLabel(r.predictions),
      features,
      errorClass: firstError?.errorClass,
      errorMessage: firstError ? `first attempt on ${ex.firstVersion} failed: ${firstError.message}` : undefined,
    });
    if (rt.hooks.onAnswer) {
      try {
        rt.hooks.onAnswer({ requestId, model: name, version: version.name, kind: 'predict', request: b, inputText: ex.inputText, outputText: r.text, response: r.body });
      } catch (err) {
        rt.logger.warn({ err, requestId }, 'onAnswer hook failed');
      }
    }
    const shadow = rt.routes.shadowFor(route, version);
    if (shadow) void shadowPredict(ex, shadow, bodyText, features);
  };
}

async function shadowPredict(ex: Exchange, v: CompiledVersion, bodyText: string, features: number[] | undefined): Promise<void> {
  const s = new Exchange(ex.rt, `${ex.requestId}.shadow`, 'predict', ex.route, ex.request, undefined);
  s.shadow = true;
  s.inputText = ex.inputText;
  s.inputChars = ex.inputChars;
  s.firstVersion = v.name;
  const r = await callPredict(s, v, bodyText);
  s.version = v;
  if (r.ok) s.finish({ httpStatus: 200, status: 'ok', output: r.text, prediction: predictionLabel(r.predictions), features });
  else s.finish({ httpStatus: upstreamFailure(r.error, v.name).status, status: 'error', errorClass: r.error.errorClass, errorMessage: r.error.message, features });
}
