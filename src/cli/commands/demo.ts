/**
 * `machinery demo [--json]` (what `npm start` runs): machinery's examples end to end on the
 * embedded local stack, in this process — no AWS account, no Docker, nothing to configure.
 *
 * The demo is a list of items ({@link DEMO_ITEMS}), each with the result it must produce: the
 * example tasks (add, multiply, sum_ints, sum_floats, concat, split, an int64 beyond 2^53, the
 * failing panic_task) and machinery's workflows (a group, a chord of that group into multiply, two
 * chains), a task with an ETA, and a task that is dead-lettered (its worker does not know it yet),
 * then redriven to success once the task is "deployed" ({@link LATE_TASK}). Every item runs at once; the demo prints one row per item (expected and actual result,
 * time taken), or with `--json` the document `{"ok","items":[{"name","expected","actual","ok","ms"}]}`,
 * stops everything and exits 0 when every actual result is the expected one, 1 otherwise.
 *
 * @module
 */
import { DeadLetterQueues } from '../../client/dlq.js';
import { type MachineryClient, ResultTimeoutError, TaskFailedError } from '../../client/index.js';
import type { TaskRecord } from '../../core/ports.js';
import { defineTask } from '../../core/registry.js';
import type { ArgInput } from '../../core/signature.js';
import { newSignature } from '../../core/signature.js';
import { describeError, EXIT } from '../errors.js';
import { type LocalRuntime, startLocalRuntime } from '../local-runtime.js';
import type { CliIO, DemoOptions } from '../main.js';
import { formatPlainResults, formatResultLists, formatTable } from '../output.js';
import { redirectStdoutToStderr } from '../stdio.js';
import { exampleLocalTasks, type LocalTasks } from '../task-loader.js';

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

const int64 = (...values: number[]): ArgInput[] =>
  values.map((Value) => ({ Type: 'int64', Value }));

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

/** Polls a task's stored state until `done` holds; rejects after `timeoutMs`. */
async function waitForState(
  client: MachineryClient,
  uuid: string,
  done: (record: TaskRecord) => boolean,
  timeoutMs: number,
): Promise<TaskRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await client.getState(uuid);
    if (record !== undefined && done(record)) return record;
    if (Date.now() > deadline) {
      throw new ResultTimeoutError(uuid, timeoutMs, record?.state);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The demo's late task: `late_add(a, b)`, unknown to the worker until {@link LateTask.deploy}, as a
 * task whose code is deployed after its first messages arrived. Those messages are dead-lettered
 * (`unregistered`); once deployed, a redrive runs them.
 *
 * @example
 * ```ts
 * const tasks = LATE_TASK.addTo(await exampleLocalTasks()); // late_add not deployed yet
 * LATE_TASK.deploy();
 * ```
 */
export interface LateTask {
  readonly name: string;
  /** `tasks` plus the late task, unknown until {@link LateTask.deploy} (and undeployed again). */
  addTo(tasks: LocalTasks): LocalTasks;
  deploy(): void;
}

function lateTask(): LateTask {
  const task = defineTask({ name: 'late_add', args: ['int64', 'int64'], run: (_c, a, b) => a + b });
  let deployed = false;
  return {
    name: task.name,
    addTo(tasks) {
      deployed = false;
      return {
        names: [...tasks.names, task.name],
        lookup: {
          get: (name) =>
            name === task.name ? (deployed ? task : undefined) : tasks.lookup.get(name),
        },
      };
    },
    deploy() {
      deployed = true;
    },
  };
}

/** The late task of the demo (see {@link LateTask}). */
export const LATE_TASK: LateTask = lateTask();

/** How far in the future the demo's delayed task runs, ms. */
const DELAY_MS = 3_000;

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
 *
 * @example
 * ```ts
 * const results = await runDemoItems(DEMO_ITEMS, runtime, { timeoutMs: 60_000 });
 * ```
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
  item(`add(2, 3) with an ETA ${DELAY_MS / 1000} s away`, '5', async (client, timeoutMs) => {
    const due = Date.now() + DELAY_MS;
    const result = await client.sendTask(
      newSignature('add', int64(2, 3), { ETA: new Date(due).toISOString() }),
    );
    const text = formatPlainResults(await result.getTyped({ timeoutMs }));
    return Date.now() >= due ? text : `${text} (before its ETA)`;
  }),
  {
    name: 'late_add(20, 22): dead-lettered, deployed, redriven',
    expected: 'unregistered → redriven → 42 (attempt 1)',
    async run(runtime, { timeoutMs }) {
      const { client, clients, settings } = runtime.connection;
      const sent = await client.sendTask(newSignature(LATE_TASK.name, int64(20, 22)));
      const dead = await waitForState(client, sent.uuid, (r) => r.deadLettered, timeoutMs);
      LATE_TASK.deploy();
      const dlqs = new DeadLetterQueues({ sqs: clients.sqs, settings, backend: client.backend });
      const redriven = await dlqs.redrive({ queue: 'task', uuids: [sent.uuid] });
      if (redriven.moved !== 1) return `${dead.deadLetterReason} → not found in the DLQ`;
      const done = await waitForState(
        client,
        sent.uuid,
        (r) => r.state === 'SUCCESS' || (r.state === 'FAILURE' && !r.deadLettered),
        timeoutMs,
      );
      const result = formatPlainResults(await sent.getTyped({ timeoutMs }));
      return `${dead.deadLetterReason} → redriven → ${result} (attempt ${done.attempt})`;
    },
  },
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
  const tasks = LATE_TASK.addTo(await exampleLocalTasks());
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
        `running ${DEMO_ITEMS.length} items (panic_task fails and late_add is dead-lettered on purpose)…\n`,
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
