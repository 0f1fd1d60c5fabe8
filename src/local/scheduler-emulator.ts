/**
 * A local EventBridge Scheduler: an HTTP server speaking the REST-JSON API of
 * `@aws-sdk/client-scheduler`, that fires schedules on an injected {@link Clock} and delivers to
 * SQS targets. Nothing on npm or Debian fires schedules, hence this emulator.
 *
 * API: `CreateSchedule`, `GetSchedule`, `UpdateSchedule` (a full replacement, as AWS),
 * `DeleteSchedule`, `ListSchedules`, `CreateScheduleGroup`, `GetScheduleGroup`,
 * `DeleteScheduleGroup` (deletes its schedules at once), `ListScheduleGroups`, and the three tag
 * operations. The `default` group always exists. Errors carry `x-amzn-errortype` and a JSON
 * `{ Message }`, so the SDK throws `ValidationException`, `ConflictException` and
 * `ResourceNotFoundException` as with AWS. `ClientToken` makes a create idempotent (an SDK retry of
 * a create that succeeded answers the same ARN instead of a conflict).
 *
 * Firing (see `src/core/schedule-expression.ts` for expressions):
 * - never before the scheduled time on the clock; `FlexibleTimeWindow` `FLEXIBLE` fires at the start
 *   of its window (AWS fires anywhere inside it);
 * - `DISABLED` schedules do not fire; `StartDate` / `EndDate` bound recurring schedules;
 * - an `at()` time already past fires at once; after a big `advance()`, missed recurring occurrences
 *   fire one after another, at most {@link SchedulerEmulatorOptions.maxCatchUp} of them, then the
 *   schedule skips to the present;
 * - the target must be an SQS queue ARN: `Input` (or `{}` when absent) is sent as the body, with
 *   `SqsParameters.MessageGroupId`; context attributes `<aws.scheduler.scheduled-time>`,
 *   `<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>` and
 *   `<aws.scheduler.schedule-arn>` are substituted;
 * - a failed send is retried `min(RetryPolicy.MaximumRetryAttempts, localRetries)` times 100 ms
 *   apart, then the body goes to `DeadLetterConfig.Arn` (with AWS's `ERROR_CODE`, `ERROR_MESSAGE`,
 *   `RETRY_ATTEMPTS`, `TARGET_ARN`, `SCHEDULE_ARN`, `GROUP_ARN`, `EXHAUSTED_RETRY_CONDITION`
 *   attributes), or is dropped when there is none;
 * - `ActionAfterCompletion: DELETE` deletes a one-time schedule after it fired.
 *
 * Tests observe firings through {@link SchedulerEmulator.deliveries},
 * {@link SchedulerEmulator.onDelivery} or {@link SchedulerEmulator.waitForDelivery}, and the
 * timers through {@link SchedulerEmulator.stats}: a schedule's timer sleeps until its occurrence
 * is due (at most 2^31 − 1 ms per sleep, so any distance in the future works), and an emulator
 * with nothing due soon wakes up rarely.
 *
 * This file assembles the emulator; its parts are `scheduler-emulator/validation.ts` (what the API
 * refuses), `scheduler-emulator/store.ts` (schedules and groups), `scheduler-emulator/delivery.ts`
 * (timers and firing) and `scheduler-emulator/http.ts` (the REST-JSON routes).
 *
 * @module
 */

import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULTS } from '../core/resources.js';
import {
  Deliverer,
  type SchedulerDelivery,
  type SchedulerTimerStats,
} from './scheduler-emulator/delivery.js';
import { startApiServer } from './scheduler-emulator/http.js';
import { SchedulerStore } from './scheduler-emulator/store.js';
import { FAUXQS_ACCOUNT_ID } from './sqs.js';

export type { SchedulerDelivery, SchedulerTimerStats } from './scheduler-emulator/delivery.js';

/**
 * Options of {@link startSchedulerEmulator}.
 *
 * @example
 * ```ts
 * const options: SchedulerEmulatorOptions = { sqsEndpoint: sqs.endpoint, clock: new AdjustableClock() };
 * ```
 */
export interface SchedulerEmulatorOptions {
  /** SQS endpoint the targets live on (the fauxqs endpoint). */
  sqsEndpoint: string;
  /** Time source; share an `AdjustableClock` to fire schedules by `advance()`. @default systemClock */
  clock?: Clock;
  /** TCP port; `0` (the default) picks a free one. */
  port?: number;
  /** @default 'us-east-1' */
  region?: string;
  /** Account id in ARNs. @default '000000000000' */
  accountId?: string;
  /** Credentials for the SQS client. @default local dummies */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Largest `Target.Input`, bytes. @default DEFAULTS.schedulerMaxInputBytes */
  maxInputBytes?: number;
  /** Retries of a failed target send, at most (also bounded by the schedule's RetryPolicy). @default 2 */
  localRetries?: number;
  /** Missed recurring occurrences fired after a clock jump before skipping. @default 10 */
  maxCatchUp?: number;
  /** Called after every firing. */
  onDelivery?: (delivery: SchedulerDelivery) => void;
}

/**
 * A running Scheduler emulator.
 *
 * @example
 * ```ts
 * const emulator = await startSchedulerEmulator({ sqsEndpoint: sqs.endpoint, clock });
 * const client = new SchedulerClient({ endpoint: emulator.endpoint, region: 'us-east-1' });
 * await emulator.stop();
 * ```
 */
export interface SchedulerEmulator {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every firing so far, oldest first. */
  readonly deliveries: readonly SchedulerDelivery[];
  /** Called after every firing (settable). */
  onDelivery: ((delivery: SchedulerDelivery) => void) | undefined;
  /**
   * Resolves with the first delivery (past or future) matching `predicate`; rejects after
   * `timeoutMs` of real time (default 10 s).
   */
  waitForDelivery(
    predicate?: (delivery: SchedulerDelivery) => boolean,
    timeoutMs?: number,
  ): Promise<SchedulerDelivery>;
  /** Counters of the schedules' timers (live). */
  readonly stats: SchedulerTimerStats;
  /** Stops the server and every schedule's timer; waits for deliveries in progress (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts a Scheduler emulator on `127.0.0.1`.
 *
 * @example
 * ```ts
 * const clock = new AdjustableClock();
 * const emulator = await startSchedulerEmulator({ sqsEndpoint: sqs.endpoint, clock });
 * // CreateSchedule at(now + 20 min) ... then:
 * clock.advance(20 * 60_000);
 * const delivery = await emulator.waitForDelivery();
 * ```
 */
export async function startSchedulerEmulator(
  options: SchedulerEmulatorOptions,
): Promise<SchedulerEmulator> {
  const clock: Clock = options.clock ?? systemClock;
  const store = new SchedulerStore({
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? FAUXQS_ACCOUNT_ID,
    now: clock.now(),
  });
  const deliverer = new Deliverer({
    store,
    clock,
    sqsEndpoint: options.sqsEndpoint,
    credentials: options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
    localRetries: options.localRetries ?? 2,
    maxCatchUp: options.maxCatchUp ?? 10,
    onDelivery: options.onDelivery,
  });
  store.watch(deliverer);
  const server = await startApiServer(
    { store, clock, maxInputBytes: options.maxInputBytes ?? DEFAULTS.schedulerMaxInputBytes },
    options.port ?? 0,
  );
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    deliveries: deliverer.deliveries,
    get onDelivery() {
      return deliverer.onDelivery;
    },
    set onDelivery(callback) {
      deliverer.onDelivery = callback;
    },
    get stats() {
      return deliverer.stats;
    },
    waitForDelivery: (predicate = () => true, timeoutMs = 10_000) =>
      deliverer.waitForDelivery(predicate, timeoutMs),
    stop: () => {
      stopping ??= Promise.all([deliverer.stop(), server.close()]).then(() => undefined);
      return stopping;
    },
  };
}
