// `failsafe demo --exit` end to end: the README's first command, in-process.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo/demo.ts';

const dir = mkdtempSync(join(tmpdir(), 'failsafe-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('failsafe demo', () => {
  it('detects, contains and rolls back the bad v3 with no failed client request, and writes the postmortem', async () => {
    const lines: string[] = [];
    const result = await runDemo({ port: 0, exit: true, dir, write: (l) => lines.push(l), stepTimeoutMs: 45_000 });
    const output = lines.join('\n');

    expect(result.incidentId).toMatch(/^INC-/);
    expect(output).toContain(`DETECTED ${result.incidentId}`);
    expect(output).toMatch(/MITIGATED .* support-bot now routes \{"v3":0,"v2":100\}/);
    expect(output).toMatch(/audit chain: verified/);
    // The gateway retries a failed v3 request on the stable version, so no client sees the fault.
    expect(result.clientRequests.sent).toBeGreaterThan(100);
    expect(result.clientRequests.failed).toBe(0);
    // Detection follows the push; how fast is measured by `npm run bench:detect` and `bench:rollback`,
    // not asserted here, since this machine is shared and noisy.
    expect(result.detectedAfterMs).toBeGreaterThan(0);
    expect(result.mitigatedAfterMs).toBeGreaterThan(0);

    // The last line is the postmortem's path, and the file holds the incident's real figures.
    expect(lines.at(-1)).toBe(result.postmortemPath);
    expect(existsSync(result.postmortemPath!)).toBe(true);
    const md = readFileSync(result.postmortemPath!, 'utf8');
    expect(md).toContain(`# Postmortem ${result.incidentId}`);
    expect(md).toMatch(/MTTD: \d/);
    expect(md).toContain('rolled back v3 → v2');
  }, 120_000);
});
