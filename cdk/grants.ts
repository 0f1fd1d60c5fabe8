/**
 * The IAM grants of a machinery deployment, least privilege and without managed policies: what
 * the worker and the forwarder call at run time, and what producers (`sendTask`, `machinery
 * send`) and operators (`machinery dlq …`, `queues`, `periodic list / rm`, `--stack`) need. Consuming a queue is granted by the event
 * sources of `functions.ts`, the Scheduler role's own policy by `scheduler.ts`; the cdk-nag
 * acknowledgements a grant needs come from `nag.ts`.
 *
 * @module
 */
import {
  type aws_dynamodb as dynamodb,
  aws_iam as iam,
  Stack,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  acknowledgeKeyActionWildcards,
  acknowledgeListSchedules,
  acknowledgeOperatorReadsOnAny,
  acknowledgeScheduleWildcard,
} from './nag.js';
import type { ProducerGrantOptions } from './props.js';
import type { MachineryQueues } from './queues.js';

/**
 * What the grants of this module give access to: the `Machinery` construct satisfies it.
 *
 * @example
 * ```ts
 * grantWorker(machinery, machinery.workerRole);
 * ```
 */
export interface MachineryGrantTargets extends Construct {
  /** Every queue by its `resources.ts` id. */
  readonly queues: MachineryQueues;
  /** `task_states`. */
  readonly taskStatesTable: dynamodb.ITable;
  /** `group_metas`. */
  readonly groupMetasTable: dynamodb.ITable;
  /** `workers`: the alive records (`machinery workers` scans it). */
  readonly workersTable: dynamodb.ITable;
  /** The role EventBridge Scheduler assumes. */
  readonly schedulerRole: iam.IRole;
  /** ARN pattern of every schedule of the deployment's group. */
  readonly scheduleArnPattern: string;
}

/**
 * Grants the worker's execution role what it calls: `sqs:SendMessage` to the task DLQ, the task
 * queue, the high-priority task queue and its DLQ, and the delay queue, `dynamodb:GetItem/PutItem/UpdateItem/BatchGetItem` on both tables
 * (any key: the failure ledger's `streak#…`, `fault#…` and `dlq#…` records live in `task_states`
 * beside the task states; the chord protocol's tree nodes, member pages and counters in
 * `group_metas` beside the group records, its counted members in transactions of `UpdateItem`s),
 * and creating schedules.
 *
 * @example
 * ```ts
 * grantWorker(machinery, machinery.workerRole);
 * ```
 */
export function grantWorker(targets: MachineryGrantTargets, role: iam.IGrantable): void {
  const { queues } = targets;
  sendTo(role, [
    queues.tasksDlq,
    queues.tasks,
    queues.highTasks,
    queues.highTasksDlq,
    queues.delay,
  ]);
  grantTable(role, targets.taskStatesTable, ['GetItem', 'PutItem', 'UpdateItem', 'BatchGetItem']);
  grantTable(role, targets.groupMetasTable, ['GetItem', 'PutItem', 'UpdateItem', 'BatchGetItem']);
  // The opt-in alive record of each execution environment (`createWorker({ liveness })`).
  grantTable(role, targets.workersTable, ['PutItem']);
  grantSchedules(targets, role, ['scheduler:CreateSchedule']);
}

/**
 * Grants the forwarder's execution role what it calls: `sqs:SendMessage` to the task queue, the
 * high-priority task queue, the delay queue and the delay DLQ, `dynamodb:GetItem/PutItem/UpdateItem` on `task_states`, and
 * creating schedules.
 *
 * @example
 * ```ts
 * grantForwarder(machinery, machinery.forwarderRole);
 * ```
 */
export function grantForwarder(targets: MachineryGrantTargets, role: iam.IGrantable): void {
  const { queues } = targets;
  sendTo(role, [queues.tasks, queues.highTasks, queues.delay, queues.delayDlq]);
  grantTable(role, targets.taskStatesTable, ['GetItem', 'PutItem', 'UpdateItem']);
  grantSchedules(targets, role, ['scheduler:CreateSchedule']);
}

/**
 * See `Machinery.grantProducer`.
 *
 * @example
 * ```ts
 * grantProducer(machinery, apiFunction, { cancel: true });
 * ```
 */
export function grantProducer(
  targets: MachineryGrantTargets,
  grantee: iam.IGrantable,
  options: ProducerGrantOptions = {},
): iam.Grant {
  let grant = sendTo(grantee, [
    targets.queues.tasks,
    targets.queues.highTasks,
    targets.queues.delay,
  ]);
  grant = grant.combine(
    grantTable(grantee, targets.taskStatesTable, [
      'PutItem',
      'GetItem',
      ...(options.cancel === true ? ['UpdateItem'] : []),
    ]),
  );
  // Groups and chords: the root record and member pages at send, their progress for handles.
  grant = grant.combine(
    grantTable(grantee, targets.groupMetasTable, [
      'UpdateItem',
      'PutItem',
      'GetItem',
      'BatchGetItem',
    ]),
  );
  const scheduleActions = ['scheduler:CreateSchedule'];
  if (options.cancel === true || options.periodic === true) {
    scheduleActions.push('scheduler:DeleteSchedule');
  }
  if (options.periodic === true) {
    scheduleActions.push('scheduler:GetSchedule', 'scheduler:UpdateSchedule');
  }
  grant = grant.combine(grantSchedules(targets, grantee, scheduleActions));
  if (options.periodic === true) {
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['scheduler:ListSchedules'],
        resourceArns: ['*'],
      }),
    );
    acknowledgeListSchedules(grantee);
  }
  return grant;
}

/**
 * See `Machinery.grantOperator`.
 *
 * @example
 * ```ts
 * grantOperator(machinery, opsRole);
 * ```
 */
export function grantOperator(targets: MachineryGrantTargets, grantee: iam.IGrantable): iam.Grant {
  const { queues } = targets;
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
    resourceArns: [queues.tasksDlq, queues.highTasksDlq, queues.delayDlq, queues.schedulerDlq].map(
      (q) => q.queueArn,
    ),
  });
  grant = grant.combine(sendTo(grantee, [queues.tasks, queues.highTasks, queues.delay]));
  grant = grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['sqs:GetQueueAttributes'],
      resourceArns: Object.values(queues).map((q) => q.queueArn),
    }),
  );
  grant = grant.combine(grantTable(grantee, targets.taskStatesTable, ['GetItem']));
  grant = grant.combine(grantTable(grantee, targets.groupMetasTable, ['GetItem']));
  // `machinery workers`: the live workers' alive records.
  grant = grant.combine(grantTable(grantee, targets.workersTable, ['Scan']));
  // `machinery periodic list [--all]` and `periodic rm`: read and delete the group's schedules.
  grant = grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['scheduler:GetSchedule', 'scheduler:DeleteSchedule'],
      resourceArns: [targets.scheduleArnPattern],
    }),
  );
  acknowledgeScheduleWildcard(grantee, targets, targets.scheduleArnPattern);
  // `scheduler:ListSchedules` and CloudWatch's metric reads (`machinery queues`) have no
  // resource-level permissions.
  grant = grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'scheduler:ListSchedules',
        'cloudwatch:GetMetricData',
        'cloudwatch:GetMetricStatistics',
      ],
      resourceArns: ['*'],
    }),
  );
  acknowledgeOperatorReadsOnAny(grantee);
  // `--stack NAME` / `fromStack`: the stack's outputs.
  return grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['cloudformation:DescribeStacks'],
      resourceArns: [Stack.of(targets).stackId],
    }),
  );
}

/** `sqs:SendMessage` to `queues`. */
function sendTo(grantee: iam.IGrantable, queues: sqs.IQueue[]): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['sqs:SendMessage'],
    resourceArns: queues.map((q) => q.queueArn),
  });
}

/** DynamoDB actions that only read (a customer managed key needs only `kms:Decrypt` for them). */
const READ_ACTIONS: ReadonlySet<string> = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

/** `dynamodb:<actions>` on the table itself (no index wildcard) and its key, if customer managed. */
function grantTable(grantee: iam.IGrantable, table: dynamodb.ITable, actions: string[]): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: actions.map((a) => `dynamodb:${a}`),
    resourceArns: [table.tableArn],
  });
  if (table.encryptionKey === undefined) return grant;
  if (actions.every((a) => READ_ACTIONS.has(a))) {
    return grant.combine(table.encryptionKey.grantDecrypt(grantee));
  }
  acknowledgeKeyActionWildcards(grantee);
  return grant.combine(table.encryptionKey.grantEncryptDecrypt(grantee));
}

/** `actions` on the group's schedules + passing the Scheduler role to Scheduler. */
function grantSchedules(
  targets: MachineryGrantTargets,
  grantee: iam.IGrantable,
  actions: string[],
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [targets.scheduleArnPattern],
  });
  acknowledgeScheduleWildcard(grantee, targets, targets.scheduleArnPattern);
  return grant.combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['iam:PassRole'],
      resourceArns: [targets.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }),
  );
}
