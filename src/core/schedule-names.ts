/**
 * Names of the project's EventBridge Scheduler schedules. A one-time schedule (an ETA more than
 * 15 minutes away) is named `once-<task uuid>` (a UUID that is not a valid schedule name is
 * hashed: `once.<sha256 prefix>`); a recurring one (a periodic task) `periodic-<name>`. Names are
 * at most 64 characters of `[0-9A-Za-z_.-]`, so a periodic task's name is at most 55 characters.
 *
 * Names are derived, never stored: `cancel` finds a task's schedule from its UUID alone.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { InvalidScheduleNameError } from './errors.js';

/** Prefix of one-time schedule names. */
export const ONE_TIME_PREFIX = 'once-';
/** Prefix of one-time schedule names made from a hashed UUID. */
export const ONE_TIME_HASHED_PREFIX = 'once.';
/** Prefix of recurring schedule names. */
export const PERIODIC_PREFIX = 'periodic-';
/** Longest schedule name EventBridge Scheduler accepts. */
export const MAX_SCHEDULE_NAME_LENGTH = 64;
/** Longest name of a periodic task (the schedule name less {@link PERIODIC_PREFIX}). */
export const MAX_PERIODIC_NAME_LENGTH = MAX_SCHEDULE_NAME_LENGTH - PERIODIC_PREFIX.length;

const NAME_CHARS = /^[0-9A-Za-z_.-]+$/;

/**
 * The name of a task's one-time schedule: `once-<uuid>`, or `once.<sha256 prefix>` when the UUID
 * is not a valid schedule name (a Go producer's id with other characters, or too long).
 * Deterministic, so a cancel finds it from the UUID alone.
 *
 * @example
 * ```ts
 * oneTimeScheduleName('task_0b3c…'); // 'once-task_0b3c…'
 * ```
 */
export function oneTimeScheduleName(uuid: string): string {
  if (
    uuid.length > 0 &&
    uuid.length <= MAX_SCHEDULE_NAME_LENGTH - ONE_TIME_PREFIX.length &&
    NAME_CHARS.test(uuid)
  ) {
    return `${ONE_TIME_PREFIX}${uuid}`;
  }
  const hash = createHash('sha256').update(uuid, 'utf8').digest('hex');
  return `${ONE_TIME_HASHED_PREFIX}${hash.slice(0, MAX_SCHEDULE_NAME_LENGTH - ONE_TIME_HASHED_PREFIX.length)}`;
}

/**
 * The schedule name of a periodic task: `periodic-<name>`. Throws
 * {@link InvalidScheduleNameError} unless `name` is 1–55 characters of `[0-9A-Za-z_.-]`.
 *
 * @example
 * ```ts
 * periodicScheduleName('nightly-report'); // 'periodic-nightly-report'
 * ```
 */
export function periodicScheduleName(name: string): string {
  if (name.length === 0 || name.length > MAX_PERIODIC_NAME_LENGTH || !NAME_CHARS.test(name)) {
    throw new InvalidScheduleNameError(
      `invalid periodic task name '${name}': use 1-${MAX_PERIODIC_NAME_LENGTH} characters of letters, digits, '-', '_' or '.'`,
    );
  }
  return `${PERIODIC_PREFIX}${name}`;
}

/**
 * The periodic task name of a schedule name, or `undefined` when it is not a periodic schedule.
 *
 * @example
 * ```ts
 * periodicNameOf('periodic-nightly'); // 'nightly'
 * periodicNameOf('once-task_1');      // undefined
 * ```
 */
export function periodicNameOf(scheduleName: string): string | undefined {
  return scheduleName.startsWith(PERIODIC_PREFIX)
    ? scheduleName.slice(PERIODIC_PREFIX.length)
    : undefined;
}
