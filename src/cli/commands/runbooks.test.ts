import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRunbookDir } from '../../features/runbooks/runbook-service.ts';
import { openIncident, seedModel, startRunbookServer, type RunbookServer } from '../../features/runbooks/runbook-test-kit.ts';
import { runCli } from '../program.ts';

let s: RunbookServer;
let url: string;
let dir: string;
let id: string;

async function cli(args: string[], token = s.keys.operator): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { env: { FAILSAFE_URL: url, FAILSAFE_TOKEN: token }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  s = await startRunbookServer();
  url = await s.listen();
  dir = mkdtempSync(join(tmpdir(), 'failsafe-cli-runbooks-'));
  await seedModel(s);
  id = (await openIncident(s)).id;
  await s.incidents.addTimelineEvent(id, { kind: 'rca', actor: 'rca', message: 'RCA recorded' });
  await s.feature.runbooks.idle();
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('failsafe checklist / compliance / runbooks', () => {
  it('completes a manual step through the CLI and the compliance report shows it', async () => {
    s.f.clock.advance(20 * 60_000);
    const done = await cli(['checklist', 'complete', id, 'document-issue', '--note', 'JSON broke at 09:00; 12% of support-bot traffic']);
    expect(done).toMatchObject({ code: 0, err: '' });
    expect(done.out).toBe('document-issue is done by key:ops at 2025-03-14 09:20:00Z\n');

    const file = join(dir, 'report.md');
    const report = await cli(['compliance', id, '--out', file]);
    expect(report.code).toBe(0);
    expect(report.err).toBe(`wrote ${file}\n`);
    const md = readFileSync(file, 'utf8');
    expect(md).toContain(`# Compliance report: ${id}`);
    expect(md).toMatch(/\| `document-issue` Document the issue with timestamps and impact scope \| manual \| done \| key:ops \| 2025-03-14 09:20:00Z \| 20m \| 1d \| yes \| JSON broke at 09:00; 12% of support-bot traffic \|/);
    expect(md).toMatch(/sha256 over their hashes/);

    const json = await cli(['--json', 'compliance', id]);
    const parsed = JSON.parse(json.out);
    expect(parsed.compliance.steps.find((x: { id: string }) => x.id === 'document-issue')).toMatchObject({ status: 'done', by: 'key:ops' });
    const range = await cli(['compliance', '--from', '2025-03-14T00:00:00Z', '--to', '2025-03-15T00:00:00Z']);
    expect(range.out).toContain('- Incidents: 1');
    expect(range.out).toContain(`## Compliance report: ${id}`);
  });

  it('shows the checklist in `incidents show` and `checklist`', async () => {
    const show = await cli(['incidents', 'show', id]);
    expect(show.code).toBe(0);
    expect(show.out).toContain('Checklist:');
    expect(show.out).toMatch(/document-issue\s+done\s+manual\s+operator\/compliance\s+2025-03-15 09:00:00Z\s+2025-03-14 09:20:00Z\s+key:ops/);
    const list = await cli(['checklist', id]);
    expect(list.out).toMatch(new RegExp(`^${id} follows SOP-001 v1`));
    expect(list.out).toMatch(/pause-api\s+skipped/);
  });

  it('exits non-zero with one line on refusals', async () => {
    const again = await cli(['checklist', 'complete', id, 'document-issue', '--note', 'again']);
    expect(again.code).toBe(5);
    expect(again.err).toMatch(/^failsafe: step "document-issue" was completed at /);
    const missing = await cli(['checklist', 'complete', id, 'nope', '--note', 'x']);
    expect(missing.code).toBe(3);
    const viewer = await cli(['checklist', 'complete', id, 'review-thresholds', '--answer', 'no'], s.keys.viewer);
    expect(viewer.code).toBe(4);
    const noEvidence = await cli(['checklist', 'complete', id, 'review-thresholds']);
    expect(noEvidence.code).toBe(2);
    expect(noEvidence.err).toBe('failsafe: evidence.answer: step "review-thresholds" needs an answer (yes or no)\n');
    const skip = await cli(['checklist', 'skip', id, 'identify-m1', '--reason', 'no rollback needed']);
    expect(skip.out).toBe('identify-m1 is skipped by key:ops (no rollback needed)\n');
    expect((await cli(['compliance'])).code).toBe(2);
  });

  it('lists, shows and uploads runbooks', async () => {
    const list = await cli(['runbooks']);
    expect(list.out).toMatch(/SOP-001\s+1\s+16\s+AI Model Incident Response and Rollback Procedure/);
    const yaml = await cli(['runbooks', 'show', 'SOP-001', '--yaml']);
    expect(yaml.out).toBe(readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8'));
    const file = join(dir, 'sop.yaml');
    writeFileSync(file, yaml.out.replace('title: Find the root cause from logs, telemetry and input-output traces', 'title: Find the root cause'));
    expect((await cli(['runbooks', 'upload', file])).code).toBe(4); // operator
    const up = await cli(['runbooks', 'upload', file], s.keys.admin);
    expect(up.out).toBe('SOP-001 is now version 2\n');
    expect((await cli(['runbooks', 'upload', file], s.keys.admin)).out).toBe('SOP-001 unchanged (version 2 has this content)\n');
    const show = await cli(['runbooks', 'show', 'SOP-001', '--version', '2']);
    expect(show.out).toMatch(/^SOP-001 v2 \(versions 1, 2\)/);
    expect(show.out).toMatch(/rca\s+automatic\s+rca\s+operator\/engineering\s+detect\s+Find the root cause\n/);
    writeFileSync(file, 'id: SOP-001\ntitle: x\nsteps:\n  - id: a\n    title: a\n    kind: automatic\n    action: reboot\n    owner: {role: operator, audience: engineering}\n');
    const bad = await cli(['runbooks', 'upload', file], s.keys.admin);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^failsafe: request body: steps\[0\]\.action: unknown action "reboot"/);
  });
});
