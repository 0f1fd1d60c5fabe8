/**
 * A worker for machinery's example tasks, deployable as the Lambda function of the task queue:
 * set the handler to `examples/worker.handler`. Its settings come from the environment
 * (`MACHINERY_TASK_QUEUE_URL`, `MACHINERY_DLQ_URL`, `MACHINERY_TASK_STATES_TABLE`, and for ETAs
 * found on receipt `MACHINERY_DELAY_QUEUE_URL` plus the schedule settings), read on the first
 * invocation. `MACHINERY_EXAMPLE_LONG_RUNNING_MS` sets how long `long_running_task` runs
 * (default 10 000 ms, as in machinery).
 *
 * @module
 */
import { createRegistry } from '../src/core/registry.js';
import { createWorker } from '../src/handlers/worker.js';
import { exampleTasks } from './tasks.js';

export * from './tasks.js';

const longRunningMs = Number(process.env.MACHINERY_EXAMPLE_LONG_RUNNING_MS ?? '10000');

/**
 * The registry of the example tasks.
 *
 * @example
 * ```ts
 * const sig = registry.signature('add', 1, 2);
 * ```
 */
export const registry = createRegistry(
  exampleTasks({ longRunningMs: Number.isFinite(longRunningMs) ? longRunningMs : 10_000 }),
);

/**
 * The Lambda handler (SQS event source on the FIFO task queue, `ReportBatchItemFailures`).
 *
 * @example
 * ```ts
 * // cdk: new NodejsFunction(this, 'Worker', { entry: 'examples/worker.ts', handler: 'handler' })
 * ```
 */
export const handler = createWorker({ registry });
