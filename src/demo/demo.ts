// `failsafe demo`: the whole incident procedure on the embedded store and simulated model servers.
// It drives the product the way a user would, through the HTTP API and the OpenAI-compatible
// gateway, and narrates what Failsafe does on its own: detection, containment, RCA, validated
// rollback and the postmortem.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSimServer, type SimServer } from '../../examples/sim-server/sim-server.ts';
import { runLoad } from '../../examples/sim-server/load-client.ts';
import { ApiClient } from '../cli/api-client.ts';
import { parseConfig } from '../config.ts';
import { startFailsafe, type RunningFailsafe } from '../main.ts';
import { demoPrompts, demoConfig } from './demo-config.ts';

export interface DemoOptions {
  port: number;
  host?: string;
  /** End after the postmortem instead of leaving the server and dashboard up. */
  exit: boolean;
  /** Where the demo's database and postmortem go. */
  dir?: string;
  write?: (line: string) => void;
  /** Give up waiting for a step after this long. */
  stepTimeoutMs?: number;
}

export interface DemoResult {
  postmortemPath?: string;
  incidentId?: string;
  clientRequests: { sent: number; failed: number };
  detectedAfterMs?: number;
  mitigatedAfterMs?: number;
  running?: RunningFailsafe;
  stop(): Promise<void>;
}

interface TrafficStats {
  sent: number;
  ok: number;
  failed: number;
  byVersion: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const t0 = Date.now();
  const say = (msg: string) => write(`[${new Date().toISOString().slice(11, 23)} +${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const dir = resolve(options.dir ?? '.failsafe/demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  say('starting three simulated model servers: v1 (old stable), v2 (stable), v3 (a new prompt that misbehaves)');
  const sims: Record<'v1' | 'v2' | 'v3', SimServer> = {
    v1: await startSimServer({ name: 'v1', seed: 1, baseLatencyMs: 15 }),
    v2: await startSimServer({ name: 'v2', seed: 2, baseLatencyMs: 12 }),
    v3: await startSimServer({ name: 'v3', seed: 3, baseLatencyMs: 14 }),
  };
  const predictSim = await startSimServer({ name: 'fraud', seed: 4, baseLatencyMs: 5 });

  const adminKey = `fsk_demo${randomBytes(16).toString('hex')}`;
  const config = parseConfig(demoConfig({ dir, sims, predictUrl: predictSim.url }), {});
  const running = await startFailsafe({
    config: { config, baseDir: resolve('.') },
    port: options.port,
    host: options.host,
    env: { ...process.env, FAILSAFE_ADMIN_KEY: adminKey, FAILSAFE_LOG_LEVEL: process.env.FAILSAFE_LOG_LEVEL ?? 'error' },
  });
  const api = new ApiClient({ url: running.url, token: adminKey });
  say(`Failsafe is up at ${running.url} (SQLite at ${dir}/failsafe.db)`);
  say(`dashboard: ${running.url}/   admin key: ${adminKey}`);

  const traffic: TrafficStats = { sent: 0, ok: 0, failed: 0, byVersion: {} };
  let trafficOn = true;
  const trafficLoop = driveTraffic(running.url, traffic, () => trafficOn);
  const labelLoop = driveLabels(running.url, api, () => trafficOn);

  const stopAll = async () => {
    trafficOn = false;
    await Promise.allSettled([trafficLoop, labelLoop]);
    await running.close();
    for (const sim of [...Object.values(sims), predictSim]) await sim.close();
  };

  try {
    say('sending steady traffic to support-bot (v2 serves 100%), with user ratings and late labels for fraud-scorer');
    await sleep(6_000);
    say(`baseline: ${traffic.sent} requests, ${traffic.failed} failed; versions ${JSON.stringify(traffic.byVersion)}`);

    say('a hurried hotfix pushes v3 straight to 100% of support-bot traffic, without a canary');
    sims.v3.setFaults({ errorRate: 0.35, wrongOutputRate: 0.3 });
    const deployedAt = Date.now();
    await api.put('/api/v1/models/support-bot/route', { weights: { v3: 100 }, reason: 'hotfix: new prompt (demo)' });

    const incident = await waitFor(stepTimeoutMs, async () => {
      const res = await api.get('/api/v1/incidents?model=support-bot');
      return res.incidents.find((i: { version?: string }) => i.version === 'v3');
    });
    if (!incident) throw new Error('no incident was detected within the step timeout');
    const detectedAfterMs = Date.parse(incident.detectedAt) - deployedAt;
    say(`DETECTED ${incident.id}: ${incident.severity} "${incident.title}" ${(detectedAfterMs / 1000).toFixed(2)} s after the push`);

    const printed = new Set<number>();
    const narrateTimeline = async () => {
      const detail = (await api.get(`/api/v1/incidents/${incident.id}`)).incident;
      for (const ev of detail.timeline as Array<{ id: number; at: string; kind: string; message: string }>) {
        if (printed.has(ev.id) || ev.kind === 'evidence') continue;
        printed.add(ev.id);
        say(`  timeline ${ev.at.slice(11, 23)} ${ev.kind.padEnd(14)} ${ev.message}`);
      }
      return detail;
    };

    const mitigated = await waitFor(stepTimeoutMs, async () => {
      const detail = await narrateTimeline();
      return ['mitigated', 'resolved', 'reviewed'].includes(detail.status) ? detail : undefined;
    });
    if (!mitigated) throw new Error(`incident ${incident.id} was not mitigated within the step timeout`);
    const mitigatedAfterMs = Date.parse(mitigated.mitigatedAt) - Date.parse(mitigated.detectedAt);
    const route = (await api.get('/api/v1/models/support-bot/route')).route;
    say(`MITIGATED ${((mitigatedAfterMs) / 1000).toFixed(2)} s after detection; support-bot now routes ${JSON.stringify(route.weights)}`);

    const rca = await api.get(`/api/v1/incidents/${incident.id}/rca`);
    for (const h of rca.hypotheses.slice(0, 3)) {
      say(`  RCA ${h.category.padEnd(24)} confidence ${Number(h.confidence).toFixed(2)}  ${h.summary}`);
    }

    await sleep(2_000); // a little post-rollback traffic, so the postmortem shows recovery
    await narrateTimeline();
    const markdown = await api.request<string>('GET', `/api/v1/incidents/${incident.id}/postmortem`, undefined, 'text/markdown');
    const postmortemPath = resolve(dir, `postmortem-${incident.id}.md`);
    writeFileSync(postmortemPath, markdown);
    say(`client requests so far: ${traffic.sent} sent, ${traffic.failed} failed; served by ${JSON.stringify(traffic.byVersion)}`);
    const verify = await api.get('/api/v1/audit/verify');
    say(`audit chain: ${verify.ok ? 'verified' : 'BROKEN'} (${verify.entries} entries)`);
    say(`postmortem written to ${postmortemPath}`);

    const result: DemoResult = {
      postmortemPath,
      incidentId: incident.id,
      clientRequests: { sent: traffic.sent, failed: traffic.failed },
      detectedAfterMs,
      mitigatedAfterMs,
      running,
      stop: stopAll,
    };
    if (options.exit) {
      await stopAll();
      write(postmortemPath);
    } else {
      say(`the dashboard stays up at ${running.url}/ (log in with the admin key above); Ctrl-C to stop`);
    }
    return result;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function waitFor<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(200);
  }
  return undefined;
}

/** Chat traffic at a steady rate in 2-second rounds, with a rating for one answer in five. */
async function driveTraffic(url: string, stats: TrafficStats, on: () => boolean): Promise<void> {
  let n = 0;
  while (on()) {
    const ratings: Array<{ requestId: string; rating: 1 | -1 }> = [];
    const result = await runLoad({
      url,
      path: '/v1/chat/completions',
      rps: 40,
      durationMs: 2_000,
      body: () => {
        const prompt = demoPrompts[n++ % demoPrompts.length]!;
        return { model: 'support-bot', messages: [{ role: 'user', content: prompt }], user: `user-${n % 37}` };
      },
      onResponse: (r) => {
        const version = String(r.headers['x-failsafe-version'] ?? 'none');
        stats.byVersion[version] = (stats.byVersion[version] ?? 0) + 1;
        const requestId = r.headers['x-request-id'];
        if (r.status === 200 && typeof requestId === 'string' && r.i % 5 === 0) {
          ratings.push({ requestId, rating: looksHelpful(r.body) ? 1 : -1 });
        }
      },
    });
    stats.sent += result.sent;
    stats.ok += result.ok;
    stats.failed += result.failed;
    await Promise.allSettled(
      ratings.map((f) =>
        fetch(`${url}/api/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) }),
      ),
    );
  }
}

/** A user's judgement of an answer: the simulated model's good answers restate the question. */
function looksHelpful(body: string): boolean {
  try {
    const content = JSON.parse(body).choices?.[0]?.message?.content;
    return typeof content === 'string' && content.startsWith('About "');
  } catch {
    return false;
  }
}

/** fraud-scorer predictions whose ground-truth labels arrive a few seconds later. */
async function driveLabels(url: string, api: ApiClient, on: () => boolean): Promise<void> {
  let seq = 0;
  while (on()) {
    const pending: Array<{ requestId: string; label: string }> = [];
    await runLoad({
      url,
      path: '/v1/models/fraud-scorer:predict',
      rps: 10,
      durationMs: 2_000,
      body: () => {
        const x = Math.sin(++seq) * 3;
        return { instances: [[x, Math.cos(seq)]] };
      },
      onResponse: (r) => {
        const requestId = r.headers['x-request-id'];
        if (r.status !== 200 || typeof requestId !== 'string') return;
        const prediction = JSON.parse(r.body).predictions?.[0];
        pending.push({ requestId, label: String(prediction) });
      },
    });
    await sleep(1_000); // labels arrive late
    await Promise.allSettled(pending.map((p) => api.post('/api/v1/feedback', p)));
  }
}
