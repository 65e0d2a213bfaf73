// Severity from the size of a problem, per signal family. Rules are data so that a playbook or
// `failsafe.yaml` can override them per family; the defaults follow common SEV definitions
// (SEV1: most requests failing; SEV2: major degradation; SEV3: partial; SEV4: minor).
import type { Severity } from '../types.ts';

export interface SeverityRule {
  /** The rule applies when magnitude ≥ atLeast. */
  atLeast: number;
  severity: Severity;
}

/**
 * family → rules. What `magnitude` means per family (what detectors pass in):
 * - errors, validity: observed bad-event rate in the window (0.2 = 20% of requests).
 * - feedback: observed negative-feedback rate.
 * - accuracy: drop in points from the baseline (0.1 = 90% → 80%).
 * - latency: current ÷ baseline at the quantile that breached (10 = ten times slower).
 * - drift: statistic ÷ its threshold (2 = twice the drift threshold).
 * - burn_rate: SLO burn rate (both windows' minimum).
 */
export type SeverityRules = Record<string, readonly SeverityRule[]>;

export const DEFAULT_SEVERITY_RULES: SeverityRules = {
  errors: [
    { atLeast: 0.5, severity: 'SEV1' },
    { atLeast: 0.2, severity: 'SEV2' },
    { atLeast: 0.05, severity: 'SEV3' },
  ],
  validity: [
    { atLeast: 0.5, severity: 'SEV1' },
    { atLeast: 0.2, severity: 'SEV2' },
    { atLeast: 0.05, severity: 'SEV3' },
  ],
  feedback: [
    { atLeast: 0.5, severity: 'SEV2' },
    { atLeast: 0.2, severity: 'SEV3' },
  ],
  accuracy: [
    { atLeast: 0.25, severity: 'SEV1' },
    { atLeast: 0.1, severity: 'SEV2' },
    { atLeast: 0.05, severity: 'SEV3' },
  ],
  latency: [
    { atLeast: 10, severity: 'SEV2' },
    { atLeast: 3, severity: 'SEV3' },
  ],
  drift: [{ atLeast: 2, severity: 'SEV3' }],
  burn_rate: [
    { atLeast: 14.4, severity: 'SEV2' },
    { atLeast: 6, severity: 'SEV3' },
  ],
};

const ORDER: Record<Severity, number> = { SEV1: 1, SEV2: 2, SEV3: 3, SEV4: 4 };

/** The more severe of two severities (SEV1 is the most severe). */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return ORDER[a] <= ORDER[b] ? a : b;
}

/** Negative when a is more severe than b (sorts SEV1 first). */
export function compareSeverity(a: Severity, b: Severity): number {
  return ORDER[a] - ORDER[b];
}

/**
 * Severity for a magnitude of a signal family. `rules` overrides the defaults family by family;
 * rule order does not matter (the most severe matching rule wins). Unknown families, NaN, or a
 * magnitude below every rule give `fallback` (SEV4).
 */
export function severityFor(
  family: string,
  magnitude: number,
  rules: Partial<SeverityRules> = {},
  fallback: Severity = 'SEV4',
): Severity {
  const familyRules = rules[family] ?? DEFAULT_SEVERITY_RULES[family] ?? [];
  let best: Severity | undefined;
  for (const rule of familyRules) {
    if (magnitude >= rule.atLeast && (best === undefined || ORDER[rule.severity] < ORDER[best])) best = rule.severity;
  }
  return best ?? fallback;
}
