/**
 * `machinery demo` (what `npm start` runs): machinery's example tasks end to end on the embedded
 * local stack, in this process — no AWS account, no Docker, nothing to configure. Sends add,
 * multiply, sum_ints, sum_floats, concat, split, an int64 beyond 2^53 and the failing panic_task,
 * waits for each, prints a table (UUID, task, state, result) on stdout, stops everything. Exits 0
 * when every task ended as expected (panic_task in FAILURE with `oops`), 1 otherwise.
 *
 * @module
 */

import type { TaskRecord } from '../../core/ports.js';
import type { ArgInput } from '../../core/signature.js';
import { newSignature } from '../../core/signature.js';
import { describeError, EXIT } from '../errors.js';
import { type LocalRuntime, startLocalRuntime } from '../local-runtime.js';
import type { CliIO } from '../main.js';
import { formatPlainResults, formatTable } from '../output.js';
import { redirectStdoutToStderr } from '../stdio.js';
import { exampleLocalTasks } from '../task-loader.js';

/** One demo task: what is sent and what must come back. */
interface DemoCase {
  name: string;
  args: ArgInput[];
  /** The task's results as `send --wait` prints them, or the error of a FAILURE. */
  expect: { state: 'SUCCESS'; result: string } | { state: 'FAILURE'; error: string };
}

/** The demo's tasks: machinery's documented examples, plus a 64-bit value beyond 2^53. */
export const DEMO_CASES: readonly DemoCase[] = [
  {
    name: 'add',
    args: [
      { Type: 'int64', Value: 1 },
      { Type: 'int64', Value: 1 },
    ],
    expect: { state: 'SUCCESS', result: '2' },
  },
  {
    name: 'multiply',
    args: [
      { Type: 'int64', Value: 2 },
      { Type: 'int64', Value: 3 },
    ],
    expect: { state: 'SUCCESS', result: '6' },
  },
  {
    name: 'sum_ints',
    args: [{ Type: '[]int64', Value: [1, 2] }],
    expect: { state: 'SUCCESS', result: '3' },
  },
  {
    name: 'sum_floats',
    args: [{ Type: '[]float64', Value: [1.5, 2.7] }],
    expect: { state: 'SUCCESS', result: '4.2' },
  },
  {
    name: 'concat',
    args: [{ Type: '[]string', Value: ['foo', 'bar'] }],
    expect: { state: 'SUCCESS', result: 'foobar' },
  },
  {
    name: 'split',
    args: [{ Type: 'string', Value: 'foo' }],
    expect: { state: 'SUCCESS', result: '["f","o","o"]' },
  },
  {
    name: 'add',
    args: [
      { Type: 'int64', Value: 9223372036854775806n },
      { Type: 'int64', Value: 1 },
    ],
    expect: { state: 'SUCCESS', result: '9223372036854775807' },
  },
  {
    name: 'panic_task',
    args: [],
    expect: { state: 'FAILURE', error: 'oops' },
  },
];

/** How long the demo waits for each task, ms. */
const WAIT_MS = 60_000;

function argText(args: readonly ArgInput[]): string {
  return args
    .map((a) => (Array.isArray(a.Value) ? JSON.stringify(a.Value) : String(a.Value)))
    .join(', ');
}

async function waitFinal(runtime: LocalRuntime, uuid: string): Promise<TaskRecord | undefined> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const record = await runtime.connection.client.getState(uuid);
    if (record?.state === 'SUCCESS' || record?.state === 'FAILURE') return record;
    if (Date.now() > deadline) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs `machinery demo`; resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await demo(io);
 * ```
 */
export async function demo(io: CliIO): Promise<number> {
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
        `sending ${DEMO_CASES.length} tasks (panic_task fails on purpose)…\n`,
    );
    const signatures = DEMO_CASES.map((c) => newSignature(c.name, c.args));
    await runtime.connection.client.sendTasks(signatures);
    const live = runtime;
    const records = await Promise.all(signatures.map((s) => waitFinal(live, s.UUID)));

    let unexpected = 0;
    const rows = DEMO_CASES.map((c, i) => {
      const record = records[i];
      const uuid = (signatures[i] as { UUID: string }).UUID;
      const state = record?.state ?? 'UNKNOWN';
      const result =
        record?.state === 'SUCCESS'
          ? formatPlainResults(record.results ?? [])
          : record?.state === 'FAILURE'
            ? `error: ${record.error ?? ''}`
            : '(no result yet)';
      const ok =
        c.expect.state === 'SUCCESS'
          ? state === 'SUCCESS' && result === c.expect.result
          : state === 'FAILURE' && (record?.error ?? '').includes(c.expect.error);
      if (!ok) unexpected++;
      return [uuid, `${c.name}(${argText(c.args)})`, state, result, ok ? '' : 'UNEXPECTED'];
    });
    io.stdout(formatTable(['UUID', 'TASK', 'STATE', 'RESULT', ''], rows));
    if (unexpected > 0) {
      io.stderr(`machinery demo: ${unexpected} task(s) did not end as expected\n`);
      return EXIT.failure;
    }
    io.stderr('machinery demo: every task ended as expected (panic_task fails by design)\n');
    return EXIT.ok;
  } finally {
    try {
      await runtime?.stop();
    } finally {
      restoreStdout();
    }
  }
}
