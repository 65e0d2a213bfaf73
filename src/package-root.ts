// The directory of Failsafe's package.json. Files shipped beside the code (web/, runbooks/, the
// SQLite writer thread) are found from here, so the same code runs from src/ (tsx, tests) and
// from the bundle in dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; ) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'failsafe') return dir;
      } catch {
        // unreadable manifest: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`failsafe: no package.json of failsafe above ${start}`);
    dir = up;
  }
}

export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package. */
export const packagePath = (...parts: string[]): string => join(packageRoot, ...parts);
