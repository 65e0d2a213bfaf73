// The CLI runs a bundle of src/ (scripts/build.mjs): it must build, run without the TypeScript
// loader, and find the files shipped beside the code (web/, runbooks/, the SQLite writer thread).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

type BuildModule = {
  build: (o?: { entry?: string; outfile?: string }) => Promise<string>;
  ensureBuilt: () => Promise<string>;
  bundlePath: string;
};
const specifier: string = '../scripts/build.mjs';
const load = () => import(specifier) as Promise<BuildModule>;

describe('the bundled CLI', () => {
  it('builds into one file that runs with plain node and starts a server on SQLite', async () => {
    const { build } = await load();
    const out = join(process.cwd(), 'node_modules', '.cache', 'failsafe-test', `cli-${process.pid}.mjs`);
    const file = await build({ outfile: out });
    expect(file).toBe(out);
    expect(statSync(out).size).toBeGreaterThan(100_000);
    // Like bin/failsafe.js: argv[2…] are the command's arguments.
    const script = `process.argv.splice(1, 0, 'failsafe'); const { main } = await import(${JSON.stringify(out)}); await main();`;
    const help = execFileSync(process.execPath, ['--input-type=module', '-e', script, '--', 'route', '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/Usage: failsafe route/);
    // Starting a server from the bundle (migrations, runbooks/, web/, the writer thread) is what
    // test/demo.test.ts and test/cli-bin.test.ts do through bin/failsafe.js.
    rmSync(out, { force: true });
    rmSync(`${out}.map`, { force: true });
  });

  it('ensureBuilt leaves a fresh bundle alone', async () => {
    const { ensureBuilt, bundlePath } = await load();
    const first = await ensureBuilt();
    expect(first).toBe(bundlePath);
    expect(existsSync(bundlePath)).toBe(true);
    const mtime = statSync(bundlePath).mtimeMs;
    await ensureBuilt();
    expect(statSync(bundlePath).mtimeMs).toBe(mtime);
  });
});
