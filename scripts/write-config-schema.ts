// Writes failsafe.schema.json (for editors: `# yaml-language-server: $schema=./failsafe.schema.json`)
// from the same zod definition that validates failsafe.yaml at load time.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config.ts';

const out = process.argv[2] ?? 'failsafe.schema.json';
writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
