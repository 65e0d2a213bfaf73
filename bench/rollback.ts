// Time to contain and to mitigate, and failed client requests, for a bad deploy under load.
//
//   npm run bench:rollback              (5 trials, 200 requests/s)
//   npm run bench:rollback -- --trials 3 --rps 100
//   npm run bench:rollback -- --storage postgres://postgres@127.0.0.1:5432/emptydb
//
// One real Failsafe (startFailsafe, SQLite file unless --storage says otherwise) in front of
// simulated upstreams: v1 and v2 stable (v2 = M-1), and per trial a new version registered on the
// v3 upstream and given all traffic. Under a steady paced load, the new version starts failing half
// its requests; the monitors detect it and open an incident (with `--manual`, or when no monitors
// are wired, the incident is opened through the API as an alert would, 300 ms after the fault).
// The playbook contains and rolls back after validating M-1 on the golden set (32 cases).
// Measured per trial:
//   - fault → detection (real detection only),
//   - detection → route change of the containment (the playbook's own timing, and clock time),
//   - detection → rollback switch and → incident mitigated,
//   - failed client requests over the whole trial (non-2xx or network error).
// Quality bars: contained within 100 ms, mitigated within 5 s, no failed request.
import { performance } from 'node:perf_hooks';
import { runLoad } from '../examples/sim-server/load-client.ts';
import { chatBody, startRollbackStack, waitFor } from '../test/helpers/rollback-stack.ts';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const TRIALS = arg('trials', 5);
const RPS = arg('rps', 200);
const MANUAL = argv.includes('--manual');
/** --storage postgres://…: the same run on PostgreSQL (an empty database; the stack migrates it). */
const STORAGE = argv.includes('--storage') ? argv[argv.indexOf('--storage') + 1] : undefined;
const BARS = { detectMs: 2_000, containMs: 100, mitigateMs: 5_000, failed: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

async function main() {
  // Whatever severity the monitors judge, contain and roll back (the bars are about SEV1-SEV2 playbooks).
  const stack = await startRollbackStack({ storage: STORAGE, containment: { playbook: { maxAutoRollbacks: 1000, SEV3: { contain: 'auto', rollback: 'auto' } } } });
  const realDetection = !MANUAL && Object.keys(stack.fs.ctx.services).some((k) => /monitor/i.test(k));
  console.log(`detection: ${realDetection ? 'the monitors (real detection)' : 'incident opened through the API'}`);
  const rows: Array<Record<string, number | string>> = [];
  try {
    for (let t = 1; t <= TRIALS; t++) {
      const version = `v3-${t}`;
      stack.sims.v3.setFaults({});
      const reg = await stack.api('POST', '/api/v1/models/support-bot/versions', { version, upstream: { url: `${stack.sims.v3.url}/v1`, model: 'sim-chat' } });
      if (reg.status !== 201) throw new Error(`register ${version}: ${JSON.stringify(reg.body)}`);
      const load = runLoad({ url: stack.fs.url, path: '/v1/chat/completions', body: chatBody, rps: RPS, durationMs: 6_000, timeoutMs: 10_000 });
      await sleep(400);
      await stack.api('PUT', '/api/v1/models/support-bot/route', { weights: { [version]: 100 }, reason: `deploy ${version}` });
      await sleep(400);
      const faultAt = Date.now();
      stack.sims.v3.setFaults({ errorRate: 0.5 });
      const t0 = performance.now();
      if (!realDetection) {
        await sleep(300);
        await stack.api('POST', '/api/v1/incidents', { model: 'support-bot', version, family: 'errors', severity: 'SEV2', title: `${version} error rate 50%` });
      }
      // The incident of this version that got rolled back (monitors may open one per signal family).
      const incident = await waitFor(async () => {
        const list = (await stack.api('GET', '/api/v1/incidents?model=support-bot')).body.incidents.filter((i: any) => i.version === version);
        const done = list.find((i: any) => i.status === 'mitigated');
        return done ? (await stack.api('GET', `/api/v1/incidents/${done.id}`)).body.incident : undefined;
      }, 20_000, 5);
      const id = incident.id as string;
      const wallMs = performance.now() - t0;
      const result = await load;
      const actions = (await stack.api('GET', `/api/v1/incidents/${id}/actions`)).body.actions;
      const contain = actions.find((a: any) => a.kind === 'contain');
      const rb = (await stack.api('GET', `/api/v1/rollbacks/${actions.find((a: any) => a.kind === 'rollback').result.rollbackId}`)).body.rollback;
      const detectedAt = Date.parse(incident.detectedAt);
      rows.push({
        trial: t,
        faultToDetectionMs: realDetection ? detectedAt - faultAt : '-',
        containFromEventMs: contain.result.latency.fromEventMs,
        containFromDetectionMs: contain.result.latency.fromDetectionMs,
        isolateCallMs: contain.result.durationMs,
        switchFromDetectionMs: Date.parse(rb.switchedAt) - detectedAt,
        mitigatedFromDetectionMs: Date.parse(incident.mitigatedAt) - detectedAt,
        faultToMitigatedWallMs: Math.round(wallMs),
        validationMs: Math.round(Date.parse(rb.validations[0].finishedAt) - Date.parse(rb.validations[0].startedAt)),
        goldenCases: rb.validation.total,
        sent: result.sent,
        failed: result.failed,
      });
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  } finally {
    await stack.close();
  }

  const col = (k: string) => rows.map((r) => Number(r[k]));
  const detect = realDetection ? col('faultToDetectionMs') : [];
  const summary = {
    trials: rows.length,
    detection: realDetection ? 'monitors' : 'api',
    faultToDetectionMs: realDetection ? { p50: pct(detect, 0.5), max: Math.max(...detect) } : null,
    rps: RPS,
    containFromEventMs: { p50: pct(col('containFromEventMs'), 0.5), max: Math.max(...col('containFromEventMs')) },
    containFromDetectionMs: { p50: pct(col('containFromDetectionMs'), 0.5), max: Math.max(...col('containFromDetectionMs')) },
    mitigatedFromDetectionMs: { p50: pct(col('mitigatedFromDetectionMs'), 0.5), max: Math.max(...col('mitigatedFromDetectionMs')) },
    requests: col('sent').reduce((a, b) => a + b, 0),
    failedRequests: col('failed').reduce((a, b) => a + b, 0),
  };
  const ok = {
    detect: !realDetection || summary.faultToDetectionMs!.max <= BARS.detectMs,
    contain: summary.containFromDetectionMs.max <= BARS.containMs,
    mitigate: summary.mitigatedFromDetectionMs.max <= BARS.mitigateMs,
    noFailures: summary.failedRequests === BARS.failed,
  };
  console.log('\nrollback benchmark');
  if (summary.faultToDetectionMs) {
    console.log(`  fault → detection (monitors): p50 ${summary.faultToDetectionMs.p50} ms, max ${summary.faultToDetectionMs.max} ms (bar ${BARS.detectMs} ms) ${ok.detect ? 'OK' : 'MISSED'}`);
  }
  console.log(`  detection → containment (route live): p50 ${summary.containFromDetectionMs.p50} ms, max ${summary.containFromDetectionMs.max} ms (bar ${BARS.containMs} ms) ${ok.contain ? 'OK' : 'MISSED'}`);
  console.log(`    (incident event → route live, measured in the playbook: p50 ${summary.containFromEventMs.p50} ms, max ${summary.containFromEventMs.max} ms)`);
  console.log(`  detection → mitigated (validated rollback): p50 ${summary.mitigatedFromDetectionMs.p50} ms, max ${summary.mitigatedFromDetectionMs.max} ms (bar ${BARS.mitigateMs} ms) ${ok.mitigate ? 'OK' : 'MISSED'}`);
  console.log(`  failed client requests: ${summary.failedRequests} of ${summary.requests} (bar ${BARS.failed}) ${ok.noFailures ? 'OK' : 'MISSED'}`);
  console.log(JSON.stringify({ summary, ok }));
  process.exitCode = ok.detect && ok.contain && ok.mitigate && ok.noFailures ? 0 : 1;
}

await main();
