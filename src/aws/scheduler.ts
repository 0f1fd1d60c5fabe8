/**
 * EventBridge Scheduler adapter: the `Scheduler` port for ETAs more than 15 minutes away
 * (one-time `at()` schedules) and for periodic tasks (recurring `cron()` / `rate()` schedules).
 * Every schedule targets the standard *delay queue*; the forwarder (`src/handlers/forwarder.ts`)
 * reads what arrives there and moves it to the FIFO task queue when it is due.
 *
 * What a schedule's `Input` holds (the delay-queue body) is the core's wire codec
 * (`src/core/delay-body.ts`); schedule names come from `src/core/schedule-names.ts` and
 * expressions are checked with the core's grammar (`src/core/schedule-expression.ts`) before any
 * call. Schedules live in the project's schedule group (`MACHINERY_SCHEDULE_GROUP`).
 *
 * ## Decisions
 *
 * - `at()` has second granularity in UTC: the fire time is rounded *down* to the whole second, so
 *   rounding never makes a schedule fire later than asked (dispatch already asks for ETA − 60 s).
 * - Creating a one-time schedule that already exists (`ConflictException`) is success: it is a
 *   re-send of the same task, and the first schedule wins.
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
import {
  encodePeriodicInput,
  encodeReference,
  type PeriodicKind,
  parseDelayBody,
  SCHEDULED_TIME_PLACEHOLDER,
} from '../core/delay-body.js';
import { DelayBodyError, MachineryError } from '../core/errors.js';
import type { OneTimeSchedule, PeriodicSpec, Scheduler } from '../core/ports.js';
import { DEFAULTS } from '../core/resources.js';
import { formatAt, parseAt, validateRecurringExpression } from '../core/schedule-expression.js';
import {
  ONE_TIME_HASHED_PREFIX,
  ONE_TIME_PREFIX,
  oneTimeScheduleName,
  PERIODIC_PREFIX,
  periodicNameOf,
  periodicScheduleName,
} from '../core/schedule-names.js';
import { encodeSignature } from '../core/signature.js';
import type { Signature } from '../core/types.js';
import { translateAwsError } from './errors.js';

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
    return this.#delete(oneTimeScheduleName(uuid));
  }

  /** Deletes schedule `name` of the group; `false` when there was none. */
  async #delete(name: string): Promise<boolean> {
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
    const names = await this.#listNames(PERIODIC_PREFIX, (n) => periodicNameOf(n) !== undefined);
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
    return this.#delete(periodicScheduleName(name));
  }

  /**
   * Every one-time schedule of the group (`once-*`, `once.*`), read with `GetSchedule` each and
   * sorted by fire time: the task from the input (a signature), else from the description the
   * adapter wrote (`machinery task <name> <uuid> ETA <eta>`) when the input is a reference.
   */
  async listOnce(): Promise<OneTimeSchedule[]> {
    const names = await this.#listNames(ONE_TIME_LIST_PREFIX, (n) => isOneTimeScheduleName(n));
    const out: OneTimeSchedule[] = [];
    for (const scheduleName of names) {
      const s = await this.getSchedule(scheduleName);
      if (s !== undefined) out.push(oneTimeOf(scheduleName, s));
    }
    return out.sort(
      (a, b) =>
        (a.fireAt ?? Number.POSITIVE_INFINITY) - (b.fireAt ?? Number.POSITIVE_INFINITY) ||
        a.scheduleName.localeCompare(b.scheduleName),
    );
  }

  /** Names of the group's schedules starting with `prefix` that `keep` accepts, every page. */
  async #listNames(prefix: string, keep: (name: string) => boolean): Promise<string[]> {
    const names: string[] = [];
    let next: string | undefined;
    do {
      let out: ListSchedulesCommandOutput;
      try {
        out = await this.#client.send(
          new ListSchedulesCommand({
            GroupName: this.#group,
            NamePrefix: prefix,
            ...(next === undefined ? {} : { NextToken: next }),
          }),
        );
      } catch (e) {
        throw this.#fail(e, `${prefix}*`);
      }
      for (const s of out.Schedules ?? []) {
        if (s.Name !== undefined && keep(s.Name)) names.push(s.Name);
      }
      next = out.NextToken;
    } while (next !== undefined && next !== '');
    return names;
  }
}

/** The common prefix of `once-` and `once.` schedule names (one `ListSchedules` prefix for both). */
const ONE_TIME_LIST_PREFIX = 'once';

function isOneTimeScheduleName(name: string): boolean {
  return name.startsWith(ONE_TIME_PREFIX) || name.startsWith(ONE_TIME_HASHED_PREFIX);
}

/** The description `scheduleOnce` writes: `machinery task <name> <uuid> ETA <eta>`. */
const ONE_TIME_DESCRIPTION = /^machinery task (.*) (\S+) ETA (\S*)$/;

/** What a one-time schedule says about its task (see {@link EventBridgeScheduler.listOnce}). */
function oneTimeOf(scheduleName: string, s: GetScheduleCommandOutput): OneTimeSchedule {
  const fireAt = parseAt(s.ScheduleExpression ?? '', s.ScheduleExpressionTimezone ?? 'UTC') ?? null;
  const described = ONE_TIME_DESCRIPTION.exec(s.Description ?? '');
  const fromDescription = {
    name: described?.[1] ?? null,
    eta: described?.[3] ? described[3] : null,
  };
  let body: ReturnType<typeof parseDelayBody> | undefined;
  try {
    body = parseDelayBody(s.Target?.Input ?? '');
  } catch {
    body = undefined; // not a machinery input: say what the description says
  }
  if (body?.kind === 'signature') {
    const { signature } = body;
    return { scheduleName, uuid: signature.UUID, name: signature.Name, eta: signature.ETA, fireAt };
  }
  const uuid =
    body?.kind === 'reference'
      ? body.uuid
      : (described?.[2] ?? scheduleName.slice(ONE_TIME_PREFIX.length));
  return { scheduleName, uuid, ...fromDescription, fireAt };
}
