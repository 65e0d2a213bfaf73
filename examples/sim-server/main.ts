// CLI: npx tsx examples/sim-server/main.ts --port 9001 [--profile bad-prompt] [--base-latency 30]
import { parseArgs } from 'node:util';
import { isSimProfileName, parseSimFaults, simProfiles } from './sim-faults.ts';
import { startSimServer } from './sim-server.ts';

const usage = `Usage: sim-server [options]
  --port N              port to listen on (default 9001; 0 = any free port)
  --host H              address to bind (default 127.0.0.1)
  --profile NAME        ${Object.keys(simProfiles).join(' | ')} (default good)
  --faults JSON         faults on top of the profile, e.g. '{"errorRate":0.2}'
  --seed N              seed of the fault draws (default 1)
  --base-latency MS     latency of every answer (default 0)
  --chunk-delay MS      pause between streamed chunks (default 0)
  --model ID            model id listed by /v1/models (repeatable; default sim-chat)
  --predict-output K    label | score (default label)
  --name NAME           name shown in /_sim/stats
Control at run time: GET/PUT/PATCH/DELETE /_sim/faults, GET/DELETE /_sim/stats, GET /_sim/requests, POST /_sim/reset`;

function fail(message: string): never {
  process.stderr.write(`sim-server: ${message}\n`);
  process.exit(2);
}

function num(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      profile: { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      'base-latency': { type: 'string' },
      'chunk-delay': { type: 'string' },
      model: { type: 'string', multiple: true },
      'predict-output': { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (err) {
  fail(`${(err as Error).message}\n${usage}`);
}
if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const profile = args.profile ?? 'good';
if (!isSimProfileName(profile)) fail(`unknown profile ${JSON.stringify(profile)}; known: ${Object.keys(simProfiles).join(', ')}`);
let faults;
try {
  faults = args.faults ? parseSimFaults(JSON.parse(args.faults)) : undefined;
} catch (err) {
  fail(`--faults: ${(err as Error).message}`);
}
const predictOutput = args['predict-output'] ?? 'label';
if (predictOutput !== 'label' && predictOutput !== 'score') fail('--predict-output must be label or score');

const server = await startSimServer({
  port: num('port', args.port, 9001),
  host: args.host ?? '127.0.0.1',
  profile,
  faults,
  seed: Math.trunc(num('seed', args.seed, 1)),
  baseLatencyMs: num('base-latency', args['base-latency'], 0),
  streamChunkDelayMs: num('chunk-delay', args['chunk-delay'], 0),
  models: args.model,
  predictOutput,
  name: args.name,
}).catch((err: Error) => fail(err.message));

process.stdout.write(`sim-server listening on ${server.url} (profile ${profile}, faults ${JSON.stringify(server.getFaults())})\n`);

const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
