// `severity:` in failsafe.yaml: how incidents are classified and escalated (see core/incident-lifecycle.ts).
import { z } from 'zod';
import { defaultSeverityRules, type SeverityRules } from '../../core/incident-lifecycle.ts';

export const severityValue = z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']);

export const severityConfigSchema = z.strictObject({
  /** When neither the signal nor its family names a severity. */
  default: severityValue.default(defaultSeverityRules.default),
  /** Per signal family; merged over the built-in defaults (errors SEV2, latency SEV3, drift SEV4, ...). */
  families: z.record(z.string().min(1), severityValue).default({}),
  /** Models carrying one of these tags open at least at this severity. */
  tagFloors: z.record(z.string().min(1), severityValue).default(defaultSeverityRules.tagFloors),
  escalation: z
    .strictObject({
      /** Each this many further evidence items raise the severity one level; 0 turns escalation off. */
      everyEvidence: z.number().int().min(0).default(defaultSeverityRules.escalation.everyEvidence),
      /** Automatic escalation stops here; an alert or finding that says SEV1 still opens at SEV1. */
      max: severityValue.default(defaultSeverityRules.escalation.max),
    })
    .prefault({}),
  /** The same monitor's evidence is recorded on an incident at most once per this many seconds. */
  evidenceIntervalSeconds: z.number().min(0).default(60),
});

export type SeverityConfig = z.infer<typeof severityConfigSchema>;

export function severityRulesFrom(config: SeverityConfig | undefined): SeverityRules {
  if (!config) return defaultSeverityRules;
  return {
    default: config.default,
    families: { ...defaultSeverityRules.families, ...config.families },
    tagFloors: config.tagFloors,
    escalation: config.escalation,
  };
}
