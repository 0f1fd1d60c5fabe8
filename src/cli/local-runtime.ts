/**
 * The system on one machine, in this process: the embedded local stack (fauxqs, DynamoDB Local,
 * the Scheduler emulator), the worker on the task queue and on the high-priority task queue (one
 * runner each, like the deployment's two event sources) and the forwarder on the delay queue, each
 * driven by a local event-source runner as Lambda would drive it. Used by `machinery local up` and
 * `machinery demo`.
 *
 * The tasks it runs come from the task loader (`./task-loader.ts`).
 *
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULTS } from '../core/resources.js';
import { queueRouting } from '../core/routing.js';
import { createForwarder, sqsDeadLetterSink } from '../handlers/forwarder.js';
import { createWorker, fromPowertools } from '../handlers/worker.js';
import { EventSourceRunner } from '../local/runner.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';
import { type Connection, connect } from './clients.js';
import { configFromLocalValues } from './config.js';
import type { LocalTasks } from './task-loader.js';

/** How long stopping waits for running tasks before stopping the emulators under them, ms. */
const STOP_GRACE_MS = 3_000;

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
 * Starts the local stack, the worker (task queue, high-priority task queue) and the forwarder
 * (delay queue), each through an {@link EventSourceRunner}. Schedules fire through the Scheduler emulator into the delay queue.
 *
 * @example
 * ```ts
 * const runtime = await startLocalRuntime({ tasks, onError: (e) => console.error(e) });
 * ```
 */
export async function startLocalRuntime(options: {
  tasks: LocalTasks;
  /** Worker invocations at once (different message groups), on each task queue. @default 4 */
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
      routing: queueRouting(stack.queueUrls.tasks, stack.queueUrls.highTasks),
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
        queueUrl: stack.queueUrls.highTasks,
        queueArn: stack.queueArns.highTasks,
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
