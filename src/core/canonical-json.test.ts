import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    const a = canonicalJson({ b: 1, a: { y: [1, { d: 2, c: 3 }], x: undefined }, c: null });
    expect(a).toBe('{"a":{"y":[1,{"c":3,"d":2}]},"b":1,"c":null}');
  });

  it('gives the same text for the same content in any key order', () => {
    expect(canonicalJson({ url: 'u', model: 'm', provider: 'p' })).toBe(canonicalJson({ provider: 'p', model: 'm', url: 'u' }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });

  it('serialises undefined in arrays as null and top-level undefined as null', () => {
    expect(canonicalJson([1, undefined])).toBe('[1,null]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('hashes with sha256 hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
