/**
 * The example tasks of machinery's documentation (`example/tasks/tasks.go`), in TypeScript, with
 * the same names and behaviour:
 *
 * | name | Go | here |
 * | --- | --- | --- |
 * | `add` | `Add(args ...int64) (int64, error)` | sum of any number of int64 args, wrapping on overflow like Go; `add()` is 0 |
 * | `multiply` | `Multiply(args ...int64) (int64, error)` | product, wrapping; `multiply()` is 1 (a chord callback gets its members' results appended) |
 * | `sum_ints` | `SumInts(numbers []int64) (int64, error)` | sum of a `[]int64`, wrapping |
 * | `sum_floats` | `SumFloats(numbers []float64) (float64, error)` | sum of a `[]float64`, always typed `float64` (even 4.0) |
 * | `concat` | `Concat(strs []string) (string, error)` | the strings joined |
 * | `split` | `Split(str string) ([]string, error)` | `strings.Split(s, "")`: one string per code point (UTF-8 sequence in Go) |
 * | `panic_task` | `PanicTask() (string, error)` panics with `oops` | throws `Error('oops')`: the task fails with `oops` |
 * | `long_running_task` | `LongRunningTask() error`: logs 10…1, one per second | counts down for a configurable duration (default 10 s), logging each second; stops early with an error when the invocation is about to time out |
 *
 * 64-bit integer args are received as `bigint` (exact) and results are wrapped to int64 as Go's
 * arithmetic does, so `add(9223372036854775807, 1)` is `-9223372036854775808` in both.
 *
 * @module
 */
import { typed } from '../src/core/args.js';
import { bigintArg, defineTask } from '../src/core/registry.js';

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * `add`: the sum of its int64 args.
 *
 * @example
 * ```ts
 * registry.signature('add', 1, 2); // runs to [3]
 * ```
 */
export const add = defineTask({
  name: 'add',
  description: 'Sum of any number of int64 args (Go: Add(args ...int64))',
  rest: bigintArg('int64'),
  run: (_ctx, ...args) => args.reduce((sum, x) => wrap(sum + x), 0n),
});

/**
 * `multiply`: the product of its int64 args.
 *
 * @example
 * ```ts
 * registry.signature('multiply', 2, 3, 4); // runs to [24]
 * ```
 */
export const multiply = defineTask({
  name: 'multiply',
  description: 'Product of any number of int64 args (Go: Multiply(args ...int64))',
  rest: bigintArg('int64'),
  run: (_ctx, ...args) => args.reduce((product, x) => wrap(product * x), 1n),
});

/**
 * `sum_ints`: the sum of a `[]int64`.
 *
 * @example
 * ```ts
 * registry.signature('sum_ints', [1, 2]); // runs to [3]
 * ```
 */
export const sumInts = defineTask({
  name: 'sum_ints',
  description: 'Sum of a []int64 (Go: SumInts(numbers []int64))',
  args: [bigintArg('[]int64')],
  run: (_ctx, numbers) => numbers.reduce((sum, x) => wrap(sum + x), 0n),
});

/**
 * `sum_floats`: the sum of a `[]float64`, typed `float64`.
 *
 * @example
 * ```ts
 * registry.signature('sum_floats', [1.5, 2.7]); // runs to [4.2]
 * ```
 */
export const sumFloats = defineTask({
  name: 'sum_floats',
  description: 'Sum of a []float64 (Go: SumFloats(numbers []float64))',
  args: ['[]float64'],
  run: (_ctx, numbers) =>
    typed(
      'float64',
      numbers.reduce((sum, x) => sum + x, 0),
    ),
});

/**
 * `concat`: its strings joined.
 *
 * @example
 * ```ts
 * registry.signature('concat', ['foo', 'bar']); // runs to ['foobar']
 * ```
 */
export const concat = defineTask({
  name: 'concat',
  description: 'Joins a []string (Go: Concat(strs []string))',
  args: ['[]string'],
  run: (_ctx, strs) => strs.join(''),
});

/**
 * `split`: one string per character (code point), like Go's `strings.Split(s, "")`.
 *
 * @example
 * ```ts
 * registry.signature('split', 'foo'); // runs to [['f', 'o', 'o']]
 * ```
 */
export const split = defineTask({
  name: 'split',
  description: 'Splits a string into its characters (Go: strings.Split(str, ""))',
  args: ['string'],
  run: (_ctx, str) => typed('[]string', [...str]),
});

/**
 * `panic_task`: always fails with `oops` (machinery's task that panics).
 *
 * @example
 * ```ts
 * registry.signature('panic_task'); // ends FAILURE with error 'oops'
 * ```
 */
export const panicTask = defineTask({
  name: 'panic_task',
  description: 'Always fails with "oops" (Go: PanicTask panics)',
  run: (): string => {
    throw new Error('oops');
  },
});

/**
 * Builds `long_running_task`: counts down for `durationMs`, logging the seconds left each second
 * (machinery's logs 10…1 over 10 s). It gives up with an error when the invocation is about to time
 * out (its abort signal), which counts as a failed attempt.
 *
 * @param durationMs how long it runs. @default 10_000
 * @example
 * ```ts
 * const quick = longRunningTask(500);
 * ```
 */
export function longRunningTask(durationMs = 10_000) {
  return defineTask({
    name: 'long_running_task',
    description: `Runs for ${durationMs} ms, logging a countdown (Go: LongRunningTask)`,
    run: async (ctx): Promise<void> => {
      ctx.logger.info('Long running task started', { durationMs });
      const end = Date.now() + durationMs;
      while (Date.now() < end) {
        ctx.signal.throwIfAborted();
        ctx.logger.info('Long running task', { secondsLeft: Math.ceil((end - Date.now()) / 1000) });
        const step = Math.min(1000, end - Date.now());
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          };
          const timer = setTimeout(() => {
            ctx.signal.removeEventListener('abort', onAbort);
            resolve();
          }, step);
          ctx.signal.addEventListener('abort', onAbort, { once: true });
        });
      }
      ctx.logger.info('Long running task finished');
    },
  });
}

/**
 * Every example task, as machinery's example worker registers them.
 *
 * @param options `longRunningMs`: duration of `long_running_task`. @default 10_000
 * @example
 * ```ts
 * const registry = createRegistry(exampleTasks({ longRunningMs: 1_000 }));
 * ```
 */
export function exampleTasks(options: { longRunningMs?: number } = {}) {
  return [
    add,
    multiply,
    sumInts,
    sumFloats,
    concat,
    split,
    panicTask,
    longRunningTask(options.longRunningMs),
  ] as const;
}
