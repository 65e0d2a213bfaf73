// The one place errors become HTTP answers, in the shape of the surface that was called:
// OpenAI's `{"error":{"message","type","param","code"}}` on /v1, `{"error":{"code","message"}}` elsewhere.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FailsafeError, errorCodes, type ErrorCode } from '../core/errors.ts';

export interface HttpError {
  status: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof FailsafeError) return { status: err.httpStatus, code: err.code, message: err.message, details: err.details };
  const fe = err as FastifyError & { validation?: unknown };
  if (fe && typeof fe === 'object') {
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) {
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than the configured limit' };
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.statusCode === 415) {
      return { status: 415, code: 'BAD_REQUEST', message: 'expected Content-Type: application/json' };
    }
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return { status: 400, code: 'BAD_REQUEST', message: 'request body is empty; expected a JSON object' };
    }
    if (fe.validation) return { status: 400, code: 'VALIDATION_FAILED', message: fe.message };
    if (err instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return { status: 400, code: 'BAD_REQUEST', message: `malformed JSON body: ${fe.message}` };
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { status: fe.statusCode, code: 'BAD_REQUEST', message: fe.message };
    }
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

const openAiType = (status: number): string =>
  status === 401
    ? 'authentication_error'
    : status === 403
      ? 'permission_error'
      : status === 404
        ? 'not_found_error'
        : status === 413 || status === 400
          ? 'invalid_request_error'
          : status === 429
            ? 'rate_limit_error'
            : status === 503
              ? 'service_unavailable'
              : 'api_error';

export function openAiErrorBody(status: number, message: string, code: string | null = null, param: string | null = null) {
  return { error: { message, type: openAiType(status), param, code } };
}

export const isDataPlanePath = (url: string): boolean => url.startsWith('/v1/') || url === '/v1';

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toHttpError(err);
  if (e.status >= 500 && e.code === 'INTERNAL') request.log.error({ err }, 'unhandled error');
  if (isDataPlanePath(request.url)) {
    return reply.code(e.status).send(openAiErrorBody(e.status, e.message, e.code.toLowerCase()));
  }
  const body: { error: { code: string; message: string; details?: unknown } } = { error: { code: e.code, message: e.message } };
  if (e.details !== undefined && e.code === 'VALIDATION_FAILED') body.error.details = e.details;
  return reply.code(e.status).send(body);
}

export { errorCodes };
