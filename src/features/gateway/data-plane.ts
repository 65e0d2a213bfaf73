// The data plane's own router: /v1/chat/completions, /v1/models, /v1/models/{name}[:predict] and
// a 404 for any other /v1 path, on plain node:http. It runs ahead of Fastify (a RawRoute), so the
// per-request path is: read the body, parse it once, check the client key when client auth is on,
// call the handler. Everything it answers has the OpenAI error shape and an x-request-id.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FailsafeError } from '../../core/errors.ts';
import type { ApiKey, Role } from '../../core/types.ts';
import { openAiErrorBody, toHttpError } from '../../http/error-mapping.ts';
import type { RawRoute } from '../../http/server.ts';
import { chatHandler } from './chat-handler.ts';
import { sendApiError, sendJson, type GatewayCall, type GatewayRuntime } from './exchange.ts';
import { apiError } from './openai-shapes.ts';
import { predictHandler } from './predict-handler.ts';
import { requestIdFrom } from './request-id.ts';

export interface DataPlaneOptions {
  /** Require a `client` (or higher) API key on every /v1 request (config `server.clientAuth`). */
  clientAuth: boolean;
  /** Checks an Authorization header for a role (the admin API's check); throws a 401/403 FailsafeError. */
  authorize: (authorization: string | undefined, needed: Role) => Promise<ApiKey>;
  bodyLimitBytes: number;
}

type Handler = (call: GatewayCall, target: string) => Promise<void>;

const MODELS_PREFIX = '/v1/models/';

export function createDataPlane(rt: GatewayRuntime, options: DataPlaneOptions): RawRoute {
  const chat = chatHandler(rt);
  const predict = predictHandler(rt);

  const listModels: Handler = async (call) => {
    const data = rt.routes.models().map((r) => modelObject(r.name, r.serving.model.createdAt, r.kind, r.mode));
    data.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    sendJson(call.res, 200, call.requestId, undefined, JSON.stringify({ object: 'list', data }));
  };
  const getModel: Handler = async (call, target) => {
    const name = target.split('@')[0];
    const r = rt.routes.get(name);
    if (!r) return sendApiError(call.res, call.requestId, apiError(404, `The model '${name}' does not exist`, 'model_not_found', 'model'));
    sendJson(call.res, 200, call.requestId, undefined, JSON.stringify(modelObject(r.name, r.serving.model.createdAt, r.kind, r.mode)));
  };

  /** Any failure outside a handler's own answers: the OpenAI shape when nothing was sent yet, else the connection is cut. */
  const fail = (res: ServerResponse, requestId: string, err: unknown): void => {
    const e = toHttpError(err);
    if (e.status >= 500) rt.logger.error({ err, requestId }, 'data-plane request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, e.status, requestId, undefined, JSON.stringify(openAiErrorBody(e.status, e.message, e.code.toLowerCase())));
  };

  const run = (handler: Handler, call: GatewayCall, target: string): void => {
    handler(call, target).catch((err: unknown) => fail(call.res, call.requestId, err));
  };

  /** Authenticates (when on), reads and parses the body (when `withBody`), then runs the handler. */
  const serve = (req: IncomingMessage, res: ServerResponse, requestId: string, handler: Handler, target: string, withBody: boolean): void => {
    const proceed = (apiKey: ApiKey | undefined): void => {
      if (!withBody) return run(handler, { requestId, headers: req.headers, body: undefined, rawBody: '', apiKey, res }, target);
      readBody(req, options.bodyLimitBytes, (err, text) => {
        if (err) {
          // A client that left mid-body gets no answer.
          if (err instanceof FailsafeError) fail(res, requestId, err);
          else res.destroy();
          return;
        }
        let body: unknown;
        try {
          body = parseJsonBody(text!);
        } catch (e) {
          return fail(res, requestId, e);
        }
        run(handler, { requestId, headers: req.headers, body, rawBody: text!, apiKey, res }, target);
      });
    };
    if (!options.clientAuth) return proceed(undefined);
    options.authorize(req.headers.authorization, 'client').then(proceed, (err: unknown) => fail(res, requestId, err));
  };

  return function dataPlane(req, res) {
    const url = req.url ?? '';
    if (!url.startsWith('/v1') || (url.length > 3 && url[3] !== '/' && url[3] !== '?')) return false;
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (path === '/v1/chat/completions' && method === 'POST') {
      serve(req, res, requestId, chat, '', true);
    } else if (path === '/v1/models' && method === 'GET') {
      serve(req, res, requestId, listModels, '', false);
    } else if (path.startsWith(MODELS_PREFIX) && path.length > MODELS_PREFIX.length && (method === 'GET' || method === 'POST')) {
      let target: string;
      try {
        target = decodeURIComponent(path.slice(MODELS_PREFIX.length));
      } catch {
        fail(res, requestId, new FailsafeError('BAD_REQUEST', `'${path}' is not a valid URL path`));
        return true;
      }
      if (target.includes('/')) notFound(res, requestId, req.method, path);
      else serve(req, res, requestId, method === 'GET' ? getModel : predict, target, method === 'POST');
    } else {
      notFound(res, requestId, req.method, path);
    }
    return true;
  };
}

function notFound(res: ServerResponse, requestId: string, method: string | undefined, path: string): void {
  sendApiError(res, requestId, apiError(404, `no such endpoint: ${method} ${path}`, 'not_found'));
}

/** The body as text, at most `limit` bytes (else a 413 error); a client that goes away ends it with an error. */
export function readBody(req: IncomingMessage, limit: number, done: (err: Error | undefined, text?: string) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(tooLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let finished = false;
  const finish = (err: Error | undefined, text?: string) => {
    if (finished) return;
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
    done(err, text);
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limit) finish(tooLarge());
    else chunks.push(chunk);
  };
  const onEnd = () => finish(undefined, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, bytes).toString('utf8'));
  const onError = (err: Error) => finish(err);
  const onClose = () => finish(new Error('client closed the connection before the request body ended'));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
}

const tooLarge = () => new FailsafeError('PAYLOAD_TOO_LARGE', 'request body is larger than the configured limit');

export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new FailsafeError('BAD_REQUEST', 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FailsafeError('BAD_REQUEST', `malformed JSON body: ${(err as Error).message}`);
  }
}

function modelObject(name: string, createdAt: number, kind: string, mode: string) {
  return { id: name, object: 'model', created: Math.floor(createdAt / 1000), owned_by: 'failsafe', kind, mode };
}
