// Detection benchmark: how fast each kind of fault opens an incident, how often healthy traffic
// does (it must not), and how many labels an accuracy drop needs.
//
//   npm run bench:detect                      (about 5 minutes on 2 cores)
//   npm run bench:detect -- --seeds 20        (more simulated healthy hours)
//   npm run bench:detect -- --quick           (fewer seeds, no end-to-end runs)
//
// (a) Time to detect, simulated: the real monitor runner over real metric windows (fake clock),
//     synthetic noisy traffic, one fault switched on per scenario; seconds of faulty data until an
//     incident opened, over several seeds.
// (b) Time to detect, end to end: a real Failsafe in front of simulated model servers, open-loop
//     load through the gateway, the runner ticking every second on the wall clock; milliseconds from
//     the fault's onset to the incident's detectedAt (quality bar: hard faults within 2 s).
// (c) False-alarm rate: simulated healthy, noisy hours through the runner (quality bar: no false
//     incident in an hour).
// (d) Labels needed to see an accuracy drop from 90% to 80% with 95% power (target ≤ 400).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../examples/sim-server/load-client.ts';
import { startSimServer } from '../examples/sim-server/sim-server.ts';
import { parseConfig } from '../src/config.ts';
import { labelsNeededForPower } from '../src/core/stats/sequential.ts';
import { simulateMonitoredTraffic, SIMULATED_MODELS, type SimulatedModel } from '../src/features/monitoring/monitor-simulation.ts';
import type { VersionFault } from '../src/features/monitoring/synthetic-traffic.ts';
import { startFailsafe } from '../src/main.ts';
import { detectionConfig } from '../test/helpers/detection-stack.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
};
const quick = flag('quick');
const HEALTHY_SEEDS = option('seeds', quick ? 2 : 8);
const FAULT_SEEDS = option('fault-seeds', quick ? 2 : 3);
const E2E_RUNS = quick ? 0 : option('e2e-runs', 3);

const chat: SimulatedModel = { name: 'support-bot', kind: 'chat', split: { v1: 0.5, v2: 0.5 }, stable: 'v1' };
const chatLow: SimulatedModel = { ...chat, profile: { minRps: 20, maxRps: 22 } };
const predict: SimulatedModel = { name: 'fraud-scorer', kind: 'predict', split: { v1: 0.5, v2: 0.5 }, stable: 'v1' };
const single: SimulatedModel = { name: 'support-bot', kind: 'chat', split: { v1: 1 }, stable: 'v1' };
const singlePredict: SimulatedModel = { name: 'fraud-scorer', kind: 'predict', split: { v1: 1 }, stable: 'v1' };

interface Scenario {
  name: string;
  model: SimulatedModel;
  version: string;
  fault: VersionFault;
  expect: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'errors 50% (canary, 20–200 req/s)', model: chat, version: 'v2', fault: { errorRate: 0.5 }, expect: 'errors' },
  { name: 'errors 50% (canary, ~10 req/s per arm)', model: chatLow, version: 'v2', fault: { errorRate: 0.5 }, expect: 'errors' },
  { name: 'errors 50% (stable version alone)', model: single, version: 'v1', fault: { errorRate: 0.5 }, expect: 'errors' },
  { name: 'latency ×10 (canary)', model: chat, version: 'v2', fault: { latencyFactor: 10 }, expect: 'latency' },
  { name: 'latency ×10 (stable version alone)', model: single, version: 'v1', fault: { latencyFactor: 10 }, expect: 'latency' },
  { name: 'timeouts 30%', model: chat, version: 'v2', fault: { timeoutRate: 0.3 }, expect: 'errors' },
  { name: 'malformed/invalid outputs 50%', model: chat, version: 'v2', fault: { invalidRate: 0.5 }, expect: 'validity' },
  { name: 'negative feedback 8% → 60%', model: chat, version: 'v2', fault: { negativeShare: 0.6 }, expect: 'feedback' },
  { name: 'accuracy 90% → 60% (late labels)', model: predict, version: 'v2', fault: { accuracy: 0.6 }, expect: 'accuracy' },
  { name: 'accuracy 90% → 80% (late labels)', model: predict, version: 'v2', fault: { accuracy: 0.8 }, expect: 'accuracy' },
  { name: 'input length ×3 (input drift)', model: single, version: 'v1', fault: { inputFactor: 3 }, expect: 'drift' },
  { name: 'features shifted by 1 sd (input drift)', model: singlePredict, version: 'v1', fault: { featureShift: 1 }, expect: 'drift' },
  { name: 'class shares 50/50 → 85/15 (output drift)', model: predict, version: 'v2', fault: { positiveShare: 0.85 }, expect: 'drift' },
  { name: 'output length ×3 (output drift)', model: chat, version: 'v2', fault: { outputFactor: 3 }, expect: 'drift' },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function simulatedTimeToDetect(): Promise<void> {
  console.log(`\n(a) Time to detect, simulated (${FAULT_SEEDS} seeds each; seconds of faulty data until an incident opened)`);
  console.log('scenario'.padEnd(46), 'median'.padStart(7), 'max'.padStart(6), '  incident (severity)');
  // Warm-up long enough for every baseline: the stable arm's 30-minute label window, own history.
  const warm = 700;
  for (const s of SCENARIOS) {
    const delays: number[] = [];
    const seen = new Map<string, number>();
    let missed = 0;
    let early = 0;
    for (let seed = 1; seed <= FAULT_SEEDS; seed++) {
      const r = await simulateMonitoredTraffic({
        seed,
        seconds: warm + 900,
        models: [s.model],
        faults: [{ atSecond: warm, model: s.model.name, version: s.version, fault: s.fault }],
        stopOnIncidentAfter: warm,
      });
      early += r.incidents.filter((i) => i.detectedAt < Date.UTC(2025, 0, 1) + warm * 1000).length;
      if (!r.detection) {
        missed++;
        continue;
      }
      delays.push(r.detection.afterFaultSeconds);
      const key = `${r.detection.incident.version}/${r.detection.incident.family} (${r.detection.incident.severity})`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const what = [...seen].map(([k, n]) => (seen.size > 1 ? `${k}×${n}` : k)).join(', ');
    console.log(
      s.name.padEnd(46),
      (delays.length ? `${median(delays)} s` : '—').padStart(7),
      (delays.length ? `${Math.max(...delays)} s` : '—').padStart(6),
      ` ${what}${missed ? `; missed ${missed}/${FAULT_SEEDS} within 900 s` : ''}${early ? `; ${early} incident(s) before the fault!` : ''}`,
    );
  }
}

async function endToEndTimeToDetect(): Promise<void> {
  if (E2E_RUNS === 0) return;
  console.log(`\n(b) Time to detect, end to end through the gateway (${E2E_RUNS} runs each; ms from onset to detectedAt, target ≤ 2000 ms)`);
  const faults: Array<[string, Record<string, number>]> = [
    ['errors 50% on v2', { errorRate: 0.5 }],
    ['latency ×10 on v2', { latencyMultiplier: 10 }],
    ['malformed 50% on v2', { malformedRate: 0.5 }],
  ];
  for (const [name, fault] of faults) {
    const times: number[] = [];
    const incidents: string[] = [];
    for (let run = 0; run < E2E_RUNS; run++) {
      const dir = mkdtempSync(join(tmpdir(), 'failsafe-bench-detect-'));
      const v1 = await startSimServer({ seed: 1 + run, baseLatencyMs: 20 });
      const v2 = await startSimServer({ seed: 100 + run, baseLatencyMs: 20 });
      const env = { ...process.env, FAILSAFE_LOG_LEVEL: 'silent' };
      const raw = detectionConfig(`sqlite:${join(dir, 'failsafe.db')}`, { v1, v2 });
      const fs = await startFailsafe({ config: { config: parseConfig(raw, env), baseDir: dir }, port: 0, host: '127.0.0.1', env, background: true });
      try {
        const traffic = runLoad({ url: fs.url, path: '/v1/chat/completions', body: (i) => ({ model: 'support-bot', user: `c${i % 9}`, messages: [{ role: 'user', content: `question ${i}` }] }), rps: 200, durationMs: 8000 });
        await new Promise((r) => setTimeout(r, 3000 + Math.random() * 1000));
        const onset = Date.now();
        v2.setFaults(fault);
        let found: { detectedAt: number; family: string; severity: string } | undefined;
        while (!found && Date.now() - onset < 10_000) {
          const list = await fs.ctx.services.incidents.list();
          if (list.length) found = list[list.length - 1];
          else await new Promise((r) => setTimeout(r, 20));
        }
        await traffic;
        if (found) {
          times.push(found.detectedAt - onset);
          incidents.push(`${found.family}/${found.severity}`);
        } else times.push(Infinity);
      } finally {
        await fs.close();
        await Promise.all([v1.close(), v2.close()]);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const finite = times.filter(Number.isFinite);
    console.log(`${name.padEnd(24)} ${times.map((t) => (Number.isFinite(t) ? `${t} ms` : 'missed')).join(', ').padEnd(28)} max ${finite.length ? Math.max(...finite) : '—'} ms  [${[...new Set(incidents)].join(', ')}]`);
  }
}

async function falseAlarms(): Promise<void> {
  console.log(`\n(c) False alarms over ${HEALTHY_SEEDS} simulated healthy, noisy hours (3 live versions × 10 monitors, every second)`);
  let evaluations = 0;
  let breaches = 0;
  let incidents = 0;
  let requests = 0;
  let hoursWithIncident = 0;
  const started = Date.now();
  for (let i = 0; i < HEALTHY_SEEDS; i++) {
    const r = await simulateMonitoredTraffic({ seed: 5001 + i, seconds: 3600, models: SIMULATED_MODELS });
    evaluations += r.evaluations;
    breaches += r.breaches;
    incidents += r.incidents.length;
    requests += r.requests;
    if (r.incidents.length) hoursWithIncident++;
    if (r.breaches) console.log(`  seed ${r.seed}: ${r.breaches} breaches ${JSON.stringify(r.breachesByMonitor)}; first: ${r.firstBreaches[0]?.evidence.detail?.slice(0, 200)}`);
  }
  console.log(`  ${requests} requests, ${evaluations} monitor evaluations (${((Date.now() - started) / HEALTHY_SEEDS / 1000).toFixed(1)} s per simulated hour)`);
  console.log(`  breaching evaluations: ${breaches} (false-alarm rate per evaluation ${breaches / evaluations})`);
  console.log(`  false incidents: ${incidents}; hours with a false incident: ${hoursWithIncident}/${HEALTHY_SEEDS} (target 0)`);
}

function labels(): void {
  console.log('\n(d) Labels needed to detect an accuracy drop 90% → 80% with 95% power (1000 simulated label streams)');
  const oneSample = labelsNeededForPower(0.9, 0.8, 0.05, 0.95, 1000);
  console.log(`  always-valid one-sided mSPRT vs a known 90%, α = 0.05, tested after every label: ${oneSample} labels (target ≤ 400)`);
  const strict = labelsNeededForPower(0.9, 0.8, 0.001, 0.95, 1000);
  console.log(`  same at α = 0.001 (the monitors' per-look level for sliding windows): ${strict} labels`);
  const sprt = labelsNeededForPower(0.9, 0.8, 0.05, 0.95, 1000, { method: 'sprt' });
  console.log(`  Wald's SPRT (the effect known in advance), α = 0.05: ${sprt} labels`);
}

labels();
await simulatedTimeToDetect();
await endToEndTimeToDetect();
await falseAlarms();
