/**
 * The EventBridge Scheduler part of a machinery deployment: the schedule group of one-time (ETA)
 * and periodic schedules, the role Scheduler assumes (trusted for this account and this group
 * only) allowed to send to the delay queue and the Scheduler DLQ, and the ARN pattern of the
 * group's schedules. Who may create or change schedules is `grants.ts`'s concern; the queues come
 * from `queues.ts`.
 *
 * @module
 */
import { ArnFormat, aws_iam as iam, Stack, aws_scheduler as scheduler } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResourceNames } from '../src/core/resources.js';
import type { MachineryQueues } from './queues.js';

/**
 * The Scheduler resources of a deployment.
 *
 * @example
 * ```ts
 * const { role, scheduleArnPattern } = buildScheduler(this, names, queues);
 * ```
 */
export interface MachineryScheduler {
  /** The schedule group of one-time and periodic schedules. */
  readonly group: scheduler.CfnScheduleGroup;
  /** Name of {@link MachineryScheduler.group}. */
  readonly groupName: string;
  /** The role EventBridge Scheduler assumes to deliver to the delay queue. */
  readonly role: iam.Role;
  /** ARN pattern of every schedule of the group (`…:schedule/<group>/*`). */
  readonly scheduleArnPattern: string;
}

/**
 * Creates the schedule group and the Scheduler role in `scope`.
 *
 * @example
 * ```ts
 * const schedules = buildScheduler(this, undefined, buildQueues(this, undefined));
 * ```
 */
export function buildScheduler(
  scope: Construct,
  names: ResourceNames | undefined,
  queues: Pick<MachineryQueues, 'delay' | 'schedulerDlq'>,
): MachineryScheduler {
  const stack = Stack.of(scope);
  const group = new scheduler.CfnScheduleGroup(scope, 'ScheduleGroup', {
    ...(names ? { name: names.scheduleGroup } : {}),
  });
  const role = new iam.Role(scope, 'SchedulerRole', {
    ...(names ? { roleName: names.schedulerRole } : {}),
    description:
      'Assumed by EventBridge Scheduler to deliver machinery schedules to the delay queue',
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': group.attrArn },
      },
    }),
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DeliverToDelayQueueAndDlq',
      actions: ['sqs:SendMessage'],
      resources: [queues.delay.queueArn, queues.schedulerDlq.queueArn],
    }),
  );
  const scheduleArnPattern = stack.formatArn({
    service: 'scheduler',
    resource: 'schedule',
    resourceName: `${group.ref}/*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  return { group, groupName: group.ref, role, scheduleArnPattern };
}
