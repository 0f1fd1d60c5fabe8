/**
 * Global setup of the `integration` vitest project: starts fauxqs, DynamoDB Local and a Scheduler
 * emulator (on the system clock) once per run, provides their endpoints to test files
 * (`inject('localEndpoints')`, see `support/stack.ts`), and stops them at teardown — which vitest
 * runs whether tests passed or failed. If the run is killed, DynamoDB Local's watchdog ends the JVM.
 *
 * @module
 */

import type { TestProject } from 'vitest/node';
import { type LocalDynamoDb, startDynamoDbLocal } from '../../src/local/dynamodb.js';
import type { StackEndpoints } from '../../src/local/provision.js';
import {
  type SchedulerEmulator,
  startSchedulerEmulator,
} from '../../src/local/scheduler-emulator.js';
import { type LocalSqs, startSqs } from '../../src/local/sqs.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoints of the emulators shared by every integration test file. */
    localEndpoints: StackEndpoints;
    /** Pid of the shared DynamoDB Local JVM. */
    dynamodbPid: number;
    /** How long the shared DynamoDB Local took to answer, ms. */
    dynamodbStartupMs: number;
  }
}

/**
 * Starts the shared emulators; returns the teardown.
 *
 * @example
 * ```ts
 * // vitest.config.ts: globalSetup: ['test/integration/global-setup.ts']
 * ```
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [sqsResult, ddbResult] = await Promise.allSettled([startSqs(), startDynamoDbLocal()]);
  const sqs: LocalSqs | undefined = sqsResult.status === 'fulfilled' ? sqsResult.value : undefined;
  const ddb: LocalDynamoDb | undefined =
    ddbResult.status === 'fulfilled' ? ddbResult.value : undefined;
  let scheduler: SchedulerEmulator | undefined;
  const teardown = async () => {
    await Promise.allSettled([scheduler?.stop(), sqs?.stop(), ddb?.stop()]);
  };
  try {
    if (sqsResult.status === 'rejected') throw sqsResult.reason;
    if (ddbResult.status === 'rejected') throw ddbResult.reason;
    if (!sqs || !ddb) throw new Error('emulators did not start');
    scheduler = await startSchedulerEmulator({ sqsEndpoint: sqs.endpoint });
    project.provide('localEndpoints', {
      sqs: sqs.endpoint,
      dynamodb: ddb.endpoint,
      scheduler: scheduler.endpoint,
    });
    project.provide('dynamodbPid', ddb.pid);
    project.provide('dynamodbStartupMs', ddb.startupMs);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
