// Renders a postmortem as Markdown (GitHub flavour; the dashboard's renderer handles the same
// subset). Model output and user text are escaped so a table cell or heading cannot be broken.
import { formatDuration } from './postmortem.ts';
import type { Duration, ImpactFigures, Postmortem, Section } from './postmortem-types.ts';

/**
 * One line of text safe inside a table cell or a list item. No backslash escapes: the dashboard's
 * renderer does not read them (it HTML-escapes everything itself), so a pipe becomes `¦` and a
 * backtick a quote instead.
 */
export function mdInline(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  const s = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '¦').replace(/`/g, "'");
}

const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;
const num = (n: number | null | undefined): string => (n === null || n === undefined ? 'n/a' : String(n));
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${Math.round(x * 1000) / 10}%`);
const dur = (d: Duration): string => (d.ms === null ? `n/a (${mdInline(d.note)})` : `${formatDuration(d.ms)} (${mdInline(d.note)})`);

function missing(s: Section): string[] {
  if (s.status === 'complete' || s.reasons.length === 0) return [];
  const label = s.status === 'insufficient_data' ? '**Insufficient data**' : s.status === 'not_applicable' ? '**Not applicable**' : '**Partial data**';
  return [`> ${label}: ${s.reasons.map(mdInline).join('; ')}`, ''];
}

function figuresRows(label: string, f: ImpactFigures): string {
  const fb = Object.entries(f.fallbackByKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `| ${mdInline(label)} | ${f.requests} | ${f.affectedRequests} | ${f.failedFirstAttempts} | ${f.clientErrors} | ${f.fallbackAnswers}${fb ? ` (${fb})` : ''} | ${f.retriedOnStable} | ${f.qualityFailures} | ${num(f.clientsAffected)}${f.clients !== null ? ` of ${f.clients}` : ''} |`;
}

export function renderPostmortemMarkdown(p: Postmortem): string {
  const L: string[] = [];
  L.push(`# ${mdInline(p.title)}`, '');
  L.push(`**Severity** ${p.severity} · **Status** ${p.status} · **Model** ${code(p.model)}${p.version ? ` · **Version** ${code(p.version)}` : ''} · **Signal** ${p.family}`, '');
  L.push(`_Generated ${p.generatedAt}${p.final ? '' : ' — draft: the incident is still open'}. All times UTC._`, '');
  L.push('## Summary', '', mdInline(p.summary), '');
  if (p.missingData.length > 0) {
    L.push('**Sections lacking data**', '');
    for (const m of p.missingData) L.push(`- ${m.section}: ${m.reasons.map(mdInline).join('; ')}`);
    L.push('');
  }

  // Impact
  const i = p.impact;
  L.push('## Impact', '');
  L.push(...missing(i));
  if (i.window) L.push(`- Window: ${i.window.from} → ${i.window.to} (${formatDuration(i.window.durationMs)})`);
  L.push(`- Incident duration: ${formatDuration(i.incidentDurationMs)}; users exposed to the fault: ${i.userImpactMs === null ? 'n/a (not contained or mitigated yet)' : formatDuration(i.userImpactMs)}`);
  if (i.overall) {
    L.push('', `| Scope | Requests | Affected | Failed first attempts | Client errors | Fallback answers | Retried on stable | Quality failures | Clients affected |`);
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    if (i.faultyVersion) L.push(figuresRows(`${i.faultyVersion.version} (faulty)`, i.faultyVersion));
    L.push(figuresRows('whole model', i.overall));
    L.push('');
    const f = i.faultyVersion ?? i.overall;
    const classes = Object.entries(f.errorClasses).map(([k, n]) => `${code(k)} ${n}`).join(', ');
    if (classes) L.push(`- Error classes: ${classes}`);
    L.push(`- Latency${i.faultyVersion ? ` of ${code(i.faultyVersion.version)}` : ''}: p50 ${num(f.latencyMs.p50 !== null ? Math.round(f.latencyMs.p50) : null)} ms, p95 ${num(f.latencyMs.p95 !== null ? Math.round(f.latencyMs.p95) : null)} ms`);
    if (i.lowerBounds) L.push('- The trace cap was reached: every figure is a lower bound.');
    if (i.exampleRequestIds.length) L.push(`- Example failed requests: ${i.exampleRequestIds.map(code).join(', ')}`);
  }
  L.push('');

  // Timeline
  L.push('## Timeline (UTC)', '', '| Time | Event | By | What |', '| --- | --- | --- | --- |');
  for (const e of p.timeline) L.push(`| ${e.at.replace('T', ' ').replace('Z', '')} | ${mdInline(e.kind)} | ${mdInline(e.actor)} | ${mdInline(e.message)} |`);
  L.push('');

  // Detection
  const d = p.detection;
  L.push('## Detection', '');
  L.push(...missing(d));
  L.push(`- Source: ${d.source}${d.monitor ? `, monitor ${code(d.monitor)}` : ''}`);
  L.push(`- Onset: ${d.onsetAt ?? 'unknown'}${d.onsetEstimated ? ' (estimated by RCA)' : ''}; detected: ${d.detectedAt}`);
  L.push(`- MTTD: ${dur(d.mttd)}`);
  if (d.evidence) {
    const e = d.evidence as Record<string, unknown>;
    const bits = ['test', 'observed', 'baseline', 'statistic', 'threshold', 'pValue', 'bound', 'sampleSize', 'baselineSampleSize']
      .filter((k) => e[k] !== undefined && e[k] !== null)
      .map((k) => `${k} ${typeof e[k] === 'number' ? Number((e[k] as number).toPrecision(4)) : mdInline(String(e[k]))}`);
    L.push(`- Evidence: ${bits.join(', ')}`);
    if (typeof e.detail === 'string') L.push(`  - ${mdInline(e.detail)}`);
  }
  L.push('');

  // Response
  const r = p.response;
  L.push('## Response', '');
  L.push(...missing(r));
  L.push(`- MTTA: ${dur(r.mtta)}`, `- Time to contain: ${dur(r.timeToContain)}`, `- MTTR: ${dur(r.mttr)}`, `- Time to resolve: ${dur(r.timeToResolve)}`, '');

  // Root cause and resolution
  const rc = p.rootCause;
  L.push('## Root cause', '');
  L.push(...missing(rc));
  if (rc.category) L.push(`**${mdInline(rc.category)}** (confidence ${num(rc.confidence !== null ? Math.round(rc.confidence * 100) / 100 : null)}${rc.setBy ? `, set by ${mdInline(rc.setBy)}` : ''}): ${mdInline(rc.summary)}`, '');
  if (rc.hypotheses.length > 1) {
    L.push('Other hypotheses:', '');
    for (const h of rc.hypotheses.slice(1)) L.push(`- ${mdInline(h.category)} (${Math.round(h.confidence * 100) / 100}): ${mdInline(h.summary)}`);
    L.push('');
  }
  const res = p.resolution;
  L.push('## Resolution', '');
  L.push(...missing(res));
  L.push(mdInline(res.summary), '');
  if (res.rollback?.validation) {
    const v = res.rollback.validation;
    L.push(`- Validation of ${code(v.version)}: ${v.passed ? 'passed' : 'FAILED'}${v.passRate !== undefined ? `, pass rate ${pct(v.passRate)}` : ''}${v.gates?.passRate ? ` (gate ${pct(v.gates.passRate.threshold)})` : ''}${v.gates?.latencyP95 ? `, p95 ${num(v.gates.latencyP95.value)} ms (budget ${v.gates.latencyP95.threshold} ms)` : ''}`, '');
  }

  // Questions
  const q = p.questions;
  L.push('## Could this have been detected earlier?', '');
  L.push(...missing(q.detectedEarlier));
  L.push(`**${q.detectedEarlier.answer}** — ${mdInline(q.detectedEarlier.summary)}`, '');
  if (q.detectedEarlier.trials.length > 0) {
    L.push(`Replay of ${code(q.detectedEarlier.monitor ?? '?')} over recorded traffic; false alarms counted on ${q.detectedEarlier.healthyHistory.map((h) => `${mdInline(h.description)} (${h.from} → ${h.to}, ${h.requests} requests)`).join('; ') || 'no healthy history'}.`, '');
    L.push('| Settings | Would have fired at | Earlier by | False alarms | Breaching / judged evaluations on healthy history |', '| --- | --- | --- | --- | --- |');
    for (const t of q.detectedEarlier.trials) {
      L.push(`| ${mdInline(t.label)} | ${t.firstBreachAt ?? 'never'} | ${t.leadMs === null ? '—' : formatDuration(t.leadMs)} | ${t.falseAlarms ?? 'not checked'} | ${t.healthyEvaluations === null ? '—' : `${t.breachingEvaluations} / ${t.healthyEvaluations}`} |`);
    }
    L.push('');
    for (const n of q.detectedEarlier.notes) L.push(`- ${mdInline(n)}`);
    if (q.detectedEarlier.notes.length) L.push('');
  }
  L.push('## Were validation thresholds too loose?', '');
  L.push(...missing(q.validationThresholds));
  L.push(`**${q.validationThresholds.answer.replace(/_/g, ' ')}** — ${mdInline(q.validationThresholds.summary)}`, '');
  L.push('## Did the automated fallbacks work?', '');
  L.push(...missing(q.fallbacks));
  L.push(`**${q.fallbacks.answer.replace(/_/g, ' ')}** — ${mdInline(q.fallbacks.summary)}`, '');

  // Action items, tuning, lessons
  L.push('## Action items', '');
  if (p.actionItems.length === 0) L.push('None.');
  for (const a of p.actionItems) L.push(`- [${a.status === 'done' ? 'x' : ' '}] ${a.id}: ${mdInline(a.title)} — owner: ${mdInline(a.owner)} (${a.status})`);
  L.push('');
  L.push('## Suggested monitor tuning', '');
  if (p.tuning.length === 0) L.push('None: the replay found no earlier setting free of false alarms (or could not run).');
  for (const t of p.tuning) {
    L.push(`- ${code(t.id)} ${t.status === 'applied' ? `(applied ${t.appliedAt} by ${mdInline(t.appliedBy)})` : '(not applied)'}: ${code(t.monitor)} on ${code(t.model)} ← ${code(JSON.stringify(t.patch))}. ${mdInline(t.rationale)}.`);
    if (t.status !== 'applied') L.push(`  Apply: \`POST /api/v1/incidents/${p.incidentId}/postmortem/tuning/${t.id}/apply\``);
  }
  L.push('');
  L.push('## Lessons', '');
  if (p.lessons.length === 0) L.push('None drawn from the data yet.');
  for (const l of p.lessons) L.push(`- ${mdInline(l)}`);
  L.push('');
  return L.join('\n');
}
