import { describe, expect, it } from 'vitest';
import { jensenShannonCategorical, jensenShannonDistance, jensenShannonNumeric } from './jensen-shannon.ts';

// Reference values: python3 + scipy 1.17.1, scipy.spatial.distance.jensenshannon(p, q, base=2),
// with p, q the per-bin counts from reference-quantile bins (np.quantile + np.searchsorted left).
const ref = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 10);
const shifted = Array.from({ length: 800 }, (_, j) => (((j * 104729) % 1000) / 10) * 1.1 + 5);
const same = Array.from({ length: 800 }, (_, j) => ((j * 104729) % 1000) / 10);
const discRef = Array.from({ length: 100 }, (_, i) => (i * 7) % 5);
const discCur = Array.from({ length: 60 }, (_, i) => (i * 3) % 4);

describe('Jensen–Shannon distance (base 2)', () => {
  it('is 0 for identical and 1 for disjoint distributions', () => {
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 7);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(1, 14);
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(RangeError);
    expect(() => jensenShannonDistance([0, 0], [1, 2])).toThrow(RangeError);
  });

  it('numeric samples match scipy', () => {
    expect(jensenShannonNumeric(ref, shifted).distance).toBeCloseTo(0.16212315689159948, 12);
    expect(jensenShannonNumeric(ref, same).distance).toBeCloseTo(0.00411185518300594, 12);
    expect(jensenShannonNumeric(discRef, discCur).distance).toBeCloseTo(0.32868152693085756, 12);
  });

  it('categorical counts match scipy and report shares', () => {
    const r = jensenShannonCategorical({ a: 50, b: 30, c: 20 }, { a: 30, b: 30, c: 30, d: 10 });
    expect(r.distance).toBeCloseTo(0.2747521614407188, 12);
    expect(r.categories).toEqual(['a', 'b', 'c', 'd']);
    expect(r.referenceShares).toEqual([0.5, 0.3, 0.2, 0]);
    expect(r.currentSize).toBe(100);
  });
});
