// Runbook definitions: the incident procedure as YAML (SOP-001 ships in runbooks/sop-001.yaml).
// Parsed and validated here with errors that name the source and the path
// (`runbooks/sop-001.yaml: steps[3].action: unknown action "reboot"`), so an author sees what to fix.
// A definition's hash covers its content without `version`: the store assigns versions, and the
// same procedure loaded twice is recognised as the same.
import YAML from 'yaml';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../core/canonical-json.ts';
import { FailsafeError } from '../../core/errors.ts';
import type { Audience, Severity } from '../../core/types.ts';

export const runbookActions = ['detect', 'notify', 'contain', 'pause', 'rca', 'identify', 'validate', 'rollback', 'audit', 'postmortem'] as const;
export type RunbookAction = (typeof runbookActions)[number];

export const evidenceKinds = ['note', 'link', 'yes_no'] as const;
export type EvidenceKind = (typeof evidenceKinds)[number];

export const ownerRoles = ['admin', 'operator', 'viewer'] as const;
export type OwnerRole = (typeof ownerRoles)[number];

const audiences = ['engineering', 'compliance', 'product'] as const satisfies readonly Audience[];
const severities = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const satisfies readonly Severity[];

export interface RunbookStep {
  id: string;
  title: string;
  /** The SOP section the step belongs to (`2. Initial response and containment`). */
  section?: string;
  description?: string;
  owner: { role: OwnerRole; audience: Audience };
  kind: 'automatic' | 'manual';
  /** Automatic steps: what happening completes them (see runbook-bindings.ts). */
  action?: RunbookAction;
  /** Manual steps: the evidence a person must give; any one of the listed kinds satisfies it. */
  evidence?: EvidenceKind[];
  /** Due time after detection, per severity (`15m`, `1h`, `1d`); a severity without one has no due time. */
  due?: Partial<Record<Severity, string>>;
  /** The step applies only when the model has one of `tags` and the incident one of `severities`. */
  when?: { tags?: string[]; severities?: Severity[] };
  /** Steps that come first. */
  after: string[];
}

export interface RunbookDefinition {
  id: string;
  /** As the author wrote it; the store's version number is authoritative. */
  version?: number;
  title: string;
  description?: string;
  steps: RunbookStep[];
}

const DURATION = /^(\d+(?:\.\d+)?[smhdw])+$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `15m` → 900000; `1h30m` works too. Undefined for text that is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!DURATION.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

const list = (values: readonly string[]): string => values.join(', ');
const oneOf = <T extends string>(values: readonly [T, ...T[]], what: string) =>
  z.enum(values, { error: (iss) => (iss.input === undefined ? `${what} is required` : `unknown ${what} ${JSON.stringify(iss.input)} (expected one of ${list(values)})`) });

const idText = z
  .string({ error: 'expected an id (text)' })
  .trim()
  .min(1, 'an id is required')
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, ".", "_" or "-"');

const durationText = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((v) => parseDuration(v) !== undefined, { error: (iss) => `expected a duration like 15m, 1h or 1d, got ${JSON.stringify(iss.input)}` });

const dueSchema = z.union([
  durationText.transform((d) => Object.fromEntries(severities.map((s) => [s, d])) as Partial<Record<Severity, string>>),
  z.partialRecord(oneOf(severities, 'severity'), durationText),
]);

const stringList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));

const stepSchema = z.strictObject({
  id: idText,
  title: z.string({ error: 'a title is required' }).trim().min(1, 'a title is required').max(300),
  section: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(5000).optional(),
  owner: z.strictObject({ role: oneOf(ownerRoles, 'role'), audience: oneOf(audiences, 'audience') }, { error: 'expected {role, audience}' }),
  kind: oneOf(['automatic', 'manual'], 'kind'),
  action: oneOf(runbookActions, 'action').optional(),
  evidence: z
    .preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(oneOf(evidenceKinds, 'evidence kind'), { error: 'expected note, link, yes_no or a list of them' }).min(1))
    .transform((v) => [...new Set(v)])
    .optional(),
  due: dueSchema.optional(),
  when: z
    .strictObject({
      tags: stringList.pipe(z.array(z.string().trim().min(1)).min(1)).optional(),
      severities: stringList.transform((l) => l.map((s) => s.toUpperCase())).pipe(z.array(oneOf(severities, 'severity')).min(1)).optional(),
    })
    .optional(),
  after: stringList.optional(),
});

const definitionSchema = z.strictObject({
  id: idText,
  version: z.number().int().min(1).optional(),
  title: z.string({ error: 'a title is required' }).trim().min(1, 'a title is required').max(300),
  description: z.string().max(20_000).optional(),
  steps: z.array(stepSchema, { error: 'expected a list of steps' }).min(1, 'a runbook needs at least one step'),
});

export interface DefinitionIssue {
  path: (string | number)[];
  message: string;
}

export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** What zod cannot see: step kinds and their fields, duplicate ids, unknown and cyclic `after`. */
function semanticIssues(def: z.output<typeof definitionSchema>): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const firstIndex = new Map<string, number>();
  def.steps.forEach((s, i) => {
    const seen = firstIndex.get(s.id);
    if (seen !== undefined) issues.push({ path: ['steps', i, 'id'], message: `duplicate step id "${s.id}" (also steps[${seen}])` });
    else firstIndex.set(s.id, i);
    if (s.kind === 'automatic' && !s.action) issues.push({ path: ['steps', i, 'action'], message: `an automatic step needs an action (one of ${list(runbookActions)})` });
    if (s.kind === 'automatic' && s.evidence) issues.push({ path: ['steps', i, 'evidence'], message: 'only manual steps ask for evidence' });
    if (s.kind === 'manual' && s.action) issues.push({ path: ['steps', i, 'action'], message: 'only automatic steps have an action' });
  });
  def.steps.forEach((s, i) => {
    (s.after ?? []).forEach((dep, j) => {
      if (!firstIndex.has(dep)) issues.push({ path: ['steps', i, 'after', j], message: `unknown step "${dep}"` });
      else if (dep === s.id) issues.push({ path: ['steps', i, 'after', j], message: `step "${s.id}" cannot come after itself` });
    });
  });
  if (issues.length) return issues;
  // Depth-first search for a cycle; reported once, at the step where it closes.
  const byId = new Map(def.steps.map((s, i) => [s.id, { step: s, index: i }]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): DefinitionIssue | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      return { path: ['steps', byId.get(id)!.index, 'after'], message: `cycle in after: ${cycle.reverse().join(' → ')}` };
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of byId.get(id)!.step.after ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of def.steps) {
    const found = visit(s.id);
    if (found) return [found];
  }
  return issues;
}

export type ValidationResult = { ok: true; definition: RunbookDefinition } | { ok: false; issues: DefinitionIssue[] };

/** Validates a parsed document (from YAML or JSON). */
export function validateDefinition(raw: unknown): ValidationResult {
  const parsed = definitionSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })) };
  }
  const issues = semanticIssues(parsed.data);
  if (issues.length) return { ok: false, issues };
  const d = parsed.data;
  const definition: RunbookDefinition = {
    id: d.id,
    ...(d.version !== undefined ? { version: d.version } : {}),
    title: d.title,
    ...(d.description !== undefined ? { description: d.description } : {}),
    steps: d.steps.map((s) => ({
      id: s.id,
      title: s.title,
      ...(s.section !== undefined ? { section: s.section } : {}),
      ...(s.description !== undefined ? { description: s.description } : {}),
      owner: { role: s.owner.role, audience: s.owner.audience },
      kind: s.kind,
      ...(s.action !== undefined ? { action: s.action } : {}),
      ...(s.evidence !== undefined ? { evidence: s.evidence } : {}),
      ...(s.due !== undefined ? { due: s.due } : {}),
      ...(s.when !== undefined ? { when: s.when } : {}),
      after: [...new Set(s.after ?? [])],
    })),
  };
  return { ok: true, definition };
}

function refuse(source: string, issues: DefinitionIssue[]): never {
  const lines = issues.map((i) => `${source}: ${formatIssuePath(i.path)}: ${i.message}`);
  throw new FailsafeError('VALIDATION_FAILED', lines.length === 1 ? lines[0]! : `invalid runbook:\n  ${lines.join('\n  ')}`, lines);
}

/**
 * Parses and validates runbook YAML (JSON is YAML too). `source` names where it came from in
 * errors: a file path, or `request body`.
 */
export function parseRunbookYaml(text: string, source: string): RunbookDefinition {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : '(root)';
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new FailsafeError('VALIDATION_FAILED', `${source}: ${where}: ${message}`, [`${source}: ${where}: ${message}`]);
  }
  const result = validateDefinition(doc.toJS());
  if (!result.ok) refuse(source, result.issues);
  return result.definition;
}

/** Validates an already parsed definition (a JSON request body). */
export function checkRunbookDefinition(raw: unknown, source: string): RunbookDefinition {
  const result = validateDefinition(raw);
  if (!result.ok) refuse(source, result.issues);
  return result.definition;
}

/** sha256 of the definition's canonical JSON without its declared version. */
export function runbookHash(definition: RunbookDefinition): string {
  const { version: _version, ...content } = definition;
  return sha256Hex(canonicalJson(content));
}

/** Due time of a step for a severity, in ms after detection; undefined when it has none. */
export function dueAfterMs(step: RunbookStep, severity: Severity): number | undefined {
  const text = step.due?.[severity];
  return text === undefined ? undefined : parseDuration(text);
}
