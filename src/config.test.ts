import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, loadConfigFile, parseConfig } from './config.ts';

// The smallest configuration that must load (DESIGN.md, fixed details).
const smallest = `
storage: sqlite:.failsafe/failsafe.db
models:
  - name: support-bot
    kind: chat
    versions:
      - version: v1
        upstream: { url: "http://127.0.0.1:9001/v1", model: sim-chat }
        stable: true
      - version: v2
        upstream: { url: "http://127.0.0.1:9002/v1", model: sim-chat }
    route: { v2: 100 }
    golden: ./golden/support-bot.jsonl
`;

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'failsafe-config-'));
  const path = join(dir, 'failsafe.yaml');
  writeFileSync(path, text);
  return path;
}

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('configuration', () => {
  it('loads the smallest configuration with defaults filled in', () => {
    const { config, baseDir } = loadConfigFile(write(smallest), {});
    expect(config.storage).toBe('sqlite:.failsafe/failsafe.db');
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 10 * 1024 * 1024 });
    expect(config.models[0]!.versions[0]!.upstream.provider).toBe('openai');
    expect(config.models[0]!.route).toEqual({ v2: 100 });
    expect(baseDir).toMatch(/failsafe-config-/);
    expect(config.runbooks).toEqual({ dirs: [], default: 'SOP-001', select: [] });
  });

  it('loads the example configuration shipped in examples/, whose golden set exists', () => {
    const { config, baseDir } = loadConfigFile('examples/failsafe.yaml', {});
    const bot = config.models.find((m) => m.name === 'support-bot')!;
    expect(bot.versions.map((v) => v.version)).toEqual(['v1', 'v2']);
    expect(existsSync(resolve(baseDir, bot.golden!))).toBe(true);
  });

  it('names the path and the problem of every error', () => {
    const message = errorOf(() =>
      parseConfig({
        models: [
          { name: 'a', kind: 'chat', versions: [{ version: 'v1', upstream: { url: 'http://x/v1' } }] },
          { name: 'b', kind: 'chat', versions: [{ version: 'v1', upstream: { url: 'not a url' } }], route: { v1: 50, v9: 50 }, extra: 1 },
        ],
      }),
    );
    expect(message).toContain('models[1].versions[0].upstream.url: expected a URL');
    expect(message).toContain('models[1].route.v9: unknown version "v9"');
    expect(message).toContain('models[1]: Unrecognized key: "extra"');
    expect(errorOf(() => parseConfig({ models: [{ name: 'a', kind: 'chat', versions: [{ version: 'v1', upstream: { url: 'http://x' } }], route: { v1: 60 } }] }))).toContain(
      'models[0].route: weights must sum to 100',
    );
    expect(errorOf(() => parseConfig({ traces: { redact: ['(unclosed'] } }))).toContain('traces.redact[0]: invalid regex');
    expect(errorOf(() => parseConfig({ runbooks: { select: [{ runbook: 'SOP-002', severities: ['SEV5'] }] } }))).toContain('runbooks.select[0].severities[0]:');
    expect(errorOf(() => parseConfig({ runbooks: { select: [{ families: ['drift'] }] } }))).toContain('runbooks.select[0].runbook:');
    expect(errorOf(() => loadConfigFile(write('models: [oops')))).toMatch(/not valid YAML/);
    expect(errorOf(() => loadConfigFile('/nonexistent/failsafe.yaml'))).toContain('cannot read config /nonexistent/failsafe.yaml: ENOENT');
  });

  it('takes storage and port from the environment', () => {
    const config = parseConfig({}, { FAILSAFE_STORAGE: 'postgres://u@127.0.0.1:5432/db', FAILSAFE_PORT: '9999' });
    expect(config.storage).toBe('postgres://u@127.0.0.1:5432/db');
    expect(config.server.port).toBe(9999);
    expect(errorOf(() => parseConfig({}, { FAILSAFE_PORT: 'eighty' }))).toContain('FAILSAFE_PORT');
  });

  it('generates a JSON Schema for editors from the same definition', () => {
    const schema = configJsonSchema() as { properties: Record<string, any> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['storage', 'server', 'traces', 'models', 'notifications']));
    const model = schema.properties.models.items;
    expect(model.required).toEqual(expect.arrayContaining(['name', 'kind', 'versions']));
    expect(model.properties.kind.enum).toEqual(['chat', 'predict']);
  });
});
