// `playbook:` in failsafe.yaml (per model, or as defaults under `containment:`): what happens on
// its own when an incident opens or its severity rises, by severity.
import { z } from 'zod';
import type { Severity } from '../../core/types.ts';

/** `auto`: done at once; `approval`: waits for a person (approve/deny); `off`: not done. */
export const playbookStepMode = z.enum(['auto', 'approval', 'off']);

export const severityPlaybookSchema = z.strictObject({
  /** Isolate the incident's version. */
  contain: playbookStepMode.default('off'),
  /** Validated rollback to the last known stable version. */
  rollback: playbookStepMode.default('off'),
});

const sev = (contain: 'auto' | 'off', rollback: 'auto' | 'off') => severityPlaybookSchema.prefault({ contain, rollback });

export const playbookConfigSchema = z.strictObject({
  /** Record what would be done, do nothing. */
  dryRun: z.boolean().default(false),
  // Defaults make the demo heal itself: the worst incidents are contained and rolled back,
  // SEV3 is contained, SEV4 only notifies (the notifier hears every incident).
  SEV1: sev('auto', 'auto'),
  SEV2: sev('auto', 'auto'),
  SEV3: sev('auto', 'off'),
  SEV4: sev('off', 'off'),
  /** Automatic rollbacks per model within the window (so rollbacks cannot loop). */
  maxAutoRollbacks: z.number().int().min(0).default(1),
  rateLimitWindowSeconds: z.number().positive().default(600),
});

export type PlaybookConfig = z.output<typeof playbookConfigSchema>;
export type SeverityPlaybook = z.output<typeof severityPlaybookSchema>;
export type PlaybookStepMode = z.output<typeof playbookStepMode>;

export const playbookFor = (config: PlaybookConfig, severity: Severity): SeverityPlaybook => config[severity];
