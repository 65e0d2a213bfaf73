// failsafe models | versions | route | pause | resume
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { FailsafeError } from '../../core/errors.ts';
import { enc } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { formatWeights, table } from '../output.ts';

/** `v1=90 v2=10` or `v1:90,v2:10` → {v1: 90, v2: 10} */
export function parseWeights(args: string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const part of args.flatMap((a) => a.split(','))) {
    if (!part) continue;
    const m = /^([^=:]+)[=:](\d+)$/.exec(part.trim());
    if (!m) throw new FailsafeError('BAD_REQUEST', `"${part}" is not VERSION=WEIGHT (e.g. v1=90 v2=10)`);
    weights[m[1]!] = Number(m[2]);
  }
  if (Object.keys(weights).length === 0) throw new FailsafeError('BAD_REQUEST', 'give at least one VERSION=WEIGHT');
  return weights;
}

async function listModels(cmd: Command, io: CliEnv, columns: string[]): Promise<void> {
  const { client, out } = cliContext(cmd, io);
  const res = await client.get('/api/v1/models');
  out.print(res, () => table(res.models.map((m: any) => ({ ...m, weights: formatWeights(m.weights) })), columns));
}

export function registerModelCommands(program: Command, io: CliEnv): void {
  const models = program.command('models').description('list and register models');
  models
    .command('list', { isDefault: true })
    .description('list models with their mode and route')
    .action(async (_o, cmd) => listModels(cmd, io, ['name', 'kind', 'mode', 'weights']));
  models
    .command('register <name>')
    .description('register a model')
    .requiredOption('--kind <kind>', 'chat or predict')
    .option('--tag <tag...>', 'tags (e.g. critical)')
    .action(async (name: string, o: { kind: string; tag?: string[] }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post('/api/v1/models', { name, kind: o.kind, tags: o.tag });
      out.print(res, () => `registered model ${name} (${o.kind})`);
    });

  const versions = program.command('versions').description('list and register versions of a model');
  versions
    .command('list <model>', { isDefault: true })
    .description('list the versions of a model and their states')
    .action(async (model: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/models/${enc(model)}/versions`);
      out.print(res, () =>
        table(
          res.versions.map((v: any) => ({ ...v, upstream: v.upstream?.url, hash: v.contentHash?.slice(0, 12) })),
          ['version', 'state', 'upstream', 'hash', 'createdAt'],
        ),
      );
    });
  versions
    .command('register <model> <version>')
    .description('register an immutable version (from flags or a YAML/JSON spec file)')
    .option('--upstream <url>', 'upstream URL (chat: the OpenAI base URL …/v1; predict: the full :predict URL)')
    .option('--upstream-model <id>', 'upstream model id')
    .option('--prompt <text>', 'system prompt')
    .option('--file <path>', 'YAML or JSON file with {upstream, prompt, params, metadata}')
    .action(async (model: string, version: string, o: { upstream?: string; upstreamModel?: string; prompt?: string; file?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      let spec: Record<string, unknown> = {};
      if (o.file) {
        try {
          spec = parseYaml(readFileSync(o.file, 'utf8')) as Record<string, unknown>;
        } catch (e) {
          throw new FailsafeError('BAD_REQUEST', `cannot read ${o.file}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      if (o.upstream) spec.upstream = { ...(spec.upstream as object), url: o.upstream };
      if (o.upstreamModel) spec.upstream = { ...(spec.upstream as object), model: o.upstreamModel };
      if (o.prompt) spec.prompt = o.prompt;
      if (!spec.upstream) throw new FailsafeError('BAD_REQUEST', 'an upstream is required: --upstream URL or --file spec.yaml');
      const res = await client.post(`/api/v1/models/${enc(model)}/versions`, { version, ...spec });
      out.print(res, () => `registered ${model}@${version}`);
    });

  const route = program.command('route').description('show and change how a model routes traffic');
  route
    .command('list', { isDefault: true })
    .description('routes of every model')
    .action(async (_o, cmd) => listModels(cmd, io, ['name', 'mode', 'weights']));
  route
    .command('show <model>')
    .description('the route a model serves now')
    .action(async (model: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/models/${enc(model)}/route`);
      const r = res.route;
      out.print(res, () =>
        [
          `model:    ${model}`,
          `mode:     ${r.mode}`,
          `weights:  ${formatWeights(r.weights)}`,
          `shadow:   ${r.shadow ? `${r.shadow.version} ${r.shadow.percent}%` : '-'}`,
          `sticky:   ${r.stickyKey ?? '-'}`,
          `revision: ${r.revision} by ${r.updatedBy} at ${r.updatedAt}${r.reason ? ` (${r.reason})` : ''}`,
        ].join('\n'),
      );
    });
  route
    .command('set <model> <weights...>')
    .description('set weights, e.g. `failsafe route set support-bot v1=90 v2=10`')
    .option('--reason <text>', 'why (kept in the route history and audit log)')
    .action(async (model: string, weightArgs: string[], o: { reason?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.put(`/api/v1/models/${enc(model)}/route`, { weights: parseWeights(weightArgs), reason: o.reason });
      out.print(res, () => `${model}: ${formatWeights(res.route.weights)} (revision ${res.route.revision})`);
    });
  route
    .command('history <model>')
    .description('every route change with who, when and why')
    .option('--limit <n>', 'how many', '20')
    .action(async (model: string, o: { limit: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get(`/api/v1/models/${enc(model)}/route/history?limit=${enc(o.limit)}`);
      out.print(res, () =>
        table(
          res.history.map((h: any) => ({ ...h, weights: formatWeights(h.weights) })),
          ['revision', 'at', 'mode', 'weights', 'actor', 'reason'],
        ),
      );
    });

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <model>`)
      .description(action === 'pause' ? 'pause a model: clean 503s or fallback answers' : 'resume serving a paused model')
      .option('--reason <text>', 'why')
      .option('--fallback', 'with pause: serve fallback answers instead of 503')
      .action(async (model: string, o: { reason?: string; fallback?: boolean }, cmd) => {
        const { client, out } = cliContext(cmd, io);
        const res = await client.post(`/api/v1/models/${enc(model)}/${action}`, { reason: o.reason, fallback: o.fallback });
        out.print(res, () => `${model}: ${res.route?.mode ?? action}`);
      });
  }
}
