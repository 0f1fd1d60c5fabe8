/**
 * `Machinery`: a reusable construct holding a whole machinery-serverless deployment (DESIGN §6):
 * the FIFO task queue (high-throughput mode) and its FIFO DLQ, the standard delay queue and its
 * DLQ, the standard Scheduler DLQ, the `task_states` / `group_metas` tables, the worker and
 * forwarder functions, the EventBridge Scheduler group and the role Scheduler assumes, alarms, and
 * grant helpers for producers and operators.
 *
 * Every queue and table attribute comes from `src/core/resources.ts` (the one definition the local
 * stack reads too), so a deployment and `machinery local up` cannot drift apart. This file imports
 * no runtime code besides that pure data (DESIGN §1): the functions are bundled from their entry
 * *paths* by esbuild.
 *
 * In the style of AWS Solutions Constructs: secure defaults (SSE and TLS-only queues, encrypted
 * tables with point-in-time recovery retained on stack deletion, least-privilege roles without
 * managed policies, explicit log groups with a retention), an existing resource or options for a
 * new one where that makes sense (tables, the alarm topic), every invalid combination of props
 * reported in one {@link MachineryPropsError}, and every resource exposed as `public readonly`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArnFormat,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_dynamodb as dynamodb,
  aws_lambda_event_sources as eventSources,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  Stack,
  aws_scheduler as scheduler,
  type aws_sns as sns,
  aws_sqs as sqs,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  DEFAULTS,
  ENV,
  MACHINERY_ENV_KEYS,
  type MachineryEnvKey,
  QUEUES,
  type QueueId,
  type QueueSpec,
  type ResourceNames,
  resourceNames,
  TABLES,
  type TableId,
} from '../src/core/resources.js';

export { MACHINERY_ENV_KEYS, type MachineryEnvKey };

/** The repository root (the parent of `cdk/`): default project root of the bundles. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Receives the task queue's redrive backstop must leave beyond the largest `RetryCount` plus the
 * crashes the worker tolerates: transient failures and FIFO group skips are receives too.
 *
 * @example
 * ```ts
 * const floor = DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes + RECEIVE_COUNT_MARGIN; // 63
 * ```
 */
export const RECEIVE_COUNT_MARGIN = 10;

/** SQS limits the stack is checked against. */
const SQS_LIMITS = {
  maxReceiveCount: 1_000,
  minRetentionSeconds: 60,
  maxRetentionSeconds: 1_209_600,
} as const;

/**
 * The CloudFormation output key of an environment variable: its name in PascalCase
 * (`MACHINERY_TASK_QUEUE_URL` → `MachineryTaskQueueUrl`; output keys are alphanumeric).
 *
 * @example
 * ```ts
 * outputKey('MACHINERY_DLQ_URL'); // 'MachineryDlqUrl'
 * ```
 */
export function outputKey(envName: string): string {
  return envName
    .toLowerCase()
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * A table the construct accepts: any `ITable` (`Table` and `TableV2` are listed because, under
 * `exactOptionalPropertyTypes`, CDK's own classes do not type-check as `ITable`).
 *
 * @example
 * ```ts
 * const existing: MachineryTable = dynamodb.Table.fromTableName(stack, 'States', 'task_states');
 * ```
 */
export type MachineryTable = dynamodb.ITable | dynamodb.Table | dynamodb.TableV2;

/**
 * Settings of the worker or the forwarder function. The runtime (`nodejs24.x`), architecture
 * (arm64), handler wiring, role and `MACHINERY_*` environment are fixed by the construct.
 *
 * @example
 * ```ts
 * const worker: MachineryFunctionOptions = { memorySize: 1024, maxConcurrency: 50 };
 * ```
 */
export interface MachineryFunctionOptions {
  /** Memory, MiB. @default 512 (worker), 256 (forwarder) */
  readonly memorySize?: number;
  /**
   * Function timeout. At most the default (`DEFAULTS.workerTimeoutSeconds` /
   * `forwarderTimeoutSeconds`): the queue's visibility timeout (from `resources.ts`) must stay at
   * least `DEFAULTS.visibilityTimeoutFactor` times it, and the worker's lease assumes it.
   * @default the `DEFAULTS` value
   */
  readonly timeout?: Duration;
  /** Extra environment variables; may not set a `MACHINERY_*` variable of `ENV` nor any `AWS_*`. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved concurrency of the function. @default none */
  readonly reservedConcurrentExecutions?: number;
  /** Most concurrent invocations the SQS event source makes (2–1000). @default no limit */
  readonly maxConcurrency?: number;
  /** Description of the function. */
  readonly description?: string;
  /**
   * esbuild options merged over the construct's (ESM, minified, source maps, AWS SDK bundled,
   * `forceDockerBundling: false`).
   */
  readonly bundling?: nodejs.BundlingOptions;
}

/**
 * Props of {@link Machinery}.
 *
 * @example
 * ```ts
 * const props: MachineryProps = { workerEntry: 'src/worker.ts', alarmTopic: topic };
 * ```
 */
export interface MachineryProps {
  /**
   * Prefix of the physical resource names (`resourceNames(prefix)` of `resources.ts`, e.g.
   * `dev-` → `dev-tasks.fifo`, `dev-task_states`). Without it CloudFormation generates unique
   * names, so several deployments fit one account and region.
   * @default generated names
   */
  readonly resourcePrefix?: string;
  /**
   * Path of the worker module (TypeScript or JavaScript) exporting the Lambda handler, typically
   * `export const handler = createWorker({ tasks })`; relative paths are resolved against the
   * current directory.
   * @default examples/worker.ts of this repository (machinery's example tasks)
   */
  readonly workerEntry?: string;
  /** Name of the handler export of {@link MachineryProps.workerEntry}. @default 'handler' */
  readonly workerHandler?: string;
  /**
   * Directory esbuild bundles from (must contain the entries and `node_modules`).
   * @default this repository's root
   */
  readonly projectRoot?: string;
  /** Lock file of {@link MachineryProps.projectRoot}. @default `<projectRoot>/package-lock.json` */
  readonly depsLockFilePath?: string;
  /** Worker function settings. */
  readonly workerFunctionProps?: MachineryFunctionOptions;
  /** Forwarder function settings. */
  readonly forwarderFunctionProps?: MachineryFunctionOptions;
  /**
   * An existing `task_states` table (partition key `TaskUUID` (S), TTL on `TTL`) instead of a new
   * one, e.g. one retained from an earlier deployment.
   */
  readonly existingTaskStatesTable?: MachineryTable;
  /** An existing `group_metas` table (partition key `GroupUUID` (S), TTL on `TTL`). */
  readonly existingGroupMetasTable?: MachineryTable;
  /**
   * Removal policy of the new tables (not allowed with an existing table).
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** Deletion protection of the new tables. @default false */
  readonly tableDeletionProtection?: boolean;
  /** Alarm (and OK) action of every alarm. @default no action */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Threshold of the task queue's `ApproximateAgeOfOldestMessage` alarm, seconds.
   * @default 3600
   */
  readonly oldestMessageAgeAlarmSeconds?: number;
  /** Retention of the functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Options of {@link Machinery.grantProducer}.
 *
 * @example
 * ```ts
 * machinery.grantProducer(role, { cancel: true, periodic: true });
 * ```
 */
export interface ProducerGrantOptions {
  /** Also allow `cancel()`: `dynamodb:UpdateItem` on `task_states`, `scheduler:DeleteSchedule`. @default false */
  readonly cancel?: boolean;
  /**
   * Also allow periodic tasks: `scheduler:GetSchedule`, `UpdateSchedule`, `DeleteSchedule` on the
   * group's schedules and `scheduler:ListSchedules` (no resource-level permissions: `*`).
   * @default false
   */
  readonly periodic?: boolean;
}

/**
 * Thrown by {@link Machinery} for invalid props, listing every problem at once.
 *
 * @example
 * ```ts
 * try { new Machinery(stack, 'M', props); } catch (e) {
 *   if (e instanceof MachineryPropsError) console.error(e.problems);
 * }
 * ```
 */
export class MachineryPropsError extends Error {
  /** Stable error code. */
  readonly code = 'INVALID_MACHINERY_PROPS';
  /** One sentence per problem. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `invalid Machinery props (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'MachineryPropsError';
    this.problems = problems;
  }
}

/**
 * What {@link checkResourceSpecs} checks.
 *
 * @example
 * ```ts
 * const input: ResourceSpecInput = { queues: QUEUES, defaults: DEFAULTS,
 *   workerTimeoutSeconds: 60, forwarderTimeoutSeconds: 30 };
 * ```
 */
export interface ResourceSpecInput {
  readonly queues: { readonly [K in QueueId]: QueueSpec };
  readonly defaults: Pick<
    typeof DEFAULTS,
    'maxRetryCount' | 'retryLaterDefaultCap' | 'maxCrashes' | 'visibilityTimeoutFactor'
  > & { readonly maxVisibilitySeconds: number };
  /** Timeout of the task queue's consumer (the worker), seconds. */
  readonly workerTimeoutSeconds: number;
  /** Timeout of the delay queue's consumer (the forwarder), seconds. */
  readonly forwarderTimeoutSeconds: number;
}

/**
 * Problems of the queue definitions for the given consumer timeouts (`[]` when none): redrive
 * backstops above the largest retry count plus crashes plus {@link RECEIVE_COUNT_MARGIN},
 * visibility timeouts at least `visibilityTimeoutFactor` × the consumer's timeout, DLQs of the
 * queue's own kind keeping messages longer than their source, SQS limits.
 *
 * @example
 * ```ts
 * checkResourceSpecs({ queues: QUEUES, defaults: DEFAULTS, workerTimeoutSeconds: 60,
 *   forwarderTimeoutSeconds: 30 }); // []
 * ```
 */
export function checkResourceSpecs(input: ResourceSpecInput): string[] {
  const { queues, defaults } = input;
  const problems: string[] = [];
  const consumerTimeout: Partial<Record<QueueId, [string, number]>> = {
    tasks: ['worker', input.workerTimeoutSeconds],
    delay: ['forwarder', input.forwarderTimeoutSeconds],
  };
  for (const spec of Object.values(queues)) {
    if (spec.fifo !== spec.baseName.endsWith('.fifo')) {
      problems.push(
        `queue ${spec.id}: a FIFO queue's name must end in '.fifo' and only a FIFO queue's may (got '${spec.baseName}')`,
      );
    }
    if (spec.highThroughput && !spec.fifo) {
      problems.push(`queue ${spec.id}: high-throughput mode exists only for FIFO queues`);
    }
    if (
      spec.retentionSeconds < SQS_LIMITS.minRetentionSeconds ||
      spec.retentionSeconds > SQS_LIMITS.maxRetentionSeconds
    ) {
      problems.push(
        `queue ${spec.id}: retention ${spec.retentionSeconds} s is outside SQS's ${SQS_LIMITS.minRetentionSeconds}-${SQS_LIMITS.maxRetentionSeconds} s`,
      );
    }
    if (spec.visibilityTimeoutSeconds > defaults.maxVisibilitySeconds) {
      problems.push(
        `queue ${spec.id}: visibility timeout ${spec.visibilityTimeoutSeconds} s exceeds SQS's ${defaults.maxVisibilitySeconds} s`,
      );
    }
    const consumer = consumerTimeout[spec.id];
    if (consumer !== undefined) {
      const [name, timeout] = consumer;
      const needed = timeout * defaults.visibilityTimeoutFactor;
      if (spec.visibilityTimeoutSeconds < needed) {
        problems.push(
          `queue ${spec.id}: visibility timeout ${spec.visibilityTimeoutSeconds} s is less than ${defaults.visibilityTimeoutFactor} x the ${name}'s timeout of ${timeout} s (${needed} s)`,
        );
      }
    }
    if (spec.redrive !== undefined) {
      const dlq = queues[spec.redrive.deadLetterQueue];
      const { maxReceiveCount } = spec.redrive;
      if (dlq.fifo !== spec.fifo) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} must be ${spec.fifo ? 'FIFO' : 'standard'} like it`,
        );
      }
      if (dlq.redrive !== undefined) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} has a redrive policy itself`,
        );
      }
      if (dlq.retentionSeconds <= spec.retentionSeconds) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} keeps messages ${dlq.retentionSeconds} s, not longer than the queue's ${spec.retentionSeconds} s (SQS keeps a message's original enqueue time)`,
        );
      }
      if (
        !Number.isInteger(maxReceiveCount) ||
        maxReceiveCount < 1 ||
        maxReceiveCount > SQS_LIMITS.maxReceiveCount
      ) {
        problems.push(
          `queue ${spec.id}: maxReceiveCount ${maxReceiveCount} is not an integer in 1-${SQS_LIMITS.maxReceiveCount}`,
        );
      }
      if (spec.id === 'tasks') {
        const retries = Math.max(defaults.maxRetryCount, defaults.retryLaterDefaultCap);
        const floor = retries + defaults.maxCrashes + RECEIVE_COUNT_MARGIN;
        if (maxReceiveCount <= floor) {
          problems.push(
            `queue tasks: maxReceiveCount ${maxReceiveCount} must exceed the largest RetryCount (${retries}) + maxCrashes (${defaults.maxCrashes}) + a margin of ${RECEIVE_COUNT_MARGIN} = ${floor}: every retry is a receive, and the redrive policy is only the crash-loop backstop`,
          );
        }
      }
    }
  }
  return problems;
}

/** Environment variables a user may not set on the functions. */
function reservedEnvProblems(label: string, env: Readonly<Record<string, string>> | undefined) {
  const problems: string[] = [];
  const machinery = new Set<string>(MACHINERY_ENV_KEYS.map((k) => ENV[k]));
  for (const name of Object.keys(env ?? {})) {
    if (machinery.has(name)) {
      problems.push(
        `${label}.environment sets ${name}, which the construct sets from its resources`,
      );
    } else if (name.startsWith('AWS_')) {
      problems.push(
        `${label}.environment sets ${name}: AWS_* variables are reserved for Lambda and the SDK`,
      );
    }
  }
  return problems;
}

function functionOptionProblems(
  label: string,
  options: MachineryFunctionOptions | undefined,
  maxTimeoutSeconds: number,
): string[] {
  if (options === undefined) return [];
  const problems = reservedEnvProblems(label, options.environment);
  if (options.timeout !== undefined) {
    const seconds = options.timeout.toSeconds();
    if (seconds > maxTimeoutSeconds) {
      problems.push(
        `${label}.timeout is ${seconds} s, more than ${maxTimeoutSeconds} s: the queue's visibility timeout in resources.ts allows at most that (${DEFAULTS.visibilityTimeoutFactor} x rule) and the worker's lease assumes it`,
      );
    }
  }
  const mc = options.maxConcurrency;
  if (mc !== undefined && (!Number.isInteger(mc) || mc < 2 || mc > 1000)) {
    problems.push(`${label}.maxConcurrency must be an integer in 2-1000 (got ${mc})`);
  }
  const mem = options.memorySize;
  if (
    mem !== undefined &&
    !Token.isUnresolved(mem) &&
    (!Number.isInteger(mem) || mem < 128 || mem > 10_240)
  ) {
    problems.push(`${label}.memorySize must be an integer in 128-10240 MiB (got ${mem})`);
  }
  return problems;
}

/**
 * Every problem of `props` (`[]` when they are valid), including those of the queue definitions
 * of `resources.ts` for the chosen function timeouts. {@link Machinery} throws them as one
 * {@link MachineryPropsError}.
 *
 * @example
 * ```ts
 * validateMachineryProps({ resourcePrefix: 'bad prefix!' }); // ['resourcePrefix …']
 * ```
 */
export function validateMachineryProps(props: MachineryProps): string[] {
  const problems: string[] = [];
  if (props.resourcePrefix !== undefined) {
    try {
      resourceNames(props.resourcePrefix);
    } catch (e) {
      problems.push(`resourcePrefix: ${(e as Error).message}`);
    }
  }
  const projectRoot = props.projectRoot ?? REPO_ROOT;
  if (!existsSync(projectRoot)) problems.push(`projectRoot ${projectRoot} does not exist`);
  if (props.workerEntry !== undefined && !existsSync(resolve(props.workerEntry))) {
    problems.push(`workerEntry ${resolve(props.workerEntry)} does not exist`);
  }
  if (props.workerHandler !== undefined && !/^[A-Za-z_$][\w$]*$/.test(props.workerHandler)) {
    problems.push(`workerHandler '${props.workerHandler}' is not an export name`);
  }
  const lock = props.depsLockFilePath ?? join(projectRoot, 'package-lock.json');
  if (!existsSync(lock)) problems.push(`depsLockFilePath ${lock} does not exist`);
  const hasExistingTable =
    props.existingTaskStatesTable !== undefined || props.existingGroupMetasTable !== undefined;
  const bothExisting =
    props.existingTaskStatesTable !== undefined && props.existingGroupMetasTable !== undefined;
  if (bothExisting && props.tableRemovalPolicy !== undefined) {
    problems.push('tableRemovalPolicy applies to new tables, but both tables are existing ones');
  }
  if (bothExisting && props.tableDeletionProtection !== undefined) {
    problems.push(
      'tableDeletionProtection applies to new tables, but both tables are existing ones',
    );
  }
  if (hasExistingTable) {
    for (const [id, table] of [
      ['taskStates', props.existingTaskStatesTable],
      ['groupMetas', props.existingGroupMetasTable],
    ] as const) {
      if (table instanceof dynamodb.Table) {
        const key = table.schema().partitionKey;
        const expected = TABLES[id].partitionKey;
        if (key?.name !== expected || key.type !== dynamodb.AttributeType.STRING) {
          problems.push(
            `existing ${TABLES[id].baseName} table has partition key ${key?.name} (${key?.type}); machinery needs ${expected} (S)`,
          );
        }
      }
    }
  }
  const age = props.oldestMessageAgeAlarmSeconds;
  if (age !== undefined && (!Number.isInteger(age) || age < 60)) {
    problems.push(`oldestMessageAgeAlarmSeconds must be an integer >= 60 (got ${age})`);
  }
  problems.push(
    ...functionOptionProblems(
      'workerFunctionProps',
      props.workerFunctionProps,
      DEFAULTS.workerTimeoutSeconds,
    ),
    ...functionOptionProblems(
      'forwarderFunctionProps',
      props.forwarderFunctionProps,
      DEFAULTS.forwarderTimeoutSeconds,
    ),
  );
  problems.push(
    ...checkResourceSpecs({
      queues: QUEUES,
      defaults: DEFAULTS,
      workerTimeoutSeconds: timeoutSeconds(
        props.workerFunctionProps,
        DEFAULTS.workerTimeoutSeconds,
      ),
      forwarderTimeoutSeconds: timeoutSeconds(
        props.forwarderFunctionProps,
        DEFAULTS.forwarderTimeoutSeconds,
      ),
    }),
  );
  return problems;
}

function timeoutSeconds(options: MachineryFunctionOptions | undefined, fallback: number): number {
  return options?.timeout?.toSeconds() ?? fallback;
}

/**
 * A CloudFormation value flattened the way cdk-nag names its findings (`Ref` → `<Id>`,
 * `Fn::GetAtt` → `<Id.Attr>`, joins concatenated), to acknowledge one exact finding.
 */
function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (node['Fn::Join'] !== undefined) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flattenReference(node['Fn::Sub']);
  if (node['Fn::GetAtt'] !== undefined) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue'] !== undefined) return flattenReference(node['Fn::ImportValue']);
  if (node.Ref !== undefined) return `<${flattenReference(node.Ref)}>`;
  return JSON.stringify(value);
}

/**
 * The queues of a deployment by id.
 *
 * @example
 * ```ts
 * const dlq = machinery.queues.tasksDlq;
 * ```
 */
export type MachineryQueues = { readonly [K in QueueId]: sqs.Queue };

/**
 * The alarms of a deployment.
 *
 * @example
 * ```ts
 * machinery.alarms.tasksDlqDepth.addAlarmAction(new SnsAction(pager));
 * ```
 */
export interface MachineryAlarms {
  /** Task DLQ depth > 0. */
  readonly tasksDlqDepth: cloudwatch.Alarm;
  /** Delay DLQ depth > 0. */
  readonly delayDlqDepth: cloudwatch.Alarm;
  /** Scheduler DLQ depth > 0. */
  readonly schedulerDlqDepth: cloudwatch.Alarm;
  /** Age of the task queue's oldest message above the threshold. */
  readonly taskQueueOldestMessage: cloudwatch.Alarm;
}

/**
 * A machinery-serverless deployment (see the module documentation).
 *
 * IAM (least privilege, no managed policies):
 * - worker: consume the task queue (+ `ChangeMessageVisibility`), `sqs:SendMessage` to the task
 *   DLQ, the task queue and the delay queue, `dynamodb:GetItem/PutItem/UpdateItem` on both
 *   tables, `scheduler:CreateSchedule` on the group's schedules, `iam:PassRole` of the Scheduler
 *   role to `scheduler.amazonaws.com`, its own log group;
 * - forwarder: consume the delay queue, `sqs:SendMessage` to the task queue, the delay queue and
 *   the delay DLQ, `dynamodb:GetItem/PutItem/UpdateItem` on `task_states`, the same Scheduler
 *   permissions, its own log group;
 * - Scheduler role (trusted by `scheduler.amazonaws.com` for this account and schedule group):
 *   `sqs:SendMessage` to the delay queue and the Scheduler DLQ only.
 *
 * @example
 * ```ts
 * const machinery = new Machinery(stack, 'Machinery', { workerEntry: 'src/worker.ts' });
 * machinery.grantProducer(apiFunction);
 * machinery.grantOperator(opsRole);
 * ```
 */
export class Machinery extends Construct {
  /** Physical names when `resourcePrefix` is set, else `undefined` (generated names). */
  readonly names: ResourceNames | undefined;
  /** Every queue by its `resources.ts` id. */
  readonly queues: MachineryQueues;
  /** The FIFO task queue (high-throughput mode). */
  readonly taskQueue: sqs.Queue;
  /** The FIFO dead-letter queue of the task queue. */
  readonly taskDlq: sqs.Queue;
  /** The standard delay queue (ETAs up to 15 minutes; Scheduler targets). */
  readonly delayQueue: sqs.Queue;
  /** The dead-letter queue of the delay queue. */
  readonly delayDlq: sqs.Queue;
  /** The dead-letter queue of EventBridge Scheduler deliveries. */
  readonly schedulerDlq: sqs.Queue;
  /** `task_states`. */
  readonly taskStatesTable: dynamodb.ITable;
  /** `group_metas`. */
  readonly groupMetasTable: dynamodb.ITable;
  /** The schedule group of one-time and periodic schedules. */
  readonly scheduleGroup: scheduler.CfnScheduleGroup;
  /** Name of {@link Machinery.scheduleGroup}. */
  readonly scheduleGroupName: string;
  /** The role EventBridge Scheduler assumes to deliver to the delay queue. */
  readonly schedulerRole: iam.Role;
  /** The worker (consumer of the task queue). */
  readonly workerFunction: nodejs.NodejsFunction;
  /** The forwarder (consumer of the delay queue). */
  readonly forwarderFunction: nodejs.NodejsFunction;
  /** Execution role of the worker. */
  readonly workerRole: iam.Role;
  /** Execution role of the forwarder. */
  readonly forwarderRole: iam.Role;
  /** Log group of the worker. */
  readonly workerLogGroup: logs.LogGroup;
  /** Log group of the forwarder. */
  readonly forwarderLogGroup: logs.LogGroup;
  /** The alarms. */
  readonly alarms: MachineryAlarms;
  /**
   * The deployment's configuration: every `MACHINERY_*` variable of `ENV` → its value (tokens).
   * The functions get exactly these; the stack outputs them.
   */
  readonly environment: Readonly<Record<string, string>>;

  readonly #scheduleArnPattern: string;
  readonly #scheduleFinding: string;

  constructor(scope: Construct, id: string, props: MachineryProps = {}) {
    // Before super(): invalid props leave nothing behind in `scope`.
    const problems = validateMachineryProps(props);
    if (problems.length > 0) throw new MachineryPropsError(problems);
    super(scope, id);

    const stack = Stack.of(this);
    this.names =
      props.resourcePrefix === undefined ? undefined : resourceNames(props.resourcePrefix);

    // Queues: dead-letter queues first, every attribute from resources.ts.
    const queues: Partial<Record<QueueId, sqs.Queue>> = {};
    const order = (Object.keys(QUEUES) as QueueId[]).sort(
      (a, b) => Number(QUEUES[a].redrive !== undefined) - Number(QUEUES[b].redrive !== undefined),
    );
    for (const qid of order) queues[qid] = this.#queue(QUEUES[qid], queues);
    this.queues = queues as MachineryQueues;
    this.taskQueue = this.queues.tasks;
    this.taskDlq = this.queues.tasksDlq;
    this.delayQueue = this.queues.delay;
    this.delayDlq = this.queues.delayDlq;
    this.schedulerDlq = this.queues.schedulerDlq;
    Validations.of(this.schedulerDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: the dead-letter target of EventBridge Scheduler deliveries (DeadLetterConfig of every schedule), not the redrive target of another queue.',
    });

    // Tables.
    // (Table is an ITable; the cast only quiets exactOptionalPropertyTypes on CDK's own types.)
    this.taskStatesTable = (props.existingTaskStatesTable ??
      this.#table('taskStates', props)) as dynamodb.ITable;
    this.groupMetasTable = (props.existingGroupMetasTable ??
      this.#table('groupMetas', props)) as dynamodb.ITable;

    // EventBridge Scheduler: the group and the role it assumes.
    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ScheduleGroup', {
      ...(this.names ? { name: this.names.scheduleGroup } : {}),
    });
    this.scheduleGroupName = this.scheduleGroup.ref;
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      ...(this.names ? { roleName: this.names.schedulerRole } : {}),
      description:
        'Assumed by EventBridge Scheduler to deliver machinery schedules to the delay queue',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': this.scheduleGroup.attrArn },
        },
      }),
    });
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeliverToDelayQueueAndDlq',
        actions: ['sqs:SendMessage'],
        resources: [this.delayQueue.queueArn, this.schedulerDlq.queueArn],
      }),
    );
    this.#scheduleArnPattern = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.ref}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.#scheduleFinding = `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(this.#scheduleArnPattern))}]`;

    // The configuration every component reads.
    const values: Record<MachineryEnvKey, string> = {
      taskQueueUrl: this.taskQueue.queueUrl,
      dlqUrl: this.taskDlq.queueUrl,
      delayQueueUrl: this.delayQueue.queueUrl,
      delayDlqUrl: this.delayDlq.queueUrl,
      schedulerDlqUrl: this.schedulerDlq.queueUrl,
      taskStatesTable: this.taskStatesTable.tableName,
      groupMetasTable: this.groupMetasTable.tableName,
      scheduleGroup: this.scheduleGroupName,
      schedulerRoleArn: this.schedulerRole.roleArn,
    };
    this.environment = Object.fromEntries(MACHINERY_ENV_KEYS.map((k) => [ENV[k], values[k]]));

    // Functions.
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    const depsLockFilePath = props.depsLockFilePath ?? join(projectRoot, 'package-lock.json');
    const worker = this.#function('Worker', {
      entry: resolve(props.workerEntry ?? join(REPO_ROOT, 'examples', 'worker.ts')),
      handler: props.workerHandler ?? 'handler',
      timeoutSeconds: DEFAULTS.workerTimeoutSeconds,
      memorySize: 512,
      description:
        'machinery worker: runs the tasks of the FIFO task queue (reportBatchItemFailures)',
      options: props.workerFunctionProps,
      retention,
      projectRoot,
      depsLockFilePath,
    });
    this.workerFunction = worker.fn;
    this.workerRole = worker.role;
    this.workerLogGroup = worker.logGroup;
    const forwarder = this.#function('Forwarder', {
      entry: join(REPO_ROOT, 'src', 'handlers', 'forwarder.ts'),
      handler: 'handler',
      timeoutSeconds: DEFAULTS.forwarderTimeoutSeconds,
      memorySize: 256,
      description:
        'machinery forwarder: moves delayed tasks from the delay queue to the task queue',
      options: props.forwarderFunctionProps,
      retention,
      projectRoot,
      depsLockFilePath,
    });
    this.forwarderFunction = forwarder.fn;
    this.forwarderRole = forwarder.role;
    this.forwarderLogGroup = forwarder.logGroup;

    this.workerFunction.addEventSource(
      new eventSources.SqsEventSource(this.taskQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        ...(props.workerFunctionProps?.maxConcurrency === undefined
          ? {}
          : { maxConcurrency: props.workerFunctionProps.maxConcurrency }),
      }),
    );
    this.forwarderFunction.addEventSource(
      new eventSources.SqsEventSource(this.delayQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        ...(props.forwarderFunctionProps?.maxConcurrency === undefined
          ? {}
          : { maxConcurrency: props.forwarderFunctionProps.maxConcurrency }),
      }),
    );

    // Least-privilege grants (the event sources grant consuming their queue).
    const sendTo = (grantee: iam.IGrantable, targets: sqs.IQueue[]) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['sqs:SendMessage'],
        resourceArns: targets.map((q) => q.queueArn),
      });
    sendTo(this.workerRole, [this.taskDlq, this.taskQueue, this.delayQueue]);
    grantTable(this.workerRole, this.taskStatesTable, ['GetItem', 'PutItem', 'UpdateItem']);
    grantTable(this.workerRole, this.groupMetasTable, ['GetItem', 'PutItem', 'UpdateItem']);
    this.#grantSchedules(this.workerRole, ['scheduler:CreateSchedule']);

    sendTo(this.forwarderRole, [this.taskQueue, this.delayQueue, this.delayDlq]);
    grantTable(this.forwarderRole, this.taskStatesTable, ['GetItem', 'PutItem', 'UpdateItem']);
    this.#grantSchedules(this.forwarderRole, ['scheduler:CreateSchedule']);

    // Alarms.
    const dlqAlarm = (name: string, queue: sqs.Queue, what: string) =>
      new cloudwatch.Alarm(this, name, {
        alarmDescription: `${what} holds messages: tasks that could not be delivered or run (inspect with \`machinery dlq list\`).`,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const ageSeconds = props.oldestMessageAgeAlarmSeconds ?? 3_600;
    this.alarms = {
      tasksDlqDepth: dlqAlarm('TaskDlqDepthAlarm', this.taskDlq, 'The task dead-letter queue'),
      delayDlqDepth: dlqAlarm('DelayDlqDepthAlarm', this.delayDlq, 'The delay dead-letter queue'),
      schedulerDlqDepth: dlqAlarm(
        'SchedulerDlqDepthAlarm',
        this.schedulerDlq,
        'The EventBridge Scheduler dead-letter queue',
      ),
      taskQueueOldestMessage: new cloudwatch.Alarm(this, 'TaskQueueOldestMessageAlarm', {
        alarmDescription: `The oldest message of the task queue is more than ${ageSeconds} s old: the worker is failing, throttled or cannot keep up.`,
        metric: this.taskQueue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: ageSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
    if (props.alarmTopic !== undefined) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of Object.values(this.alarms)) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /**
   * Allows `grantee` to send tasks (`createClient().sendTask`, `machinery send`):
   * `sqs:SendMessage` to the task and delay queues, `dynamodb:PutItem/GetItem` on `task_states`,
   * `scheduler:CreateSchedule` on the group's schedules and `iam:PassRole` of the Scheduler role
   * (ETAs more than 15 minutes away); with `options`, cancel and periodic tasks too.
   *
   * @example
   * ```ts
   * machinery.grantProducer(apiFunction, { cancel: true });
   * ```
   */
  grantProducer(grantee: iam.IGrantable, options: ProducerGrantOptions = {}): iam.Grant {
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.taskQueue.queueArn, this.delayQueue.queueArn],
    });
    grant = grant.combine(
      grantTable(grantee, this.taskStatesTable, [
        'PutItem',
        'GetItem',
        ...(options.cancel === true ? ['UpdateItem'] : []),
      ]),
    );
    const scheduleActions = ['scheduler:CreateSchedule'];
    if (options.cancel === true || options.periodic === true) {
      scheduleActions.push('scheduler:DeleteSchedule');
    }
    if (options.periodic === true) {
      scheduleActions.push('scheduler:GetSchedule', 'scheduler:UpdateSchedule');
    }
    grant = grant.combine(this.#grantSchedules(grantee, scheduleActions));
    if (options.periodic === true) {
      grant = grant.combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['scheduler:ListSchedules'],
          resourceArns: ['*'],
        }),
      );
      acknowledgeOn(grantee, {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'scheduler:ListSchedules supports no resource-level permissions; listing periodic tasks needs it (the only action granted on *).',
      });
    }
    return grant;
  }

  /**
   * Allows `grantee` to operate the dead-letter queues (`machinery dlq list / show / redrive /
   * purge`): receive, release, delete, purge and `StartMessageMoveTask` (with list / cancel) on
   * the three DLQs, `sqs:SendMessage` to the task and delay queues (redrive destinations),
   * `sqs:GetQueueAttributes` on every queue (depths), and `dynamodb:GetItem` on both tables.
   *
   * @example
   * ```ts
   * machinery.grantOperator(new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() }));
   * ```
   */
  grantOperator(grantee: iam.IGrantable): iam.Grant {
    const dlqs = [this.taskDlq, this.delayDlq, this.schedulerDlq];
    let grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:PurgeQueue',
        'sqs:GetQueueUrl',
        'sqs:StartMessageMoveTask',
        'sqs:ListMessageMoveTasks',
        'sqs:CancelMessageMoveTask',
      ],
      resourceArns: dlqs.map((q) => q.queueArn),
    });
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['sqs:SendMessage'],
        resourceArns: [this.taskQueue.queueArn, this.delayQueue.queueArn],
      }),
    );
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['sqs:GetQueueAttributes'],
        resourceArns: Object.values(this.queues).map((q) => q.queueArn),
      }),
    );
    grant = grant.combine(grantTable(grantee, this.taskStatesTable, ['GetItem']));
    return grant.combine(grantTable(grantee, this.groupMetasTable, ['GetItem']));
  }

  /** `actions` on the group's schedules + passing the Scheduler role to Scheduler. */
  #grantSchedules(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.#scheduleArnPattern],
    });
    acknowledgeOn(grantee, {
      id: this.#scheduleFinding,
      reason:
        "Schedules are created per task (once-<task uuid>) and per periodic task at run time: the wildcard is limited to the schedules of this deployment's schedule group.",
    });
    return grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['iam:PassRole'],
        resourceArns: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  #queue(spec: QueueSpec, created: Partial<Record<QueueId, sqs.Queue>>): sqs.Queue {
    const dlq = spec.redrive ? created[spec.redrive.deadLetterQueue] : undefined;
    if (spec.redrive && dlq === undefined) {
      throw new Error(
        `internal: dead-letter queue ${spec.redrive.deadLetterQueue} of ${spec.id} not created yet`,
      );
    }
    const logicalId = spec.id.charAt(0).toUpperCase() + spec.id.slice(1);
    return new sqs.Queue(this, `${logicalId}Queue`, {
      ...(this.names ? { queueName: this.names.queues[spec.id] } : {}),
      ...(spec.fifo
        ? {
            fifo: true,
            contentBasedDeduplication: false,
            ...(spec.highThroughput
              ? {
                  deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
                  fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
                }
              : {}),
          }
        : {}),
      visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(spec.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      ...(spec.redrive && dlq
        ? { deadLetterQueue: { queue: dlq, maxReceiveCount: spec.redrive.maxReceiveCount } }
        : {}),
    });
  }

  #table(id: TableId, props: MachineryProps): dynamodb.Table {
    const spec = TABLES[id];
    const logicalId = id.charAt(0).toUpperCase() + id.slice(1);
    return new dynamodb.Table(this, `${logicalId}Table`, {
      ...(this.names ? { tableName: this.names.tables[id] } : {}),
      partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: spec.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.tableDeletionProtection ?? false,
    });
  }

  #function(
    id: string,
    spec: {
      entry: string;
      handler: string;
      timeoutSeconds: number;
      memorySize: number;
      description: string;
      options: MachineryFunctionOptions | undefined;
      retention: logs.RetentionDays;
      projectRoot: string;
      depsLockFilePath: string;
    },
  ): { fn: nodejs.NodejsFunction; role: iam.Role; logGroup: logs.LogGroup } {
    const options = spec.options ?? {};
    const logGroup = new logs.LogGroup(this, `${id}LogGroup`, { retention: spec.retention });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the machinery ${id.toLowerCase()}`,
    });
    logGroup.grantWrite(role);
    const fn = new nodejs.NodejsFunction(this, `${id}Function`, {
      entry: spec.entry,
      handler: spec.handler,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: options.timeout ?? Duration.seconds(spec.timeoutSeconds),
      memorySize: options.memorySize ?? spec.memorySize,
      description: options.description ?? spec.description,
      role,
      logGroup,
      // Chains, callbacks and retries legitimately send to the queue the function consumes
      // (worker → task queue → worker; forwarder → delay queue → forwarder): Lambda's recursive
      // loop detection would stop them after 16 hops.
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
      ...(options.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
      environment: {
        ...options.environment,
        ...this.environment,
        NODE_OPTIONS: [options.environment?.NODE_OPTIONS, '--enable-source-maps']
          .filter((o) => o !== undefined && o !== '')
          .join(' '),
      },
      projectRoot: spec.projectRoot,
      depsLockFilePath: spec.depsLockFilePath,
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // Some bundled CommonJS dependencies `require` Node built-ins.
        banner:
          "import { createRequire as __machineryCreateRequire } from 'node:module'; const require = __machineryCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        // The versions this project is tested with, not the runtime's.
        bundleAwsSDK: true,
        ...options.bundling,
      },
    });
    return { fn, role, logGroup };
  }
}

/** `dynamodb:<actions>` on the table itself (no index wildcard) and its key, if customer managed. */
function grantTable(grantee: iam.IGrantable, table: dynamodb.ITable, actions: string[]): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: actions.map((a) => `dynamodb:${a}`),
    resourceArns: [table.tableArn],
  });
  if (table.encryptionKey === undefined) return grant;
  const writes = actions.some((a) => a !== 'GetItem' && a !== 'Query' && a !== 'Scan');
  return grant.combine(
    writes
      ? table.encryptionKey.grantEncryptDecrypt(grantee)
      : table.encryptionKey.grantDecrypt(grantee),
  );
}

/** Acknowledges a cdk-nag finding on the grantee's construct, when it is one of this app. */
function acknowledgeOn(grantee: iam.IGrantable, ack: { id: string; reason: string }): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) Validations.of(principal).acknowledge(ack);
  else if (Construct.isConstruct(grantee)) Validations.of(grantee).acknowledge(ack);
}
