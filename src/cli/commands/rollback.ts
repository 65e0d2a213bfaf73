// failsafe rollback <model> [--to v] [--reason r] [--incident id] [--yes] · failsafe rollbacks <model>
// failsafe isolate <model> <version> · failsafe actions <incident> · failsafe approve|deny <incident> <action>
// failsafe breakers
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.ts';
import { enc, type ApiClient } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { formatWeights, progressBar, table } from '../output.ts';

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new FailsafeError('BAD_REQUEST', 'no terminal to confirm on: pass --yes');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Polls the server's progress of the running rollback into a bar until `done` settles. */
function followProgress(client: ApiClient, model: string, done: Promise<unknown>, stream: NodeJS.WriteStream = process.stderr): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  const bars = new Map<string, (d: number, t: number) => void>();
  return (async () => {
    while (!finished) {
      try {
        const { progress } = await client.get(`/api/v1/models/${enc(model)}/rollback/progress`);
        if (progress?.version && progress.total > 0) {
          const label = `validating ${model}@${progress.version} (${progress.candidateIndex + 1}/${progress.candidates.length})`;
          if (!bars.has(label)) bars.set(label, progressBar(label, stream));
          bars.get(label)!(progress.done, progress.total);
        }
      } catch {
        // Progress is cosmetic: the rollback's own answer decides.
      }
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 150))]);
    }
  })();
}

function describeRollback(r: any): string {
  const lines = [
    r.status === 'succeeded'
      ? `rolled back ${r.model}${r.from ? ` from ${r.from}` : ''} to ${r.to} in ${Math.round(r.durationMs)} ms (${r.id})`
      : `rollback ${r.id} of ${r.model}: ${r.status}${r.error ? ` (${r.error.message})` : ''}`,
  ];
  for (const v of r.validations ?? []) lines.push(`  ${v.passed ? 'passed' : 'FAILED'} ${v.kind}: ${v.summary}`);
  if (r.deploy) lines.push(`  deploy hook: ${r.deploy.ok ? 'ready' : `failed (${r.deploy.error})`} after ${r.deploy.durationMs} ms`);
  return lines.join('\n');
}

export function registerRollbackCommands(program: Command, io: CliEnv): void {
  program
    .command('rollback <model>')
    .description('validated rollback to the last known stable version (or --to); exit 0 only when traffic moved to a validated version')
    .option('--to <version>', 'explicit target version')
    .option('--from <version>', 'the bad version (default: the incident’s, else the one serving most traffic)')
    .option('--reason <text>', 'why (timeline and audit log)')
    .option('--incident <id>', 'the incident this rollback answers (it becomes mitigated)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (model: string, o: { to?: string; from?: string; reason?: string; incident?: string; yes?: boolean }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      if (!o.yes && !(await confirm(`Roll ${model} back${o.to ? ` to ${o.to}` : ' to its last known stable version'}?`))) {
        throw new FailsafeError('CONFLICT', 'rollback not confirmed');
      }
      const request = client.post(`/api/v1/models/${enc(model)}/rollback`, { to: o.to, from: o.from, reason: o.reason, incidentId: o.incident });
      const progress = out.json ? Promise.resolve() : followProgress(client, model, request);
      try {
        const res = await request;
        await progress;
        out.print(res, () => describeRollback(res.rollback));
      } catch (err) {
        await progress;
        throw err;
      }
    });

  program
    .command('rollbacks <model>')
    .description('rollback history of a model, newest first')
    .option('--limit <n>', 'how many', '20')
    .action(async (model: string, o: { limit: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/models/${enc(model)}/rollbacks?limit=${enc(o.limit)}`);
      out.print(res, () =>
        table(
          res.rollbacks.map((r: any) => ({ ...r, passed: r.validation?.passed ? 'yes' : 'no', durationMs: r.durationMs === undefined ? '-' : Math.round(r.durationMs) })),
          ['id', 'status', 'from', 'to', 'passed', 'durationMs', 'startedAt', 'actor'],
        ),
      );
    });

  program
    .command('isolate <model> <version>')
    .description('take a version out of rotation: weight 0, faulty, traffic renormalised (or to the stable version, or fallback mode)')
    .option('--reason <text>', 'why')
    .option('--incident <id>', 'the incident this answers (it becomes contained)')
    .action(async (model: string, version: string, o: { reason?: string; incident?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/models/${enc(model)}/versions/${enc(version)}/isolate`, { reason: o.reason, incidentId: o.incident });
      const i = res.isolation;
      out.print(res, () => `${i.summary}\n${model}: ${formatWeights(i.weightsAfter)} (${i.mode}, ${i.durationMs} ms)`);
    });

  program
    .command('actions <incident>')
    .description('playbook actions of an incident (done, pending approval, dry run)')
    .action(async (incident: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/incidents/${enc(incident)}/actions`);
      out.print(res, () => table(res.actions, ['id', 'kind', 'mode', 'status', 'version', 'createdAt', 'reason']));
    });

  for (const decision of ['approve', 'deny'] as const) {
    program
      .command(`${decision} <incident> <action>`)
      .description(decision === 'approve' ? 'approve a pending playbook action: it runs now' : 'deny a pending playbook action')
      .option('--reason <text>', 'why')
      .action(async (incident: string, action: string, o: { reason?: string }, cmd) => {
        const { client, out } = cliContext(cmd, io);
        const res = await client.post(`/api/v1/incidents/${enc(incident)}/actions/${enc(action)}/${decision}`, { reason: o.reason });
        const a = res.action;
        out.print(res, () => `${a.id} (${a.kind}) is ${a.status}${a.error ? `: ${a.error.message}` : ''}`);
        if (decision === 'approve' && a.status === 'failed') throw new FailsafeError('CONFLICT', `${a.kind} failed: ${a.error?.message ?? 'unknown error'}`, { silent: true });
      });
  }

  program
    .command('breakers')
    .description('circuit breakers per version and fallback counters')
    .action(async (_o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get('/api/v1/breakers');
      out.print(res, () =>
        table(
          res.breakers.map((b: any) => ({ ...b, errorRate: b.window.errorRate === null ? '-' : `${Math.round(b.window.errorRate * 100)}%` })),
          ['key', 'state', 'consecutiveFailures', 'errorRate', 'opens', 'rejected'],
        ),
      );
    });
}
