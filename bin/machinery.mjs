#!/usr/bin/env node
/**
 * Launcher of the `machinery` command for installed use (`npx machinery …`, or on PATH after
 * `npm install`). It runs the compiled CLI when the package was built (`dist/`), otherwise the
 * TypeScript sources through tsx's in-process loader — one process either way, so signals reach the
 * CLI directly (no wrapper that could be killed and leave the CLI behind).
 *
 * Inside the repository, `npm run -s machinery -- <args>` does the same.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/src/cli/main.js', import.meta.url);
let entry = built;
if (!existsSync(fileURLToPath(built))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
