/**
 * The embedded local stack: SQS (fauxqs, in process), DynamoDB Local (a JVM child process with a
 * watchdog), the Scheduler emulator (in process), and one provisioned set of resources — no AWS
 * account and no Docker.
 *
 * Start-up is dominated by DynamoDB Local (about 2 s on 2 cores); fauxqs and the Scheduler
 * emulator start in milliseconds. The Lambda side (the worker and forwarder handlers) is not
 * started here: run them with {@link EventSourceRunner} against `queueUrls.tasks`,
 * `queueUrls.highTasks` (the worker on each) and `queueUrls.delay`.
 *
 * @module
 */

import { type Clock, systemClock } from '../core/clock.js';
import { type LocalDynamoDb, startDynamoDbLocal } from './dynamodb.js';
import { missingEmulatorPackages } from './emulator-packages.js';
import { EmulatorPackageMissingError } from './errors.js';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type ProvisionedStack,
  type ProvisionOptions,
  provisionStack,
  type StackEndpoints,
  uniquePrefix,
} from './provision.js';
import { type SchedulerEmulator, startSchedulerEmulator } from './scheduler-emulator.js';
import { type LocalSqs, startSqs } from './sqs.js';

/**
 * Options of {@link startLocalStack}.
 *
 * @example
 * ```ts
 * const options: StartLocalStackOptions = { clock: new AdjustableClock(), sqsPort: 4566 };
 * ```
 */
export interface StartLocalStackOptions {
  /**
   * Resource-name prefix. @default `''` when this call starts every emulator (they are fresh and
   * private), else a unique prefix (`uniquePrefix('local')`).
   */
  prefix?: string;
  /** The clock of the Scheduler emulator (share it with the worker and forwarder). @default systemClock */
  clock?: Clock;
  /** Port of DynamoDB Local. @default a free port */
  dynamodbPort?: number;
  /** Port of fauxqs. @default a free port */
  sqsPort?: number;
  /** Port of the Scheduler emulator. @default a free port */
  schedulerPort?: number;
  /** Reuse running emulators instead of starting them (each one given is not started nor stopped). */
  endpoints?: Partial<StackEndpoints>;
  /** Per-queue changes (short visibility timeouts etc.). */
  queueOverrides?: ProvisionOptions['queueOverrides'];
  /** @default 'us-east-1' */
  region?: string;
}

/**
 * Options of {@link startEmulators}: those of {@link startLocalStack} that choose the emulators.
 *
 * @example
 * ```ts
 * const options: StartEmulatorsOptions = { clock: new AdjustableClock(), sqsPort: 4566 };
 * ```
 */
export type StartEmulatorsOptions = Pick<
  StartLocalStackOptions,
  'clock' | 'dynamodbPort' | 'sqsPort' | 'schedulerPort' | 'endpoints' | 'region'
>;

/**
 * Running emulators, nothing provisioned on them yet.
 *
 * @example
 * ```ts
 * const emulators = await startEmulators();
 * const stack = await provisionStack(emulators.endpoints, uniquePrefix());
 * await emulators.stop();
 * ```
 */
export interface LocalEmulators {
  /** Every endpoint: those given, and those of the emulators started. */
  readonly endpoints: StackEndpoints;
  /** fauxqs when this call started it. */
  readonly sqs: LocalSqs | undefined;
  /** DynamoDB Local when this call started it (pid, start-up time). */
  readonly dynamodb: LocalDynamoDb | undefined;
  /** The Scheduler emulator when this call started it (to observe deliveries). */
  readonly scheduler: SchedulerEmulator | undefined;
  /** Stops what this call started (idempotent; rejects with the first failure after trying all). */
  stop(): Promise<void>;
}

/**
 * Starts fauxqs and DynamoDB Local (in parallel), then the Scheduler emulator on fauxqs — each
 * one whose endpoint is not given in `endpoints`. If one fails to start, those started are stopped.
 *
 * @example
 * ```ts
 * const emulators = await startEmulators({ endpoints: { sqs: 'http://127.0.0.1:4566' } });
 * emulators.endpoints.dynamodb; // http://127.0.0.1:<port>
 * await emulators.stop();
 * ```
 */
export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<LocalEmulators> {
  const region = options.region ?? LOCAL_REGION;
  const given = options.endpoints ?? {};
  // The emulators to start are optional peer dependencies: name every one not installed at once.
  const missing = missingEmulatorPackages().filter((name) =>
    name === 'fauxqs' ? !given.sqs : !given.dynamodb,
  );
  if (missing.length > 0) throw new EmulatorPackageMissingError(missing);
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const results = await Promise.allSettled(
      stoppers
        .splice(0)
        .reverse()
        .map((stop) => stop()),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  };
  try {
    const sqsPromise: Promise<LocalSqs | undefined> = given.sqs
      ? Promise.resolve(undefined)
      : startSqs({ port: options.sqsPort ?? 0, region });
    const ddbPromise: Promise<LocalDynamoDb | undefined> = given.dynamodb
      ? Promise.resolve(undefined)
      : startDynamoDbLocal(
          options.dynamodbPort !== undefined ? { port: options.dynamodbPort } : {},
        );
    const [sqsResult, ddbResult] = await Promise.allSettled([sqsPromise, ddbPromise]);
    const sqs = sqsResult.status === 'fulfilled' ? sqsResult.value : undefined;
    const dynamodb = ddbResult.status === 'fulfilled' ? ddbResult.value : undefined;
    if (sqs) stoppers.push(() => sqs.stop());
    if (dynamodb) stoppers.push(() => dynamodb.stop());
    if (sqsResult.status === 'rejected') throw sqsResult.reason;
    if (ddbResult.status === 'rejected') throw ddbResult.reason;
    const sqsEndpoint = given.sqs ?? (sqs as LocalSqs).endpoint;
    let scheduler: SchedulerEmulator | undefined;
    if (!given.scheduler) {
      scheduler = await startSchedulerEmulator({
        sqsEndpoint,
        clock: options.clock ?? systemClock,
        region,
        credentials: LOCAL_CREDENTIALS,
        ...(options.schedulerPort !== undefined ? { port: options.schedulerPort } : {}),
      });
      const started = scheduler;
      stoppers.push(() => started.stop());
    }
    const endpoints: StackEndpoints = {
      sqs: sqsEndpoint,
      dynamodb: given.dynamodb ?? (dynamodb as LocalDynamoDb).endpoint,
      scheduler: given.scheduler ?? (scheduler as SchedulerEmulator).endpoint,
    };
    let stopping: Promise<void> | undefined;
    return {
      endpoints,
      sqs,
      dynamodb,
      scheduler,
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
}

/**
 * A running local stack.
 *
 * @example
 * ```ts
 * const stack = await startLocalStack();
 * Object.assign(process.env, stack.env);
 * // ... send tasks, run workers ...
 * await stack.stop();
 * ```
 */
export interface LocalStack extends ProvisionedStack {
  readonly clock: Clock;
  /** The Scheduler emulator when this call started it (to observe deliveries). */
  readonly scheduler: SchedulerEmulator | undefined;
  /** DynamoDB Local when this call started it (pid, start-up time). */
  readonly dynamodb: LocalDynamoDb | undefined;
  /** Stops what this call started (idempotent); leaves reused emulators running. */
  stop(): Promise<void>;
}

/**
 * Starts the emulators (or reuses those given), provisions every resource under a prefix and
 * returns names, URLs, and the environment (`env`: exactly the `ENV` keys) that points the SDK
 * client, the CLI and the handlers at them.
 *
 * @example
 * ```ts
 * const clock = new AdjustableClock();
 * const stack = await startLocalStack({ clock });
 * stack.queueUrls.tasks; // http://127.0.0.1:<port>/000000000000/tasks.fifo
 * await stack.stop();
 * ```
 */
export async function startLocalStack(options: StartLocalStackOptions = {}): Promise<LocalStack> {
  const clock = options.clock ?? systemClock;
  const emulators = await startEmulators({ ...options, clock });
  try {
    const { sqs, dynamodb, scheduler } = options.endpoints ?? {};
    const reused = Boolean(sqs || dynamodb || scheduler);
    const prefix = options.prefix ?? (reused ? uniquePrefix('local') : '');
    const provisioned = await provisionStack(emulators.endpoints, prefix, {
      region: options.region ?? LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      ...(options.queueOverrides ? { queueOverrides: options.queueOverrides } : {}),
    });
    return {
      ...provisioned,
      clock,
      scheduler: emulators.scheduler,
      dynamodb: emulators.dynamodb,
      stop: emulators.stop,
    };
  } catch (e) {
    await emulators.stop().catch(() => undefined);
    throw e;
  }
}
