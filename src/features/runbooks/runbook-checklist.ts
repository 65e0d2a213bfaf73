// Per-incident checklists as plain functions of a checklist, events and a time: creating one from
// a runbook version, completing automatic steps from timeline events, completing or skipping steps
// by hand, following the incident's severity, and the view the API shows. No I/O here.
//
// Order: a step's `after` steps come first. An automatic step completes from an event only when
// each of its prerequisites is skipped, or done before that event; an event that happened before
// the procedure reached the step does not count for it (a notification sent at detection is not
// the stakeholder update after containment). By hand, a step whose prerequisites are open needs a
// deviation reason, which the compliance report shows.
import { FailsafeError } from '../../core/errors.ts';
import { isoTime } from '../../core/iso-time.ts';
import type { EpochMs, Incident, Role, Severity, TimelineEvent } from '../../core/types.ts';
import { actionBindings } from './runbook-bindings.ts';
import { dueAfterMs, type RunbookStep } from './runbook-definition.ts';
import type { Checklist, StepEvidence, StepState, StoredRunbook } from './runbook-store.ts';

const clone = <T>(v: T): T => structuredClone(v);

/** Same order as the API keys' roles (src/http/auth.ts): a role may do what every lower one may. */
const roleRank: Record<Role, number> = { client: 0, viewer: 1, operator: 2, admin: 3 };

export type Applicability = { applies: true } | { applies: false; reason: string };

export function whenApplies(step: RunbookStep, ctx: { tags: readonly string[]; severity: Severity }): Applicability {
  const w = step.when;
  if (!w) return { applies: true };
  if (w.tags && !w.tags.some((t) => ctx.tags.includes(t))) {
    return { applies: false, reason: `applies only to models tagged ${w.tags.join(' or ')}; this model has ${ctx.tags.length ? `tags ${ctx.tags.join(', ')}` : 'no tags'}` };
  }
  if (w.severities && !w.severities.includes(ctx.severity)) {
    return { applies: false, reason: `applies only at ${w.severities.join(', ')}; the incident is ${ctx.severity}` };
  }
  return { applies: true };
}

const dueAt = (step: RunbookStep, detectedAt: EpochMs, severity: Severity): EpochMs | undefined => {
  const after = dueAfterMs(step, severity);
  return after === undefined ? undefined : detectedAt + after;
};

/** A new checklist for an incident from the runbook version in force. */
export function createChecklist(input: { runbook: StoredRunbook; incident: Incident; modelTags: readonly string[]; now: EpochMs }): Checklist {
  const { runbook, incident, modelTags, now } = input;
  const steps = clone(runbook.definition.steps);
  const states: Record<string, StepState> = {};
  for (const step of steps) {
    const a = whenApplies(step, { tags: modelTags, severity: incident.severity });
    if (!a.applies) {
      states[step.id] = { status: 'skipped', skipReason: a.reason, skippedBy: 'condition', completedAt: now };
      continue;
    }
    const due = dueAt(step, incident.detectedAt, incident.severity);
    states[step.id] = { status: 'pending', ...(due !== undefined ? { dueAt: due } : {}) };
  }
  return {
    incidentId: incident.id,
    runbook: { id: runbook.id, version: runbook.version, hash: runbook.hash, title: runbook.title },
    steps,
    states,
    severity: incident.severity,
    detectedAt: incident.detectedAt,
    revision: 1,
    createdAt: now,
    updatedAt: now,
  };
}

const isClosed = (s: StepState | undefined): boolean => s?.status === 'done' || s?.status === 'skipped';

/** Prerequisites of `step` still open. */
export function openPrerequisites(checklist: Checklist, step: RunbookStep): string[] {
  return step.after.filter((id) => !isClosed(checklist.states[id]));
}

/** True when every prerequisite was skipped or done no later than `event`. */
function reachedBefore(checklist: Checklist, step: RunbookStep, event: TimelineEvent): boolean {
  for (const id of step.after) {
    const p = checklist.states[id];
    if (!p || p.status === 'pending') return false;
    if (p.status === 'skipped') continue;
    if (p.eventId !== undefined) {
      if (event.id < p.eventId) return false;
    } else if (p.completedAt !== undefined && event.at < p.completedAt) {
      return false;
    }
  }
  return true;
}

export interface AuditLink {
  seq: number;
  hash: string;
}

export interface ApplyResult {
  checklist: Checklist;
  /** Step ids completed by these events. */
  completed: string[];
}

/**
 * Completes automatic steps from timeline events (oldest first). An event completes at most one
 * step per action: the first one, in runbook order, it counts for. `audits` holds, per event id,
 * the audit entry an `audit` step needs (absent: not found, the step stays open).
 */
export function applyEvents(input: Checklist, events: readonly TimelineEvent[], options: { audits?: ReadonlyMap<number, AuditLink>; now: EpochMs }): ApplyResult {
  const checklist = clone(input);
  const completed: string[] = [];
  const sorted = [...events].filter((e) => e.incidentId === checklist.incidentId).sort((a, b) => a.id - b.id);
  for (const event of sorted) {
    const doneActions = new Set<string>();
    for (const step of checklist.steps) {
      if (step.kind !== 'automatic' || !step.action || doneActions.has(step.action)) continue;
      const state = checklist.states[step.id];
      if (!state || state.status !== 'pending') continue;
      const binding = actionBindings[step.action];
      if (!binding.matches(event)) continue;
      // One event never counts twice for the same action (replays, catch-up scans).
      const used = checklist.steps.some((s) => s.action === step.action && checklist.states[s.id]?.eventId === event.id);
      if (used) {
        doneActions.add(step.action);
        continue;
      }
      if (!reachedBefore(checklist, step, event)) continue;
      let audit: AuditLink | undefined;
      if (binding.audit) {
        audit = options.audits?.get(event.id);
        if (!audit) continue;
      }
      checklist.states[step.id] = {
        ...state,
        status: 'done',
        completedAt: event.at,
        by: event.actor,
        eventId: event.id,
        ...(audit ? { audit } : {}),
      };
      doneActions.add(step.action);
      completed.push(step.id);
    }
  }
  if (completed.length) checklist.updatedAt = options.now;
  return { checklist, completed };
}

/**
 * Follows the incident's severity: open steps get the due time of the new severity, and steps
 * skipped because their `when` did not apply are reconsidered (a SEV3 that became SEV1 may now
 * need them). A step that was required stays required.
 */
export function retarget(input: Checklist, ctx: { severity: Severity; tags: readonly string[]; now: EpochMs }): { checklist: Checklist; changed: boolean } {
  const checklist = clone(input);
  let changed = checklist.severity !== ctx.severity;
  checklist.severity = ctx.severity;
  for (const step of checklist.steps) {
    const state = checklist.states[step.id]!;
    if (state.status === 'skipped' && state.skippedBy === 'condition') {
      const a = whenApplies(step, { tags: ctx.tags, severity: ctx.severity });
      if (a.applies) {
        const due = dueAt(step, checklist.detectedAt, ctx.severity);
        checklist.states[step.id] = { status: 'pending', ...(due !== undefined ? { dueAt: due } : {}) };
        changed = true;
      }
      continue;
    }
    if (state.status !== 'pending' || state.escalatedAt !== undefined) continue;
    const due = dueAt(step, checklist.detectedAt, ctx.severity);
    if (due !== state.dueAt) {
      const next: StepState = { ...state };
      if (due === undefined) delete next.dueAt;
      else next.dueAt = due;
      checklist.states[step.id] = next;
      changed = true;
    }
  }
  if (changed) checklist.updatedAt = ctx.now;
  return { checklist, changed };
}

/** A declined incident (false alarm) needs none of its open steps. */
export function closeDeclined(input: Checklist, ctx: { reason?: string; actor: string; now: EpochMs }): { checklist: Checklist; skipped: string[] } {
  const checklist = clone(input);
  const skipped: string[] = [];
  for (const step of checklist.steps) {
    const state = checklist.states[step.id]!;
    if (state.status !== 'pending') continue;
    checklist.states[step.id] = {
      ...state,
      status: 'skipped',
      skipReason: `incident declined as a false alarm${ctx.reason ? `: ${ctx.reason}` : ''}`,
      skippedBy: ctx.actor,
      by: ctx.actor,
      completedAt: ctx.now,
    };
    skipped.push(step.id);
  }
  if (skipped.length) checklist.updatedAt = ctx.now;
  return { checklist, skipped };
}

export interface ManualCompletion {
  stepId: string;
  actor: string;
  role: Role;
  evidence?: StepEvidence;
  deviation?: string;
  at: EpochMs;
}

function findStep(checklist: Checklist, stepId: string): RunbookStep {
  const step = checklist.steps.find((s) => s.id === stepId);
  if (!step) {
    throw new FailsafeError('STEP_NOT_FOUND', `incident ${checklist.incidentId} has no step "${stepId}" (steps: ${checklist.steps.map((s) => s.id).join(', ')})`);
  }
  return step;
}

function requireOwnerRole(step: RunbookStep, role: Role, actor: string): void {
  if (roleRank[role] < roleRank[step.owner.role]) {
    throw new FailsafeError('FORBIDDEN', `step "${step.id}" is owned by the ${step.owner.role} role; ${actor} has ${role}`);
  }
}

function requireOpen(checklist: Checklist, step: RunbookStep): StepState {
  const state = checklist.states[step.id]!;
  if (state.status === 'done') {
    throw new FailsafeError('STEP_ALREADY_COMPLETED', `step "${step.id}" was completed at ${isoTime(state.completedAt!)} by ${state.by ?? 'unknown'}`);
  }
  if (state.status === 'skipped') {
    throw new FailsafeError('INVALID_STATE', `step "${step.id}" was skipped: ${state.skipReason ?? 'no reason given'}`);
  }
  return state;
}

const evidenceLabel = { note: 'a note', link: 'a link', yes_no: 'an answer (yes or no)' } as const;

function evidenceProblem(step: RunbookStep, evidence: StepEvidence | undefined): string | undefined {
  const kinds = step.evidence;
  if (!kinds?.length) return undefined;
  const has = { note: Boolean(evidence?.note?.trim()), link: Boolean(evidence?.link), yes_no: evidence?.answer !== undefined };
  if (kinds.some((k) => has[k])) return undefined;
  const field = kinds[0] === 'yes_no' ? 'answer' : kinds[0]!;
  return `evidence.${field}: step "${step.id}" needs ${kinds.map((k) => evidenceLabel[k]).join(' or ')}`;
}

/**
 * A person completes a step. Refused (nothing changes) for an unknown step (404), a role below the
 * step owner's (403), a step already done (409) or skipped (409), missing evidence (400), open
 * prerequisites or an automatic step without a deviation reason (409 / 400).
 */
export function completeByHand(input: Checklist, c: ManualCompletion): { checklist: Checklist; step: RunbookStep; state: StepState } {
  const checklist = clone(input);
  const step = findStep(checklist, c.stepId);
  requireOwnerRole(step, c.role, c.actor);
  const state = requireOpen(checklist, step);
  const problem = evidenceProblem(step, c.evidence);
  if (problem) throw new FailsafeError('VALIDATION_FAILED', problem, [problem]);
  const deviation = c.deviation?.trim() || undefined;
  if (step.kind === 'automatic' && !deviation) {
    const what = step.action ? actionBindings[step.action].describe : 'its action';
    throw new FailsafeError('VALIDATION_FAILED', `deviation: step "${step.id}" completes itself on ${what}; to complete it by hand, give a deviation reason`);
  }
  const open = openPrerequisites(checklist, step);
  if (open.length && !deviation) {
    throw new FailsafeError('INVALID_STATE', `step "${step.id}" comes after ${open.map((s) => `"${s}"`).join(', ')}, still open; to complete it anyway, give a deviation reason`);
  }
  const evidence = compactEvidence(c.evidence);
  const next: StepState = {
    ...state,
    status: 'done',
    completedAt: c.at,
    by: c.actor,
    ...(evidence ? { evidence } : {}),
    ...(deviation ? { deviation } : {}),
    ...(open.length ? { outOfOrder: open } : {}),
  };
  checklist.states[step.id] = next;
  checklist.updatedAt = c.at;
  return { checklist, step, state: next };
}

/** A person marks an open step as not needed, with the reason (shown in the compliance report). */
export function skipByHand(input: Checklist, c: { stepId: string; actor: string; role: Role; reason: string; at: EpochMs }): { checklist: Checklist; step: RunbookStep; state: StepState } {
  const checklist = clone(input);
  const step = findStep(checklist, c.stepId);
  requireOwnerRole(step, c.role, c.actor);
  const state = requireOpen(checklist, step);
  const reason = c.reason.trim();
  if (!reason) throw new FailsafeError('VALIDATION_FAILED', 'reason: say why this step is not needed');
  const next: StepState = { ...state, status: 'skipped', skipReason: reason, skippedBy: c.actor, by: c.actor, completedAt: c.at };
  checklist.states[step.id] = next;
  checklist.updatedAt = c.at;
  return { checklist, step, state: next };
}

function compactEvidence(e: StepEvidence | undefined): StepEvidence | undefined {
  if (!e) return undefined;
  const out: StepEvidence = {};
  if (e.note?.trim()) out.note = e.note.trim();
  if (e.link) out.link = e.link;
  if (e.answer) out.answer = e.answer;
  return Object.keys(out).length ? out : undefined;
}

/** Steps open past their due time and not yet escalated. */
export function overdueSteps(checklist: Checklist, now: EpochMs): RunbookStep[] {
  return checklist.steps.filter((s) => {
    const st = checklist.states[s.id];
    return st?.status === 'pending' && st.dueAt !== undefined && now > st.dueAt && st.escalatedAt === undefined;
  });
}

export type ItemStatus = 'pending' | 'overdue' | 'done' | 'skipped';

/** A runbook step and where it stands: what the checklist and the compliance report show of each step. */
export interface StepStateView {
  id: string;
  title: string;
  section: string | null;
  kind: 'automatic' | 'manual';
  action: string | null;
  status: ItemStatus;
  owner: { role: string; audience: string };
  dueAt: string | null;
  completedAt: string | null;
  by: string | null;
  evidence: StepEvidence | null;
  eventId: number | null;
  audit: AuditLink | null;
  deviation: string | null;
  skipReason: string | null;
  outOfOrder: string[];
  escalatedAt: string | null;
}

export interface ChecklistItemView extends StepStateView {
  /** Evidence a person must give (any one of). */
  requires: string[];
  after: string[];
}

export function itemStatus(state: StepState, now: EpochMs): ItemStatus {
  if (state.status !== 'pending') return state.status;
  return state.dueAt !== undefined && now > state.dueAt ? 'overdue' : 'pending';
}

const iso = (ms: EpochMs | undefined): string | null => (ms === undefined ? null : isoTime(ms));

export function checklistView(checklist: Checklist, now: EpochMs): ChecklistItemView[] {
  return checklist.steps.map((step) => {
    const st = checklist.states[step.id] ?? { status: 'pending' as const };
    return {
      id: step.id,
      title: step.title,
      section: step.section ?? null,
      kind: step.kind,
      action: step.action ?? null,
      requires: step.evidence ?? [],
      status: itemStatus(st, now),
      owner: { role: step.owner.role, audience: step.owner.audience },
      after: step.after,
      dueAt: iso(st.dueAt),
      completedAt: st.status === 'done' ? iso(st.completedAt) : null,
      by: st.by ?? null,
      evidence: st.evidence ?? null,
      eventId: st.eventId ?? null,
      audit: st.audit ?? null,
      deviation: st.deviation ?? null,
      skipReason: st.status === 'skipped' ? (st.skipReason ?? null) : null,
      outOfOrder: st.outOfOrder ?? [],
      escalatedAt: iso(st.escalatedAt),
    };
  });
}
