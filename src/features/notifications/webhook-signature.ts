// HMAC-SHA256 signatures for webhooks, both ways: Failsafe signs what it sends
// (`x-failsafe-timestamp`, `x-failsafe-signature: v1=<hex>` over `timestamp + "." + body`) and
// checks what it receives on the alert endpoints (`x-failsafe-signature: t=<unix>,v1=<hex>`).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-failsafe-signature';
export const TIMESTAMP_HEADER = 'x-failsafe-timestamp';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const hmacSha256Hex = (secret: string, payload: string | Buffer): string =>
  createHmac('sha256', secret).update(payload).digest('hex');

/** Constant-time comparison of two hex digests (false for different lengths or non-hex input). */
export function safeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length || !/^[0-9a-f]*$/i.test(a) || !/^[0-9a-f]*$/i.test(b)) return false;
  return timingSafeEqual(Buffer.from(a.toLowerCase(), 'hex'), Buffer.from(b.toLowerCase(), 'hex'));
}

/** Headers for an outgoing signed webhook. */
export function signWebhook(secret: string, body: string, nowMs: number = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${hmacSha256Hex(secret, `${timestamp}.${body}`)}` };
}

/**
 * For receivers of Failsafe's webhooks: true when `signature` (`v1=<hex>` or bare hex) is the
 * HMAC-SHA256 of `timestamp + "." + body` under `secret` and the timestamp is within the tolerance.
 * Pass the raw body exactly as received, before any JSON parsing.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string | Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSeconds?: number;
  nowMs?: number;
}): boolean {
  const { secret, timestamp, signature } = input;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const age = Math.abs((input.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (age > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const body = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  const expected = hmacSha256Hex(secret, `${timestamp}.${body}`);
  const given = signature.trim().replace(/^v1=/, '');
  return safeEqualHex(given, expected);
}

/** `t=1700000000,v1=abc…` (order free, several v1 allowed during sender-side rotation). */
export function parseSignatureHeader(header: string): { timestamp?: string; signatures: string[] } {
  const out: { timestamp?: string; signatures: string[] } = { signatures: [] };
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') out.timestamp = value;
    else if (key === 'v1' && value) out.signatures.push(value);
  }
  return out;
}

/** Header value for signing a request to Failsafe's alert endpoints (for senders and tests). */
export function signAlertRequest(secret: string, body: string, nowMs: number = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${hmacSha256Hex(secret, `${t}.${body}`)}`;
}
