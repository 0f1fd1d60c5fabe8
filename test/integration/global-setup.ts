/**
 * Global setup of the `integration` vitest project: starts fauxqs, DynamoDB Local and a Scheduler
 * emulator (on the system clock) once per run, provides their endpoints to test files
 * (`inject('localEndpoints')`, see `support/stack.ts`), and stops them at teardown — which vitest
 * runs whether tests passed or failed. If the run is killed, DynamoDB Local's watchdog ends the JVM.
 *
 * @module
 */

import type { TestProject } from 'vitest/node';
import type { LocalDynamoDb } from '../../src/local/dynamodb.js';
import type { StackEndpoints } from '../../src/local/provision.js';
import { startEmulators } from '../../src/local/stack.js';

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
  // No endpoint given: all three are started (those started are stopped again if one fails).
  const emulators = await startEmulators();
  const ddb = emulators.dynamodb as LocalDynamoDb;
  project.provide('localEndpoints', emulators.endpoints);
  project.provide('dynamodbPid', ddb.pid);
  project.provide('dynamodbStartupMs', ddb.startupMs);
  return () => emulators.stop().catch(() => undefined);
}
