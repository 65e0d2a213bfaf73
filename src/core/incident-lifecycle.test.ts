import { describe, expect, it } from 'vitest';
import { FailsafeError } from './errors.ts';
import {
  allowedNext,
  canTransition,
  dedupKeyFor,
  defaultSeverityRules,
  escalatedSeverity,
  formatIncidentId,
  incidentStatuses,
  initialSeverity,
  isActive,
  maxSeverity,
  parseSeverity,
  raiseSeverity,
  setSeverityByHuman,
  transition,
} from './incident-lifecycle.ts';
import type { Incident, IncidentStatus } from './types.ts';

const T0 = Date.UTC(2025, 2, 14, 9, 30);

const incident = (over: Partial<Incident> = {}): Incident => ({
  id: 'INC-20250314-001',
  model: 'support-bot',
  version: 'v2',
  family: 'errors',
  title: 'error rate up',
  severity: 'SEV3',
  status: 'open',
  source: 'monitor',
  dedupKey: 'support-bot/v2/errors',
  detectedAt: T0,
  impact: {},
  evidence: [],
  ...over,
});

describe('incident transitions', () => {
  it('walks the full path, each step setting its timestamp', () => {
    let inc = incident();
    const steps: [IncidentStatus, keyof Incident][] = [
      ['acknowledged', 'acknowledgedAt'],
      ['contained', 'containedAt'],
      ['mitigated', 'mitigatedAt'],
      ['resolved', 'resolvedAt'],
      ['reviewed', 'reviewedAt'],
    ];
    steps.forEach(([to, field], i) => {
      const r = transition(inc, to, T0 + (i + 1) * 1000);
      expect(r.changed).toBe(true);
      expect(r.statusChanged).toBe(true);
      expect(r.incident.status).toBe(to);
      expect(r.incident[field]).toBe(T0 + (i + 1) * 1000);
      inc = r.incident;
    });
    expect(isActive(inc.status)).toBe(false);
  });

  it('allows the skips real incidents take', () => {
    expect(transition(incident(), 'contained', T0 + 1).incident.containedAt).toBe(T0 + 1);
    expect(transition(incident({ status: 'contained' }), 'resolved', T0 + 2).incident.status).toBe('resolved');
    const selfResolved = transition(incident(), 'resolved', T0 + 3).incident;
    expect(selfResolved.resolvedAt).toBe(T0 + 3);
    expect(selfResolved.acknowledgedAt).toBeUndefined();
    expect(canTransition('acknowledged', 'mitigated')).toBe(true);
  });

  it('declines only before anyone acted on the incident as real', () => {
    expect(transition(incident(), 'declined', T0 + 5).incident.declinedAt).toBe(T0 + 5);
    expect(transition(incident({ status: 'acknowledged' }), 'declined', T0 + 5).incident.status).toBe('declined');
    expect(() => transition(incident({ status: 'contained' }), 'declined', T0)).toThrow(/contained; it cannot become declined/);
  });

  it('rejects going backwards or leaving a closed incident with INVALID_STATE', () => {
    for (const [from, to] of [
      ['resolved', 'open'],
      ['resolved', 'acknowledged'],
      ['mitigated', 'contained'],
      ['declined', 'resolved'],
      ['reviewed', 'resolved'],
      ['open', 'reviewed'],
    ] as [IncidentStatus, IncidentStatus][]) {
      let err: unknown;
      try {
        transition(incident({ status: from }), to, T0);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FailsafeError);
      expect((err as FailsafeError).code).toBe('INVALID_STATE');
      expect((err as FailsafeError).message).toContain(`is ${from}; it cannot become ${to}`);
    }
    expect(allowedNext('reviewed')).toEqual([]);
    expect(() => transition(incident({ status: 'declined' }), 'resolved', T0)).toThrow(/nothing: it is closed/);
  });

  it('is a no-op when asked for the current status', () => {
    const inc = incident({ status: 'acknowledged', acknowledgedAt: T0 });
    const r = transition(inc, 'acknowledged', T0 + 99);
    expect(r.changed).toBe(false);
    expect(r.incident).toBe(inc);
  });

  it('records a late ack after automation contained, without moving the status back', () => {
    const contained = transition(incident(), 'contained', T0 + 1).incident;
    const r = transition(contained, 'acknowledged', T0 + 60_000);
    expect(r.changed).toBe(true);
    expect(r.statusChanged).toBe(false);
    expect(r.incident.status).toBe('contained');
    expect(r.incident.acknowledgedAt).toBe(T0 + 60_000);
    expect(transition(r.incident, 'acknowledged', T0 + 70_000).changed).toBe(false);
  });

  it('knows every status', () => {
    expect(incidentStatuses).toHaveLength(7);
    expect(incidentStatuses.filter(isActive)).toEqual(['open', 'acknowledged', 'contained', 'mitigated']);
  });
});

describe('severity', () => {
  it('orders and raises within a cap', () => {
    expect(maxSeverity('SEV3', 'SEV1')).toBe('SEV1');
    expect(maxSeverity('SEV2', 'SEV4')).toBe('SEV2');
    expect(raiseSeverity('SEV4', 1)).toBe('SEV3');
    expect(raiseSeverity('SEV4', 10)).toBe('SEV1');
    expect(raiseSeverity('SEV4', 10, 'SEV2')).toBe('SEV2');
    expect(raiseSeverity('SEV1', 1, 'SEV2')).toBe('SEV1');
    expect(raiseSeverity('SEV3', 0)).toBe('SEV3');
  });

  it('parses the ways sources write it', () => {
    expect(parseSeverity('critical')).toBe('SEV1');
    expect(parseSeverity('warning')).toBe('SEV3');
    expect(parseSeverity('info')).toBe('SEV4');
    expect(parseSeverity('SEV2')).toBe('SEV2');
    expect(parseSeverity('sev4')).toBe('SEV4');
    expect(parseSeverity('P1')).toBe('SEV1');
    expect(parseSeverity(3)).toBe('SEV3');
    expect(parseSeverity('SEV5')).toBeUndefined();
    expect(parseSeverity('bad')).toBeUndefined();
    expect(parseSeverity(undefined)).toBeUndefined();
  });

  it('opens from the signal, else the family, else the default, at least the tag floor', () => {
    const rules = defaultSeverityRules;
    expect(initialSeverity({ severity: 'SEV1', family: 'drift' }, rules)).toBe('SEV1');
    expect(initialSeverity({ family: 'errors' }, rules)).toBe('SEV2');
    expect(initialSeverity({ family: 'external' }, rules)).toBe('SEV3');
    expect(initialSeverity({ family: 'drift', modelTags: ['critical'] }, rules)).toBe('SEV2');
  });

  it('rises automatically as evidence grows, only upward, never past the cap', () => {
    const rules = { ...defaultSeverityRules, escalation: { everyEvidence: 3, max: 'SEV2' as const } };
    const basis = { severity: 'SEV4' as const, evidenceCount: 1 };
    expect(escalatedSeverity('SEV4', basis, 3, rules)).toBe('SEV4');
    expect(escalatedSeverity('SEV4', basis, 4, rules)).toBe('SEV3');
    expect(escalatedSeverity('SEV4', basis, 7, rules)).toBe('SEV2');
    expect(escalatedSeverity('SEV4', basis, 100, rules)).toBe('SEV2');
    // an item's own severity may go past the cap
    expect(escalatedSeverity('SEV3', basis, 2, rules, 'SEV1')).toBe('SEV1');
    // never lowers
    expect(escalatedSeverity('SEV1', basis, 2, rules, 'SEV4')).toBe('SEV1');
  });

  it('lets a human set it either way, and escalation then counts from the human choice', () => {
    const rules = { ...defaultSeverityRules, escalation: { everyEvidence: 2, max: 'SEV1' as const } };
    const lowered = setSeverityByHuman(incident({ severity: 'SEV2', evidenceCount: 10 }), 'SEV4', 'key:alice', T0);
    expect(lowered.severity).toBe('SEV4');
    expect(lowered.severityBasis).toEqual({ severity: 'SEV4', evidenceCount: 10, setBy: 'key:alice', at: T0 });
    expect(escalatedSeverity(lowered.severity, lowered.severityBasis!, 11, rules)).toBe('SEV4');
    expect(escalatedSeverity(lowered.severity, lowered.severityBasis!, 12, rules)).toBe('SEV3');
  });
});

describe('identity', () => {
  it('formats readable ids by UTC day and dedup keys', () => {
    expect(formatIncidentId(T0, 7)).toBe('INC-20250314-007');
    expect(formatIncidentId(Date.UTC(2025, 11, 31, 23, 59), 1234)).toBe('INC-20251231-1234');
    expect(dedupKeyFor('support-bot', 'v2', 'errors')).toBe('support-bot/v2/errors');
    expect(dedupKeyFor('support-bot', undefined, 'external')).toBe('support-bot/*/external');
  });
});
