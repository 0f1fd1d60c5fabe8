/**
 * The system on one machine, in this process: the embedded local stack (fauxqs, DynamoDB Local,
 * the Scheduler emulator), the worker on the task queue and the forwarder on the delay queue, each
 * driven by a local event-source runner as Lambda would drive it. Used by `machinery local up` and
 * `machinery demo`.
 *
 * ## The `--tasks` module
 *
 * `machinery local up --tasks ./my-tasks.ts` imports the module (path relative to the current
 * directory; TypeScript works, the CLI runs under tsx) and registers what it exports, the first
 * that is present:
 *
 * 1. `registry`: a task registry (`createRegistry(...)` of `src/core/registry.ts`);
 * 2. `tasks`: what `createRegistry` accepts — an array of `defineTask(...)` tasks, or an object of
 *    tasks and plain functions by name (`{ add: (a, b) => a + b }`, like machinery's `RegisterTasks`);
 * 3. the default export, as either of the above.
 *
 * ```ts
 * // my-tasks.ts
 * import { defineTask } from 'machinery-serverless/core/registry';
 * export const tasks = [defineTask({ name: 'greet', args: ['string'], run: (_ctx, who) => `hello ${who}` })];
 * ```
 *
 * Without `--tasks`, the example worker's tasks run (examples/worker.ts: machinery's documented
 * examples; `MACHINERY_EXAMPLE_LONG_RUNNING_MS` sets how long `long_running_task` runs).
 *
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import type { TaskLookup } from '../core/processor.js';
import { createRegistry } from '../core/registry.js';
import { DEFAULTS } from '../core/resources.js';
import { createForwarder, sqsDeadLetterSink } from '../handlers/forwarder.js';
import { createWorker, fromPowertools } from '../handlers/worker.js';
import { EventSourceRunner } from '../local/runner.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';
import { type Connection, connect } from './clients.js';
import { configFromLocalValues } from './config.js';
import { UsageError } from './errors.js';

/** How long stopping waits for running tasks before stopping the emulators under them, ms. */
const STOP_GRACE_MS = 3_000;

/**
 * A registry of tasks the local worker runs.
 *
 * @example
 * ```ts
 * const tasks: LocalTasks = { names: ['add'], lookup: createRegistry([add]) };
 * ```
 */
export interface LocalTasks {
  names: readonly string[];
  lookup: TaskLookup;
}

function isRegistry(v: unknown): v is TaskLookup & { names: readonly string[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { get?: unknown }).get === 'function' &&
    Array.isArray((v as { names?: unknown }).names)
  );
}

function toTasks(value: unknown, where: string): LocalTasks {
  if (isRegistry(value)) return { names: value.names, lookup: value };
  try {
    const registry = createRegistry(value as Parameters<typeof createRegistry>[0]);
    return { names: registry.names, lookup: registry };
  } catch (e) {
    throw new UsageError(`${where}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The example worker's tasks (examples/worker.ts `registry`, machinery's documented examples): add,
 * multiply, sum_ints, sum_floats, concat, split, panic_task, long_running_task.
 *
 * @example
 * ```ts
 * const tasks = await exampleLocalTasks();
 * ```
 */
export async function exampleLocalTasks(): Promise<LocalTasks> {
  const { registry } = await import('../../examples/worker.js');
  return toTasks(registry, 'examples/worker.ts');
}

/**
 * Loads a `--tasks` module (see the module documentation for its shape). Throws
 * {@link UsageError} (exit code 2) when it cannot be imported or exports no tasks.
 *
 * @example
 * ```ts
 * const tasks = await loadTasksModule('./my-tasks.ts', process.cwd());
 * ```
 */
export async function loadTasksModule(path: string, cwd: string): Promise<LocalTasks> {
  const file = resolve(cwd, path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--tasks: cannot load ${file}: ${(e as Error).message}`, { cause: e });
  }
  const exported = mod.registry ?? mod.tasks ?? mod.default;
  if (exported === undefined || exported === null) {
    throw new UsageError(
      `--tasks: ${file} exports no \`registry\`, \`tasks\` or default export (see \`machinery local up --help\`)`,
    );
  }
  return toTasks(exported, `--tasks ${file}`);
}

/**
 * The running local system.
 *
 * @example
 * ```ts
 * const runtime = await startLocalRuntime({ tasks: await exampleLocalTasks() });
 * console.log(runtime.stack.env.MACHINERY_TASK_QUEUE_URL);
 * await runtime.stop();
 * ```
 */
export interface LocalRuntime {
  stack: LocalStack;
  /** Clients of the stack (the SDK client, its AWS clients, the Scheduler adapter). */
  connection: Connection;
  /**
   * Stops the runners (running tasks get 3 s to finish: the in-memory stack keeps nothing anyway),
   * then the emulators. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Starts the local stack, the worker (task queue) and the forwarder (delay queue), each through
 * an {@link EventSourceRunner}. Schedules fire through the Scheduler emulator into the delay queue.
 *
 * @example
 * ```ts
 * const runtime = await startLocalRuntime({ tasks, onError: (e) => console.error(e) });
 * ```
 */
export async function startLocalRuntime(options: {
  tasks: LocalTasks;
  /** Worker invocations at once (different message groups). @default 4 */
  concurrency?: number;
  /** Polling and deletion errors of the runners. */
  onError?: (error: unknown) => void;
  /** Level of the worker's and forwarder's JSON logs. @default 'INFO' */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}): Promise<LocalRuntime> {
  const logLevel = options.logLevel ?? 'INFO';
  const stack = await startLocalStack();
  let connection: Connection | undefined;
  const runners: EventSourceRunner[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Running tasks get a short grace: the stack keeps nothing after it stops (in-memory
      // emulators), so waiting out a long task would only delay the stop.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(runners.map((r) => r.stop())),
        new Promise((r) => {
          grace = setTimeout(r, STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(grace);
      connection?.close();
      await stack.stop();
    })();
    return stopping;
  };
  try {
    connection = connect(configFromLocalValues(stack.env));
    const { client, clients, settings, scheduler } = connection;
    const worker = createWorker({
      env: {},
      config: settings,
      aws: { sqs: clients.sqs, dynamodb: clients.dynamodb, scheduler: clients.scheduler },
      backend: client.backend,
      broker: client.broker,
      ...(scheduler ? { scheduler } : {}),
      clock: stack.clock,
      logger: new Logger({ serviceName: 'machinery-worker', logLevel }),
      registry: options.tasks.lookup,
    });
    const forwarder = createForwarder({
      backend: client.backend,
      broker: client.broker,
      ...(scheduler ? { scheduler } : {}),
      clock: stack.clock,
      deadLetter: sqsDeadLetterSink(clients.sqs, stack.queueUrls.delayDlq),
      logger: fromPowertools(new Logger({ serviceName: 'machinery-forwarder', logLevel })),
    });
    const common = {
      sqs: clients.sqs,
      region: stack.region,
      ...(options.onError ? { onError: options.onError } : {}),
    };
    runners.push(
      new EventSourceRunner({
        ...common,
        queueUrl: stack.queueUrls.tasks,
        queueArn: stack.queueArns.tasks,
        handler: worker,
        concurrency: options.concurrency ?? 4,
        timeoutMs: DEFAULTS.workerTimeoutSeconds * 1000,
        functionName: 'machinery-worker',
      }),
      new EventSourceRunner({
        ...common,
        queueUrl: stack.queueUrls.delay,
        queueArn: stack.queueArns.delay,
        handler: forwarder,
        timeoutMs: DEFAULTS.forwarderTimeoutSeconds * 1000,
        functionName: 'machinery-forwarder',
      }),
    );
    for (const runner of runners) runner.start();
    return { stack, connection, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
