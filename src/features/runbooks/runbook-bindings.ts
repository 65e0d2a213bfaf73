// The one table that ties automatic runbook actions to what the other features record on the
// incident timeline. When containment, rollback, RCA, the postmortem or the notifier change the
// kind or data of their events, this is the only place to adjust.
//
// Recorded by (kept in sync by reading their code):
//   incident service  `detected`                                   (on open)
//   notifier          `notified`   data: DeliveryOutcome {ok, event, audience, channel}
//   containment       `contained`  data.action `isolate` (version out of rotation),
//                                  data.action `paused` + data.mode `paused|fallback` (API paused)
//   RCA               `rca`        (analysis recorded), `root_cause` (a root cause set, by RCA or a person)
//   rollback          `rollback`   start: data {rollbackId, from, candidates}; end: data {rollbackId, from, to, ...}
//                                  or data.error when it failed
//                     `validation` data {version, passed, summary, ...}
//                     audit entry `rollback.succeeded` on `model:<name>`, before.rollbackId
//   review            `postmortem` (a postmortem draft written)
import type { TimelineEvent } from '../../core/types.ts';
import type { RunbookAction } from './runbook-definition.ts';

export interface AuditLookup {
  target: string;
  action: string;
  /** Picks the entry that belongs to the event. */
  matches(entry: { before?: unknown; after?: unknown }): boolean;
}

export interface ActionBinding {
  /** Timeline kinds that may complete a step with this action. */
  kinds: readonly string[];
  /** True when the event is the action having happened. */
  matches(event: TimelineEvent): boolean;
  /** The audit entry that must exist too (and is linked from the step). */
  audit?(event: TimelineEvent, model: string): AuditLookup | undefined;
  /** For people: what completes the step (shown in the compliance report). */
  describe: string;
}

const data = (e: TimelineEvent): Record<string, unknown> => (e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {});

/** Notifications about the runbook itself or a failed automation are not "stakeholders were told". */
const NOT_STAKEHOLDER_NEWS = new Set(['reminder', 'escalation', 'approval', 'test']);

const rollbackLanded = (e: TimelineEvent): boolean => {
  const d = data(e);
  return e.kind === 'rollback' && typeof d.to === 'string' && d.error === undefined;
};

export const actionBindings: Record<RunbookAction, ActionBinding> = {
  detect: {
    kinds: ['detected'],
    matches: (e) => e.kind === 'detected',
    describe: 'the incident being opened (timeline `detected`)',
  },
  notify: {
    kinds: ['notified'],
    matches: (e) => e.kind === 'notified' && data(e).ok === true && !NOT_STAKEHOLDER_NEWS.has(String(data(e).event ?? '')),
    describe: 'a notification delivered to a channel (timeline `notified`, ok)',
  },
  contain: {
    kinds: ['contained', 'rollback'],
    // A landed rollback also takes the faulty version out of rotation (it is marked faulty).
    matches: (e) => (e.kind === 'contained' && data(e).action === 'isolate') || rollbackLanded(e),
    describe: 'the faulty version taken out of rotation (timeline `contained` isolate, or a landed rollback)',
  },
  pause: {
    kinds: ['contained'],
    matches: (e) => e.kind === 'contained' && (data(e).mode === 'paused' || data(e).mode === 'fallback'),
    describe: 'the model API paused or switched to fallback answers (timeline `contained`, mode paused|fallback)',
  },
  rca: {
    kinds: ['rca', 'root_cause'],
    matches: (e) => e.kind === 'rca' || e.kind === 'root_cause',
    describe: 'a root-cause analysis recorded (timeline `rca` or `root_cause`)',
  },
  identify: {
    kinds: ['rollback'],
    matches: (e) => e.kind === 'rollback' && Array.isArray(data(e).candidates) && (data(e).candidates as unknown[]).length > 0,
    describe: 'the rollback naming its target M-1 (timeline `rollback` start, candidates)',
  },
  validate: {
    kinds: ['validation'],
    matches: (e) => e.kind === 'validation' && data(e).passed === true,
    describe: 'the rollback target passing validation in staging (timeline `validation`, passed)',
  },
  rollback: {
    kinds: ['rollback'],
    matches: rollbackLanded,
    describe: 'traffic moved to the validated version (timeline `rollback` with `to`)',
  },
  audit: {
    kinds: ['rollback'],
    matches: rollbackLanded,
    audit: (e, model) => {
      const id = data(e).rollbackId;
      if (typeof id !== 'string') return undefined;
      return {
        target: `model:${model}`,
        action: 'rollback.succeeded',
        matches: (entry) => (entry.before as { rollbackId?: unknown } | undefined)?.rollbackId === id,
      };
    },
    describe: 'the rollback written to the audit log (entry `rollback.succeeded`)',
  },
  postmortem: {
    kinds: ['postmortem'],
    matches: (e) => e.kind === 'postmortem',
    describe: 'a postmortem draft written (timeline `postmortem`)',
  },
};

/** Every timeline kind some binding listens to. */
export const boundKinds: ReadonlySet<string> = new Set(Object.values(actionBindings).flatMap((b) => b.kinds));
