/**
 * EventBridge Scheduler adapter: the `Scheduler` port for ETAs more than 15 minutes away
 * (one-time `at()` schedules) and for periodic tasks (recurring `cron()` / `rate()` schedules).
 * Every schedule targets the standard *delay queue*; the forwarder (`src/handlers/forwarder.ts`)
 * reads what arrives there and moves it to the FIFO task queue when it is due.
 *
 * ## What a schedule's `Input` holds (the delay-queue body)
 *
 * | body | sent by | forwarder does |
 * | --- | --- | --- |
 * | an encoded signature (machinery's JSON) | one-time schedules whose input fits 8 KB; `publishDelayed` | waits until its ETA, then publishes it |
 * | `{"machinery.ref":"<uuid>"}` | one-time schedules whose signature is larger than 8 KB | reads the body from the task's PENDING item, then as above |
 * | `{"machinery.periodic":{…}}` | recurring schedules | derives the firing's UUIDs from the schedule name and `<aws.scheduler.scheduled-time>`, records PENDING, publishes |
 *
 * ## Names
 *
 * Schedules live in the project's schedule group (`MACHINERY_SCHEDULE_GROUP`). A one-time
 * schedule is named `once-<task uuid>` (a UUID that is not a valid schedule name is hashed:
 * `once.<sha256 prefix>`); a recurring one `periodic-<name>`. Names are at most 64 characters of
 * `[0-9A-Za-z_.-]`, so a periodic name is at most 55 characters.
 *
 * ## Decisions
 *
 * - `at()` has second granularity in UTC: the fire time is rounded *down* to the whole second, so
 *   rounding never makes a schedule fire later than asked (dispatch already asks for ETA − 60 s).
 * - Creating a one-time schedule that already exists (`ConflictException`) is success: it is a
 *   re-send of the same task, and the first schedule wins.
 * - Each periodic firing's UUIDs (task, group, chord) are UUID v5 of the schedule name, the
 *   firing's scheduled time and the template's own id, so a firing Scheduler delivers twice (its
 *   retries) is one task, deduplicated by the result backend and the FIFO queue.
 * - A periodic template must fit the Scheduler's 8 KB input; a larger one is refused with
 *   {@link ScheduleInputTooLargeError} (one-time schedules go by reference instead).
 *
 * ## IAM
 *
 * Producers sending ETAs more than 15 minutes away: `scheduler:CreateSchedule` on the group's
 * schedules and `iam:PassRole` on the Scheduler role. `cancel`: `scheduler:DeleteSchedule`.
 * Periodic tasks: `scheduler:CreateSchedule`, `UpdateSchedule`, `GetSchedule`, `ListSchedules`,
 * `DeleteSchedule` and `iam:PassRole`. The Scheduler role itself: `sqs:SendMessage` on the delay
 * queue and the Scheduler DLQ. Queue ARNs are read from AWS queue URLs, so no
 * `sqs:GetQueueAttributes` is needed on AWS.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  type ListSchedulesCommandOutput,
  ResourceNotFoundException,
  type SchedulerClient,
  type Target,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MachineryError } from '../core/errors.js';
import type { PeriodicSpec, Scheduler } from '../core/ports.js';
import { DEFAULTS } from '../core/resources.js';
import { decodeSignature, encodeSignature, uuidV5 } from '../core/signature.js';
import type { Signature } from '../core/types.js';
import { translateAwsError } from './errors.js';

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
/** Key of a by-reference delay-queue body: `{"machinery.ref":"<uuid>"}`. */
export const REFERENCE_KEY = 'machinery.ref';
/** Key of a periodic-firing delay-queue body. */
export const PERIODIC_KEY = 'machinery.periodic';
/** The Scheduler context attribute substituted with a firing's scheduled time. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';
/** Namespace of the UUID v5 ids of periodic firings (fixed: changing it changes every id). */
export const PERIODIC_UUID_NAMESPACE = 'e0e8d24b-31db-49c1-90c5-d8f92743fb33';

const NAME_CHARS = /^[0-9A-Za-z_.-]+$/;

/**
 * A schedule or periodic-task name that EventBridge Scheduler would refuse.
 *
 * @example
 * ```ts
 * try { periodicScheduleName('nightly report'); } catch (e) { if (e instanceof InvalidScheduleNameError) console.error(e.message); }
 * ```
 */
export class InvalidScheduleNameError extends MachineryError {
  constructor(message: string) {
    super('INVALID_SCHEDULE_NAME', message);
  }
}

/**
 * A schedule expression that is neither `rate(...)` nor `cron(...)`.
 *
 * @example
 * ```ts
 * try { validateRecurringExpression('every minute'); } catch (e) { if (e instanceof InvalidScheduleExpressionError) console.error(e.message); }
 * ```
 */
export class InvalidScheduleExpressionError extends MachineryError {
  constructor(message: string) {
    super('INVALID_SCHEDULE_EXPRESSION', message);
  }
}

/**
 * A schedule input larger than the Scheduler's limit (8 KB).
 *
 * @example
 * ```ts
 * try { await scheduler.putPeriodic(spec); } catch (e) { if (e instanceof ScheduleInputTooLargeError) console.error(e.bytes); }
 * ```
 */
export class ScheduleInputTooLargeError extends MachineryError {
  /** Size of the input, bytes. */
  readonly bytes: number;

  constructor(what: string, bytes: number) {
    super(
      'SCHEDULE_INPUT_TOO_LARGE',
      `${what} is ${bytes} bytes as a schedule input, more than the ${DEFAULTS.schedulerMaxInputBytes} bytes EventBridge Scheduler accepts`,
    );
    this.bytes = bytes;
  }
}

/**
 * A delay-queue body that is neither a signature nor one of the envelopes this module writes.
 * `field` names what is wrong.
 *
 * @example
 * ```ts
 * try { parseDelayBody('{"machinery.ref":1}'); } catch (e) { if (e instanceof DelayBodyError) console.error(e.field); }
 * ```
 */
export class DelayBodyError extends MachineryError {
  /** The offending field. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_DELAY_BODY', message, options);
    this.field = field;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: names, expressions, ids, bodies
// ---------------------------------------------------------------------------------------------

/**
 * The name of a task's one-time schedule: `once-<uuid>`, or `once.<sha256 prefix>` when the UUID
 * is not a valid schedule name (a Go producer's id with other characters, or too long).
 * Deterministic, so {@link EventBridgeScheduler.cancelOnce} finds it from the UUID alone.
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

/**
 * The `at()` expression for an epoch-ms time: UTC, second granularity, rounded *down* so the
 * schedule never fires later than `ms`.
 *
 * @example
 * ```ts
 * formatAt(Date.parse('2030-01-01T10:00:00.999Z')); // 'at(2030-01-01T10:00:00)'
 * ```
 */
export function formatAt(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatAt: not a time: ${ms}`);
  const whole = Math.floor(ms / 1000) * 1000;
  return `at(${new Date(whole).toISOString().slice(0, 19)})`;
}

/**
 * The epoch-ms time of an `at(yyyy-mm-ddThh:mm:ss)` expression in `timezone` (only `UTC` is
 * understood; that is what this module writes), or `undefined` for anything else.
 *
 * @example
 * ```ts
 * parseAt('at(2030-01-01T10:00:00)'); // 1893492000000
 * ```
 */
export function parseAt(expression: string, timezone = 'UTC'): number | undefined {
  const m = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (m === null || (timezone !== 'UTC' && timezone !== 'Etc/UTC')) return undefined;
  const ms = Date.parse(`${m[1]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Checks a recurring expression: `rate(<n> minute|minutes|hour|hours|day|days)` or
 * `cron(<6 fields>)`. Throws {@link InvalidScheduleExpressionError} otherwise. (Scheduler checks
 * the cron fields themselves.)
 *
 * @example
 * ```ts
 * validateRecurringExpression('rate(1 minute)');
 * validateRecurringExpression('cron(0 3 * * ? *)');
 * ```
 */
export function validateRecurringExpression(expression: string): void {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate !== null) {
    const n = Number(rate[1]);
    const unit = rate[2] as string;
    if (n < 1 || (n === 1) !== !unit.endsWith('s')) {
      throw new InvalidScheduleExpressionError(
        `invalid rate expression '${expression}': use 'rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)'…`,
      );
    }
    return;
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron !== null && (cron[1] as string).trim().split(/\s+/).length === 6) return;
  throw new InvalidScheduleExpressionError(
    `invalid recurring schedule expression '${expression}': use rate(<n> <unit>) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`,
  );
}

/**
 * Normalises a Scheduler `<aws.scheduled-time>` value to an ISO UTC string with milliseconds.
 * Throws {@link DelayBodyError} when it is not a time (e.g. the placeholder was not substituted).
 */
function normaliseScheduledTime(scheduledTime: string): string {
  const ms = Date.parse(scheduledTime);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(scheduledTime) || Number.isNaN(ms)) {
    throw new DelayBodyError(
      'scheduledTime',
      `periodic firing without a scheduled time ('${scheduledTime}'): the ${SCHEDULED_TIME_PLACEHOLDER} context attribute was not substituted`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * The id a periodic firing gives to a template id (a task, group or chord UUID): the template's
 * prefix (`task_`, `group_`, `chord_`; else `task_`) and a UUID v5 of the schedule name, the
 * firing's scheduled time and the template id. The same firing delivered twice gets the same ids.
 *
 * @example
 * ```ts
 * periodicFiringUUID('periodic-nightly', '2030-01-01T03:00:00Z', 'task_1…'); // 'task_<v5>'
 * ```
 */
export function periodicFiringUUID(
  scheduleName: string,
  scheduledTime: string,
  templateId: string,
): string {
  const prefix = /^(task|group|chord)_/.exec(templateId)?.[0] ?? 'task_';
  const time = normaliseScheduledTime(scheduledTime);
  return `${prefix}${uuidV5(`${scheduleName}\n${time}\n${templateId}`, PERIODIC_UUID_NAMESPACE)}`;
}

/**
 * The signatures of one periodic firing: the template with every task, group and chord id
 * replaced by {@link periodicFiringUUID} (consistently, so a chord callback shared by every member
 * stays one callback), every `ETA` cleared, nested `OnSuccess` / `OnError` / `ChordCallback`
 * included.
 *
 * @example
 * ```ts
 * const [sig] = materializePeriodicFiring([template], 'periodic-nightly', '2030-01-01T03:00:00Z');
 * ```
 */
export function materializePeriodicFiring(
  templates: readonly Signature[],
  scheduleName: string,
  scheduledTime: string,
): Signature[] {
  const ids = new Map<string, string>();
  const mapId = (id: string): string => {
    if (id === '') return id;
    let out = ids.get(id);
    if (out === undefined) {
      out = periodicFiringUUID(scheduleName, scheduledTime, id);
      ids.set(id, out);
    }
    return out;
  };
  // A template without a UUID gets one from its position, so two such templates stay distinct.
  const walk = (sig: Signature, path: string): Signature => ({
    ...sig,
    UUID: mapId(sig.UUID === '' ? `task_@${path}` : sig.UUID),
    GroupUUID: mapId(sig.GroupUUID),
    ETA: null,
    OnSuccess:
      sig.OnSuccess === null ? null : sig.OnSuccess.map((s, i) => walk(s, `${path}.s${i}`)),
    OnError: sig.OnError === null ? null : sig.OnError.map((s, i) => walk(s, `${path}.e${i}`)),
    ChordCallback: sig.ChordCallback === null ? null : walk(sig.ChordCallback, `${path}.c`),
  });
  return templates.map((t, i) => walk(t, String(i)));
}

/** What a periodic schedule starts. */
export type PeriodicKind = 'task' | 'chain' | 'group' | 'chord';

/**
 * A decoded delay-queue body.
 *
 * @example
 * ```ts
 * const body = parseDelayBody(record.body);
 * if (body.kind === 'reference') console.log(body.uuid);
 * ```
 */
export type DelayBody =
  | { kind: 'signature'; signature: Signature }
  | { kind: 'reference'; uuid: string }
  | {
      kind: 'periodic';
      schedule: string;
      scheduledTime: string;
      workflow: PeriodicKind;
      templates: Signature[];
    };

/**
 * The small body that stands for a signature kept in its task's PENDING item.
 *
 * @example
 * ```ts
 * encodeReference('task_1'); // '{"machinery.ref":"task_1"}'
 * ```
 */
export function encodeReference(uuid: string): string {
  return JSON.stringify({ [REFERENCE_KEY]: uuid });
}

/**
 * The `Input` of a recurring schedule: the templates (encoded signatures, exact) and the
 * `<aws.scheduler.scheduled-time>` placeholder Scheduler substitutes at each firing.
 *
 * @example
 * ```ts
 * const input = encodePeriodicInput('periodic-nightly', 'task', [template]);
 * ```
 */
export function encodePeriodicInput(
  scheduleName: string,
  workflow: PeriodicKind,
  templates: readonly Signature[],
): string {
  return JSON.stringify({
    [PERIODIC_KEY]: {
      v: 1,
      schedule: scheduleName,
      scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
      workflow,
      signatures: templates.map((t) => encodeSignature(t)),
    },
  });
}

const ENVELOPE = /^\s*\{\s*"machinery\.(ref|periodic)"\s*:/;

/**
 * Decodes a delay-queue body: a signature (machinery's JSON), a reference, or a periodic firing.
 * Throws {@link DelayBodyError} for a malformed envelope and the core's signature decode error
 * for a malformed signature.
 *
 * @example
 * ```ts
 * parseDelayBody('{"machinery.ref":"task_1"}'); // { kind: 'reference', uuid: 'task_1' }
 * ```
 */
export function parseDelayBody(body: string): DelayBody {
  const envelope = ENVELOPE.exec(body);
  if (envelope === null) return { kind: 'signature', signature: decodeSignature(body) };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new DelayBodyError('body', 'delay-queue body is not JSON', { cause });
  }
  const obj = json as Record<string, unknown>;
  if (envelope[1] === 'ref') {
    const uuid = obj[REFERENCE_KEY];
    if (typeof uuid !== 'string' || uuid === '') {
      throw new DelayBodyError(REFERENCE_KEY, `${REFERENCE_KEY} must be a non-empty task UUID`);
    }
    return { kind: 'reference', uuid };
  }
  const p = obj[PERIODIC_KEY] as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null) {
    throw new DelayBodyError(PERIODIC_KEY, `${PERIODIC_KEY} must be an object`);
  }
  if (typeof p.schedule !== 'string' || p.schedule === '') {
    throw new DelayBodyError('schedule', 'periodic firing without a schedule name');
  }
  if (typeof p.scheduledTime !== 'string') {
    throw new DelayBodyError('scheduledTime', 'periodic firing without a scheduled time');
  }
  const scheduledTime = normaliseScheduledTime(p.scheduledTime);
  const workflow = p.workflow ?? 'task';
  if (workflow !== 'task' && workflow !== 'chain' && workflow !== 'group' && workflow !== 'chord') {
    throw new DelayBodyError('workflow', `unknown periodic workflow '${String(workflow)}'`);
  }
  if (!Array.isArray(p.signatures) || p.signatures.length === 0) {
    throw new DelayBodyError('signatures', 'periodic firing without signatures');
  }
  const templates = p.signatures.map((s: unknown, i: number) => {
    if (typeof s !== 'string') {
      throw new DelayBodyError(
        `signatures[${i}]`,
        'a periodic template must be an encoded signature',
      );
    }
    return decodeSignature(s);
  });
  return { kind: 'periodic', schedule: p.schedule, scheduledTime, workflow, templates };
}

// ---------------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------------

/** A value known now or fetched once on first use (a queue ARN looked up from its URL). */
export type Lazy<T> = T | (() => Promise<T>);

/**
 * Options of {@link EventBridgeScheduler}.
 *
 * @example
 * ```ts
 * const opts: EventBridgeSchedulerOptions = {
 *   client, groupName: 'machinery', roleArn, delayQueueArn, deadLetterArn,
 * };
 * ```
 */
export interface EventBridgeSchedulerOptions {
  /** The EventBridge Scheduler client (see `createSchedulerClient`). */
  client: SchedulerClient;
  /** The project's schedule group (`MACHINERY_SCHEDULE_GROUP`). */
  groupName: string;
  /** The role Scheduler assumes to send to the delay queue (`MACHINERY_SCHEDULER_ROLE_ARN`). */
  roleArn: string;
  /** ARN of the standard delay queue, every schedule's target. */
  delayQueueArn: Lazy<string>;
  /** ARN of the Scheduler's dead-letter queue (a standard queue the role may send to). */
  deadLetterArn: Lazy<string>;
  /**
   * Scheduler's delivery retries. @default { maximumEventAgeSeconds: 86400, maximumRetryAttempts: 185 }
   * (the service's maximum: a schedule keeps trying for a day before dead-lettering).
   */
  retryPolicy?: { maximumEventAgeSeconds: number; maximumRetryAttempts: number };
}

function lazy<T>(value: Lazy<T>): () => Promise<T> {
  if (typeof value !== 'function') return () => Promise.resolve(value);
  let cached: Promise<T> | undefined;
  const fetch = value as () => Promise<T>;
  return () => {
    cached ??= fetch().catch((e: unknown) => {
      cached = undefined;
      throw e;
    });
    return cached;
  };
}

/**
 * The ARN of an AWS SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`, the
 * legacy `https://<region>.queue.amazonaws.com/…`, VPC endpoint hosts, China and GovCloud
 * partitions), or `undefined` for a URL that does not say its region and account (an emulator's).
 *
 * @example
 * ```ts
 * queueArnOfUrl('https://sqs.eu-west-1.amazonaws.com/123456789012/delay');
 * // 'arn:aws:sqs:eu-west-1:123456789012:delay'
 * ```
 */
export function queueArnOfUrl(queueUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const m =
    /(?:^|\.)sqs\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(\.cn)?$/.exec(host) ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host);
  const path = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/.exec(url.pathname);
  if (m === null || path === null) return undefined;
  const region = m[1] as string;
  const partition =
    m[2] !== undefined ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:sqs:${region}:${path[1]}:${path[2]}`;
}

/**
 * A queue's ARN from its URL, for {@link EventBridgeSchedulerOptions.delayQueueArn} when only
 * URLs are configured: read from the URL itself when it is an AWS one ({@link queueArnOfUrl}, no
 * API call), else looked up once with `GetQueueAttributes QueueArn` (emulators).
 *
 * @example
 * ```ts
 * const delayQueueArn = queueArnFromUrl(sqs, process.env.MACHINERY_DELAY_QUEUE_URL!);
 * ```
 */
export function queueArnFromUrl(sqs: SQSClient, queueUrl: string): () => Promise<string> {
  return async () => {
    const known = queueArnOfUrl(queueUrl);
    if (known !== undefined) return known;
    try {
      const out = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      const arn = out.Attributes?.QueueArn;
      if (arn === undefined) {
        throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
      }
      return arn;
    } catch (e) {
      throw translateAwsError(e, { service: 'SQS', resource: queueUrl });
    }
  };
}

/**
 * The {@link EventBridgeScheduler} of a deployment's configuration, or `undefined` when the
 * configuration lacks any of the schedule group, the Scheduler role, the delay queue URL or the
 * Scheduler DLQ URL (`MACHINERY_SCHEDULE_GROUP`, `MACHINERY_SCHEDULER_ROLE_ARN`,
 * `MACHINERY_DELAY_QUEUE_URL`, `MACHINERY_SCHEDULER_DLQ_URL`). Queue ARNs are looked up from the
 * URLs on first use.
 *
 * @example
 * ```ts
 * const scheduler = schedulerFromConfig(loadMachineryConfig(), createAwsClients());
 * ```
 */
export function schedulerFromConfig(
  config: {
    scheduleGroup?: string | undefined;
    schedulerRoleArn?: string | undefined;
    delayQueueUrl?: string | undefined;
    schedulerDlqUrl?: string | undefined;
  },
  clients: { sqs: SQSClient; scheduler: SchedulerClient },
): EventBridgeScheduler | undefined {
  const { scheduleGroup, schedulerRoleArn, delayQueueUrl, schedulerDlqUrl } = config;
  if (!scheduleGroup || !schedulerRoleArn || !delayQueueUrl || !schedulerDlqUrl) return undefined;
  return new EventBridgeScheduler({
    client: clients.scheduler,
    groupName: scheduleGroup,
    roleArn: schedulerRoleArn,
    delayQueueArn: queueArnFromUrl(clients.sqs, delayQueueUrl),
    deadLetterArn: queueArnFromUrl(clients.sqs, schedulerDlqUrl),
  });
}

function isConflict(e: unknown): boolean {
  return e instanceof ConflictException || (e as { name?: unknown })?.name === 'ConflictException';
}

function isNotFound(e: unknown): boolean {
  return (
    e instanceof ResourceNotFoundException ||
    (e as { name?: unknown })?.name === 'ResourceNotFoundException'
  );
}

/**
 * The `Scheduler` port on EventBridge Scheduler. See the module documentation for names, inputs
 * and decisions. AWS errors are translated by `translateAwsError` (throttling and 5xx become
 * `TransientInfrastructureError`).
 *
 * @example
 * ```ts
 * const scheduler = new EventBridgeScheduler({
 *   client: createSchedulerClient(),
 *   groupName: process.env.MACHINERY_SCHEDULE_GROUP!,
 *   roleArn: process.env.MACHINERY_SCHEDULER_ROLE_ARN!,
 *   delayQueueArn: queueArnFromUrl(sqs, process.env.MACHINERY_DELAY_QUEUE_URL!),
 *   deadLetterArn: queueArnFromUrl(sqs, process.env.MACHINERY_SCHEDULER_DLQ_URL!),
 * });
 * await scheduler.scheduleOnce(sig, Date.parse(sig.ETA!) - 60_000);
 * ```
 */
export class EventBridgeScheduler implements Scheduler {
  readonly #client: SchedulerClient;
  readonly #group: string;
  readonly #roleArn: string;
  readonly #delayQueueArn: () => Promise<string>;
  readonly #deadLetterArn: () => Promise<string>;
  readonly #retry: { maximumEventAgeSeconds: number; maximumRetryAttempts: number };

  constructor(options: EventBridgeSchedulerOptions) {
    this.#client = options.client;
    this.#group = options.groupName;
    this.#roleArn = options.roleArn;
    this.#delayQueueArn = lazy(options.delayQueueArn);
    this.#deadLetterArn = lazy(options.deadLetterArn);
    this.#retry = options.retryPolicy ?? {
      maximumEventAgeSeconds: 86_400,
      maximumRetryAttempts: 185,
    };
  }

  /** The schedule group this adapter writes to. */
  get groupName(): string {
    return this.#group;
  }

  async #target(input: string): Promise<Target> {
    const [arn, dlq] = await Promise.all([this.#delayQueueArn(), this.#deadLetterArn()]);
    return {
      Arn: arn,
      RoleArn: this.#roleArn,
      Input: input,
      DeadLetterConfig: { Arn: dlq },
      RetryPolicy: {
        MaximumEventAgeInSeconds: this.#retry.maximumEventAgeSeconds,
        MaximumRetryAttempts: this.#retry.maximumRetryAttempts,
      },
    };
  }

  #fail(e: unknown, name: string): Error {
    return translateAwsError(e, {
      service: 'EventBridge Scheduler',
      resource: `${this.#group}/${name}`,
    });
  }

  /**
   * Creates `once-<uuid>` firing at `fireAt` (rounded down to the second) into the delay queue,
   * deleted after completion. A schedule that already exists is left as it is (a re-send) and
   * `false` is returned.
   */
  async scheduleOnce(
    signature: Signature,
    fireAt: number,
    options: { bodyByReference?: boolean } = {},
  ): Promise<boolean> {
    const name = oneTimeScheduleName(signature.UUID);
    const input =
      options.bodyByReference === true
        ? encodeReference(signature.UUID)
        : encodeSignature(signature);
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > DEFAULTS.schedulerMaxInputBytes) {
      throw new ScheduleInputTooLargeError(
        `task ${signature.UUID} (pass bodyByReference and keep the body in its PENDING item)`,
        bytes,
      );
    }
    const request: CreateScheduleInput = {
      Name: name,
      GroupName: this.#group,
      ScheduleExpression: formatAt(fireAt),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Description:
        `machinery task ${signature.Name} ${signature.UUID} ETA ${signature.ETA ?? ''}`.slice(
          0,
          512,
        ),
      Target: await this.#target(input),
    };
    try {
      await this.#client.send(new CreateScheduleCommand(request));
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw this.#fail(e, name);
    }
  }

  /** Deletes `once-<uuid>`; `false` when there was none (never scheduled, fired, or deleted). */
  async cancelOnce(uuid: string): Promise<boolean> {
    const name = oneTimeScheduleName(uuid);
    try {
      await this.#client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.#group }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw this.#fail(e, name);
    }
  }

  /**
   * Creates or replaces `periodic-<spec.name>`: `spec.expression` in `spec.timezone` (default
   * UTC), flexible window off, into the delay queue with the templates as input.
   */
  async putPeriodic(spec: PeriodicSpec): Promise<void> {
    const name = periodicScheduleName(spec.name);
    validateRecurringExpression(spec.expression);
    const workflow: PeriodicKind = spec.kind ?? 'task';
    const templates =
      spec.members !== undefined && spec.members.length > 0 ? spec.members : [spec.signature];
    const input = encodePeriodicInput(name, workflow, templates);
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > DEFAULTS.schedulerMaxInputBytes) {
      throw new ScheduleInputTooLargeError(`periodic task '${spec.name}'`, bytes);
    }
    const request = {
      Name: name,
      GroupName: this.#group,
      ScheduleExpression: spec.expression,
      ScheduleExpressionTimezone: spec.timezone ?? 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      State: 'ENABLED' as const,
      Description: `machinery periodic ${workflow} ${templates.map((t) => t.Name).join(',')}`.slice(
        0,
        512,
      ),
      Target: await this.#target(input),
    };
    try {
      await this.#client.send(new CreateScheduleCommand(request));
    } catch (e) {
      if (!isConflict(e)) throw this.#fail(e, name);
      try {
        await this.#client.send(new UpdateScheduleCommand(request));
      } catch (e2) {
        throw this.#fail(e2, name);
      }
    }
  }

  /** Every `periodic-*` schedule of the group, decoded (sorted by name). */
  async listPeriodic(): Promise<PeriodicSpec[]> {
    const names: string[] = [];
    let next: string | undefined;
    do {
      let out: ListSchedulesCommandOutput;
      try {
        out = await this.#client.send(
          new ListSchedulesCommand({
            GroupName: this.#group,
            NamePrefix: PERIODIC_PREFIX,
            ...(next === undefined ? {} : { NextToken: next }),
          }),
        );
      } catch (e) {
        throw this.#fail(e, `${PERIODIC_PREFIX}*`);
      }
      for (const s of out.Schedules ?? []) {
        if (s.Name !== undefined && periodicNameOf(s.Name) !== undefined) names.push(s.Name);
      }
      next = out.NextToken;
    } while (next !== undefined && next !== '');

    const specs: PeriodicSpec[] = [];
    for (const name of names.sort()) {
      const spec = await this.#getPeriodic(name);
      if (spec !== undefined) specs.push(spec);
    }
    return specs;
  }

  async #getPeriodic(scheduleName: string): Promise<PeriodicSpec | undefined> {
    const out = await this.getSchedule(scheduleName);
    if (out === undefined) return undefined; // deleted between list and get
    const input = out.Target?.Input ?? '';
    // A schedule's input still holds the placeholder: substitute a time to decode the templates.
    const body = parseDelayBody(
      input.replace(SCHEDULED_TIME_PLACEHOLDER, new Date(0).toISOString()),
    );
    if (body.kind !== 'periodic') {
      throw new DelayBodyError(
        'Input',
        `schedule ${scheduleName} does not hold a periodic task template`,
      );
    }
    const [first] = body.templates as [Signature, ...Signature[]];
    const spec: PeriodicSpec = {
      name: periodicNameOf(scheduleName) as string,
      expression: out.ScheduleExpression ?? '',
      timezone: out.ScheduleExpressionTimezone ?? 'UTC',
      signature: first,
      kind: body.workflow,
    };
    if (body.workflow === 'group' || body.workflow === 'chord') spec.members = body.templates;
    return spec;
  }

  /**
   * `GetSchedule` of any schedule of the group (one-time or periodic) by its full name, as the
   * SDK returns it; `undefined` when it does not exist. For tools and tests.
   *
   * @example
   * ```ts
   * const s = await scheduler.getSchedule(oneTimeScheduleName(uuid));
   * s?.ScheduleExpression; // 'at(2030-01-01T09:59:00)'
   * ```
   */
  async getSchedule(scheduleName: string): Promise<GetScheduleCommandOutput | undefined> {
    try {
      return await this.#client.send(
        new GetScheduleCommand({ Name: scheduleName, GroupName: this.#group }),
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.#fail(e, scheduleName);
    }
  }

  /** Deletes `periodic-<name>`; `false` when there was none. */
  async deletePeriodic(name: string): Promise<boolean> {
    const scheduleName = periodicScheduleName(name);
    try {
      await this.#client.send(
        new DeleteScheduleCommand({ Name: scheduleName, GroupName: this.#group }),
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw this.#fail(e, scheduleName);
    }
  }
}
