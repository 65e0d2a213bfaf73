// `runbooks:` in failsafe.yaml: where runbooks come from, and which one each incident follows.
// The built-in runbooks/ directory (SOP-001) is always loaded; `dirs` adds an organization's own.
// An incident follows the first `select` rule that matches it, else `default`, and keeps that
// runbook's version for its whole life (a later severity change does not switch runbooks).
import { z } from 'zod';
import type { Incident } from '../../core/types.ts';
import { severityValue } from '../incidents/severity-config.ts';

/** The runbook incidents follow when nothing else is configured: the built-in procedure. */
export const DEFAULT_RUNBOOK_ID = 'SOP-001';

const runbookRuleSchema = z.strictObject({
  /** Runbook id (a loaded runbook's `id`). */
  runbook: z.string().min(1),
  /** Every list given must contain the incident's value; a rule with none matches every incident. */
  families: z.array(z.string().min(1)).min(1).optional(),
  severities: z.array(severityValue).min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
});

export const runbooksConfigSchema = z.strictObject({
  /** More directories of runbook YAML, relative to the config file; loaded after the built-in one. */
  dirs: z.array(z.string().min(1)).default([]),
  /** The runbook of an incident no rule selects. */
  default: z.string().min(1).default(DEFAULT_RUNBOOK_ID),
  /** First match wins. */
  select: z.array(runbookRuleSchema).default([]),
});

export type RunbookRule = z.infer<typeof runbookRuleSchema>;

/** The runbook an incident opens with, and why: the index of the rule that chose it, if any. */
export function selectRunbook(
  incident: Pick<Incident, 'family' | 'severity' | 'model'>,
  rules: readonly RunbookRule[],
  fallback: string,
): { id: string; rule?: number } {
  const rule = rules.findIndex(
    (r) =>
      (!r.families || r.families.includes(incident.family)) &&
      (!r.severities || r.severities.includes(incident.severity)) &&
      (!r.models || r.models.includes(incident.model)),
  );
  return rule >= 0 ? { id: rules[rule].runbook, rule } : { id: fallback };
}

/** What a rule matches, for timelines: "family drift, severity SEV3/SEV4", or "every incident". */
export const describeRule = (r: RunbookRule): string =>
  [r.families && `family ${r.families.join('/')}`, r.severities && `severity ${r.severities.join('/')}`, r.models && `model ${r.models.join('/')}`]
    .filter(Boolean)
    .join(', ') || 'every incident';
