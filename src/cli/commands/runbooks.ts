// failsafe runbooks [list | show <id> [--version N] [--yaml] | upload <file> [--id ID]]
// failsafe checklist [show] <incident> | complete <incident> <step> [--note] [--link] [--answer yes|no] [--deviation]
//                    | skip <incident> <step> --reason
// failsafe compliance <incident> [--out file.md]   |   failsafe compliance --from T [--to T] [--out file.md]
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { FailsafeError } from '../../core/errors.ts';
import { enc } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { table } from '../output.ts';

const shortTime = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** The checklist as a table (shared with `failsafe incidents show`). */
export function checklistTable(items: any[]): string {
  return table(
    items.map((i) => ({
      ...i,
      owner: i.owner && typeof i.owner === 'object' ? `${i.owner.role}/${i.owner.audience}` : i.owner,
      dueAt: shortTime(i.dueAt),
      completedAt: shortTime(i.completedAt),
      by: i.by ?? '-',
    })),
    ['id', 'status', 'kind', 'owner', 'dueAt', 'completedAt', 'by', 'title'],
  );
}

function stepLine(step: any): string {
  const parts = [`${step.id} is ${step.status}`];
  if (step.by) parts.push(`by ${step.by}`);
  if (step.completedAt) parts.push(`at ${shortTime(step.completedAt)}`);
  if (step.deviation) parts.push(`(deviation: ${step.deviation})`);
  if (step.skipReason) parts.push(`(${step.skipReason})`);
  return parts.join(' ');
}

export function registerRunbookCommands(program: Command, io: CliEnv): void {
  const runbooks = program.command('runbooks').description('runbooks: the incident procedure as versioned YAML');
  runbooks
    .command('list', { isDefault: true })
    .description('the latest version of each runbook')
    .action(async (_o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get('/api/v1/runbooks');
      out.print(res, () =>
        table(
          res.runbooks.map((r: any) => ({ ...r, createdAt: shortTime(r.createdAt), hash: String(r.hash).slice(0, 12) })),
          ['id', 'version', 'steps', 'title', 'createdAt', 'createdBy', 'hash'],
        ),
      );
    });
  runbooks
    .command('show <id>')
    .description('one runbook version (latest unless --version)')
    .option('--version <n>', 'a version number')
    .option('--yaml', 'print the YAML as stored')
    .action(async (id: string, o: { version?: string; yaml?: boolean }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const q = o.version ? `?version=${enc(o.version)}` : '';
      if (o.yaml) {
        io.stdout(await client.request<string>('GET', `/api/v1/runbooks/${enc(id)}${q}`, undefined, 'application/yaml'));
        return;
      }
      const res = await client.get(`/api/v1/runbooks/${enc(id)}${q}`);
      const r = res.runbook;
      out.print(res, () =>
        [
          `${r.id} v${r.version} (versions ${r.versions.join(', ')})  ${r.title}`,
          `created ${shortTime(r.createdAt)} by ${r.createdBy}, hash ${r.hash}`,
          '',
          table(
            r.definition.steps.map((s: any) => ({
              ...s,
              owner: `${s.owner.role}/${s.owner.audience}`,
              what: s.action ?? (s.evidence ?? []).join('|'),
              after: (s.after ?? []).join(',') || '-',
            })),
            ['id', 'kind', 'what', 'owner', 'after', 'title'],
          ),
        ].join('\n'),
      );
    });
  runbooks
    .command('upload <file>')
    .description('upload a YAML file as a new version (admin)')
    .option('--id <id>', 'runbook id (default: the id in the file)')
    .action(async (file: string, o: { id?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const text = readFileSync(file, 'utf8');
      let id = o.id;
      if (!id) {
        try {
          id = (YAML.parse(text) as { id?: unknown } | null)?.id as string | undefined;
        } catch {
          /* the server names the syntax error */
        }
      }
      if (!id || typeof id !== 'string') throw new FailsafeError('VALIDATION_FAILED', `${file}: id: the runbook has no id; give --id`);
      const res = await client.put(`/api/v1/runbooks/${enc(id)}`, { yaml: text });
      out.print(res, () => (res.created ? `${id} is now version ${res.runbook.version}` : `${id} unchanged (version ${res.runbook.version} has this content)`));
    });

  const checklist = program.command('checklist').description("an incident's runbook checklist");
  checklist
    .command('show <incident>', { isDefault: true })
    .description('the checklist of an incident')
    .action(async (incident: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/incidents/${enc(incident)}/checklist`);
      out.print(res, () => (res.runbook ? `${incident} follows ${res.runbook.id} v${res.runbook.version}\n\n${checklistTable(res.checklist)}` : `${incident} has no checklist`));
    });
  checklist
    .command('complete <incident> <step>')
    .description("complete a step with its evidence (the step owner's role or higher)")
    .option('--note <text>', 'what was done, with timestamps and scope')
    .option('--link <url>', 'a link to the change, document or ticket')
    .option('--answer <yes|no>', 'the answer to a yes/no question')
    .option('--deviation <reason>', 'why this departs from the procedure (out of order, by hand)')
    .action(async (incident: string, step: string, o: { note?: string; link?: string; answer?: string; deviation?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const evidence: Record<string, string> = {};
      if (o.note !== undefined) evidence.note = o.note;
      if (o.link !== undefined) evidence.link = o.link;
      if (o.answer !== undefined) evidence.answer = o.answer.toLowerCase();
      const body: Record<string, unknown> = {};
      if (Object.keys(evidence).length) body.evidence = evidence;
      if (o.deviation) body.deviation = o.deviation;
      const res = await client.post(`/api/v1/incidents/${enc(incident)}/checklist/${enc(step)}/complete`, body);
      out.print(res, () => stepLine(res.step));
    });
  checklist
    .command('skip <incident> <step>')
    .description('mark a step not needed, with the reason')
    .requiredOption('--reason <text>', 'why the step is not needed')
    .action(async (incident: string, step: string, o: { reason: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/incidents/${enc(incident)}/checklist/${enc(step)}/skip`, { reason: o.reason });
      out.print(res, () => stepLine(res.step));
    });

  program
    .command('compliance [incident]')
    .description('how an incident (or every incident in --from..--to) followed its runbook, as Markdown')
    .option('--from <time>', 'ISO 8601 time: incidents detected from then')
    .option('--to <time>', 'ISO 8601 time: ... until then (default now)')
    .option('--out <file>', 'write the report to a file instead of stdout')
    .action(async (incident: string | undefined, o: { from?: string; to?: string; out?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      if (!incident && !o.from) throw new FailsafeError('VALIDATION_FAILED', 'name an incident, or give --from (and --to) for a time range');
      const path = incident
        ? `/api/v1/incidents/${enc(incident)}/compliance`
        : `/api/v1/compliance?${new URLSearchParams({ from: o.from!, ...(o.to ? { to: o.to } : {}) })}`;
      const text = out.json ? `${JSON.stringify(await client.get(path), null, 2)}\n` : await client.request<string>('GET', path, undefined, 'text/markdown');
      if (o.out) {
        writeFileSync(o.out, text);
        io.stderr(`wrote ${o.out}\n`);
      } else {
        io.stdout(text.endsWith('\n') ? text : `${text}\n`);
      }
    });
}
