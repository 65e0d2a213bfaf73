// One error family with stable codes. HTTP status mapping lives in src/http/error-mapping.ts.

export const errorCodes = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  INCIDENT_NOT_FOUND: 404,
  REQUEST_NOT_FOUND: 404,
  DEPLOYMENT_NOT_FOUND: 404,
  MONITOR_NOT_FOUND: 404,
  RUNBOOK_NOT_FOUND: 404,
  STEP_NOT_FOUND: 404,
  NOT_FOUND: 404,
  MODEL_EXISTS: 409,
  VERSION_CONFLICT: 409,
  CONFLICT: 409,
  INVALID_STATE: 409,
  STEP_ALREADY_COMPLETED: 409,
  INVALID_ROUTE: 400,
  NO_STABLE_VERSION: 409,
  VALIDATION_GATE_FAILED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  MODEL_PAUSED: 503,
  UPSTREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class FailsafeError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'FailsafeError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return errorCodes[this.code];
  }
}

export const isFailsafeError = (e: unknown): e is FailsafeError => e instanceof FailsafeError;

export const notFound = (code: ErrorCode, message: string) => new FailsafeError(code, message);
