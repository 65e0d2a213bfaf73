// Bundles the TypeScript sources into dist/failsafe.mjs (esbuild; npm packages stay external).
// The CLI runs the bundle: no TypeScript loader in the server process (about 40 MB less memory,
// a faster start). bin/failsafe.js calls ensureBuilt(), which rebuilds when a source file is newer
// than the bundle, so an edit is never run stale and there is no build step to forget.
//
//   npm run build        (also run by npm install, through "prepare")
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundlePath = join(root, 'dist', 'failsafe.mjs');
const entry = join(root, 'src', 'cli', 'main.ts');

function newestSource(dir, newest = 0) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = newestSource(p, newest);
    else if (/\.(ts|mjs|json)$/.test(e.name) && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Bundles src/ (and what it imports from examples/) into dist/failsafe.mjs; or another entry
 * point into another file with the same settings (bench/gateway.ts runs its gateway that way).
 */
export async function build(options = {}) {
  const outfile = options.outfile ?? bundlePath;
  const esbuild = await import('esbuild');
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [options.entry ?? entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      sourcemap: 'linked',
      sourcesContent: false,
      write: false,
      logLevel: 'silent',
    });
  } finally {
    // The build service is a child process: a long-running server must not keep it around.
    await esbuild.stop();
  }
  mkdirSync(dirname(outfile), { recursive: true });
  // Written beside and renamed: processes starting at the same time never read half a bundle.
  for (const file of [...result.outputFiles].sort((a) => (a.path.endsWith('.map') ? -1 : 1))) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
  return outfile;
}

/** The bundle, rebuilt first when missing or older than a source file. */
export async function ensureBuilt() {
  let built = 0;
  try {
    built = statSync(bundlePath).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'examples')), statSync(join(root, 'package.json')).mtimeMs);
  return built >= sources ? bundlePath : build();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = performance.now();
  await build();
  process.stdout.write(`built ${bundlePath} in ${Math.round(performance.now() - t0)} ms\n`);
}
