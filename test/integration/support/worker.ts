/**
 * The worker on a queue of the emulators, driven by the local event-source runner as Lambda's SQS
 * event source would, with its logs silenced.
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { TaskLookup } from '../../../src/core/processor.js';
import { createWorker } from '../../../src/handlers/worker.js';
import { EventSourceRunner } from '../../../src/local/runner.js';
import { quietLogger } from '../aws-helpers.js';

/**
 * Starts a worker knowing `registry`'s tasks on `queueUrl` (the stack's task queue by default);
 * stop it with `runner.stop()`.
 *
 * @example
 * ```ts
 * const runner = startWorkerRunner({ clients: stack.clients, env: stack.env, registry });
 * await runner.stop();
 * ```
 */
export function startWorkerRunner(options: {
  clients: { sqs: SQSClient; dynamodb: DynamoDBClient };
  /** The stack's environment (`MACHINERY_*`). */
  env: Record<string, string>;
  registry: TaskLookup;
  /** @default env.MACHINERY_TASK_QUEUE_URL */
  queueUrl?: string;
  /** @default the runner's */
  concurrency?: number;
}): EventSourceRunner {
  const { sqs, dynamodb } = options.clients;
  const handler = createWorker({
    registry: options.registry,
    env: options.env,
    aws: { sqs, dynamodb },
    logger: quietLogger('SILENT'),
  });
  const queueUrl = options.queueUrl ?? options.env.MACHINERY_TASK_QUEUE_URL;
  if (queueUrl === undefined) throw new Error('startWorkerRunner: no task queue URL in env');
  const runner = new EventSourceRunner({
    sqs,
    queueUrl,
    handler,
    onError: () => {},
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  runner.start();
  return runner;
}
