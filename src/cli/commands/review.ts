// failsafe postmortem <incident> [--out file.md] [--apply <suggestion> [--reason r]] [--wait s] [--refresh]
// failsafe traces [--model --version --from --to --status --error-class --validator --feedback --client --limit] · failsafe traces show <requestId>
// failsafe rca <incident> [--no-record]
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { enc } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { table } from '../output.ts';

const shortTime = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
const clip = (s: string | null | undefined, n = 60): string => (!s ? '-' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

function describeTrace(t: any): string {
  const lines = [
    `${t.requestId}  ${t.model}${t.version ? `@${t.version}` : ''}  ${t.status} (HTTP ${t.httpStatus})${t.errorClass ? `  ${t.errorClass}` : ''}`,
    `started  ${shortTime(t.startedAt)}   latency ${Math.round(t.timings.latencyMs)} ms${t.timings.ttfbMs !== null ? `, first byte ${Math.round(t.timings.ttfbMs)} ms` : ''}`,
  ];
  if (t.firstVersion) lines.push(`first    ${t.firstVersion}${t.retried ? ' (retried on the stable version)' : ''}`);
  if (t.fallback) lines.push(`fallback ${t.fallback}`);
  if (t.client) lines.push(`client   ${t.client}`);
  if (t.errorMessage) lines.push(`error    ${t.errorMessage}`);
  if (t.validators.length) {
    lines.push('', 'Validators:', table(t.validators.map((v: any) => ({ ...v, passed: v.passed ? 'yes' : 'NO' })), ['validator', 'passed', 'action', 'checkpoint', 'message']));
  }
  if (t.feedback.length) lines.push('', 'Feedback:', table(t.feedback.map((f: any) => ({ ...f, receivedAt: shortTime(f.receivedAt) })), ['receivedAt', 'rating', 'score', 'label', 'comment']));
  lines.push('', 'Input:', t.input ?? '(not captured)', '', 'Output:', t.output ?? '(not captured)');
  return lines.join('\n');
}

function describeRca(r: any): string {
  if (!r.hypotheses?.length) return `no hypothesis for ${r.incidentId}: not enough traces or changes to point at a cause${r.notEvaluated?.length ? ` (not evaluated: ${r.notEvaluated.map((n: any) => n.category ?? n).join(', ')})` : ''}`;
  const lines = [
    `RCA of ${r.incidentId} (onset ${shortTime(r.onset?.at)}${r.onset?.estimated ? ', estimated' : ''})`,
    '',
    table(
      r.hypotheses.map((h: any, i: number) => ({ rank: i + 1, category: h.category, confidence: Math.round(h.confidence * 100) / 100, summary: h.summary })),
      ['rank', 'category', 'confidence', 'summary'],
    ),
  ];
  const top = r.hypotheses[0];
  const figures = Object.entries(top.evidence?.figures ?? {}).map(([k, v]) => `${k}=${v}`);
  if (figures.length) lines.push('', `evidence: ${figures.join(' ')}`);
  if (top.evidence?.sampleTraceIds?.length) lines.push(`sample requests: ${top.evidence.sampleTraceIds.join(', ')} (failsafe traces show <id>)`);
  lines.push('', r.recorded ? 'recorded as the incident’s root cause' : `not recorded${r.notRecordedReason ? `: ${r.notRecordedReason}` : ''}`);
  return lines.join('\n');
}

export function registerReviewCommands(program: Command, io: CliEnv): void {
  program
    .command('postmortem <incident>')
    .description('the postmortem of an incident as Markdown (JSON with --json); --out writes it to a file')
    .option('--out <file>', 'write the postmortem to this file and print its path')
    .option('--apply <suggestion>', 'apply one of its suggested monitor tunings instead (operator)')
    .option('--reason <text>', 'with --apply: why (audit log)')
    .option('--wait <seconds>', 'how long the server may take for the monitor replay and golden-set run', '120')
    .option('--refresh', 'recompute the monitor replay and the golden-set run')
    .action(async (incident: string, o: { out?: string; apply?: string; reason?: string; wait: string; refresh?: boolean }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      if (o.apply) {
        const res = await client.post(`/api/v1/incidents/${enc(incident)}/postmortem/tuning/${enc(o.apply)}/apply`, o.reason ? { reason: o.reason } : {});
        out.print(res, () => `applied ${res.suggestion.id}: ${res.suggestion.monitor} on ${res.suggestion.model} ← ${JSON.stringify(res.suggestion.patch)}`);
        return;
      }
      const q = new URLSearchParams({ wait: o.wait, ...(o.refresh ? { refresh: 'true' } : {}) });
      const path = `/api/v1/incidents/${enc(incident)}/postmortem?${q}`;
      if (out.json) {
        const res = await client.get(path);
        if (o.out) {
          writeFileSync(o.out, `${JSON.stringify(res, null, 2)}\n`);
          io.stdout(`${resolve(o.out)}\n`);
        } else out.print(res, () => '');
        return;
      }
      const markdown = await client.request<string>('GET', path, undefined, 'text/markdown');
      if (o.out) {
        writeFileSync(o.out, markdown);
        io.stdout(`${resolve(o.out)}\n`);
      } else io.stdout(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
    });

  const traces = program.command('traces').description('search recorded requests; `traces show <id>` shows one in full');
  traces
    .command('list', { isDefault: true })
    .description('traces, newest first')
    .option('--model <name>')
    .option('--version <version>')
    .option('--from <time>', 'ISO 8601 or epoch ms (inclusive)')
    .option('--to <time>', 'ISO 8601 or epoch ms (exclusive)')
    .option('--status <status>', 'ok | error | fallback | blocked')
    .option('--error-class <class>', 'e.g. upstream_5xx, timeout')
    .option('--validator <name>', 'traces where this validator failed (* for any)')
    .option('--feedback <kind>', 'positive | negative | any')
    .option('--client <id>')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: Record<string, string | undefined>, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const q = new URLSearchParams();
      const map: Record<string, string> = { model: 'model', version: 'version', from: 'from', to: 'to', status: 'status', errorClass: 'errorClass', validator: 'validator', feedback: 'feedback', client: 'client', limit: 'limit' };
      for (const [opt, param] of Object.entries(map)) if (o[opt] !== undefined) q.set(param, o[opt]!);
      const res = await client.get(`/api/v1/traces?${q}`);
      out.print(res, () => {
        const rows = res.traces.map((t: any) => ({
          ...t,
          startedAt: shortTime(t.startedAt),
          version: t.firstVersion && t.firstVersion !== t.version ? `${t.firstVersion}→${t.version ?? '-'}` : (t.version ?? '-'),
          latency: `${Math.round(t.latencyMs)} ms`,
          outcome: [t.status, t.errorClass, t.fallback && `fallback:${t.fallback}`, t.failedValidators.length && `failed:${t.failedValidators.join(',')}`].filter(Boolean).join(' '),
          feedback: t.feedback ? `+${t.feedback.positive}/-${t.feedback.negative}` : '-',
          output: clip(t.outputPreview, 40),
        }));
        const note = res.truncated ? `\n(scanned ${res.scanned} traces and stopped: older matches may exist; narrow --from/--to)` : '';
        return `${table(rows, ['requestId', 'startedAt', 'model', 'version', 'latency', 'outcome', 'feedback', 'output'])}${note}`;
      });
    });
  traces
    .command('show <requestId>')
    .description('one request: input, output, timings, version, fallback, validator results, feedback')
    .action(async (requestId: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/traces/${enc(requestId)}`);
      out.print(res, () => describeTrace(res.trace));
    });

  program
    .command('rca <incident>')
    .description('root-cause analysis: ranked hypotheses with their evidence')
    .option('--no-record', 'analyse without recording the best hypothesis as the root cause')
    .action(async (incident: string, o: { record: boolean }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/incidents/${enc(incident)}/rca?record=${o.record ? 'true' : 'false'}`);
      out.print(res, () => describeRca(res));
    });
}
