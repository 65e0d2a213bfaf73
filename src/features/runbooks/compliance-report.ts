// How an incident followed its runbook: which steps were done, by whom and when, how long each
// took against its due time, deviations with their reasons, skipped steps with why, and the tie to
// the audit chain (the entries that concern the incident, their seq range and one sha256 over their
// hashes, so a reader can check the report against `GET /api/v1/audit` and `/audit/verify`).
// Plain functions of the data; the service gathers it.
import { sha256Hex } from '../../core/canonical-json.ts';
import { isoTime } from '../../core/iso-time.ts';
import type { AuditEntry, EpochMs, Incident } from '../../core/types.ts';
import { itemStatus, type ItemStatus, type StepStateView } from './runbook-checklist.ts';
import type { Checklist, StepEvidence } from './runbook-store.ts';

export const AUDIT_DIGEST_METHOD = 'sha256 of the entries\' hashes in seq order, joined by "\\n"';

export interface ComplianceStep extends StepStateView {
  /** From detection to completion. */
  tookMs: number | null;
  /** The due time, from detection. */
  dueInMs: number | null;
  /** True when done by its due time (null: no due time, or not done). */
  onTime: boolean | null;
  lateByMs: number | null;
}

export interface AuditTie {
  /** Audit entries whose target is the incident, or the model's changes inside the window. */
  targets: string[];
  window: { from: string; to: string };
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  seqs: number[];
  sha256: string;
  method: string;
}

/** How many steps stand where: of one incident's checklist, or summed over the incidents of a range. */
export interface StepCounts {
  steps: number;
  done: number;
  skipped: number;
  /** Open, overdue ones included. */
  pending: number;
  overdue: number;
  onTime: number;
  late: number;
  deviations: number;
}

export interface ComplianceReport {
  incident: {
    id: string;
    title: string;
    model: string;
    version: string | null;
    severity: string;
    status: string;
    detectedAt: string;
    resolvedAt: string | null;
    reviewedAt: string | null;
  };
  runbook: { id: string; version: number; hash: string; title: string } | null;
  generatedAt: string;
  summary: StepCounts & {
    escalated: number;
    /** Every step done or skipped. */
    complete: boolean;
  };
  steps: ComplianceStep[];
  deviations: { step: string; title: string; reason: string; by: string | null; at: string | null }[];
  skipped: { step: string; title: string; reason: string; by: string | null }[];
  audit: AuditTie;
}

/** The audit entries that concern an incident: its own, and its model's inside the window. */
export function concernsIncident(entry: AuditEntry, incident: Pick<Incident, 'id' | 'model'>, window: { from: EpochMs; to: EpochMs }): boolean {
  if (entry.target === `incident:${incident.id}`) return true;
  if (entry.at < window.from || entry.at >= window.to) return false;
  return entry.target === `model:${incident.model}` || entry.target.startsWith(`version:${incident.model}@`);
}

/**
 * The window the incident's model changes are taken from: detection to the last thing that
 * happened to the incident or its checklist (now, while it is still active).
 */
export function incidentWindow(incident: Incident, checklist: Checklist | undefined, now: EpochMs, active: boolean): { from: EpochMs; to: EpochMs } {
  if (active) return { from: incident.detectedAt, to: now + 1 };
  const times = [incident.resolvedAt, incident.reviewedAt, incident.declinedAt, incident.mitigatedAt, incident.containedAt, incident.detectedAt];
  for (const s of Object.values(checklist?.states ?? {})) times.push(s.completedAt);
  const end = Math.max(...times.filter((t): t is number => t !== undefined));
  return { from: incident.detectedAt, to: end + 1 };
}

export function auditTie(entries: AuditEntry[], incident: Pick<Incident, 'id' | 'model'>, window: { from: EpochMs; to: EpochMs }): AuditTie {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const seqs = sorted.map((e) => e.seq);
  return {
    targets: [`incident:${incident.id}`, `model:${incident.model}`, `version:${incident.model}@*`],
    window: { from: isoTime(window.from), to: isoTime(window.to) },
    entries: sorted.length,
    firstSeq: seqs[0] ?? null,
    lastSeq: seqs[seqs.length - 1] ?? null,
    seqs,
    sha256: sha256Hex(sorted.map((e) => e.hash).join('\n')),
    method: AUDIT_DIGEST_METHOD,
  };
}

const iso = (ms: EpochMs | undefined): string | null => (ms === undefined ? null : isoTime(ms));

export function buildComplianceReport(input: { incident: Incident; checklist?: Checklist; auditEntries: AuditEntry[]; window: { from: EpochMs; to: EpochMs }; now: EpochMs }): ComplianceReport {
  const { incident, checklist, now } = input;
  const steps: ComplianceStep[] = (checklist?.steps ?? []).map((step) => {
    const st = checklist!.states[step.id] ?? { status: 'pending' as const };
    const done = st.status === 'done' && st.completedAt !== undefined;
    const tookMs = done ? st.completedAt! - checklist!.detectedAt : null;
    const dueInMs = st.dueAt !== undefined ? st.dueAt - checklist!.detectedAt : null;
    const onTime = done && st.dueAt !== undefined ? st.completedAt! <= st.dueAt : null;
    return {
      id: step.id,
      title: step.title,
      section: step.section ?? null,
      kind: step.kind,
      action: step.action ?? null,
      owner: { role: step.owner.role, audience: step.owner.audience },
      status: itemStatus(st, now),
      dueAt: iso(st.dueAt),
      completedAt: done ? iso(st.completedAt) : null,
      by: st.by ?? null,
      tookMs,
      dueInMs,
      onTime,
      lateByMs: onTime === false ? st.completedAt! - st.dueAt! : null,
      evidence: st.evidence ?? null,
      eventId: st.eventId ?? null,
      audit: st.audit ?? null,
      deviation: st.deviation ?? null,
      skipReason: st.status === 'skipped' ? (st.skipReason ?? null) : null,
      outOfOrder: st.outOfOrder ?? [],
      escalatedAt: iso(st.escalatedAt),
    };
  });
  const count = (f: (s: ComplianceStep) => boolean) => steps.filter(f).length;
  return {
    incident: {
      id: incident.id,
      title: incident.title,
      model: incident.model,
      version: incident.version ?? null,
      severity: incident.severity,
      status: incident.status,
      detectedAt: isoTime(incident.detectedAt),
      resolvedAt: iso(incident.resolvedAt),
      reviewedAt: iso(incident.reviewedAt),
    },
    runbook: checklist ? { ...checklist.runbook } : null,
    generatedAt: isoTime(now),
    summary: {
      steps: steps.length,
      done: count((s) => s.status === 'done'),
      skipped: count((s) => s.status === 'skipped'),
      pending: count((s) => s.status === 'pending' || s.status === 'overdue'),
      overdue: count((s) => s.status === 'overdue'),
      onTime: count((s) => s.onTime === true),
      late: count((s) => s.onTime === false),
      deviations: count((s) => s.deviation !== null),
      escalated: count((s) => s.escalatedAt !== null),
      complete: steps.length > 0 && steps.every((s) => s.status === 'done' || s.status === 'skipped'),
    },
    steps,
    deviations: steps
      .filter((s) => s.deviation !== null)
      .map((s) => ({ step: s.id, title: s.title, reason: s.deviation!, by: s.by, at: s.completedAt })),
    skipped: steps.filter((s) => s.status === 'skipped').map((s) => ({ step: s.id, title: s.title, reason: s.skipReason ?? 'no reason given', by: s.by })),
    audit: auditTie(input.auditEntries, incident, input.window),
  };
}

export interface RangeComplianceReport {
  from: string;
  to: string;
  generatedAt: string;
  summary: {
    incidents: number;
    withChecklist: number;
    complete: number;
  } & StepCounts;
  /** Per runbook step id: how often it was done, on time, skipped, open. */
  perStep: { id: string; title: string; done: number; onTime: number; late: number; skipped: number; open: number; medianTookMs: number | null }[];
  incidents: ComplianceReport[];
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function buildRangeReport(input: { from: EpochMs; to: EpochMs; now: EpochMs; reports: ComplianceReport[] }): RangeComplianceReport {
  const { reports } = input;
  const sum = (f: (r: ComplianceReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const perStep = new Map<string, { id: string; title: string; done: number; onTime: number; late: number; skipped: number; open: number; took: number[] }>();
  for (const r of reports) {
    for (const s of r.steps) {
      let p = perStep.get(s.id);
      if (!p) perStep.set(s.id, (p = { id: s.id, title: s.title, done: 0, onTime: 0, late: 0, skipped: 0, open: 0, took: [] }));
      if (s.status === 'done') p.done++;
      else if (s.status === 'skipped') p.skipped++;
      else p.open++;
      if (s.onTime === true) p.onTime++;
      if (s.onTime === false) p.late++;
      if (s.tookMs !== null) p.took.push(s.tookMs);
    }
  }
  return {
    from: isoTime(input.from),
    to: isoTime(input.to),
    generatedAt: isoTime(input.now),
    summary: {
      incidents: reports.length,
      withChecklist: reports.filter((r) => r.runbook !== null).length,
      complete: reports.filter((r) => r.summary.complete).length,
      steps: sum((r) => r.summary.steps),
      done: sum((r) => r.summary.done),
      skipped: sum((r) => r.summary.skipped),
      pending: sum((r) => r.summary.pending),
      overdue: sum((r) => r.summary.overdue),
      onTime: sum((r) => r.summary.onTime),
      late: sum((r) => r.summary.late),
      deviations: sum((r) => r.summary.deviations),
    },
    perStep: [...perStep.values()].map(({ took, ...p }) => ({ ...p, medianTookMs: median(took) })),
    incidents: reports,
  };
}

// ------------------------------------------------------------------------------------------------
// Markdown

/** 252000 → `4m 12s`; 3_780_000 → `1h 3m`; whole units only, two at most. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  const neg = ms < 0;
  let rest = Math.round(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return `${neg ? '-' : ''}${parts.join(' ')}`;
}

const md = (s: string | null | undefined): string => (s ?? '—').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const shortTime = (s: string | null): string => (s ? s.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

function evidenceText(e: StepEvidence | null): string {
  if (!e) return '';
  const parts: string[] = [];
  if (e.answer) parts.push(`**${e.answer}**`);
  if (e.note) parts.push(e.note);
  if (e.link) parts.push(`<${e.link}>`);
  return parts.join(' — ');
}

const statusMark: Record<ItemStatus, string> = { done: 'done', skipped: 'skipped', pending: 'open', overdue: '**OVERDUE**' };

export function complianceMarkdown(r: ComplianceReport, options: { heading?: string } = {}): string {
  const h = options.heading ?? '#';
  const i = r.incident;
  const lines: string[] = [];
  lines.push(`${h} Compliance report: ${i.id} — ${md(i.title)}`, '');
  lines.push(`- Model: \`${i.model}\`${i.version ? ` version \`${i.version}\`` : ''} · ${i.severity} · ${i.status}`);
  lines.push(`- Detected: ${shortTime(i.detectedAt)}${i.resolvedAt ? ` · resolved ${shortTime(i.resolvedAt)}` : ''}${i.reviewedAt ? ` · reviewed ${shortTime(i.reviewedAt)}` : ''}`);
  if (!r.runbook) {
    lines.push('- Runbook: none (this incident has no checklist)', '');
  } else {
    lines.push(`- Runbook: ${r.runbook.id} v${r.runbook.version} — ${md(r.runbook.title)} (hash \`${r.runbook.hash.slice(0, 12)}\`)`);
    lines.push(`- Generated: ${shortTime(r.generatedAt)}`, '');
    const s = r.summary;
    lines.push(
      `**${s.done} of ${s.steps} steps done, ${s.skipped} skipped, ${s.pending} open${s.overdue ? ` (${s.overdue} overdue)` : ''}; ${s.onTime} on time, ${s.late} late; ${s.deviations} deviation${s.deviations === 1 ? '' : 's'}.**${s.complete ? ' Every step is closed.' : ''}`,
      '',
    );
    lines.push('| Step | Kind | Status | By | Completed | Took | Due in | On time | Evidence / link |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const st of r.steps) {
      const link = st.eventId !== null ? `timeline #${st.eventId}` : '';
      const audit = st.audit ? `audit seq ${st.audit.seq}` : '';
      const ev = [evidenceText(st.evidence), link, audit].filter(Boolean).join('; ');
      lines.push(
        `| \`${st.id}\` ${md(st.title)} | ${st.kind}${st.action ? ` (${st.action})` : ''} | ${statusMark[st.status]} | ${md(st.by)} | ${shortTime(st.completedAt)} | ${formatDuration(st.tookMs)} | ${formatDuration(st.dueInMs)} | ${st.onTime === null ? '—' : st.onTime ? 'yes' : `no (+${formatDuration(st.lateByMs)})`} | ${md(ev) === '—' ? '' : md(ev)} |`,
      );
    }
    lines.push('');
    lines.push(`${h}# Deviations`, '');
    if (!r.deviations.length) lines.push('None.');
    for (const d of r.deviations) lines.push(`- \`${d.step}\` ${md(d.title)} — ${md(d.reason)} (${md(d.by)}, ${shortTime(d.at)})`);
    const ooo = r.steps.filter((st) => st.outOfOrder.length);
    for (const st of ooo) lines.push(`- \`${st.id}\` was completed before ${st.outOfOrder.map((x) => `\`${x}\``).join(', ')}`);
    lines.push('', `${h}# Skipped steps`, '');
    if (!r.skipped.length) lines.push('None.');
    for (const sk of r.skipped) lines.push(`- \`${sk.step}\` ${md(sk.title)} — ${md(sk.reason)}${sk.by && sk.by !== 'condition' ? ` (${md(sk.by)})` : ''}`);
    const escalated = r.steps.filter((st) => st.escalatedAt);
    if (escalated.length) {
      lines.push('', `${h}# Escalations`, '');
      for (const st of escalated) lines.push(`- \`${st.id}\` overdue, escalated to ${st.owner.audience} at ${shortTime(st.escalatedAt)}`);
    }
    lines.push('');
  }
  const a = r.audit;
  lines.push(`${h}# Audit chain`, '');
  if (a.entries === 0) {
    lines.push(`No audit entries concern this incident between ${shortTime(a.window.from)} and ${shortTime(a.window.to)}.`);
  } else {
    lines.push(`${a.entries} entr${a.entries === 1 ? 'y' : 'ies'}, seq ${a.firstSeq}–${a.lastSeq} (targets ${a.targets.map((t) => `\`${t}\``).join(', ')}; model changes between ${shortTime(a.window.from)} and ${shortTime(a.window.to)}).`);
    lines.push('', `Seqs: ${a.seqs.join(', ')}`);
    lines.push('', `sha256 over their hashes (${a.method}):`, '', `\`${a.sha256}\``);
  }
  lines.push('');
  return lines.join('\n');
}

export function rangeMarkdown(r: RangeComplianceReport): string {
  const s = r.summary;
  const lines: string[] = [`# Runbook compliance ${shortTime(r.from)} – ${shortTime(r.to)}`, ''];
  lines.push(`- Incidents: ${s.incidents} (${s.withChecklist} with a checklist, ${s.complete} with every step closed)`);
  lines.push(`- Steps: ${s.steps}; done ${s.done}, skipped ${s.skipped}, open ${s.pending} (${s.overdue} overdue)`);
  lines.push(`- On time ${s.onTime}, late ${s.late}; deviations ${s.deviations}`);
  lines.push(`- Generated: ${shortTime(r.generatedAt)}`, '');
  if (r.perStep.length) {
    lines.push('| Step | Done | On time | Late | Skipped | Open | Median time to done |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const p of r.perStep) lines.push(`| \`${p.id}\` ${md(p.title)} | ${p.done} | ${p.onTime} | ${p.late} | ${p.skipped} | ${p.open} | ${formatDuration(p.medianTookMs)} |`);
    lines.push('');
  }
  for (const inc of r.incidents) lines.push(complianceMarkdown(inc, { heading: '##' }));
  return lines.join('\n');
}
