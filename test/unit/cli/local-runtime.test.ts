import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.js';
import { exampleLocalTasks, loadTasksModule } from '../../../src/cli/local-runtime.js';

const REGISTRY_URL = new URL('../../../src/core/registry.ts', import.meta.url).href;

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

  it.each([
    ['a module without tasks', 'empty.mjs', /exports no `registry`, `tasks` or default export/],
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
