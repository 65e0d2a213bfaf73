// Canary benchmark: how each kind of candidate fares in a real Failsafe (gateway, SQLite traces,
// metric windows) in front of simulated model servers, one scenario at a time under steady load.
// For each: the decision, the step it was taken at, how many requests it took (candidate and
// stable arm), the time from the first canary step to the decision, and client requests failed.
//
//   npm run bench:canary -- [--rps 500] [--steps 5,25,50,100] [--step-seconds 2] [--only good,slow]
import { parseArgs } from 'node:util';
import { chatRequest, drive, startCanaryStack, type ScenarioSpec } from '../test/helpers/canary-stack.ts';

const { values } = parseArgs({
  options: {
    rps: { type: 'string', default: '500' },
    steps: { type: 'string', default: '5,25,50,100' },
    'step-seconds': { type: 'string', default: '2' },
    only: { type: 'string' },
    'max-seconds': { type: 'string', default: '120' },
  },
});
const rps = Number(values.rps);
const steps = values.steps!.split(',').map(Number);
const stepSeconds = Number(values['step-seconds']);
const maxMs = Number(values['max-seconds']) * 1000;

interface Scenario extends ScenarioSpec {
  label: string;
  rps: number;
  longEvery?: number;
  deploy?: Record<string, unknown>;
}

const all: Scenario[] = [
  { label: 'good candidate', model: 'good', candidate: {}, rps },
  { label: 'fails on long inputs (2.5% of traffic)', model: 'long', candidate: { faults: { longInputFailureChars: 1000 } }, rps, longEvery: 40 },
  { label: 'invalid JSON 3% of the time', model: 'json', candidate: { faults: { malformedRate: 0.03 } }, json: true, rps },
  { label: '40% slower (28 ms vs 20 ms)', model: 'slow', candidate: { baseLatencyMs: 28 }, rps },
  { label: 'low traffic (5 req/s)', model: 'quiet', candidate: {}, rps: 5, deploy: { deadlineSeconds: 20 } },
];
const scenarios = values.only ? all.filter((s) => values.only!.split(',').includes(s.model)) : all;

const stack = await startCanaryStack(scenarios);
const rows: Array<Record<string, string | number>> = [];
try {
  for (const sc of scenarios) {
    const res = await stack.api('POST', `/api/v1/models/${sc.model}/deployments`, { version: 'v2', steps, stepSeconds, ...sc.deploy });
    if (res.status !== 201) throw new Error(`${sc.model}: ${JSON.stringify(res.body)}`);
    const id = res.body.deployment.id as string;
    const get = async () => (await stack.api('GET', `/api/v1/deployments/${id}?analyses=1`)).body.deployment;
    const load = await drive(stack.url, chatRequest(sc.model, { json: sc.json, longEvery: sc.longEvery }), sc.rps, async () => (await get()).status !== 'running', maxMs);
    const d = await get();
    const firstStep = d.history.find((e: { event: string }) => e.event === 'step');
    const decidedAt = Date.parse(d.finishedAt ?? d.updatedAt);
    const seconds = firstStep ? ((decidedAt - Date.parse(firstStep.at)) / 1000).toFixed(1) : '-';
    const by = d.status === 'aborted' ? (d.analyses.at(-1)?.monitors.find((m: { status: string }) => m.status === 'breach')?.monitor ?? '-') : '-';
    rows.push({
      candidate: sc.label,
      decision: d.status,
      step: `${d.step}%`,
      'decided by': by,
      'candidate req': d.requests.candidate,
      'stable req': d.requests.stable,
      'total req': d.requests.candidate + d.requests.stable,
      'seconds in canary': seconds,
      'client failures': load.failed,
    });
    console.error(`${sc.model}: ${d.status} at ${d.step}% — ${d.reason.slice(0, 240)}`);
    if (d.status === 'paused') await stack.api('POST', `/api/v1/deployments/${id}/abort`, { reason: 'benchmark' });
  }
} finally {
  await stack.close();
}

const columns = Object.keys(rows[0] ?? {});
const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(`\ncanary benchmark: steps ${steps.join(' → ')}%, ${stepSeconds} s per step, ${rps} req/s (low-traffic scenario: 5 req/s), defaults otherwise`);
console.log(line(columns));
for (const r of rows) console.log(line(columns.map((c) => String(r[c]))));
