/**
 * `Machinery`: a reusable construct holding a whole machinery-serverless deployment: the FIFO
 * task queue (high-throughput mode) and its FIFO DLQ, the FIFO high-priority task queue and its
 * FIFO DLQ (a second event source of the worker), the standard delay queue and its DLQ, the
 * standard Scheduler DLQ, the `task_states` / `group_metas` / `workers` tables, the worker and forwarder
 * functions, the EventBridge Scheduler group and the role Scheduler assumes, alarms, and grant
 * helpers for producers and operators.
 *
 * This module owns the assembly: it validates the props (`validation.ts`), then calls one builder
 * per resource group in dependency order (`queues.ts`, `tables.ts`, `scheduler.ts`,
 * `outputs.ts` for the environment, `functions.ts`, `grants.ts`, `alarms.ts`) and exposes what
 * they build. It is also the `cdk/` entry point: the public types and helpers of those modules
 * are re-exported here.
 *
 * Every queue and table attribute comes from `src/core/resources.ts` (the one definition the local
 * stack reads too), so a deployment and `machinery local up` cannot drift apart. No module of
 * `cdk/` imports runtime code besides that pure data: the functions are bundled from their entry
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
import type {
  aws_cloudwatch as cloudwatch,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  aws_scheduler as scheduler,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { type ResourceNames, resourceNames } from '../src/core/resources.js';
import { buildAlarms, type MachineryAlarms } from './alarms.js';
import { buildDashboard } from './dashboard.js';
import { MachineryPropsError } from './errors.js';
import { buildFunctions } from './functions.js';
import {
  grantForwarder,
  grantOperator,
  grantProducer,
  grantWorker,
  type MachineryGrantTargets,
} from './grants.js';
import { machineryEnvironment } from './outputs.js';
import type { MachineryProps, ProducerGrantOptions } from './props.js';
import { buildQueues, type MachineryQueues } from './queues.js';
import { buildScheduler } from './scheduler.js';
import { buildTables } from './tables.js';
import { validateMachineryProps } from './validation.js';

export {
  MACHINERY_ENV_KEYS,
  type MachineryEnvKey,
  METRICS,
} from '../src/core/resources.js';
export { type AlarmInput, type MachineryAlarms, workerMetric } from './alarms.js';
export { MachineryPropsError } from './errors.js';
export type { MachineryFunction } from './functions.js';
export type { MachineryGrantTargets } from './grants.js';
export { addEnvironmentOutputs, machineryEnvironment, outputKey } from './outputs.js';
export type {
  MachineryFunctionOptions,
  MachineryProps,
  MachineryTable,
  ProducerGrantOptions,
} from './props.js';
export type { MachineryQueues } from './queues.js';
export type { MachineryScheduler } from './scheduler.js';
export type { MachineryTables } from './tables.js';
export {
  checkResourceSpecs,
  RECEIVE_COUNT_MARGIN,
  type ResourceSpecInput,
  validateMachineryProps,
} from './validation.js';

/**
 * A machinery-serverless deployment (see the module documentation).
 *
 * IAM (least privilege, no managed policies):
 * - worker: consume the task queue and the high-priority queue (+ `ChangeMessageVisibility`),
 *   `sqs:SendMessage` to both task queues, their DLQs and the delay queue, `dynamodb:GetItem/PutItem/UpdateItem` on both
 *   tables and `dynamodb:BatchGetItem` on `task_states` (the failure ledger's records live there
 *   beside the task states, under their own key prefixes), `scheduler:CreateSchedule` on the group's schedules, `iam:PassRole` of the Scheduler
 *   role to `scheduler.amazonaws.com`, its own log group;
 * - forwarder: consume the delay queue, `sqs:SendMessage` to both task queues, the delay queue
 *   and the delay DLQ, `dynamodb:GetItem/PutItem/UpdateItem` on `task_states`, the same Scheduler
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
export class Machinery extends Construct implements MachineryGrantTargets {
  /** Physical names when `resourcePrefix` is set, else `undefined` (generated names). */
  readonly names: ResourceNames | undefined;
  /** Every queue by its `resources.ts` id. */
  readonly queues: MachineryQueues;
  /** The FIFO task queue (high-throughput mode). */
  readonly taskQueue: sqs.Queue;
  /** The FIFO dead-letter queue of the task queue. */
  readonly taskDlq: sqs.Queue;
  /** The FIFO high-priority task queue (its own event source on the worker). */
  readonly highTaskQueue: sqs.Queue;
  /** The FIFO dead-letter queue of the high-priority task queue. */
  readonly highTaskDlq: sqs.Queue;
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
  /** `workers`: the alive records of running workers. */
  readonly workersTable: dynamodb.ITable;
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
  /** The CloudWatch dashboard: task totals, failure rate, queue depths and ages (`dashboard.ts`). */
  readonly dashboard: cloudwatch.Dashboard;
  /**
   * The deployment's configuration: every `MACHINERY_*` variable of `ENV` → its value (tokens).
   * The functions get exactly these; the stack outputs them.
   */
  readonly environment: Readonly<Record<string, string>>;

  /** ARN pattern of every schedule of {@link Machinery.scheduleGroup} (`…:schedule/<group>/*`). */
  readonly scheduleArnPattern: string;

  constructor(scope: Construct, id: string, props: MachineryProps = {}) {
    // Before super(): invalid props leave nothing behind in `scope`.
    const problems = validateMachineryProps(props);
    if (problems.length > 0) throw new MachineryPropsError(problems);
    super(scope, id);

    this.names =
      props.resourcePrefix === undefined ? undefined : resourceNames(props.resourcePrefix);

    this.queues = buildQueues(this, this.names);
    this.taskQueue = this.queues.tasks;
    this.taskDlq = this.queues.tasksDlq;
    this.highTaskQueue = this.queues.highTasks;
    this.highTaskDlq = this.queues.highTasksDlq;
    this.delayQueue = this.queues.delay;
    this.delayDlq = this.queues.delayDlq;
    this.schedulerDlq = this.queues.schedulerDlq;

    const tables = buildTables(this, props, this.names);
    this.taskStatesTable = tables.taskStates;
    this.groupMetasTable = tables.groupMetas;
    this.workersTable = tables.workers;

    const schedules = buildScheduler(this, this.names, this.queues);
    this.scheduleGroup = schedules.group;
    this.scheduleGroupName = schedules.groupName;
    this.schedulerRole = schedules.role;
    this.scheduleArnPattern = schedules.scheduleArnPattern;

    this.environment = machineryEnvironment({
      taskQueueUrl: this.taskQueue.queueUrl,
      dlqUrl: this.taskDlq.queueUrl,
      delayQueueUrl: this.delayQueue.queueUrl,
      delayDlqUrl: this.delayDlq.queueUrl,
      schedulerDlqUrl: this.schedulerDlq.queueUrl,
      taskStatesTable: this.taskStatesTable.tableName,
      groupMetasTable: this.groupMetasTable.tableName,
      scheduleGroup: this.scheduleGroupName,
      schedulerRoleArn: this.schedulerRole.roleArn,
      highTaskQueueUrl: this.highTaskQueue.queueUrl,
      highDlqUrl: this.highTaskDlq.queueUrl,
      workersTable: this.workersTable.tableName,
    });

    const { worker, forwarder } = buildFunctions(this, props, this.environment, this.queues);
    this.workerFunction = worker.fn;
    this.workerRole = worker.role;
    this.workerLogGroup = worker.logGroup;
    this.forwarderFunction = forwarder.fn;
    this.forwarderRole = forwarder.role;
    this.forwarderLogGroup = forwarder.logGroup;
    grantWorker(this, this.workerRole);
    grantForwarder(this, this.forwarderRole);

    this.alarms = buildAlarms(this, {
      queues: this.queues,
      oldestMessageAgeSeconds: props.oldestMessageAgeAlarmSeconds ?? 3_600,
      alarmTopic: props.alarmTopic,
    });
    this.dashboard = buildDashboard(this, { queues: this.queues });
  }

  /**
   * Allows `grantee` to send tasks (`createClient().sendTask`, `machinery send`):
   * `sqs:SendMessage` to the task, high-priority and delay queues, `dynamodb:PutItem/GetItem` on `task_states`,
   * `scheduler:CreateSchedule` on the group's schedules and `iam:PassRole` of the Scheduler role
   * (ETAs more than 15 minutes away); with `options`, cancel and periodic tasks too.
   *
   * @example
   * ```ts
   * machinery.grantProducer(apiFunction, { cancel: true });
   * ```
   */
  grantProducer(grantee: iam.IGrantable, options: ProducerGrantOptions = {}): iam.Grant {
    return grantProducer(this, grantee, options);
  }

  /**
   * Allows `grantee` to operate the dead-letter queues (`machinery dlq list / show / redrive /
   * purge`): receive, release, delete, purge and `StartMessageMoveTask` (with list / cancel) on
   * the four DLQs, `sqs:SendMessage` to the task, high-priority and delay queues (redrive
   * destinations),
   * `sqs:GetQueueAttributes` on every queue (depths), and `dynamodb:GetItem` on both tables; for
   * `machinery queues`, `periodic list [--all]` / `periodic rm` and `--stack NAME`: CloudWatch
   * `GetMetricData` / `GetMetricStatistics` and `scheduler:ListSchedules` (on `*`: no
   * resource-level permissions), `scheduler:GetSchedule` / `DeleteSchedule` on the group's
   * schedules, and `cloudformation:DescribeStacks` on this stack. Sending, `cancel` and
   * `periodic add` are `grantProducer`'s (`{ cancel: true, periodic: true }`).
   *
   * @example
   * ```ts
   * machinery.grantOperator(new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() }));
   * ```
   */
  grantOperator(grantee: iam.IGrantable): iam.Grant {
    return grantOperator(this, grantee);
  }
}
