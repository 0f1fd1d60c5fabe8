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
 * Firing (see `schedule-expression.ts` for expressions):
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
 * {@link SchedulerEmulator.onDelivery} or {@link SchedulerEmulator.waitForDelivery}.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULTS } from '../core/resources.js';
import {
  isValidTimeZone,
  nextFireTime,
  parseScheduleExpression,
  type ScheduleExpression,
  ScheduleExpressionError,
} from './schedule-expression.js';
import { FAUXQS_ACCOUNT_ID } from './sqs.js';

/**
 * One firing of a schedule, as delivered (or not).
 *
 * @example
 * ```ts
 * const d: SchedulerDelivery = await emulator.waitForDelivery((d) => d.scheduleName === 'job');
 * JSON.parse(d.body);
 * ```
 */
export interface SchedulerDelivery {
  scheduleName: string;
  groupName: string;
  scheduleArn: string;
  /**
   * The occurrence's scheduled time, epoch ms, always a whole second (what
   * `<aws.scheduler.scheduled-time>` says: `new Date(scheduledTime).toISOString()` without `.000`).
   */
  scheduledTime: number;
  /** When it was delivered, on the emulator's clock, epoch ms (never before `scheduledTime`). */
  firedAt: number;
  executionId: string;
  /** Attempts made on the target. */
  attempts: number;
  /** `delivered` to the target, `dead-lettered` to the DLQ, or `failed` (no DLQ, or DLQ failed too). */
  status: 'delivered' | 'dead-lettered' | 'failed';
  /** The queue that got the message (target or DLQ). */
  queueUrl?: string;
  /** The body sent (after substitution). */
  body: string;
  messageGroupId?: string;
  messageId?: string;
  /** Last error, when the target send failed. */
  error?: string;
}

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
  /** Stops the server and every schedule's timer; waits for deliveries in progress (idempotent). */
  stop(): Promise<void>;
}

type ErrorType =
  | 'ValidationException'
  | 'ConflictException'
  | 'ResourceNotFoundException'
  | 'InternalServerException';

const STATUS: Record<ErrorType, number> = {
  ValidationException: 400,
  ConflictException: 409,
  ResourceNotFoundException: 404,
  InternalServerException: 500,
};

class ApiError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

const validation = (message: string) => new ApiError('ValidationException', message);

interface Tag {
  Key: string;
  Value: string;
}

interface Group {
  Name: string;
  Arn: string;
  CreationDate: number;
  LastModificationDate: number;
  Tags: Tag[];
  clientToken: string | undefined;
}

interface TargetShape {
  Arn: string;
  RoleArn: string;
  Input?: string;
  DeadLetterConfig?: { Arn?: string };
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  SqsParameters?: { MessageGroupId?: string };
  [other: string]: unknown;
}

interface Schedule {
  Name: string;
  GroupName: string;
  Arn: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone: string | undefined;
  StartDate: number | undefined;
  EndDate: number | undefined;
  Description: string | undefined;
  State: 'ENABLED' | 'DISABLED';
  KmsKeyArn: string | undefined;
  Target: TargetShape;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  ActionAfterCompletion: 'NONE' | 'DELETE';
  CreationDate: number;
  LastModificationDate: number;
  clientToken: string | undefined;
  expression: ScheduleExpression;
  timer: AbortController | undefined;
}

const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const DLQ_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/;
const SQS_ARN = /^arn:aws(-[a-z]+)?:sqs:([a-z0-9-]+):(\d{12}):([a-zA-Z0-9\-_.]+)$/;

/** Seconds (the wire format of timestamps) → ms. */
const toMs = (seconds: number) => Math.round(seconds * 1000);
/** ms → seconds for the wire. */
const toSeconds = (ms: number) => ms / 1000;

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw validation(`${field} must be a structure`);
  }
  return value as Record<string, unknown>;
}

function optString(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  path = field,
): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw validation(`${path} must be a string`);
  if (v.length < min || v.length > max) {
    throw validation(
      `1 validation error detected: Value at '${path}' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
    );
  }
  return v;
}

function reqString(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  path = field,
): string {
  const v = optString(body, field, min, max, path);
  if (v === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return v;
}

function optInt(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  path = field,
): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw validation(
      `1 validation error detected: Value at '${path}' failed to satisfy constraint: Member must have value between ${min} and ${max}`,
    );
  }
  return v;
}

function optTimestamp(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw validation(`${field} must be a timestamp`);
  return toMs(v);
}

function enumValue<T extends string>(
  body: Record<string, unknown>,
  field: string,
  values: readonly T[],
  fallback: T,
): T {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw validation(
      `1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  }
  return v as T;
}

function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw validation(
      `1 validation error detected: Value '${name}' at '${what}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ and have length between 1 and 64`,
    );
  }
}

function parseTags(value: unknown): Tag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validation('Tags must be a list');
  return value.map((t) => {
    const o = asObject(t, 'Tags.member');
    return {
      Key: reqString(o, 'Key', 1, 128, 'Tags.member.Key'),
      Value: reqString(o, 'Value', 1, 256, 'Tags.member.Value'),
    };
  });
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
  const clock = options.clock ?? systemClock;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? FAUXQS_ACCOUNT_ID;
  const credentials = options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  const maxInputBytes = options.maxInputBytes ?? DEFAULTS.schedulerMaxInputBytes;
  const localRetries = options.localRetries ?? 2;
  const maxCatchUp = options.maxCatchUp ?? 10;

  const groups = new Map<string, Group>();
  const schedules = new Map<string, Schedule>();
  const deliveries: SchedulerDelivery[] = [];
  const waiters = new Set<(d: SchedulerDelivery) => void>();
  const inFlight = new Set<Promise<void>>();
  const sqsClients = new Map<string, SQSClient>();
  let stopped = false;

  const groupArn = (name: string) =>
    `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}`;
  const scheduleArn = (group: string, name: string) =>
    `arn:aws:scheduler:${region}:${accountId}:schedule/${group}/${name}`;
  const key = (group: string, name: string) => `${group}/${name}`;

  const created = clock.now();
  groups.set('default', {
    Name: 'default',
    Arn: groupArn('default'),
    CreationDate: created,
    LastModificationDate: created,
    Tags: [],
    clientToken: undefined,
  });

  const emulator: SchedulerEmulator = {
    endpoint: '',
    port: 0,
    deliveries,
    onDelivery: options.onDelivery,
    waitForDelivery(predicate = () => true, timeoutMs = 10_000) {
      const found = deliveries.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (d: SchedulerDelivery) => {
          if (!predicate(d)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching Scheduler delivery within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: async () => {},
  };

  // ---- delivery ---------------------------------------------------------------------------

  function sqsFor(queueRegion: string): SQSClient {
    let client = sqsClients.get(queueRegion);
    if (!client) {
      client = new SQSClient({
        endpoint: options.sqsEndpoint,
        region: queueRegion,
        credentials,
        maxAttempts: 1,
      });
      sqsClients.set(queueRegion, client);
    }
    return client;
  }

  async function sendToQueue(
    arn: string,
    body: string,
    messageGroupId: string | undefined,
    attributes?: Record<string, MessageAttributeValue>,
  ): Promise<{ queueUrl: string; messageId: string | undefined }> {
    const m = SQS_ARN.exec(arn);
    if (!m)
      throw new Error(`target ${arn} is not an SQS queue ARN (the emulator delivers to SQS only)`);
    const client = sqsFor(m[2] as string);
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: m[4] as string }));
    if (!QueueUrl) throw new Error(`no URL for queue ${arn}`);
    const out = await client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: body,
        ...(messageGroupId !== undefined ? { MessageGroupId: messageGroupId } : {}),
        ...(attributes ? { MessageAttributes: attributes } : {}),
      }),
    );
    return { queueUrl: QueueUrl, messageId: out.MessageId };
  }

  function record(delivery: SchedulerDelivery): void {
    deliveries.push(delivery);
    try {
      emulator.onDelivery?.(delivery);
    } catch (e) {
      console.error('[scheduler-emulator] onDelivery threw', e);
    }
    for (const waiter of [...waiters]) waiter(delivery);
  }

  async function fire(schedule: Schedule, scheduledTime: number): Promise<void> {
    const executionId = randomUUID();
    const target = schedule.Target;
    const retries = Math.min(target.RetryPolicy?.MaximumRetryAttempts ?? 185, localRetries);
    const messageGroupId = target.SqsParameters?.MessageGroupId;
    const bodyFor = (attempt: number) =>
      (target.Input ?? '{}')
        .replaceAll('<aws.scheduler.scheduled-time>', isoSeconds(scheduledTime))
        .replaceAll('<aws.scheduler.execution-id>', executionId)
        .replaceAll('<aws.scheduler.attempt-number>', String(attempt))
        .replaceAll('<aws.scheduler.schedule-arn>', schedule.Arn);
    const base = {
      scheduleName: schedule.Name,
      groupName: schedule.GroupName,
      scheduleArn: schedule.Arn,
      scheduledTime,
      executionId,
      ...(messageGroupId !== undefined ? { messageGroupId } : {}),
    };
    let lastError: unknown;
    let attempt = 0;
    while (attempt <= retries) {
      attempt++;
      const body = bodyFor(attempt);
      try {
        const sent = await sendToQueue(target.Arn, body, messageGroupId);
        record({
          ...base,
          firedAt: clock.now(),
          attempts: attempt,
          status: 'delivered',
          queueUrl: sent.queueUrl,
          body,
          ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
        });
        return;
      } catch (e) {
        lastError = e;
        if (attempt <= retries) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const body = bodyFor(attempt);
    const error =
      lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
    const dlqArn = target.DeadLetterConfig?.Arn;
    const failed: SchedulerDelivery = {
      ...base,
      firedAt: clock.now(),
      attempts: attempt,
      status: 'failed',
      body,
      error,
    };
    if (dlqArn) {
      const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });
      try {
        const sent = await sendToQueue(dlqArn, body, undefined, {
          ERROR_CODE: str(lastError instanceof Error ? lastError.name : 'Error'),
          ERROR_MESSAGE: str(error.slice(0, 1000)),
          EXHAUSTED_RETRY_CONDITION: str('MaximumRetryAttempts'),
          RETRY_ATTEMPTS: str(String(attempt - 1)),
          TARGET_ARN: str(target.Arn),
          SCHEDULE_ARN: str(schedule.Arn),
          GROUP_ARN: str(groupArn(schedule.GroupName)),
        });
        record({
          ...failed,
          status: 'dead-lettered',
          queueUrl: sent.queueUrl,
          ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
        });
        return;
      } catch (e) {
        record({ ...failed, error: `${error}; DLQ send failed too: ${String(e)}` });
        return;
      }
    }
    record(failed);
  }

  // ---- timers -------------------------------------------------------------------------------

  function stopTimer(schedule: Schedule): void {
    schedule.timer?.abort();
    schedule.timer = undefined;
  }

  function startTimer(schedule: Schedule): void {
    stopTimer(schedule);
    if (schedule.State !== 'ENABLED' || stopped) return;
    const controller = new AbortController();
    schedule.timer = controller;
    const { signal } = controller;
    const timeZone = schedule.ScheduleExpressionTimezone ?? 'UTC';
    const anchorMs = schedule.LastModificationDate;
    const run = async () => {
      let after = anchorMs;
      let lateStreak = 0;
      for (;;) {
        const next = nextFireTime(schedule.expression, {
          afterMs: after,
          anchorMs,
          timeZone,
          ...(schedule.StartDate !== undefined ? { startMs: schedule.StartDate } : {}),
          ...(schedule.EndDate !== undefined ? { endMs: schedule.EndDate } : {}),
        });
        if (next === undefined) return;
        while (clock.now() < next) {
          if (signal.aborted) return;
          await clock.sleep(next - clock.now(), signal).catch(() => undefined);
        }
        if (signal.aborted) return;
        const delivery = fire(schedule, next);
        inFlight.add(delivery);
        try {
          await delivery;
        } finally {
          inFlight.delete(delivery);
        }
        if (schedule.expression.kind === 'at') {
          if (
            schedule.ActionAfterCompletion === 'DELETE' &&
            schedules.get(key(schedule.GroupName, schedule.Name)) === schedule
          ) {
            schedules.delete(key(schedule.GroupName, schedule.Name));
          }
          schedule.timer = undefined;
          return;
        }
        after = next;
        // Catch-up after a clock jump: fire missed occurrences, at most `maxCatchUp` in a row.
        lateStreak = clock.now() - next > 60_000 ? lateStreak + 1 : 0;
        if (lateStreak >= maxCatchUp) {
          after = clock.now();
          lateStreak = 0;
        }
      }
    };
    void run().catch((e) => console.error('[scheduler-emulator] schedule timer failed', e));
  }

  // ---- API ----------------------------------------------------------------------------------

  function getGroup(name: string): Group {
    const group = groups.get(name);
    if (!group)
      throw new ApiError('ResourceNotFoundException', `Schedule group ${name} does not exist.`);
    return group;
  }

  function getSchedule(group: string, name: string): Schedule {
    getGroup(group);
    const schedule = schedules.get(key(group, name));
    if (!schedule)
      throw new ApiError('ResourceNotFoundException', `Schedule ${name} does not exist.`);
    return schedule;
  }

  /** Validates a Create/UpdateSchedule body into the stored fields. */
  function scheduleFields(name: string, body: Record<string, unknown>) {
    checkName(name, 'name');
    const groupName = optString(body, 'GroupName', 1, 64) ?? 'default';
    checkName(groupName, 'groupName');
    const expressionText = reqString(body, 'ScheduleExpression', 1, 256);
    const timezone = optString(body, 'ScheduleExpressionTimezone', 1, 50);
    if (timezone !== undefined && !isValidTimeZone(timezone)) {
      throw validation(`Invalid timezone ${timezone}.`);
    }
    let expression: ScheduleExpression;
    try {
      expression = parseScheduleExpression(expressionText);
    } catch (e) {
      if (e instanceof ScheduleExpressionError) throw validation(e.message);
      throw e;
    }
    if (body.Target === undefined || body.Target === null) {
      throw validation(
        `1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null`,
      );
    }
    const target = asObject(body.Target, 'Target');
    reqString(target, 'Arn', 1, 1600, 'target.arn');
    const roleArn = reqString(target, 'RoleArn', 1, 1600, 'target.roleArn');
    if (!ROLE_ARN.test(roleArn)) {
      throw validation(
        `1 validation error detected: Value '${roleArn}' at 'target.roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\\d{12}:role\\/[\\w+=,.@\\/-]+$`,
      );
    }
    const input = optString(target, 'Input', 1, Number.MAX_SAFE_INTEGER, 'target.input');
    if (input !== undefined && Buffer.byteLength(input, 'utf8') > maxInputBytes) {
      throw validation(
        `1 validation error detected: Value at 'target.input' failed to satisfy constraint: Member must have length less than or equal to ${maxInputBytes}`,
      );
    }
    if (target.DeadLetterConfig !== undefined && target.DeadLetterConfig !== null) {
      const dlq = asObject(target.DeadLetterConfig, 'Target.DeadLetterConfig');
      const arn = optString(dlq, 'Arn', 1, 1600, 'target.deadLetterConfig.arn');
      if (arn !== undefined && !DLQ_ARN.test(arn)) {
        throw validation(
          `1 validation error detected: Value '${arn}' at 'target.deadLetterConfig.arn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(arn:aws(-[a-z]+)?:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+)$`,
        );
      }
    }
    if (target.RetryPolicy !== undefined && target.RetryPolicy !== null) {
      const retry = asObject(target.RetryPolicy, 'Target.RetryPolicy');
      optInt(
        retry,
        'MaximumEventAgeInSeconds',
        60,
        86_400,
        'target.retryPolicy.maximumEventAgeInSeconds',
      );
      optInt(retry, 'MaximumRetryAttempts', 0, 185, 'target.retryPolicy.maximumRetryAttempts');
    }
    if (target.SqsParameters !== undefined && target.SqsParameters !== null) {
      const sqs = asObject(target.SqsParameters, 'Target.SqsParameters');
      optString(sqs, 'MessageGroupId', 1, 128, 'target.sqsParameters.messageGroupId');
    }
    if (body.FlexibleTimeWindow === undefined || body.FlexibleTimeWindow === null) {
      throw validation(
        `1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null`,
      );
    }
    const window = asObject(body.FlexibleTimeWindow, 'FlexibleTimeWindow');
    const mode = enumValue(window, 'Mode', ['OFF', 'FLEXIBLE'] as const, 'OFF');
    if (window.Mode === undefined || window.Mode === null) {
      throw validation(
        `1 validation error detected: Value null at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must not be null`,
      );
    }
    const maxWindow = optInt(
      window,
      'MaximumWindowInMinutes',
      1,
      1440,
      'flexibleTimeWindow.maximumWindowInMinutes',
    );
    if (mode === 'FLEXIBLE' && maxWindow === undefined) {
      throw validation(
        'MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.',
      );
    }
    if (mode === 'OFF' && maxWindow !== undefined) {
      throw validation(
        'MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.',
      );
    }
    const startDate = optTimestamp(body, 'StartDate');
    const endDate = optTimestamp(body, 'EndDate');
    if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
      throw validation('The EndDate must be after the StartDate.');
    }
    if (endDate !== undefined && endDate <= clock.now()) {
      throw validation('The EndDate must be in the future.');
    }
    return {
      groupName,
      expressionText,
      expression,
      timezone,
      target: target as unknown as TargetShape,
      flexibleTimeWindow: {
        Mode: mode,
        ...(maxWindow !== undefined ? { MaximumWindowInMinutes: maxWindow } : {}),
      },
      startDate,
      endDate,
      description: optString(body, 'Description', 0, 512),
      state: enumValue(body, 'State', ['ENABLED', 'DISABLED'] as const, 'ENABLED'),
      kmsKeyArn: optString(body, 'KmsKeyArn', 1, 2048),
      actionAfterCompletion: enumValue(
        body,
        'ActionAfterCompletion',
        ['NONE', 'DELETE'] as const,
        'NONE',
      ),
      clientToken: optString(body, 'ClientToken', 1, 64),
    };
  }

  function createSchedule(name: string, body: Record<string, unknown>) {
    const f = scheduleFields(name, body);
    getGroup(f.groupName);
    const existing = schedules.get(key(f.groupName, name));
    if (existing) {
      if (f.clientToken !== undefined && existing.clientToken === f.clientToken) {
        return { ScheduleArn: existing.Arn };
      }
      throw new ApiError('ConflictException', `Schedule ${name} already exists.`);
    }
    const now = clock.now();
    const schedule: Schedule = {
      Name: name,
      GroupName: f.groupName,
      Arn: scheduleArn(f.groupName, name),
      ...settableFields(f),
      CreationDate: now,
      LastModificationDate: now,
      clientToken: f.clientToken,
      timer: undefined,
    };
    schedules.set(key(f.groupName, name), schedule);
    startTimer(schedule);
    return { ScheduleArn: schedule.Arn };
  }

  /** The fields CreateSchedule sets and UpdateSchedule replaces. */
  function settableFields(f: ReturnType<typeof scheduleFields>) {
    return {
      ScheduleExpression: f.expressionText,
      ScheduleExpressionTimezone: f.timezone,
      StartDate: f.startDate,
      EndDate: f.endDate,
      Description: f.description,
      State: f.state,
      KmsKeyArn: f.kmsKeyArn,
      Target: f.target,
      FlexibleTimeWindow: f.flexibleTimeWindow,
      ActionAfterCompletion: f.actionAfterCompletion,
      expression: f.expression,
    };
  }

  function updateSchedule(name: string, body: Record<string, unknown>) {
    const f = scheduleFields(name, body);
    const schedule = getSchedule(f.groupName, name);
    Object.assign(schedule, {
      ...settableFields(f),
      LastModificationDate: clock.now(),
    });
    startTimer(schedule);
    return { ScheduleArn: schedule.Arn };
  }

  function describeSchedule(s: Schedule) {
    return {
      Arn: s.Arn,
      Name: s.Name,
      GroupName: s.GroupName,
      ScheduleExpression: s.ScheduleExpression,
      ...(s.ScheduleExpressionTimezone !== undefined
        ? { ScheduleExpressionTimezone: s.ScheduleExpressionTimezone }
        : {}),
      ...(s.StartDate !== undefined ? { StartDate: toSeconds(s.StartDate) } : {}),
      ...(s.EndDate !== undefined ? { EndDate: toSeconds(s.EndDate) } : {}),
      ...(s.Description !== undefined ? { Description: s.Description } : {}),
      ...(s.KmsKeyArn !== undefined ? { KmsKeyArn: s.KmsKeyArn } : {}),
      State: s.State,
      CreationDate: toSeconds(s.CreationDate),
      LastModificationDate: toSeconds(s.LastModificationDate),
      Target: s.Target,
      FlexibleTimeWindow: s.FlexibleTimeWindow,
      ActionAfterCompletion: s.ActionAfterCompletion,
    };
  }

  function paginate<T>(
    items: T[],
    query: URLSearchParams,
    pageMax = 100,
  ): { page: T[]; next?: string } {
    const maxText = query.get('MaxResults');
    const max = maxText === null ? pageMax : Number(maxText);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw validation(
        `1 validation error detected: Value '${maxText}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`,
      );
    }
    const token = query.get('NextToken');
    let start = 0;
    if (token !== null) {
      start = Number(Buffer.from(token, 'base64url').toString());
      if (!Number.isInteger(start) || start < 0) throw validation('Invalid NextToken.');
    }
    const page = items.slice(start, start + max);
    return start + max < items.length
      ? { page, next: Buffer.from(String(start + max)).toString('base64url') }
      : { page };
  }

  function listSchedules(query: URLSearchParams) {
    const group = query.get('ScheduleGroup');
    if (group !== null) getGroup(group);
    const prefix = query.get('NamePrefix');
    const state = query.get('State');
    if (state !== null && state !== 'ENABLED' && state !== 'DISABLED') {
      throw validation(
        `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`,
      );
    }
    const all = [...schedules.values()]
      .filter(
        (s) =>
          (group === null || s.GroupName === group) &&
          (prefix === null || s.Name.startsWith(prefix)) &&
          (state === null || s.State === state),
      )
      .sort((a, b) => (`${a.GroupName}/${a.Name}` < `${b.GroupName}/${b.Name}` ? -1 : 1));
    const { page, next } = paginate(all, query);
    return {
      Schedules: page.map((s) => ({
        Arn: s.Arn,
        Name: s.Name,
        GroupName: s.GroupName,
        State: s.State,
        CreationDate: toSeconds(s.CreationDate),
        LastModificationDate: toSeconds(s.LastModificationDate),
        Target: { Arn: s.Target.Arn },
      })),
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  }

  function describeGroup(g: Group) {
    return {
      Arn: g.Arn,
      Name: g.Name,
      State: 'ACTIVE',
      CreationDate: toSeconds(g.CreationDate),
      LastModificationDate: toSeconds(g.LastModificationDate),
    };
  }

  function createGroup(name: string, body: Record<string, unknown>) {
    checkName(name, 'name');
    const tags = parseTags(body.Tags);
    const clientToken = optString(body, 'ClientToken', 1, 64);
    const existing = groups.get(name);
    if (existing) {
      if (clientToken !== undefined && existing.clientToken === clientToken)
        return { ScheduleGroupArn: existing.Arn };
      throw new ApiError('ConflictException', `Schedule group ${name} already exists.`);
    }
    const now = clock.now();
    const group: Group = {
      Name: name,
      Arn: groupArn(name),
      CreationDate: now,
      LastModificationDate: now,
      Tags: tags,
      clientToken,
    };
    groups.set(name, group);
    return { ScheduleGroupArn: group.Arn };
  }

  function deleteGroup(name: string) {
    checkName(name, 'name');
    if (name === 'default') throw validation('You cannot delete the default group.');
    getGroup(name);
    for (const [k, s] of schedules) {
      if (s.GroupName === name) {
        stopTimer(s);
        schedules.delete(k);
      }
    }
    groups.delete(name);
    return {};
  }

  function taggable(arn: string): { Tags: Tag[] } {
    for (const g of groups.values()) if (g.Arn === arn) return g;
    throw new ApiError('ResourceNotFoundException', `Resource ${arn} does not exist.`);
  }

  function route(
    method: string,
    path: string[],
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    const [collection, rawName, ...rest] = path;
    if (rest.length > 0) throw new ApiError('ResourceNotFoundException', 'Unknown operation.');
    const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
    if (collection === 'schedules') {
      if (name === undefined) {
        if (method === 'GET') return listSchedules(query);
      } else {
        const group = query.get('groupName') ?? 'default';
        if (method === 'POST') return createSchedule(name, body);
        if (method === 'PUT') return updateSchedule(name, body);
        if (method === 'GET') {
          checkName(name, 'name');
          return describeSchedule(getSchedule(group, name));
        }
        if (method === 'DELETE') {
          checkName(name, 'name');
          const schedule = getSchedule(group, name);
          stopTimer(schedule);
          schedules.delete(key(group, name));
          return {};
        }
      }
    } else if (collection === 'schedule-groups') {
      if (name === undefined) {
        if (method === 'GET') {
          const prefix = query.get('NamePrefix');
          const all = [...groups.values()]
            .filter((g) => prefix === null || g.Name.startsWith(prefix))
            .sort((a, b) => (a.Name < b.Name ? -1 : 1));
          const { page, next } = paginate(all, query);
          return {
            ScheduleGroups: page.map(describeGroup),
            ...(next !== undefined ? { NextToken: next } : {}),
          };
        }
      } else {
        if (method === 'POST') return createGroup(name, body);
        if (method === 'GET') {
          checkName(name, 'name');
          return describeGroup(getGroup(name));
        }
        if (method === 'DELETE') return deleteGroup(name);
      }
    } else if (collection === 'tags' && name !== undefined) {
      const resource = taggable(name);
      if (method === 'GET') return { Tags: resource.Tags };
      if (method === 'POST') {
        for (const tag of parseTags(body.Tags)) {
          resource.Tags = [...resource.Tags.filter((t) => t.Key !== tag.Key), tag];
        }
        return {};
      }
      if (method === 'DELETE') {
        const keys = new Set(query.getAll('TagKeys'));
        resource.Tags = resource.Tags.filter((t) => !keys.has(t.Key));
        return {};
      }
    }
    throw new ApiError(
      'ResourceNotFoundException',
      `No operation for ${method} /${path.join('/')}.`,
    );
  }

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw validation('The request body is not valid JSON.');
    }
    return asObject(parsed, 'body');
  }

  function send(
    res: ServerResponse,
    status: number,
    payload: unknown,
    errorType?: ErrorType,
  ): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const path = url.pathname.split('/').filter((p) => p !== '');
        const body = await readBody(req);
        send(res, 200, route(req.method ?? 'GET', path, url.searchParams, body));
      } catch (e) {
        if (e instanceof ApiError) send(res, STATUS[e.type], { Message: e.message }, e.type);
        else send(res, 500, { Message: String(e) }, 'InternalServerException');
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  let stopping: Promise<void> | undefined;
  Object.assign(emulator, {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        for (const s of schedules.values()) stopTimer(s);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await Promise.allSettled([...inFlight]);
        for (const client of sqsClients.values()) client.destroy();
      })();
      return stopping;
    },
  });
  return emulator;
}
