#!/usr/bin/env node
/**
 * Launcher of the `machinery` command (`npx machinery …`, or on PATH after `npm install`). In an
 * installed package it runs the compiled CLI (`dist/`, built by `prepack`; no dev dependency). In
 * a checkout of the repository, where `src/` exists, it runs the TypeScript sources through tsx's
 * in-process loader (a dev dependency), so a stale `dist/` is never used. One process either way,
 * so signals reach the CLI directly (no wrapper that could be killed and leave the CLI behind).
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

const source = new URL('../src/cli/main.ts', import.meta.url);
let entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = source;
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
