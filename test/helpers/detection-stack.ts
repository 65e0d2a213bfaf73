// The Failsafe config that the end-to-end detection tests (postmortem, replicas) and the detection
// benchmark run: support-bot (chat) split half and half between a stable v1 and a candidate v2, each
// on its own simulated model server, with traces flushed every 50 ms so that a fault's traces are
// on disk soon after it starts. The dashboard stack serves the same support-bot.

export interface DetectionConfigOptions {
  /** Extra keys on the support-bot model config (golden set, fallbacks, ...). */
  supportBot?: Record<string, unknown>;
  /** More models after support-bot. */
  models?: Record<string, unknown>[];
}

/** support-bot: v1 (stable) and v2 on their own simulated servers, half the traffic each unless `extra` routes it. */
export function supportBotModel(sims: { v1: { url: string }; v2: { url: string } }, extra: Record<string, unknown> = {}) {
  return {
    name: 'support-bot',
    kind: 'chat',
    versions: [
      { version: 'v1', upstream: { url: `${sims.v1.url}/v1`, model: 'sim-chat' }, stable: true },
      { version: 'v2', upstream: { url: `${sims.v2.url}/v1`, model: 'sim-chat' } },
    ],
    route: { v1: 50, v2: 50 },
    ...extra,
  };
}

/** Raw config (for parseConfig) over `storage` (a `sqlite:` path or a PostgreSQL URL). */
export function detectionConfig(storage: string, sims: { v1: { url: string }; v2: { url: string } }, options: DetectionConfigOptions = {}) {
  return {
    storage,
    traces: { flushIntervalMs: 50 },
    models: [supportBotModel(sims, options.supportBot), ...(options.models ?? [])],
  };
}
