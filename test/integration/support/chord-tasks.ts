/**
 * The tasks of the chord integration tests (parent process and the SIGKILL child): machinery's
 * `add` and `multiply`, a task that always fails, and one that fails permanently (dead-lettered
 * with `StopTaskDeletionOnError`) until `CHORD_FLAKY_OK` is set in the process.
 *
 * @module
 */
import { defineTask } from '../../../src/core/registry.js';

/**
 * The task definitions; `onRun(name, args)` is told of every run of `multiply`, `collect` and
 * `onError`.
 *
 * @example
 * ```ts
 * const handler = createWorker({ tasks: chordTasks((n, a) => runs.push([n, a])), env });
 * ```
 */
export function chordTasks(onRun: (name: string, args: unknown[]) => void) {
  return [
    defineTask({ name: 'add', rest: 'int64', run: (_c, ...xs) => xs.reduce((s, x) => s + x, 0) }),
    defineTask({
      name: 'multiply',
      rest: 'int64',
      run: (_c, ...xs) => {
        onRun('multiply', xs);
        return xs.reduce((p, x) => p * x, 1);
      },
    }),
    defineTask({
      name: 'collect',
      rest: 'int64',
      run: async (ctx, ...xs) => {
        const all: unknown[] = [...xs];
        if (ctx.chordResults) for await (const r of ctx.chordResults()) all.push(r[0]?.Value);
        onRun('collect', all);
        return all.length;
      },
    }),
    defineTask({
      name: 'boom',
      run: () => {
        throw new Error('boom');
      },
    }),
    defineTask({
      name: 'flaky',
      rest: 'int64',
      run: (_c, x) => {
        if (process.env.CHORD_FLAKY_OK !== '1') throw new Error('not yet');
        return x;
      },
    }),
    defineTask({ name: 'onError', args: ['string'], run: (_c, t) => void onRun('onError', [t]) }),
  ];
}
