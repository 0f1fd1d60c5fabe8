/**
 * `machinery demo [--json]` (what `npm start` runs): machinery's examples end to end on the
 * embedded local stack, in this process — no AWS account, no Docker, nothing to configure.
 *
 * The demo is a list of items ({@link DEMO_ITEMS}), each with the result it must produce: the
 * example tasks (add, multiply, sum_ints, sum_floats, concat, split, an int64 beyond 2^53, the
 * failing panic_task) and machinery's workflows (a group, a chord of that group into multiply, two
 * chains). Every item runs at once; the demo prints one row per item (expected and actual result,
 * time taken), or with `--json` the document `{"ok","items":[{"name","expected","actual","ok","ms"}]}`,
 * stops everything and exits 0 when every actual result is the expected one, 1 otherwise.
 *
 * @module
 */
import { type MachineryClient, ResultTimeoutError, TaskFailedError } from '../../client/index.js';
import type { ArgInput } from '../../core/signature.js';
import { newSignature } from '../../core/signature.js';
import { describeError, EXIT } from '../errors.js';
import { type LocalRuntime, startLocalRuntime } from '../local-runtime.js';
import type { CliIO, DemoOptions } from '../main.js';
import { formatPlainResults, formatResultLists, formatTable } from '../output.js';
import { redirectStdoutToStderr } from '../stdio.js';
import { exampleLocalTasks } from '../task-loader.js';

/** How long the demo waits for each item, ms. */
const WAIT_MS = 60_000;

/**
 * One item of the demo: something sent to the local stack and the result it must produce.
 *
 * @example
 * ```ts
 * const item: DemoItem = {
 *   name: 'add(1, 1)',
 *   expected: '2',
 *   run: async (runtime) => formatPlainResults(
 *     await (await runtime.connection.client.sendTask(sig)).getTyped()),
 * };
 * ```
 */
export interface DemoItem {
  /** What the table shows in its ITEM column. */
  name: string;
  /** The result expected, written as `run` writes the actual one. */
  expected: string;
  /**
   * Sends the item and waits for its result, as text: results as `send --wait` prints them, a
   * failure as `error: <the task's error>`. May reject (the demo shows the error as the result).
   */
  run(runtime: LocalRuntime, options: { timeoutMs: number }): Promise<string>;
}

/**
 * The result of one demo item, as `demo --json` prints it.
 *
 * @example
 * ```ts
 * const row: DemoItemResult = { name: 'add(1, 1)', expected: '2', actual: '2', ok: true, ms: 35 };
 * ```
 */
export interface DemoItemResult {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
  /** Time from sending the item to its result, ms. */
  ms: number;
}

function argText(args: readonly ArgInput[]): string {
  return args
    .map((a) => (Array.isArray(a.Value) ? JSON.stringify(a.Value) : String(a.Value)))
    .join(', ');
}

const int64 = (...values: number[]): ArgInput[] => values.map((Value) => ({ Type: 'int64', Value }));

/** The text of a result that ended in FAILURE. */
function failureText(e: unknown): string {
  if (e instanceof TaskFailedError) return `error: ${e.taskError}`;
  if (e instanceof ResultTimeoutError) return `(no result: ${e.message})`;
  throw e;
}

/**
 * An item whose result `send` computes on the client; a task failure or a timeout is shown as the
 * actual result.
 */
function item(
  name: string,
  expected: string,
  send: (client: MachineryClient, timeoutMs: number) => Promise<string>,
): DemoItem {
  return {
    name,
    expected,
    async run(runtime, { timeoutMs }) {
      try {
        return await send(runtime.connection.client, timeoutMs);
      } catch (e) {
        return failureText(e);
      }
    },
  };
}

/** An item sending one task. */
function taskItem(name: string, args: ArgInput[], expected: string): DemoItem {
  return item(`${name}(${argText(args)})`, expected, async (client, timeoutMs) => {
    const result = await client.sendTask(newSignature(name, args));
    return formatPlainResults(await result.getTyped({ timeoutMs }));
  });
}

/** machinery's example group: add(1, 1), add(2, 2), add(5, 6). */
const exampleGroup = () => [
  newSignature('add', int64(1, 1)),
  newSignature('add', int64(2, 2)),
  newSignature('add', int64(5, 6)),
];

/**
 * The demo's items: machinery's documented example tasks, a 64-bit value beyond 2^53, the failing
 * panic_task, and machinery's example workflows. Items are independent and run at once; append
 * new ones at the end.
 */
export const DEMO_ITEMS: DemoItem[] = [
  taskItem('add', int64(1, 1), '2'),
  taskItem('multiply', int64(2, 3), '6'),
  taskItem('sum_ints', [{ Type: '[]int64', Value: [1, 2] }], '3'),
  taskItem('sum_floats', [{ Type: '[]float64', Value: [1.5, 2.7] }], '4.2'),
  taskItem('concat', [{ Type: '[]string', Value: ['foo', 'bar'] }], 'foobar'),
  taskItem('split', [{ Type: 'string', Value: 'foo' }], '["f","o","o"]'),
  taskItem(
    'add',
    [
      { Type: 'int64', Value: 9223372036854775806n },
      { Type: 'int64', Value: 1 },
    ],
    '9223372036854775807',
  ),
  taskItem('panic_task', [], 'error: oops'),
  item('group add(1, 1), add(2, 2), add(5, 6)', '[2], [4], [11]', async (client, timeoutMs) => {
    const group = await client.sendGroup(exampleGroup());
    return formatResultLists(await group.getTyped({ timeoutMs }));
  }),
  item('chord of that group into multiply', '88', async (client, timeoutMs) => {
    const chord = await client.sendChord(exampleGroup(), newSignature('multiply', []));
    return formatPlainResults(await chord.getTyped({ timeoutMs }));
  }),
  item('chain add(2, 2) → add(5, 6) → multiply(4)', '60', async (client, timeoutMs) => {
    const chain = await client.sendChain([
      newSignature('add', int64(2, 2)),
      newSignature('add', int64(5, 6)),
      newSignature('multiply', int64(4)),
    ]);
    return formatPlainResults(await chain.getTyped({ timeoutMs }));
  }),
  item('chain add(1, 1) → add(2, 2) → add(5, 6) → multiply(4)', '68', async (client, timeoutMs) => {
    const chain = await client.sendChain([
      newSignature('add', int64(1, 1)),
      newSignature('add', int64(2, 2)),
      newSignature('add', int64(5, 6)),
      newSignature('multiply', int64(4)),
    ]);
    return formatPlainResults(await chain.getTyped({ timeoutMs }));
  }),
];

/**
 * Runs demo items at once on a running local system; resolves with each item's result, in order.
 * An item that rejects shows its error as its actual result (and is not ok).
 *
 * @example
 * ```ts
 * const results = await runDemoItems(DEMO_ITEMS, runtime, { timeoutMs: 60_000 });
 * ```
 */
export function runDemoItems(
  items: readonly DemoItem[],
  runtime: LocalRuntime,
  options: { timeoutMs: number },
): Promise<DemoItemResult[]> {
  return Promise.all(
    items.map(async (item) => {
      const started = performance.now();
      let actual: string;
      try {
        actual = await item.run(runtime, options);
      } catch (e) {
        actual = `(failed: ${describeError(e, false).message})`;
      }
      const ms = Math.round(performance.now() - started);
      return { name: item.name, expected: item.expected, actual, ok: actual === item.expected, ms };
    }),
  );
}

/**
 * Runs `machinery demo`; resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await demo({ json: true }, io);
 * ```
 */
export async function demo(opts: DemoOptions, io: CliIO): Promise<number> {
  const tasks = await exampleLocalTasks();
  const restoreStdout = redirectStdoutToStderr();
  let runtime: LocalRuntime | undefined;
  try {
    io.stderr('machinery demo: starting the local stack and the worker in this process…\n');
    const started = performance.now();
    runtime = await startLocalRuntime({
      tasks,
      logLevel: 'WARN',
      onError: (e) => io.stderr(`machinery demo: ${describeError(e, false).message}\n`),
    });
    io.stderr(
      `machinery demo: ready in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `running ${DEMO_ITEMS.length} items (panic_task fails on purpose)…\n`,
    );
    const results = await runDemoItems(DEMO_ITEMS, runtime, { timeoutMs: WAIT_MS });
    const ok = results.every((r) => r.ok);
    if (opts.json) {
      io.stdout(`${JSON.stringify({ ok, items: results })}\n`);
    } else {
      io.stdout(
        formatTable(
          ['ITEM', 'EXPECTED', 'ACTUAL', 'MS', 'OK'],
          results.map((r) => [r.name, r.expected, r.actual, String(r.ms), r.ok ? 'ok' : 'WRONG']),
        ),
      );
    }
    const wrong = results.filter((r) => !r.ok).length;
    if (wrong > 0) {
      io.stderr(`machinery demo: ${wrong} item(s) did not give the expected result\n`);
      return EXIT.failure;
    }
    io.stderr('machinery demo: every item gave the expected result (panic_task fails by design)\n');
    return EXIT.ok;
  } finally {
    try {
      await runtime?.stop();
    } finally {
      restoreStdout();
    }
  }
}
