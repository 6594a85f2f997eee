#!/usr/bin/env node
// The `billing` command. It runs the compiled code; `npm run build` (or `npm start`) compiles it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('billing is not built yet: run `npm run build` first\n');
  process.exit(1);
}
await import(main.href);
