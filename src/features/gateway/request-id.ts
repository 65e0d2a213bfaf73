// Request ids: `req_` + 20 random base62 characters (~119 bits), unguessable so nobody can attach
// feedback to someone else's request. Random bytes come from a pooled buffer: one
// randomFillSync per 200 ids instead of one crypto call per request.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_CHARS = 20;
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

export function newRequestId(): string {
  let out = 'req_';
  let n = 0;
  while (n < ID_CHARS) {
    if (offset >= POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    const b = pool[offset++];
    // Rejection sampling keeps the characters uniform (248 = 4 * 62).
    if (b < 248) {
      out += ALPHABET[b % 62];
      n++;
    }
  }
  return out;
}

const SANE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A client-sent x-request-id is kept when it is short and plain (it ends up in logs and URLs). */
export function requestIdFrom(header: string | string[] | undefined): string {
  if (typeof header === 'string' && SANE_ID.test(header)) return header;
  return newRequestId();
}
