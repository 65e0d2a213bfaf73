// Personal data detectors: a candidate regex per kind plus a check that turns candidates into
// findings (Luhn for cards, mod-97 for IBANs, digit counts and phone shapes for phone numbers),
// so ordinary numbers in answers (dates, amounts, order ids) are not reported.
// Every regex starts with a look-behind so a scan may begin anywhere (streaming re-scans a tail)
// without matching from the middle of a longer token.
import { ibanValid } from './iban.ts';
import { luhnValid } from './luhn.ts';

export type PiiKind = 'email' | 'phone' | 'card' | 'iban';
export const PII_KINDS: readonly PiiKind[] = ['email', 'phone', 'card', 'iban'];

export interface PiiDetector {
  kind: PiiKind;
  /** Global (`g`) candidate regex; callers reset lastIndex. */
  regex: RegExp;
  /** Whether a candidate is the real thing. */
  accept(candidate: string): boolean;
  /** Longest candidate worth finding while streaming (how far back a re-scan must start). */
  maxLength: number;
  /**
   * Characters that must follow a candidate before a stream judges it. An email at the end of
   * the text so far is an email whatever comes next (0); a number may still grow into another
   * number, so it waits for the next character (1).
   */
  streamGuard: number;
  /** Cheap test that rules the kind out for a whole text (most answers have no '@', few digits). */
  absent(text: string): boolean;
}

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;

// International (+CC ...), parenthesised area codes, and grouped digits; E.164 without separators too.
const PHONE =
  /(?<![\w+])(?:\+\d{8,15}(?!\d)|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}(?![\w]))/g;
const NANP = /^(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}$/;

const CARD = /(?<![\d])(?:\d[ -]?){12,18}\d(?!\d)/g;

const IBAN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])/g;

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

export function looksLikePhone(candidate: string): boolean {
  const digits = countDigits(candidate);
  if (candidate.startsWith('+')) return digits >= 8 && digits <= 15;
  if (digits < 9 || digits > 15) return false;
  if (candidate.includes('(')) return true;
  if (NANP.test(candidate)) return true;
  // Trunk-prefixed national numbers (UK 020 7946 0958, FR 01 23 45 67 89).
  return candidate.startsWith('0') && digits >= 10;
}

export function looksLikeCard(candidate: string): boolean {
  const hasSpace = candidate.includes(' ');
  const hasDash = candidate.includes('-');
  // Real card numbers are written with one kind of separator, if any.
  if (hasSpace && hasDash) return false;
  const digits = candidate.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  // Issuer ranges start with 2-6 (Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay).
  const first = digits.charCodeAt(0) - 48;
  if (first < 2 || first > 6) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  return luhnValid(digits);
}

function fewerDigits(text: string, n: number): boolean {
  let d = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++d >= n) return false;
  }
  return true;
}

export const piiDetectors: Readonly<Record<PiiKind, PiiDetector>> = {
  email: { kind: 'email', regex: EMAIL, accept: () => true, maxLength: 64 + 1 + 255, streamGuard: 0, absent: (t) => !t.includes('@') },
  phone: { kind: 'phone', regex: PHONE, accept: looksLikePhone, maxLength: 32, streamGuard: 1, absent: (t) => fewerDigits(t, 8) },
  card: { kind: 'card', regex: CARD, accept: looksLikeCard, maxLength: 19 * 2, streamGuard: 1, absent: (t) => fewerDigits(t, 13) },
  iban: { kind: 'iban', regex: IBAN, accept: ibanValid, maxLength: 34 + 8, streamGuard: 1, absent: (t) => fewerDigits(t, 4) },
};

/** Kinds of personal data found in `text` (each kind once, in `kinds` order). */
export function findPii(text: string, kinds: readonly PiiKind[] = PII_KINDS): PiiKind[] {
  const found: PiiKind[] = [];
  for (const kind of kinds) {
    const d = piiDetectors[kind];
    if (d.absent(text)) continue;
    d.regex.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = d.regex.exec(text)) !== null) {
      if (d.accept(m[0])) {
        found.push(kind);
        break;
      }
    }
  }
  return found;
}
