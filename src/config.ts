// failsafe.yaml: loaded, validated with zod, errors that name the path and the problem.
// Feature areas own their sections' schemas and plug them in here; the JSON Schema for editors
// (`npm run schema`) is generated from the same definition.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FailsafeError } from './core/errors.ts';
import { alertsConfigSchema } from './features/alerts/alerts-config.ts';
import { containmentConfigSchema, modelContainmentShape } from './features/containment/containment-config.ts';
import { severityConfigSchema } from './features/incidents/severity-config.ts';
import { modelMonitorsConfigSchema, monitorsConfigSchema } from './features/monitoring/monitor-config.ts';
import { notificationsConfigSchema } from './features/notifications/notifications-config.ts';
import { runbooksConfigSchema } from './features/runbooks/runbook-config.ts';
import { stagingConfigSchema } from './features/staging/staging-config.ts';
import { validatorsConfigSchema } from './features/validators/validator-config.ts';

const versionName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"');
const modelName = versionName;

export const upstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected a URL' }),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).default('openai'),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  contextWindow: z.number().int().positive().optional(),
});

export const versionConfigSchema = z.strictObject({
  version: versionName,
  upstream: upstreamSchema,
  prompt: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Seeds the version as already stable (it earned it before Failsafe managed it). */
  stable: z.boolean().optional(),
});

export const weightsSchema = z
  .record(versionName, z.number().int('expected an integer weight').min(0).max(100))
  .refine((w) => Object.keys(w).length === 0 || Object.values(w).reduce((a, b) => a + b, 0) === 100, {
    message: 'weights must sum to 100',
  });

export const modelConfigSchema = z
  .strictObject({
    name: modelName,
    kind: z.enum(['chat', 'predict']),
    tags: z.array(z.string()).default([]),
    versions: z.array(versionConfigSchema).min(1),
    route: weightsSchema.optional(),
    stickyKey: z.string().optional(),
    shadow: z.strictObject({ version: versionName, percent: z.number().min(0).max(100) }).optional(),
    golden: z.string().optional(),
    /** Output validators (guardrails), see src/features/validators/validator-config.ts. */
    validators: validatorsConfigSchema.optional(),
    /** Staging gates for the golden set, see src/features/staging/staging-config.ts. */
    staging: stagingConfigSchema.optional(),
    /** soakSeconds, circuitBreaker, playbook, rollback, fallbacks: see src/features/containment/containment-config.ts. */
    ...modelContainmentShape,
    /** Per-monitor overrides of the global `monitors:` defaults, see src/features/monitoring/monitor-config.ts. */
    monitors: modelMonitorsConfigSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const names = new Set<string>();
    m.versions.forEach((v, i) => {
      if (names.has(v.version)) {
        ctx.addIssue({ code: 'custom', path: ['versions', i, 'version'], message: `duplicate version "${v.version}"` });
      }
      names.add(v.version);
    });
    for (const v of Object.keys(m.route ?? {})) {
      if (!names.has(v)) ctx.addIssue({ code: 'custom', path: ['route', v], message: `unknown version "${v}"` });
    }
  });

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Request bodies over this many bytes get 413. */
  bodyLimitBytes: z.number().int().positive().default(10 * 1024 * 1024),
  /** Require a `client` key (or higher) on the data plane (/v1 and feedback). */
  clientAuth: z.boolean().default(false),
  /** Default upstream timeout when a version does not set one. */
  upstreamTimeoutMs: z.number().int().positive().default(30_000),
  connectTimeoutMs: z.number().int().positive().default(5_000),
});

export const tracesSchema = z.strictObject({
  captureInput: z.boolean().default(true),
  captureOutput: z.boolean().default(true),
  /** Input and output text kept per trace, in characters. */
  maxChars: z.number().int().min(0).default(4_000),
  /** Regular expressions whose matches are replaced by [REDACTED] before a trace is stored. */
  redact: z.array(z.string()).default([]),
  retention: z
    .strictObject({
      maxAgeHours: z.number().positive().default(24 * 7),
      maxCount: z.number().int().positive().default(1_000_000),
    })
    .prefault({}),
  /**
   * How often queued traces are written. Short on purpose: a flush's write is a burst of CPU on
   * the writer thread that grows with the rows since the last one, and on a small machine that
   * burst delays requests (at 1,000 req/s on 2 cores, 250 ms flushes added ~0.8 ms to the
   * gateway's p99).
   */
  flushIntervalMs: z.number().int().positive().default(25),
});

export const configSchema = z
  .strictObject({
    storage: z.string().default('sqlite:.failsafe/failsafe.db'),
    server: serverSchema.prefault({}),
    traces: tracesSchema.prefault({}),
    models: z.array(modelConfigSchema).default([]),
    severity: severityConfigSchema.prefault({}),
    /** Monitors: the runner's knobs and every monitor's defaults (src/features/monitoring/monitor-config.ts). */
    monitors: monitorsConfigSchema.prefault({}),
    alerts: alertsConfigSchema.prefault({}),
    notifications: notificationsConfigSchema.prefault({}),
    /** Defaults for every model's containment, playbook, rollback, fallbacks and soak. */
    containment: containmentConfigSchema.prefault({}),
    /** Runbook directories and which runbook each incident follows (src/features/runbooks/runbook-config.ts). */
    runbooks: runbooksConfigSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    c.traces.redact.forEach((pattern, i) => {
      try {
        new RegExp(pattern);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['traces', 'redact', i], message: `invalid regex: ${(e as Error).message}` });
      }
    });
    const names = new Set<string>();
    c.models.forEach((m, i) => {
      if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model "${m.name}"` });
      names.add(m.name);
    });
  });

export type FailsafeConfig = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type VersionConfig = z.infer<typeof versionConfigSchema>;

export interface LoadedConfig {
  config: FailsafeConfig;
  /** Directory of the config file: relative paths in it (golden sets) resolve against it. */
  baseDir: string;
  path?: string;
}

/** `models[1].versions[0].upstream.url` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): FailsafeConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new FailsafeError('VALIDATION_FAILED', `invalid configuration:\n  ${lines.join('\n  ')}`, lines);
  }
  const config = result.data;
  if (env.FAILSAFE_STORAGE) config.storage = env.FAILSAFE_STORAGE;
  if (env.FAILSAFE_PORT) {
    const port = Number(env.FAILSAFE_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new FailsafeError('VALIDATION_FAILED', `FAILSAFE_PORT: expected a port number, got "${env.FAILSAFE_PORT}"`);
    }
    config.server.port = port;
  }
  return config;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new FailsafeError('VALIDATION_FAILED', `cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new FailsafeError('VALIDATION_FAILED', `${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return { config: parseConfig(raw, env), baseDir: dirname(abs), path: abs };
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
