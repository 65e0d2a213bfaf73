import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdFrom, timePrefix } from './request-id.ts';

describe('request ids', () => {
  it('are req_ + 8 time characters + 20 random ones, all different', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => newRequestId()));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^req_[0-9A-Za-z]{28}$/);
  });

  it('sort by time (string order is time order), whatever the random part', () => {
    const times = [0, 1, 61, 62, 3_843, 1_700_000_000_000, 1_700_000_000_001, 1_764_000_000_000, 62 ** 8 - 1];
    const ids = times.map((t) => newRequestId(t));
    expect([...ids].sort()).toEqual(ids);
    expect(timePrefix(0)).toBe('00000000');
    expect(timePrefix(61)).toBe('0000000z');
    expect(timePrefix(62)).toBe('00000010');
    expect(timePrefix(62 ** 8 - 1)).toBe('zzzzzzzz');
  });

  it('uses the random characters uniformly enough to be unguessable', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const ch of newRequestId(0).slice(12)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    // 40,000 characters over 62 symbols: ~645 each; every symbol appears and none dominates.
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(450);
  });

  it('keeps a sane client id and replaces anything else', () => {
    expect(requestIdFrom('client-abc.123')).toBe('client-abc.123');
    expect(requestIdFrom('bad id <x>')).toMatch(/^req_/);
    expect(requestIdFrom(['a', 'b'])).toMatch(/^req_/);
    expect(requestIdFrom(undefined)).toMatch(/^req_/);
  });
});
