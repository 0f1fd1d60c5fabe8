import { describe, expect, it } from 'vitest';
import { exampleTasks } from '../../../examples/tasks.js';
import { toTypedResults } from '../../../src/core/args.js';
import { noopLogger } from '../../../src/core/logger.js';
import { createRegistry, type TaskContext } from '../../../src/core/registry.js';
import type { Arg, TypedValue } from '../../../src/core/types.js';

const registry = createRegistry(exampleTasks({ longRunningMs: 50 }));

function ctx(signal = new AbortController().signal): TaskContext {
  const sig = registry.signature('add');
  return {
    signature: sig,
    uuid: sig.UUID,
    name: sig.Name,
    attempt: 1,
    retries: 0,
    redrive: false,
    idempotencyKey: `${sig.UUID}:1`,
    headers: {},
    logger: noopLogger,
    signal,
    remainingTimeMs: () => 60_000,
  };
}

async function run(name: string, args: Arg[], signal?: AbortSignal): Promise<TypedValue[]> {
  const task = registry.get(name);
  if (!task) throw new Error(`no task ${name}`);
  return toTypedResults(await task.invoke(ctx(signal), task.prepare(args)));
}

const i64 = (v: number | bigint): Arg => ({ Name: '', Type: 'int64', Value: v });

describe('Module: examples/tasks', () => {
  it("registers the tasks under machinery's names", () => {
    // Assess
    expect(registry.names).toEqual([
      'add',
      'multiply',
      'sum_ints',
      'sum_floats',
      'concat',
      'split',
      'panic_task',
      'long_running_task',
    ]);
  });

  it('adds and multiplies any number of int64 args', async () => {
    // Act & Assess
    expect(await run('add', [i64(1), i64(1)])).toEqual([{ Type: 'int64', Value: 2 }]);
    expect(await run('add', [])).toEqual([{ Type: 'int64', Value: 0 }]);
    expect(await run('multiply', [i64(2), i64(3), i64(4)])).toEqual([{ Type: 'int64', Value: 24 }]);
    expect(await run('multiply', [])).toEqual([{ Type: 'int64', Value: 1 }]);
  });

  it('wraps on int64 overflow as Go does', async () => {
    // Act
    const out = await run('add', [i64(9223372036854775807n), i64(1)]);

    // Assess
    expect(out).toEqual([{ Type: 'int64', Value: -9223372036854775808n }]);
  });

  it('sums slices, floats typed float64 even when whole', async () => {
    // Act & Assess
    expect(await run('sum_ints', [{ Name: '', Type: '[]int64', Value: [1, 2] }])).toEqual([
      { Type: 'int64', Value: 3 },
    ]);
    expect(await run('sum_floats', [{ Name: '', Type: '[]float64', Value: [1.5, 2.5] }])).toEqual([
      { Type: 'float64', Value: 4 },
    ]);
  });

  it('concatenates and splits strings (split per code point, empty for an empty string)', async () => {
    // Act & Assess
    expect(await run('concat', [{ Name: '', Type: '[]string', Value: ['foo', 'bar'] }])).toEqual([
      { Type: 'string', Value: 'foobar' },
    ]);
    expect(await run('split', [{ Name: '', Type: 'string', Value: 'fé😀' }])).toEqual([
      { Type: '[]string', Value: ['f', 'é', '😀'] },
    ]);
    expect(await run('split', [{ Name: '', Type: 'string', Value: '' }])).toEqual([
      { Type: '[]string', Value: [] },
    ]);
  });

  it('fails panic_task with oops', async () => {
    // Act & Assess
    await expect(run('panic_task', [])).rejects.toThrow('oops');
  });

  it('runs long_running_task for its duration and stops when aborted', async () => {
    // Prepare
    const started = Date.now();
    const controller = new AbortController();

    // Act
    const done = await run('long_running_task', []);
    const aborted = run('long_running_task', [], controller.signal);
    controller.abort(new Error('time is up'));

    // Assess
    expect(done).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    await expect(aborted).rejects.toThrow('time is up');
  });
});
