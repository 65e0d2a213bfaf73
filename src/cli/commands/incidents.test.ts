import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIncidentServer, type IncidentServer } from '../../../test/helpers/incident-server.ts';
import { runCli } from '../program.ts';

let s: IncidentServer;
let url: string;

async function cli(args: string[], token = s.keys.operator): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    env: { FAILSAFE_URL: url, FAILSAFE_TOKEN: token },
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  return { code, out, err };
}

beforeAll(async () => {
  s = await startIncidentServer({ clockStart: Date.UTC(2025, 2, 14, 9, 0) });
  url = await s.listen();
  await s.feature.incidents.openOrUpdate({
    monitor: 'error-rate',
    family: 'errors',
    model: 'support-bot',
    version: 'v2',
    status: 'breach',
    at: Date.UTC(2025, 2, 14, 9, 0),
    evidence: { test: 'two-proportion z', statistic: 8.2, threshold: 3.5, detail: 'error rate 12% vs 0.4%' },
  });
});
afterAll(async () => {
  await s.close();
});

describe('failsafe incidents', () => {
  it('lists as a table and as JSON', async () => {
    const table = await cli(['incidents']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^ID\s+SEVERITY\s+STATUS\s+MODEL\s+VERSION\s+DETECTEDAT\s+TITLE/);
    expect(table.out).toContain('INC-20250314-001  SEV2      open    support-bot  v2');
    const json = await cli(['--json', 'incidents', 'list', '--status', 'open']);
    expect(JSON.parse(json.out).incidents[0].id).toBe('INC-20250314-001');
    expect(JSON.parse((await cli(['--json', 'incidents', 'list', '--status', 'resolved'])).out).incidents).toEqual([]);
  });

  it('acks, notes, sets severity, shows the timeline, resolves; errors exit non-zero with one line', async () => {
    expect((await cli(['incidents', 'ack', 'INC-20250314-001'])).out).toBe('INC-20250314-001 is acknowledged\n');
    expect((await cli(['incidents', 'note', 'INC-20250314-001', 'rolling', 'back'])).code).toBe(0);
    expect((await cli(['incidents', 'severity', 'INC-20250314-001', 'SEV1', '--reason', 'all users'])).out).toBe('INC-20250314-001 is SEV1\n');
    const show = await cli(['incidents', 'show', 'INC-20250314-001']);
    expect(show.out).toContain('INC-20250314-001  SEV1  acknowledged  support-bot v2  (errors, monitor)');
    expect(show.out).toContain('Timeline:');
    expect(show.out).toMatch(/note\s+key:ops\s+rolling back/);
    expect((await cli(['incidents', 'resolve', 'INC-20250314-001', '--reason', 'rolled back'])).out).toBe('INC-20250314-001 is resolved\n');

    const invalid = await cli(['incidents', 'ack', 'INC-20250314-001']);
    expect(invalid.code).toBe(5);
    expect(invalid.err).toMatch(/^failsafe: incident INC-20250314-001 is resolved; it cannot become acknowledged/);
    const missing = await cli(['incidents', 'show', 'INC-nope']);
    expect(missing.code).toBe(3);
    const viewer = await cli(['incidents', 'ack', 'INC-20250314-001'], s.keys.viewer);
    expect(viewer.code).toBe(4);
    const noReason = await cli(['incidents', 'decline', 'INC-20250314-001']);
    expect(noReason.code).toBe(2);
  });

  it('declines with a reason', async () => {
    const r = await s.feature.incidents.openManual({ model: 'fraud-scorer', title: 'odd scores' }, { actor: 'test' });
    const res = await cli(['incidents', 'decline', r.incident!.id, '--reason', 'load test']);
    expect(res.code).toBe(0);
    expect(res.out).toBe(`${r.incident!.id} is declined: load test\n`);
  });
});
