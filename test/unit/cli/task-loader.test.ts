import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.js';
import { exampleLocalTasks, loadTasksModule, sendHint } from '../../../src/cli/task-loader.js';
import { bigintArg, createRegistry, defineTask } from '../../../src/core/registry.js';

const REGISTRY_URL = new URL('../../../src/core/registry.ts', import.meta.url).href;
const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

describe('Function: loadTasksModule', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'machinery-cli-tasks-'));
    writeFileSync(
      join(dir, 'plain.mjs'),
      'export const tasks = { greet: (who) => "hello " + who };\n',
    );
    writeFileSync(
      join(dir, 'registry.mjs'),
      `import { createRegistry, defineTask } from '${REGISTRY_URL}';\n` +
        "export const registry = createRegistry([defineTask({ name: 'twice', args: ['int64'], run: (_c, n) => 2 * n })]);\n",
    );
    writeFileSync(
      join(dir, 'list.mjs'),
      `import { defineTask } from '${REGISTRY_URL}';\n` +
        "export default [defineTask({ name: 'one', run: () => 1 }), defineTask({ name: 'two', run: () => 2 })];\n",
    );
    writeFileSync(
      join(dir, 'named.mjs'),
      `import { defineTask } from '${REGISTRY_URL}';\n` +
        "export const ping = defineTask({ name: 'ping', run: () => 'pong' });\nexport const answer = 42;\n",
    );
    writeFileSync(join(dir, 'handler.mjs'), 'export const worker = async () => ({});\n');
    writeFileSync(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');
    writeFileSync(join(dir, 'bad.mjs'), 'export const tasks = { notATask: 42 };\n');
    writeFileSync(join(dir, 'broken.mjs'), 'export const = ;\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers an object of plain functions exported as `tasks`', async () => {
    // Act
    const tasks = await loadTasksModule('plain.mjs', dir);

    // Assess
    expect(tasks.names).toEqual(['greet']);
    expect(tasks.lookup.get('greet')?.name).toBe('greet');
  });

  it('uses a registry exported as `registry` as is', async () => {
    // Act
    const tasks = await loadTasksModule(join(dir, 'registry.mjs'), '/');

    // Assess
    expect(tasks.names).toEqual(['twice']);
  });

  it('registers a list of defined tasks exported by default', async () => {
    // Act
    const tasks = await loadTasksModule('./list.mjs', dir);

    // Assess
    expect(tasks.names).toEqual(['one', 'two']);
  });

  it('registers the task definitions among named exports when there is no registry or tasks', async () => {
    // Act
    const tasks = await loadTasksModule('named.mjs', dir);

    // Assess
    expect(tasks.names).toEqual(['ping']);
  });

  it('registers job classes among named exports like task definitions', async () => {
    // Prepare
    writeFileSync(
      join(dir, 'jobs.mjs'),
      `import { defineTask } from '${REGISTRY_URL}';
export class Rebuild { perform() { return 'rebuilt'; } }
export const ping = defineTask({ name: 'ping', run: () => 'pong' });
`,
    );

    // Act
    const tasks = await loadTasksModule('jobs.mjs', dir);

    // Assess
    expect(tasks.names).toEqual(['Rebuild', 'ping']);
  });

  it.each([
    ['a module without tasks', 'empty.mjs', /exports no tasks: export a `registry`/],
    ['a module exporting a handler only', 'handler.mjs', /`worker` is a function, not a task/],
    ['a module whose tasks are not tasks', 'bad.mjs', /notATask/],
    ['a module that does not parse', 'broken.mjs', /cannot load/],
    ['a missing module', 'nope.mjs', /cannot load .*nope\.mjs/],
  ])('refuses %s with a UsageError', async (_what, file, message) => {
    // Act
    const loading = loadTasksModule(file, dir);

    // Assess
    await expect(loading).rejects.toThrow(UsageError);
    await expect(loadTasksModule(file, dir)).rejects.toThrow(message);
  });
});

describe('Function: loadTasksModule (a module loaded as CommonJS)', () => {
  let dir: string;

  beforeAll(() => {
    // Prepare: a TypeScript tasks module in a CommonJS package. tsx compiles it to CommonJS, so it
    // gets its own copy of the registry and errors modules, beside the ES module copy the loader
    // uses: `instanceof` across the two copies is false.
    dir = mkdtempSync(join(tmpdir(), 'machinery-cjs-tasks-'));
    writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}\n');
    writeFileSync(
      join(dir, 'tasks.ts'),
      `import { defineTask } from '${SRC}/core/registry.ts';\n` +
        `import { RetryLaterError } from '${SRC}/core/errors.ts';\n` +
        "export const tasks = [defineTask({ name: 'cjs_add', args: ['int64', 'int64'], run: (_c, a: number, b: number) => a + b })];\n" +
        'export function later(): never { throw new RetryLaterError(5_000, "not yet"); }\n',
    );
    writeFileSync(
      join(dir, 'main.mts'),
      `import { loadTasksModule } from '${SRC}/cli/task-loader.ts';\n` +
        `import { RetryLaterError } from '${SRC}/core/errors.ts';\n` +
        "const tasks = await loadTasksModule('tasks.ts', process.argv[2]);\n" +
        "const mod = await import(new URL('tasks.ts', 'file://' + process.argv[2] + '/').href);\n" +
        'let retryLater = false;\n' +
        'try { (mod.later ?? mod.default.later)(); } catch (e) { retryLater = e instanceof RetryLaterError && e.delayMs === 5_000; }\n' +
        'console.log(JSON.stringify({ names: tasks.names, retryLater }));\n',
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers the module's tasks and recognises its errors, made by a second copy of the library", () => {
    // Act
    const out = execFileSync(TSX, [join(dir, 'main.mts'), dir], { encoding: 'utf8' });

    // Assess
    expect(JSON.parse(out)).toEqual({ names: ['cjs_add'], retryLater: true });
  }, 60_000); // a tsx subprocess: seconds on a busy machine
});

describe('Function: exampleLocalTasks', () => {
  it("registers machinery's example tasks", async () => {
    // Act
    const tasks = await exampleLocalTasks();

    // Assess
    expect(tasks.names).toEqual(
      expect.arrayContaining([
        'add',
        'multiply',
        'sum_ints',
        'sum_floats',
        'concat',
        'split',
        'panic_task',
      ]),
    );
  });
});

describe('Function: sendHint', () => {
  it("suggests machinery's `add` when it is registered", async () => {
    // Act
    const hint = sendHint(await exampleLocalTasks());

    // Assess
    expect(hint).toBe('send add int64:1 int64:2 --wait');
  });

  it('suggests a registered task with example values of its declared types when `add` is not registered', () => {
    // Prepare
    const registry = createRegistry([
      defineTask({
        name: 'greet',
        args: ['string', 'bool', '[]float64', '[]byte', bigintArg('uint64')],
        run: () => 'hi',
      }),
    ]);

    // Act
    const hint = sendHint({ names: registry.names, lookup: registry });

    // Assess
    expect(hint).toBe(
      'send greet string:hello bool:true []float64:3.5,3.5 []byte:aGVsbG8= uint64:5 --wait',
    );
  });

  it('suggests no command when no task is registered', () => {
    // Act
    const hint = sendHint({ names: [], lookup: createRegistry([]) });

    // Assess
    expect(hint).toBeUndefined();
  });
});
