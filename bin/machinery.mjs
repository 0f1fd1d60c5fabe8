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

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`machinery: needs Node.js 22.12 or later, this is ${process.version}\n`);
  process.exit(2);
}

const built = new URL('../dist/src/cli/main.js', import.meta.url);
let entry = built;
if (!existsSync(fileURLToPath(built))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
