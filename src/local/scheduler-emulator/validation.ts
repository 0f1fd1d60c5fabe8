/**
 * What the Scheduler emulator refuses, and how: turns REST-JSON request bodies and query strings
 * into checked values, or throws a {@link SchedulerApiError} carrying the error type and message
 * the real API answers (`ValidationException` and its `1 validation error detected: …` texts).
 * Expressions and time zones are checked with the core's schedule-expression grammar.
 *
 * Holds no state: storing schedules and groups is `store.ts`'s, firing them `delivery.ts`'s, and
 * routing requests and shaping responses `http.ts`'s.
 *
 * @module
 */
import { InvalidScheduleExpressionError } from '../../core/errors.js';
import {
  isValidTimeZone,
  parseScheduleExpression,
  type ScheduleExpression,
} from '../../core/schedule-expression.js';

/** The error types the emulator answers with (`x-amzn-errortype`). */
export type ErrorType =
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

/**
 * An API error the emulator answers with: the SDK throws the exception named by `type`.
 *
 * @example
 * ```ts
 * throw new SchedulerApiError('ConflictException', 'Schedule job already exists.');
 * ```
 */
export class SchedulerApiError extends Error {
  /** The error type, as AWS names it. */
  readonly type: ErrorType;
  /** Stable code: the error type. */
  readonly code: ErrorType;

  constructor(type: ErrorType, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SchedulerApiError';
    this.type = type;
    this.code = type;
  }

  /** The HTTP status of this error type. */
  get status(): number {
    return STATUS[this.type];
  }
}

/**
 * A `ValidationException` with `message`.
 *
 * @example
 * ```ts
 * throw validation('Invalid NextToken.');
 * ```
 */
export function validation(message: string, cause?: unknown): SchedulerApiError {
  return new SchedulerApiError('ValidationException', message, { cause });
}

/**
 * A tag of a schedule group.
 *
 * @example
 * ```ts
 * const tag: Tag = { Key: 'team', Value: 'ops' };
 * ```
 */
export interface Tag {
  Key: string;
  Value: string;
}

/**
 * A schedule's `Target` as stored (checked fields typed, the rest kept as sent).
 *
 * @example
 * ```ts
 * const target: TargetShape = { Arn: queueArn, RoleArn: roleArn, Input: '{}' };
 * ```
 */
export interface TargetShape {
  Arn: string;
  RoleArn: string;
  Input?: string;
  DeadLetterConfig?: { Arn?: string };
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  SqsParameters?: { MessageGroupId?: string };
  [other: string]: unknown;
}

/**
 * The settings of a schedule that `CreateSchedule` sets and `UpdateSchedule` replaces, named as
 * the API names them, plus the parsed `expression`.
 *
 * @example
 * ```ts
 * const settings: ScheduleSettings = parseScheduleRequest('job', body, limits).settings;
 * ```
 */
export interface ScheduleSettings {
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
  expression: ScheduleExpression;
}

/**
 * A checked `CreateSchedule` / `UpdateSchedule` request (times in epoch ms).
 *
 * @example
 * ```ts
 * const request: ScheduleRequest = parseScheduleRequest('job', body, { now, maxInputBytes: 8192 });
 * ```
 */
export interface ScheduleRequest {
  groupName: string;
  clientToken: string | undefined;
  settings: ScheduleSettings;
}

const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const DLQ_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/;

const mustNotBeNull = (path: string) =>
  validation(
    `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
  );

/**
 * `value` as a JSON object; a `ValidationException` naming `field` otherwise.
 *
 * @example
 * ```ts
 * const target = asObject(body.Target, 'Target');
 * ```
 */
export function asObject(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw validation(`${field} must be a structure`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads an optional field of `body` with bounds (a length or a value range); `path` names the
 * field in errors.
 */
type BoundedField<T> = (
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  path?: string,
) => T | undefined;

/** `check(value)` of field `field` of `body`, or `undefined` when it is absent or null. */
function optional<T>(
  body: Record<string, unknown>,
  field: string,
  check: (value: unknown) => T,
): T | undefined {
  const v = body[field];
  return v === undefined || v === null ? undefined : check(v);
}

/**
 * An optional string field of `min`–`max` characters (`path` names it in the error).
 *
 * @example
 * ```ts
 * const token = optString(body, 'ClientToken', 1, 64);
 * ```
 */
export const optString: BoundedField<string> = (body, field, min, max, path = field) =>
  optional(body, field, (v) => {
    if (typeof v !== 'string') throw validation(`${path} must be a string`);
    if (v.length < min || v.length > max) {
      throw validation(
        `1 validation error detected: Value at '${path}' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
      );
    }
    return v;
  });

/** A required string field of `min`–`max` characters. */
function reqString(...args: Parameters<typeof optString>): string {
  const v = optString(...args);
  if (v === undefined) throw mustNotBeNull(args[4] ?? args[1]);
  return v;
}

const optInt: BoundedField<number> = (body, field, min, max, path = field) =>
  optional(body, field, (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw validation(
        `1 validation error detected: Value at '${path}' failed to satisfy constraint: Member must have value between ${min} and ${max}`,
      );
    }
    return v;
  });

/** An optional timestamp field (epoch seconds on the wire) as epoch ms. */
function optTimestamp(body: Record<string, unknown>, field: string): number | undefined {
  return optional(body, field, (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw validation(`${field} must be a timestamp`);
    }
    return Math.round(v * 1000);
  });
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

/**
 * Checks a schedule or group name (1–64 characters of `[0-9a-zA-Z-_.]`); `what` names the field.
 *
 * @example
 * ```ts
 * checkName(name, 'name');
 * ```
 */
export function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw validation(
      `1 validation error detected: Value '${name}' at '${what}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ and have length between 1 and 64`,
    );
  }
}

/**
 * A request's `Tags` list (none when absent).
 *
 * @example
 * ```ts
 * parseTags([{ Key: 'team', Value: 'ops' }]);
 * ```
 */
export function parseTags(value: unknown): Tag[] {
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

function checkTarget(value: unknown, maxInputBytes: number): TargetShape {
  if (value === undefined || value === null) throw mustNotBeNull('target');
  const target = asObject(value, 'Target');
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
  return target as unknown as TargetShape;
}

function checkFlexibleTimeWindow(value: unknown): ScheduleSettings['FlexibleTimeWindow'] {
  if (value === undefined || value === null) throw mustNotBeNull('flexibleTimeWindow');
  const window = asObject(value, 'FlexibleTimeWindow');
  const mode = enumValue(window, 'Mode', ['OFF', 'FLEXIBLE'] as const, 'OFF');
  if (window.Mode === undefined || window.Mode === null) {
    throw mustNotBeNull('flexibleTimeWindow.mode');
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
    throw validation('MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.');
  }
  return { Mode: mode, ...(maxWindow !== undefined ? { MaximumWindowInMinutes: maxWindow } : {}) };
}

/**
 * Checks a `CreateSchedule` / `UpdateSchedule` request for schedule `name`.
 * `now` (epoch ms) is the emulator's time (an `EndDate` must be after it); `maxInputBytes` bounds
 * `Target.Input`.
 *
 * @example
 * ```ts
 * const request = parseScheduleRequest('job', body, { now: clock.now(), maxInputBytes: 8192 });
 * ```
 */
export function parseScheduleRequest(
  name: string,
  body: Record<string, unknown>,
  limits: { now: number; maxInputBytes: number },
): ScheduleRequest {
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
    if (e instanceof InvalidScheduleExpressionError) throw validation(e.message, e);
    throw e;
  }
  const target = checkTarget(body.Target, limits.maxInputBytes);
  const flexibleTimeWindow = checkFlexibleTimeWindow(body.FlexibleTimeWindow);
  const startDate = optTimestamp(body, 'StartDate');
  const endDate = optTimestamp(body, 'EndDate');
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    throw validation('The EndDate must be after the StartDate.');
  }
  if (endDate !== undefined && endDate <= limits.now) {
    throw validation('The EndDate must be in the future.');
  }
  return {
    groupName,
    clientToken: optString(body, 'ClientToken', 1, 64),
    settings: {
      ScheduleExpression: expressionText,
      ScheduleExpressionTimezone: timezone,
      StartDate: startDate,
      EndDate: endDate,
      Description: optString(body, 'Description', 0, 512),
      State: enumValue(body, 'State', ['ENABLED', 'DISABLED'] as const, 'ENABLED'),
      KmsKeyArn: optString(body, 'KmsKeyArn', 1, 2048),
      Target: target,
      FlexibleTimeWindow: flexibleTimeWindow,
      ActionAfterCompletion: enumValue(
        body,
        'ActionAfterCompletion',
        ['NONE', 'DELETE'] as const,
        'NONE',
      ),
      expression,
    },
  };
}

/**
 * Checks a `CreateScheduleGroup` request for group `name`.
 *
 * @example
 * ```ts
 * const { tags, clientToken } = parseGroupRequest('jobs', body);
 * ```
 */
export function parseGroupRequest(
  name: string,
  body: Record<string, unknown>,
): { tags: Tag[]; clientToken: string | undefined } {
  checkName(name, 'name');
  return { tags: parseTags(body.Tags), clientToken: optString(body, 'ClientToken', 1, 64) };
}

/**
 * The `State` filter of `ListSchedules` (`undefined`: any).
 *
 * @example
 * ```ts
 * parseStateFilter(new URLSearchParams('State=ENABLED')); // 'ENABLED'
 * ```
 */
export function parseStateFilter(query: URLSearchParams): 'ENABLED' | 'DISABLED' | undefined {
  const state = query.get('State');
  if (state === null) return undefined;
  if (state !== 'ENABLED' && state !== 'DISABLED') {
    throw validation(
      `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`,
    );
  }
  return state;
}

/**
 * The page a list request asks for: `MaxResults` (1–100, default 100) and the offset its
 * `NextToken` encodes (0 without one).
 *
 * @example
 * ```ts
 * const { start, max } = parsePage(new URLSearchParams('MaxResults=10'));
 * ```
 */
export function parsePage(query: URLSearchParams): { start: number; max: number } {
  const maxText = query.get('MaxResults');
  const max = maxText === null ? 100 : Number(maxText);
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
  return { start, max };
}
