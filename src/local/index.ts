/**
 * The embedded local stack (no AWS account, no Docker): emulators, the Lambda event-source
 * runner, the Scheduler emulator and provisioning.
 *
 * @example
 * ```ts
 * import { startLocalStack, EventSourceRunner } from './local/index.js';
 * const stack = await startLocalStack();
 * ```
 *
 * @module
 */

export { InvalidScheduleExpressionError as ScheduleExpressionError } from '../core/errors.js';
export {
  nextFireTime,
  parseScheduleExpression,
  type ScheduleExpression,
} from '../core/schedule-expression.js';
export {
  DynamoDbLocalStartError,
  type LocalDynamoDb,
  type StartDynamoDbOptions,
  startDynamoDbLocal,
} from './dynamodb.js';
export {
  assertEmulatorPackages,
  EMULATOR_PACKAGES,
  type EmulatorPackage,
  missingEmulatorPackages,
} from './emulator-packages.js';
export { EMULATOR_INSTALL_COMMAND, EmulatorPackageMissingError } from './errors.js';
export { freePort } from './net.js';
export {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalCredentials,
  type ProvisionedStack,
  type ProvisionOptions,
  provisionStack,
  type QueueOverride,
  queueAttributes,
  type StackEndpoints,
  stackEnv,
  uniquePrefix,
} from './provision.js';
export {
  EventSourceRunner,
  type EventSourceRunnerOptions,
  type InvocationResult,
  type RunnerStats,
  type SqsHandlerLike,
  toSqsRecord,
} from './runner.js';
export {
  type SchedulerDelivery,
  type SchedulerEmulator,
  type SchedulerEmulatorOptions,
  type SchedulerTimerStats,
  startSchedulerEmulator,
} from './scheduler-emulator.js';
export { FAUXQS_ACCOUNT_ID, type LocalSqs, type StartSqsOptions, startSqs } from './sqs.js';
export {
  type LocalEmulators,
  type LocalStack,
  type StartEmulatorsOptions,
  type StartLocalStackOptions,
  startEmulators,
  startLocalStack,
} from './stack.js';
