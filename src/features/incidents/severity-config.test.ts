import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.ts';
import { initialSeverity } from '../../core/incident-lifecycle.ts';
import { severityRulesFrom } from './severity-config.ts';

describe('severity config', () => {
  it('merges families over the built-in defaults and feeds the rules', () => {
    const config = parseConfig({ severity: { families: { latency: 'SEV2', toxicity: 'SEV1' }, escalation: { everyEvidence: 0 } } }, {});
    const rules = severityRulesFrom(config.severity);
    expect(rules.families).toMatchObject({ errors: 'SEV2', latency: 'SEV2', toxicity: 'SEV1', drift: 'SEV4' });
    expect(rules.escalation).toEqual({ everyEvidence: 0, max: 'SEV2' });
    expect(initialSeverity({ family: 'toxicity' }, rules)).toBe('SEV1');
    expect(config.severity.evidenceIntervalSeconds).toBe(60);
  });

  it('names the path of a bad value', () => {
    expect(() => parseConfig({ severity: { tagFloors: { critical: 'P0' } } }, {})).toThrow(/severity\.tagFloors\.critical/);
    expect(() => parseConfig({ alerts: { bearerRole: 'root' } }, {})).toThrow(/alerts\.bearerRole/);
  });
});
