import { describe, expect, it } from 'vitest';
import { DEFAULT_SEVERITY_RULES, compareSeverity, maxSeverity, severityFor } from './severity.ts';

describe('severityFor', () => {
  it('error rate: ≥ 50% SEV1, ≥ 20% SEV2, ≥ 5% SEV3, else SEV4', () => {
    expect(severityFor('errors', 0.5)).toBe('SEV1');
    expect(severityFor('errors', 0.35)).toBe('SEV2');
    expect(severityFor('errors', 0.05)).toBe('SEV3');
    expect(severityFor('errors', 0.02)).toBe('SEV4');
  });

  it('latency ×10 → SEV2, ×3 → SEV3; accuracy drop ≥ 10 points → SEV2', () => {
    expect(severityFor('latency', 10)).toBe('SEV2');
    expect(severityFor('latency', 4)).toBe('SEV3');
    expect(severityFor('latency', 1.6)).toBe('SEV4');
    expect(severityFor('accuracy', 0.1)).toBe('SEV2');
    expect(severityFor('accuracy', 0.3)).toBe('SEV1');
    expect(severityFor('accuracy', 0.06)).toBe('SEV3');
    expect(severityFor('burn_rate', 14.4)).toBe('SEV2');
    expect(severityFor('drift', 2.5)).toBe('SEV3');
  });

  it('rules are configurable per family, order-independent, with a fallback', () => {
    const rules = { errors: [{ atLeast: 0.01, severity: 'SEV2' as const }, { atLeast: 0.1, severity: 'SEV1' as const }] };
    expect(severityFor('errors', 0.02, rules)).toBe('SEV2');
    expect(severityFor('errors', 0.2, rules)).toBe('SEV1');
    // Families not overridden keep their defaults.
    expect(severityFor('latency', 10, rules)).toBe('SEV2');
    expect(severityFor('unknown-family', 1e9)).toBe('SEV4');
    expect(severityFor('errors', NaN)).toBe('SEV4');
    expect(severityFor('external', 1, {}, 'SEV3')).toBe('SEV3');
    expect(Object.keys(DEFAULT_SEVERITY_RULES)).toEqual(
      expect.arrayContaining(['errors', 'validity', 'feedback', 'accuracy', 'latency', 'drift', 'burn_rate']),
    );
  });

  it('orders severities', () => {
    expect(maxSeverity('SEV3', 'SEV1')).toBe('SEV1');
    expect(maxSeverity('SEV2', 'SEV4')).toBe('SEV2');
    expect(['SEV4', 'SEV1', 'SEV3'].sort((a, b) => compareSeverity(a as 'SEV1', b as 'SEV1'))).toEqual(['SEV1', 'SEV3', 'SEV4']);
  });
});
