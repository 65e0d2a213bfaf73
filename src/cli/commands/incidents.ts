// failsafe incidents [list | show <id> | ack <id> | resolve <id> | decline <id> --reason | note <id> <text> | severity <id> <SEV>]
import type { Command } from 'commander';
import { enc } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { table } from '../output.ts';
import { checklistTable } from './runbooks.ts';

const shortTime = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function describeIncident(i: any): string {
  const lines = [
    `${i.id}  ${i.severity}  ${i.status}  ${i.model}${i.version ? ` ${i.version}` : ''}  (${i.family}, ${i.source})`,
    i.title,
    '',
    `detected      ${shortTime(i.detectedAt)}${i.onsetAt ? `   onset ${shortTime(i.onsetAt)}` : ''}`,
  ];
  for (const [label, key] of [
    ['acknowledged', 'acknowledgedAt'],
    ['contained', 'containedAt'],
    ['mitigated', 'mitigatedAt'],
    ['resolved', 'resolvedAt'],
    ['reviewed', 'reviewedAt'],
    ['declined', 'declinedAt'],
  ] as const) {
    if (i[key]) lines.push(`${label.padEnd(13)} ${shortTime(i[key])}`);
  }
  if (i.declineReason) lines.push(`reason        ${i.declineReason}`);
  if (i.rootCause) lines.push(`root cause    ${i.rootCause.category} (${i.rootCause.confidence}): ${i.rootCause.summary}`);
  const impact = Object.entries(i.impact ?? {}).map(([k, v]) => `${k}=${v}`);
  if (impact.length) lines.push(`impact        ${impact.join(' ')}`);
  if (Array.isArray(i.checklist) && i.checklist.length) {
    lines.push('', 'Checklist:', checklistTable(i.checklist));
  }
  if (Array.isArray(i.timeline)) {
    lines.push(
      '',
      'Timeline:',
      table(
        i.timeline.map((e: any) => ({ ...e, at: shortTime(e.at) })),
        ['at', 'kind', 'actor', 'message'],
      ),
    );
  }
  return lines.join('\n');
}

export function registerIncidentCommands(program: Command, io: CliEnv): void {
  const incidents = program.command('incidents').description('list, show and work incidents');
  incidents
    .command('list', { isDefault: true })
    .description('incidents, newest first')
    .option('--model <name>')
    .option('--status <list>', 'e.g. open,acknowledged')
    .option('--severity <list>', 'e.g. SEV1,SEV2')
    .option('--active', 'only open, acknowledged, contained or mitigated')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { model?: string; status?: string; severity?: string; active?: boolean; limit: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const q = new URLSearchParams({ limit: o.limit });
      if (o.model) q.set('model', o.model);
      if (o.status) q.set('status', o.status);
      if (o.severity) q.set('severity', o.severity);
      if (o.active) q.set('active', 'true');
      const res = await client.get(`/api/v1/incidents?${q}`);
      out.print(res, () =>
        table(
          res.incidents.map((i: any) => ({ ...i, detectedAt: shortTime(i.detectedAt), version: i.version ?? '-' })),
          ['id', 'severity', 'status', 'model', 'version', 'detectedAt', 'title'],
        ),
      );
    });
  incidents
    .command('show <id>')
    .description('one incident with its timeline')
    .action(async (id: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/incidents/${enc(id)}`);
      out.print(res, () => describeIncident(res.incident));
    });

  const step = (name: string, path: string, description: string) =>
    incidents
      .command(`${name} <id>`)
      .description(description)
      .option('--reason <text>', 'why (recorded in the timeline and the audit log)')
      .action(async (id: string, o: { reason?: string }, cmd) => {
        const { client, out } = cliContext(cmd, io);
        const res = await client.post(`/api/v1/incidents/${enc(id)}/${path}`, o.reason ? { reason: o.reason } : undefined);
        out.print(res, () => `${res.incident.id} is ${res.incident.status}`);
      });
  step('ack', 'acknowledge', 'acknowledge: someone is on it');
  step('resolve', 'resolve', 'resolve');
  step('mitigate', 'mitigate', 'mark mitigated');

  incidents
    .command('decline <id>')
    .description('decline as a false alarm')
    .requiredOption('--reason <text>', 'why this is a false alarm')
    .action(async (id: string, o: { reason: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/incidents/${enc(id)}/decline`, { reason: o.reason });
      out.print(res, () => `${res.incident.id} is declined: ${res.incident.declineReason}`);
    });
  incidents
    .command('note <id> <text...>')
    .description('add a note to the timeline')
    .action(async (id: string, text: string[], _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/incidents/${enc(id)}/notes`, { text: text.join(' ') });
      out.print(res, () => `noted on ${id} (#${res.note.id})`);
    });
  incidents
    .command('severity <id> <severity>')
    .description('set the severity (SEV1..SEV4), either way')
    .option('--reason <text>')
    .action(async (id: string, severity: string, o: { reason?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/incidents/${enc(id)}/severity`, { severity, ...(o.reason ? { reason: o.reason } : {}) });
      out.print(res, () => `${res.incident.id} is ${res.incident.severity}`);
    });
}
