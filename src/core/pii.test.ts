import { describe, expect, it } from 'vitest';
import { ibanValid } from './iban.ts';
import { luhnCheckDigit, luhnValid } from './luhn.ts';
import { findPii, looksLikeCard, looksLikePhone } from './pii.ts';

// Deterministic pseudo-random digits (no Math.random: a failure must be reproducible).
function digitsFrom(seed: number, n: number): string {
  let x = seed >>> 0;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    s += String((x >>> 24) % 10);
  }
  return s;
}

describe('luhn', () => {
  it('accepts known test card numbers and rejects one-digit changes', () => {
    for (const n of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117']) {
      expect(luhnValid(n)).toBe(true);
      const changed = n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10);
      expect(luhnValid(changed)).toBe(false);
    }
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('41x1')).toBe(false);
  });
  it('check digit completes a number', () => {
    const partial = '453201511283036';
    expect(luhnValid(partial + luhnCheckDigit(partial))).toBe(true);
  });
});

describe('iban', () => {
  it('validates mod-97 and country length', () => {
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('fr14 2004 1010 0505 0001 3m02 606')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false); // checksum
    expect(ibanValid('DE89 3704 0044 0532 0130 0')).toBe(false); // length
    expect(ibanValid('ZZ89 3704 0044 0532 0130 00')).toBe(false); // country
  });
});

describe('findPii', () => {
  it('finds each kind', () => {
    expect(findPii('Write to jane.doe@example.com today.')).toEqual(['email']);
    expect(findPii('Call +1 (555) 010-4477 now')).toEqual(['phone']);
    expect(findPii('Call 555-010-4477 now')).toEqual(['phone']);
    expect(findPii('UK office: +44 20 7946 0958.')).toEqual(['phone']);
    expect(findPii('London: 020 7946 0958.')).toEqual(['phone']);
    expect(findPii('E.164: +15550104477')).toEqual(['phone']);
    expect(findPii('Card 4111 1111 1111 1111 exp 12/29')).toEqual(['card']);
    expect(findPii('Card 4111-1111-1111-1111.')).toEqual(['card']);
    expect(findPii('Amex 378282246310005')).toEqual(['card']);
    expect(findPii('Pay to DE89 3704 0044 0532 0130 00 please')).toEqual(['iban']);
    expect(findPii('Pay to GB82WEST12345698765432.')).toEqual(['iban']);
  });

  it('ignores ordinary numbers and text', () => {
    for (const text of [
      'Your order 12345 ships on 2024-01-15 at 10:30.',
      'It costs $1,299.99 or 1 000 000 points.',
      'Version 1.2.3 on 192.168.1.100, ticket #8812.',
      'Tracking 10 000 000 000 and ref 1234567.',
      'No contact details here, just advice.',
      'The word DEADBEEF12345678 is not an IBAN.',
    ]) {
      expect(findPii(text), text).toEqual([]);
    }
  });

  it('no false positive on random 16-digit non-Luhn numbers', () => {
    let tested = 0;
    for (let seed = 1; tested < 500; seed++) {
      const d = digitsFrom(seed, 16);
      if (luhnValid(d)) continue;
      tested++;
      expect(findPii(`ref ${d} and ${d.replace(/(\d{4})(?=\d)/g, '$1 ')}.`, ['card'])).toEqual([]);
      expect(looksLikeCard(d)).toBe(false);
    }
  });

  it('phone shapes need a prefix, parentheses, NANP grouping or trunk 0', () => {
    expect(looksLikePhone('2024-01-15')).toBe(false);
    expect(looksLikePhone('123 456 789 012')).toBe(false);
    expect(looksLikePhone('(555) 010-4477')).toBe(true);
  });
});
