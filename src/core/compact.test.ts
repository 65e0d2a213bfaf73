import { describe, expect, it } from 'vitest';
import { compact } from './compact.ts';

describe('compact', () => {
  it('copies every defined key, nulls and falsy values included, and drops undefined ones', () => {
    const input = { a: 1, b: undefined, c: null, d: 0, e: '', f: false, g: [1] };
    const out = compact(input);
    expect(out).toEqual({ a: 1, c: null, d: 0, e: '', f: false, g: [1] });
    expect(Object.keys(out)).toEqual(['a', 'c', 'd', 'e', 'f', 'g']);
    expect(out.g).toBe(input.g);
  });

  it('builds a new object and leaves its argument as it was (no delete: deleted keys make slow V8 objects)', () => {
    const input = { a: 1, b: undefined };
    const out = compact(input);
    expect(out).not.toBe(input);
    expect(Object.keys(input)).toEqual(['a', 'b']);
  });
});
