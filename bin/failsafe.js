#!/usr/bin/env node
// Runs the bundled CLI (dist/failsafe.mjs), rebuilding it first if a source file changed since.
import { ensureBuilt } from '../scripts/build.mjs';

const bundle = await ensureBuilt();
// Stack traces name src/ files and lines, not the bundle's.
process.setSourceMapsEnabled(true);
const { main } = await import(bundle);
await main();
