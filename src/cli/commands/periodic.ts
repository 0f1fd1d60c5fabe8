/**
 * `machinery periodic add | list | rm`: periodic tasks on EventBridge Scheduler (the SDK's
 * `src/client/periodic.ts`).
 *
 * - `periodic add <name> <cron|rate> <task> [TYPE:VALUE …] [--timezone TZ] [--json]`: registers or
 *   replaces the periodic task `<name>`; the spec is machinery's 5-field cron (`'*\/5 * * * *'`) or
 *   a Scheduler `rate(…)` / `cron(…)`. Prints the name, or with `--json`
 *   `{"name","expression","timezone","kind","tasks"}`. The name, spec, time zone and args are
 *   checked before any configuration or network access (exit 2).
 * - `periodic list [--all] [--json]`: the periodic tasks (a table: name, schedule, time zone,
 *   tasks); `--all` adds the one-time schedules of tasks with ETAs more than 15 minutes away (one
 *   `GetSchedule` each). `--json` prints `{"periodic":[…]}`, with `--all` also `"oneTime":
 *   [{"uuid","name","eta","firesAt","scheduleName"}]`.
 * - `periodic rm <name>`: deletes it; exit 1 when there is none.
 *
 * Every subcommand needs the Scheduler settings (`MACHINERY_SCHEDULE_GROUP`…): without them it
 * exits 2 naming the variables not set.
 *
 * @module
 */
import { missingSettingsError, SCHEDULER_SETTINGS } from '../../aws/settings.js';
import {
  deletePeriodicTask,
  listOneTimeSchedules,
  listPeriodicTasks,
  PeriodicSpecError,
  registerPeriodicTask,
  toScheduleExpression,
} from '../../client/periodic.js';
import { InvalidScheduleExpressionError, InvalidScheduleNameError } from '../../core/errors.js';
import type { OneTimeSchedule, PeriodicSpec, Scheduler } from '../../core/ports.js';
import { isValidTimeZone, validateRecurringExpression } from '../../core/schedule-expression.js';
import { periodicScheduleName } from '../../core/schedule-names.js';
import { newSignature } from '../../core/signature.js';
import { type Connection, connect } from '../clients.js';
import { type CliConfig, resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import type { CliIO } from '../main.js';
import { formatTable } from '../output.js';
import { decodeTypedArg } from '../typed-arg.js';

/**
 * Options of `machinery periodic add`.
 *
 * @example
 * ```ts
 * const opts: PeriodicAddOptions = { timezone: 'Europe/Paris', local: true };
 * ```
 */
export interface PeriodicAddOptions extends SourceFlags {
  /** IANA time zone of a cron spec. @default 'UTC' */
  timezone?: string;
  json?: boolean;
}

/**
 * Options of `machinery periodic list`.
 *
 * @example
 * ```ts
 * const opts: PeriodicListOptions = { all: true, json: true };
 * ```
 */
export interface PeriodicListOptions extends SourceFlags {
  /** Also list the one-time schedules of far ETAs. */
  all?: boolean;
  json?: boolean;
}

/**
 * Options of `machinery periodic rm`.
 *
 * @example
 * ```ts
 * const opts: PeriodicRmOptions = { stack: 'Machinery' };
 * ```
 */
export interface PeriodicRmOptions extends SourceFlags {}

/** Runs `body` with the connection's scheduler, or refuses (exit 2) naming the settings not set. */
async function withScheduler<T>(
  opts: SourceFlags,
  io: CliIO,
  body: (scheduler: Scheduler, connection: Connection) => Promise<T>,
): Promise<T> {
  const config: CliConfig = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const connection = connect(config);
  try {
    const { scheduler, settings } = connection;
    if (scheduler === undefined) {
      throw missingSettingsError(
        SCHEDULER_SETTINGS.filter((k) => settings[k] === undefined),
        config,
        'periodic tasks live in EventBridge Scheduler',
      );
    }
    return await body(scheduler, connection);
  } finally {
    connection.close();
  }
}

/** A usage error (exit 2) for what the user typed that a schedule cannot hold. */
function usage(e: unknown): never {
  if (
    e instanceof PeriodicSpecError ||
    e instanceof InvalidScheduleExpressionError ||
    e instanceof InvalidScheduleNameError
  ) {
    throw new UsageError(`periodic: ${e.message}`, { cause: e });
  }
  throw e;
}

/**
 * The `--json` form of a periodic task.
 *
 * @example
 * ```ts
 * periodicJson(spec); // { name: 'nightly', expression: 'cron(0 3 * * ? *)', timezone: 'UTC', kind: 'task', tasks: ['report'] }
 * ```
 */
export function periodicJson(spec: PeriodicSpec): {
  name: string;
  expression: string;
  timezone: string;
  kind: NonNullable<PeriodicSpec['kind']>;
  tasks: string[];
} {
  const templates = spec.members?.length ? spec.members : [spec.signature];
  const names: string[] = [];
  // A chain's links are the first signature's OnSuccess, one after another.
  for (const t of templates) {
    for (let s: typeof t | undefined = t; s !== undefined; s = s.OnSuccess?.[0]) names.push(s.Name);
  }
  return {
    name: spec.name,
    expression: spec.expression,
    timezone: spec.timezone ?? 'UTC',
    kind: spec.kind ?? 'task',
    tasks: names,
  };
}

/**
 * The `--json` form of a one-time schedule (times ISO 8601 UTC).
 *
 * @example
 * ```ts
 * oneTimeJson(schedule); // { uuid, name, eta, firesAt, scheduleName }
 * ```
 */
export function oneTimeJson(s: OneTimeSchedule): {
  uuid: string;
  name: string | null;
  eta: string | null;
  firesAt: string | null;
  scheduleName: string;
} {
  return {
    uuid: s.uuid,
    name: s.name,
    eta: s.eta,
    firesAt: s.fireAt === null ? null : new Date(s.fireAt).toISOString(),
    scheduleName: s.scheduleName,
  };
}

/**
 * Runs `machinery periodic add`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await periodicAdd('every-minute', '*\/1 * * * *', 'add', ['int64:1', 'int64:2'], {}, io);
 * ```
 */
export async function periodicAdd(
  name: string,
  spec: string,
  task: string,
  argSpecs: readonly string[],
  opts: PeriodicAddOptions,
  io: CliIO,
): Promise<number> {
  // Everything the user typed is checked before any configuration or network access.
  const args = argSpecs.map((s) => decodeTypedArg(s));
  const timezone = opts.timezone ?? 'UTC';
  try {
    periodicScheduleName(name);
    validateRecurringExpression(toScheduleExpression(spec));
  } catch (e) {
    usage(e);
  }
  if (!isValidTimeZone(timezone)) {
    throw new UsageError(`periodic: --timezone: '${timezone}' is not an IANA time zone`);
  }
  const signature = newSignature(task, args);
  return withScheduler(opts, io, async (scheduler) => {
    const stored = await registerPeriodicTask(scheduler, spec, name, signature, { timezone });
    io.stdout(opts.json ? `${JSON.stringify(periodicJson(stored))}\n` : `${name}\n`);
    return EXIT.ok;
  });
}

/**
 * Runs `machinery periodic list`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await periodicList({ all: true, json: true }, io);
 * ```
 */
export async function periodicList(opts: PeriodicListOptions, io: CliIO): Promise<number> {
  return withScheduler(opts, io, async (scheduler) => {
    const periodic = await listPeriodicTasks(scheduler);
    const oneTime = opts.all ? await listOneTimeSchedules(scheduler) : undefined;
    if (opts.json) {
      io.stdout(
        `${JSON.stringify({
          periodic: periodic.map(periodicJson),
          ...(oneTime === undefined ? {} : { oneTime: oneTime.map(oneTimeJson) }),
        })}\n`,
      );
      return EXIT.ok;
    }
    if (periodic.length === 0) io.stderr('machinery: no periodic tasks\n');
    else {
      io.stdout(
        formatTable(
          ['periodic', 'schedule', 'time zone', 'tasks'],
          periodic
            .map(periodicJson)
            .map((p) => [p.name, p.expression, p.timezone, p.tasks.join(' → ')]),
        ),
      );
    }
    if (oneTime !== undefined) {
      if (oneTime.length === 0) io.stderr('machinery: no one-time schedules\n');
      else {
        io.stdout(
          `${periodic.length === 0 ? '' : '\n'}${formatTable(
            ['one-time (task uuid)', 'task', 'eta', 'fires at'],
            oneTime
              .map(oneTimeJson)
              .map((s) => [s.uuid, s.name ?? '?', s.eta ?? '?', s.firesAt ?? '?']),
          )}`,
        );
      }
    }
    return EXIT.ok;
  });
}

/**
 * Runs `machinery periodic rm`; resolves to the exit code (1 when there is no such periodic task).
 *
 * @example
 * ```ts
 * const code = await periodicRm('every-minute', {}, io);
 * ```
 */
export async function periodicRm(
  name: string,
  opts: PeriodicRmOptions,
  io: CliIO,
): Promise<number> {
  try {
    periodicScheduleName(name);
  } catch (e) {
    usage(e);
  }
  return withScheduler(opts, io, async (scheduler) => {
    if (!(await deletePeriodicTask(scheduler, name))) {
      throw new OperationError('PERIODIC_NOT_FOUND', `no periodic task '${name}'`);
    }
    io.stderr(`machinery: periodic task '${name}' deleted\n`);
    return EXIT.ok;
  });
}
