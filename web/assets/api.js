// The dashboard's only way to the server: the public HTTP API under /api/v1 with the session's
// bearer key. Errors come back as ApiError carrying the API's `error.code` and `error.message`,
// which the pages show as they are.

const KEY_STORAGE = 'failsafe.apiKey';

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code stable error code (`MODEL_NOT_FOUND`, `FORBIDDEN`, ...)
   * @param {string} message
   * @param {any} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** @returns {string | null} */
export const storedKey = () => sessionStorage.getItem(KEY_STORAGE);
/** @param {string} key */
export const storeKey = (key) => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetKey = () => sessionStorage.removeItem(KEY_STORAGE);

/** Called when the server stops accepting the session's key (revoked or expired meanwhile). */
let onUnauthorized = (/** @type {ApiError} */ _err) => {};
/** @param {(err: ApiError) => void} fn */
export const setUnauthorizedHandler = (fn) => {
  onUnauthorized = fn;
};

/**
 * @param {string} path under /api/v1, e.g. `/models`
 * @param {{ method?: string, body?: any, accept?: string, key?: string, quiet401?: boolean }} [options]
 * @returns {Promise<any>} parsed JSON, or text when `accept` is not JSON
 */
export async function api(path, options = {}) {
  const key = options.key ?? storedKey();
  /** @type {Record<string, string>} */
  const headers = { accept: options.accept ?? 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  let body;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  } else if (options.method && options.method !== 'GET') {
    // Our POST actions take an optional JSON body; send an empty object rather than nothing so
    // the server's JSON parser and schemas see a body.
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method: options.method ?? 'GET', headers, body, cache: 'no-store' });
  } catch (_err) {
    throw new ApiError(0, 'NETWORK', 'cannot reach the Failsafe server; is it running?');
  }
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = `${res.status} ${res.statusText}`;
    let details;
    if (type.includes('json')) {
      try {
        const parsed = JSON.parse(text);
        code = parsed?.error?.code ?? code;
        message = parsed?.error?.message ?? message;
        details = parsed?.error?.details;
      } catch (_e) {
        /* a non-JSON error body: keep the status line */
      }
    }
    const err = new ApiError(res.status, String(code), String(message), details);
    if (res.status === 401 && !options.quiet401) onUnauthorized(err);
    throw err;
  }
  if (type.includes('json')) return text ? JSON.parse(text) : {};
  return text;
}

/** Endpoints found missing, by path without query, and until when to believe it. */
const missing = new Map();
const MISSING_TTL_MS = 30_000;

/**
 * Like api(), but an endpoint this server does not have (404 with the generic NOT_FOUND code, or
 * 405) resolves to undefined, so optional panels can hide instead of failing the page. A missing
 * endpoint is not asked again for 30 s (the panels refresh every few seconds).
 * @param {string} path
 * @param {Parameters<typeof api>[1]} [options]
 */
export async function apiOptional(path, options) {
  const bare = path.split('?')[0];
  const until = missing.get(bare);
  if (until !== undefined && until > Date.now()) return undefined;
  try {
    const answer = await api(path, options);
    missing.delete(bare);
    return answer;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405) && (err.code === 'NOT_FOUND' || err.code.startsWith('HTTP_'))) {
      missing.set(bare, Date.now() + MISSING_TTL_MS);
      return undefined;
    }
    throw err;
  }
}

/** The text a page shows for a failed call: the server's message and its code. @param {unknown} err */
export function errorText(err) {
  if (err instanceof ApiError) return err.status === 0 || err.code.startsWith('HTTP_') ? err.message : `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
