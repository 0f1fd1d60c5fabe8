/**
 * `machinery-serverless/worker`: the Lambda handlers. {@link createWorker} builds the handler of
 * the task queue from a user's tasks; the forwarder (the delay queue's consumer) is exported for
 * completeness, the `Machinery` construct deploys it by itself.
 *
 * @example
 * ```ts
 * import { createRegistry, defineTask } from 'machinery-serverless';
 * import { createWorker } from 'machinery-serverless/worker';
 * const add = defineTask({ name: 'add', args: ['int64', 'int64'], run: (_ctx, a, b) => a + b });
 * export const handler = createWorker({ registry: createRegistry([add]) });
 * ```
 *
 * @module
 */
export {
  createForwarder,
  createForwarderFromEnv,
  type DeadLetterSink,
  type ForwarderLogger,
  type ForwarderOptions,
  type ForwardOutcome,
  forwardDeduplicationId,
  forwardRecord,
  handler as forwarderHandler,
  sqsDeadLetterSink,
} from './handlers/forwarder.js';
export * from './handlers/worker.js';
