/**
 * The system on the local emulators for the delay tests: a private Scheduler emulator on an
 * AdjustableClock, the worker on the FIFO task queue and the forwarder on the delay queue (each
 * through the local event-source runner), and an SDK client — all sharing that one clock.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { EventBridgeScheduler } from '../../src/aws/scheduler.js';
import { type CancelResult, cancel } from '../../src/client/cancel.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { AdjustableClock } from '../../src/core/clock.js';
import { createRegistry, type Task } from '../../src/core/registry.js';
import {
  createForwarder,
  type ForwarderLogger,
  type ForwardOutcome,
  sqsDeadLetterSink,
} from '../../src/handlers/forwarder.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { getTestStack, type TestStack, type TestStackOptions } from './support/stack.js';

/** Resolves after `ms` of real time. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs` of real time. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A running system for one test file. */
export interface DelayHarness {
  stack: TestStack;
  clock: AdjustableClock;
  client: MachineryClient;
  scheduler: EventBridgeScheduler;
  /** Every forwarder outcome so far, oldest first. */
  forwarded: ForwardOutcome[];
  cancel(uuid: string): Promise<CancelResult>;
  stop(): Promise<void>;
}

/**
 * Starts the system with the given tasks.
 *
 * @example
 * ```ts
 * const h = await startDelayHarness({ label: 'eta', tasks: [stamp] });
 * ```
 */
export async function startDelayHarness(options: {
  label: string;
  // biome-ignore lint/suspicious/noExplicitAny: any task definition
  tasks: readonly Task<string, readonly any[]>[];
  clock?: AdjustableClock;
  queueOverrides?: TestStackOptions['queueOverrides'];
  /** A DynamoDB client for the worker only (e.g. with failure-injecting middleware). */
  workerDynamodb?: (stack: TestStack) => DynamoDBClient;
}): Promise<DelayHarness> {
  const clock = options.clock ?? new AdjustableClock();
  const stack = await getTestStack({
    label: options.label,
    clock,
    ...(options.queueOverrides ? { queueOverrides: options.queueOverrides } : {}),
  });
  const { sqs, dynamodb, scheduler: schedulerClient } = stack.clients;
  const aws = { sqs, dynamodb, scheduler: schedulerClient };
  const scheduler = new EventBridgeScheduler({
    client: schedulerClient,
    groupName: stack.names.scheduleGroup,
    roleArn: stack.schedulerRoleArn,
    delayQueueArn: stack.queueArns.delay,
    deadLetterArn: stack.queueArns.schedulerDlq,
  });
  const client = createClient({ env: stack.env, aws, clock, scheduler });
  const worker = createWorker({
    env: stack.env,
    aws: options.workerDynamodb ? { ...aws, dynamodb: options.workerDynamodb(stack) } : aws,
    clock,
    scheduler,
    registry: createRegistry(options.tasks),
    logger: new Logger({ logLevel: 'SILENT' }),
  });
  const forwarded: ForwardOutcome[] = [];
  const forwarderLogger: ForwarderLogger = {
    info: (_m, attrs) => record(attrs),
    warn: (_m, attrs) => record(attrs),
    error: (_m, attrs) => record(attrs),
  };
  function record(attrs: Record<string, unknown> | undefined) {
    if (attrs !== undefined) forwarded.push({ ...attrs, kind: attrs.outcome } as ForwardOutcome);
  }
  const forwarder = createForwarder({
    backend: client.backend,
    broker: client.broker,
    scheduler,
    clock,
    deadLetter: sqsDeadLetterSink(sqs, stack.queueUrls.delayDlq),
    logger: forwarderLogger,
  });
  const runners = [
    new EventSourceRunner({
      sqs,
      queueUrl: stack.queueUrls.tasks,
      queueArn: stack.queueArns.tasks,
      handler: worker as (event: SQSEvent, context: Context) => Promise<never>,
      concurrency: 4,
      onError: () => {},
    }),
    new EventSourceRunner({
      sqs,
      queueUrl: stack.queueUrls.delay,
      queueArn: stack.queueArns.delay,
      handler: (event: SQSEvent) => forwarder(event) as Promise<never>,
      concurrency: 2,
      onError: () => {},
    }),
  ];
  for (const r of runners) r.start();
  return {
    stack,
    clock,
    client,
    scheduler,
    forwarded,
    cancel: (uuid) => cancel(uuid, { backend: client.backend, scheduler, clock }),
    async stop() {
      await Promise.all(runners.map((r) => r.stop()));
      client.close();
      await stack.stop();
    },
  };
}
