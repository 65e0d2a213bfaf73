// failsafe deploy <model> <version> [--steps 5,25,50,100] [--step-seconds N] [--shadow-percent N] [--wait]
// failsafe deployments list <model> | show|promote|pause|resume|abort <id>
// failsafe validate <model> <version>
//
// Exit codes for CI/CD: `deploy --wait` exits 0 when the candidate was promoted and 1, with the
// reason on one line, when it was aborted or paused for a human; `validate` exits 0 when the
// version passed its golden set and 1 when it failed.
import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.ts';
import { enc, type ApiClient } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { progressBar, table } from '../output.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shortTime = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new FailsafeError('BAD_REQUEST', `${name}: expected a whole number, got "${value}"`);
  return Number(value);
}

/** "5,25,50,100" → [5, 25, 50, 100]; the server judges whether the steps make sense. */
export function parseSteps(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) throw new FailsafeError('BAD_REQUEST', `--steps: expected percentages such as 5,25,50,100, got "${text}"`);
  return parts.map(Number);
}

const phaseOf = (d: any): string => (d.phase === 'canary' ? `step ${d.step}%` : d.phase === 'done' ? d.status : d.phase);

function describeDeployment(d: any): string {
  const lines = [
    `${d.id}  ${d.model} ${d.version} (vs ${d.baseline})  ${d.status}  ${phaseOf(d)}`,
    `steps ${d.steps.join(' → ')}%, ${d.stepSeconds} s each${d.shadowPercent ? `, shadow ${d.shadowPercent}% first` : ''}; insufficient data: ${d.onInsufficientData} after ${d.deadlineSeconds} s`,
    `reason: ${d.reason}`,
  ];
  if (d.validation) lines.push(`validation: ${d.validation.passed ? 'passed' : d.validation.finishedAt ? 'FAILED' : 'running'} (${d.validation.kind}) ${d.validation.summary ?? ''}`.trimEnd());
  lines.push(`requests: candidate ${d.requests.candidate}, stable ${d.requests.stable}`);
  if (d.history?.length) {
    lines.push('', 'History:', table(d.history.map((e: any) => ({ ...e, at: shortTime(e.at), step: `${e.step}%`, reason: e.reason ?? '' })), ['at', 'event', 'step', 'actor', 'reason']));
  }
  const last = d.analyses?.at(-1);
  if (last) {
    lines.push('', `Last analysis (#${last.seq}, ${shortTime(last.at)}, ${last.decision}):`);
    lines.push(
      table(
        last.monitors.map((m: any) => ({ ...m, required: m.required ? 'yes' : '', p: m.pValue ?? '-', n: `${m.nCandidate}/${m.nStable}` })),
        ['monitor', 'status', 'required', 'n', 'p', 'summary'],
        ['MONITOR', 'STATUS', 'REQUIRED', 'N CAND/STABLE', 'P', 'SUMMARY'],
      ),
    );
  }
  return lines.join('\n');
}

/** Follows a deployment until it is no longer running; returns its final view. */
async function follow(client: ApiClient, id: string, write: (s: string) => void, pollMs: number): Promise<any> {
  let lastKey = '';
  let lastLine = 0;
  for (;;) {
    const d = (await client.get(`/api/v1/deployments/${enc(id)}?analyses=0`)).deployment;
    const key = `${d.status}/${d.phase}/${d.step}`;
    const now = Date.now();
    // A line when the stage changes, and a progress line at most every 5 s in between.
    if (key !== lastKey || now - lastLine >= 5000) {
      write(`${new Date(now).toISOString().slice(11, 19)}  ${phaseOf(d).padEnd(12)} ${d.reason}\n`);
      lastKey = key;
      lastLine = now;
    }
    if (d.status !== 'running') return d;
    await sleep(pollMs);
  }
}

export function registerDeployCommands(program: Command, io: CliEnv): void {
  program
    .command('deploy <model> <version>')
    .description('progressive rollout: golden-set gate, optional shadow, canary steps with automated promote/abort')
    .option('--steps <list>', 'candidate share per step, ending at 100 (default 5,25,50,100)')
    .option('--step-seconds <n>', 'least time per step (default 60)')
    .option('--shadow-percent <n>', 'mirror this share of traffic to the candidate first (default 0: no shadow phase)')
    .option('--min-samples <n>', 'candidate requests per step before it may pass (default 200)')
    .option('--deadline-seconds <n>', 'how long a step waits for enough data')
    .option('--on-insufficient-data <what>', 'at the deadline: wait, abort or ask (pause for a human; default)')
    .option('--sticky-key <key>', 'keep a client on one arm (e.g. user, header:x-client-id)')
    .option('--reason <text>', 'why (audit log)')
    .option('--wait', 'follow the deployment; exit 0 when promoted, 1 when aborted or paused')
    .option('--poll-ms <n>', 'how often --wait polls', '1000')
    .action(async (model: string, version: string, o: Record<string, string | boolean | undefined>, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const body: Record<string, unknown> = { version };
      if (typeof o.steps === 'string') body.steps = parseSteps(o.steps);
      for (const [flag, field] of [
        ['stepSeconds', 'stepSeconds'],
        ['shadowPercent', 'shadowPercent'],
        ['minSamples', 'minSamples'],
        ['deadlineSeconds', 'deadlineSeconds'],
      ] as const) {
        const v = int(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, o[flag] as string | undefined);
        if (v !== undefined) body[field] = v;
      }
      if (o.onInsufficientData) body.onInsufficientData = o.onInsufficientData;
      if (o.stickyKey) body.stickyKey = o.stickyKey;
      if (o.reason) body.reason = o.reason;
      const created = (await client.post(`/api/v1/models/${enc(model)}/deployments`, body)).deployment;
      if (!o.wait) {
        out.print({ deployment: created }, () => `deployment ${created.id} of ${model} ${version} started (${created.steps.join(' → ')}%); follow it with: failsafe deployments show ${created.id}`);
        return;
      }
      if (!out.json) io.stdout(`deployment ${created.id} of ${model} ${version}: ${created.steps.join(' → ')}%, ${created.stepSeconds} s per step\n`);
      const d = await follow(client, created.id, out.json ? () => {} : io.stdout, int('--poll-ms', o.pollMs as string) ?? 1000);
      const final = (await client.get(`/api/v1/deployments/${enc(d.id)}?analyses=1`)).deployment;
      out.print({ deployment: final }, () => `${final.status}: ${model} ${version} (${final.requests.candidate} candidate and ${final.requests.stable} stable requests)`);
      if (final.status === 'promoted') return;
      throw new Error(`deployment ${final.id} ${final.status}: ${final.reason}`);
    });

  const deployments = program.command('deployments').description('show and steer deployments');
  deployments
    .command('list <model>', { isDefault: true })
    .description('deployments of a model, newest first')
    .action(async (model: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/models/${enc(model)}/deployments`);
      out.print(res, () => table(res.deployments.map((d: any) => ({ ...d, step: `${d.step}%`, createdAt: shortTime(d.createdAt) })), ['id', 'version', 'status', 'phase', 'step', 'createdAt', 'reason']));
    });
  deployments
    .command('show <id>')
    .description('one deployment: steps, history and the latest analysis with its numbers')
    .option('--analyses <n>', 'analyses to include', '1')
    .action(async (id: string, o: { analyses: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/deployments/${enc(id)}?analyses=${int('--analyses', o.analyses) ?? 1}`);
      out.print(res, () => describeDeployment(res.deployment));
    });
  for (const op of ['promote', 'pause', 'resume', 'abort'] as const) {
    deployments
      .command(`${op} <id>`)
      .description(`${op} a deployment`)
      .option('--reason <text>', 'why (audit log)')
      .action(async (id: string, o: { reason?: string }, cmd) => {
        const { client, out } = cliContext(cmd, io);
        const res = await client.post(`/api/v1/deployments/${enc(id)}/${op}`, o.reason ? { reason: o.reason } : {});
        out.print(res, () => `${id} is ${res.deployment.status} (${phaseOf(res.deployment)}): ${res.deployment.reason}`);
      });
  }

  program
    .command('validate <model> <version>')
    .description('replay the golden set against a version (staging); exit 0 when it passes')
    .option('--poll-ms <n>', 'how often to poll', '200')
    .action(async (model: string, version: string, o: { pollMs: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      let job = (await client.post(`/api/v1/models/${enc(model)}/versions/${enc(version)}/validate`, {})).validation;
      const bar = progressBar(`validating ${model}@${version}`);
      while (job.status === 'running') {
        if (job.total > 0) bar(job.done, job.total);
        await sleep(int('--poll-ms', o.pollMs) ?? 200);
        job = (await client.get(`/api/v1/validations/${enc(job.id)}`)).validation;
      }
      if (job.total > 0) bar(job.total, job.total);
      const summary = job.result?.summary ?? job.error ?? job.status;
      out.print({ validation: job }, () => summary);
      if (job.status !== 'passed') throw new Error(summary);
    });
}
