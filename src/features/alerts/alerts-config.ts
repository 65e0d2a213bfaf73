// `alerts:` in failsafe.yaml: who may post external alerts (Alertmanager, generic webhooks).
import { z } from 'zod';

export const alertsConfigSchema = z.strictObject({
  /** A bearer API key with at least this role may post alerts. */
  bearerRole: z.enum(['admin', 'operator', 'viewer', 'client']).default('operator'),
  hmac: z
    .strictObject({
      /**
       * Shared secrets for `x-failsafe-signature: t=<unix>,v1=<hex>`; several allow rotation.
       * FAILSAFE_ALERTS_SECRET adds one from the environment.
       */
      secrets: z.array(z.string().min(16, 'use a secret of at least 16 characters')).default([]),
      /** Signed requests older (or newer) than this are refused as replays. */
      toleranceSeconds: z.number().int().positive().max(3600).default(300),
    })
    .prefault({}),
  /** Alerts naming a model Failsafe does not know are ignored (listed in the answer) unless this is true. */
  acceptUnknownModels: z.boolean().default(false),
});

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
