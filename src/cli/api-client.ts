// The CLI talks to a running server over HTTP (FAILSAFE_URL, FAILSAFE_TOKEN), never to the database.
import { FailsafeError, type ErrorCode } from '../core/errors.ts';

export interface ApiClientOptions {
  url: string;
  token?: string;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token?: string;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.token = options.token;
  }

  async request<T = any>(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new FailsafeError('UPSTREAM_ERROR', `cannot reach Failsafe at ${this.baseUrl} (${cause}); is \`failsafe serve\` running? set FAILSAFE_URL`);
    }
    const text = await res.text();
    if (!res.ok) {
      let code: ErrorCode = 'INTERNAL';
      let message = text.slice(0, 300) || res.statusText;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (parsed.error?.message) message = parsed.error.message;
        if (parsed.error?.code) code = parsed.error.code.toUpperCase() as ErrorCode;
      } catch {
        /* not JSON: keep the raw text */
      }
      throw new FailsafeError(code, message, { status: res.status });
    }
    if (accept !== 'application/json') return text as T;
    return (text ? JSON.parse(text) : {}) as T;
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);
  post = <T = any>(path: string, body: unknown = {}) => this.request<T>('POST', path, body);
  put = <T = any>(path: string, body: unknown) => this.request<T>('PUT', path, body);
  delete = <T = any>(path: string) => this.request<T>('DELETE', path);
}

export const enc = encodeURIComponent;
