/**
 * Per-test resources on the emulators shared by the integration run (started once by
 * `global-setup.ts`): every call provisions a uniquely prefixed set of queues, tables and a
 * schedule group, so test files run in parallel without seeing each other's data.
 *
 * @module
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type ProvisionOptions,
  type StackEndpoints,
  uniquePrefix,
} from '../../../src/local/provision.js';
import { type LocalStack, startLocalStack } from '../../../src/local/stack.js';

/**
 * SDK clients pointed at a stack's emulators (explicit endpoints, dummy credentials).
 *
 * @example
 * ```ts
 * const { sqs } = stack.clients;
 * ```
 */
export interface TestClients {
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  scheduler: SchedulerClient;
}

/**
 * A provisioned, isolated set of resources plus clients.
 *
 * @example
 * ```ts
 * const stack = await getTestStack();
 * afterAll(() => stack.stop());
 * ```
 */
export interface TestStack extends LocalStack {
  clients: TestClients;
  /** Destroys the clients and stops the private Scheduler emulator (the shared emulators stay). */
  stop(): Promise<void>;
}

/**
 * Options of {@link getTestStack}.
 *
 * @example
 * ```ts
 * const options: TestStackOptions = { label: 'dlq', queueOverrides: { tasks: { maxReceiveCount: 2 } } };
 * ```
 */
export interface TestStackOptions {
  /** Readable part of the prefix. @default 't' */
  label?: string;
  /** Per-queue overrides (short visibility, small maxReceiveCount). */
  queueOverrides?: ProvisionOptions['queueOverrides'];
  /**
   * Start a private Scheduler emulator on this clock (against the shared SQS) instead of using the
   * shared one (system clock).
   */
  clock?: Clock;
}

/**
 * The endpoints of the emulators shared by this run.
 *
 * @example
 * ```ts
 * const { sqs } = sharedEndpoints();
 * ```
 */
export function sharedEndpoints(): StackEndpoints {
  return inject('localEndpoints');
}

/**
 * Clients for `endpoints`.
 *
 * @example
 * ```ts
 * const clients = makeClients(sharedEndpoints());
 * ```
 */
export function makeClients(endpoints: StackEndpoints): TestClients {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return {
    sqs: new SQSClient({ ...common, endpoint: endpoints.sqs }),
    dynamodb: new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }),
    scheduler: new SchedulerClient({ ...common, endpoint: endpoints.scheduler }),
  };
}

/**
 * Provisions a uniquely prefixed stack on the shared emulators.
 *
 * @example
 * ```ts
 * const clock = new AdjustableClock();
 * const stack = await getTestStack({ label: 'delay', clock });
 * await stack.clients.scheduler.send(new CreateScheduleCommand({ ... }));
 * clock.advance(20 * 60_000);
 * await stack.scheduler?.waitForDelivery();
 * await stack.stop();
 * ```
 */
export async function getTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const { sqs, dynamodb, scheduler } = sharedEndpoints();
  // startLocalStack starts only what `endpoints` lacks: the Scheduler emulator when `clock` is given.
  const stack = await startLocalStack({
    endpoints: options.clock ? { sqs, dynamodb } : { sqs, dynamodb, scheduler },
    prefix: uniquePrefix(options.label ?? 't'),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.queueOverrides ? { queueOverrides: options.queueOverrides } : {}),
  });
  const clients = makeClients(stack.endpoints);
  return {
    ...stack,
    clients,
    stop: async () => {
      for (const client of Object.values(clients)) client.destroy();
      await stack.stop();
    },
  };
}
