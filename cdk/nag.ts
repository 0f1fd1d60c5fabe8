/**
 * The cdk-nag acknowledgements of a machinery deployment: each finding the design accepts, with
 * its reason, acknowledged on the one construct it concerns (never suppressed app-wide). The
 * checks themselves are registered by the app (`stack.ts`); the resources they concern are built
 * by the builders, which call these functions.
 *
 * @module
 */
import { type aws_iam as iam, Stack, type aws_sqs as sqs, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

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

/** Acknowledges a cdk-nag finding on the grantee's construct, when it is one of this app. */
function acknowledgeOn(grantee: iam.IGrantable, ack: { id: string; reason: string }): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) Validations.of(principal).acknowledge(ack);
  else if (Construct.isConstruct(grantee)) Validations.of(grantee).acknowledge(ack);
}

/**
 * Acknowledges `AwsSolutions-SQS3` (no dead-letter queue) on the Scheduler DLQ: it is itself the
 * dead-letter target of every schedule.
 *
 * @example
 * ```ts
 * acknowledgeSchedulerDlq(queues.schedulerDlq);
 * ```
 */
export function acknowledgeSchedulerDlq(queue: sqs.IQueue): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself a dead-letter queue: the dead-letter target of EventBridge Scheduler deliveries (DeadLetterConfig of every schedule), not the redrive target of another queue.',
  });
}

/**
 * Acknowledges the `AwsSolutions-IAM5` finding of the schedule wildcard (`<group>/*`) on the
 * grantee: schedules are created at run time, one per task or periodic task. `scope` is a
 * construct of the stack that defines the pattern (the finding names it as that stack resolves
 * it).
 *
 * @example
 * ```ts
 * acknowledgeScheduleWildcard(role, machinery, machinery.scheduleArnPattern);
 * ```
 */
export function acknowledgeScheduleWildcard(
  grantee: iam.IGrantable,
  scope: Construct,
  scheduleArnPattern: string,
): void {
  const resource = flattenReference(Stack.of(scope).resolve(scheduleArnPattern));
  acknowledgeOn(grantee, {
    id: `AwsSolutions-IAM5[Resource::${resource}]`,
    reason:
      "Schedules are created per task (once-<task uuid>) and per periodic task at run time: the wildcard is limited to the schedules of this deployment's schedule group.",
  });
}

/**
 * Acknowledges the `AwsSolutions-IAM5` finding of `scheduler:ListSchedules` on `*` on the grantee
 * (the action supports no resource-level permissions).
 *
 * @example
 * ```ts
 * acknowledgeListSchedules(operatorRole);
 * ```
 */
export function acknowledgeListSchedules(grantee: iam.IGrantable): void {
  acknowledgeOn(grantee, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'scheduler:ListSchedules supports no resource-level permissions; listing periodic tasks needs it (the only action granted on *).',
  });
}

/**
 * Acknowledges the `AwsSolutions-IAM5` finding of the operator's reads on `*` on the grantee:
 * `scheduler:ListSchedules` and CloudWatch's `GetMetricData` / `GetMetricStatistics` support no
 * resource-level permissions.
 *
 * @example
 * ```ts
 * acknowledgeOperatorReadsOnAny(operatorRole);
 * ```
 */
export function acknowledgeOperatorReadsOnAny(grantee: iam.IGrantable): void {
  acknowledgeOn(grantee, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'scheduler:ListSchedules (listing periodic tasks and far-ETA schedules) and cloudwatch:GetMetricData / GetMetricStatistics (the age of the oldest message of each queue) support no resource-level permissions; they read, and are the only actions granted on *.',
  });
}

/**
 * Acknowledges the `AwsSolutions-IAM5` findings of `kms:ReEncrypt*` and `kms:GenerateDataKey*`
 * on the grantee: the actions `IKey.grantEncryptDecrypt` gives for a table with a customer managed
 * key, on that one key.
 *
 * @example
 * ```ts
 * table.encryptionKey?.grantEncryptDecrypt(role);
 * acknowledgeKeyActionWildcards(role);
 * ```
 */
export function acknowledgeKeyActionWildcards(grantee: iam.IGrantable): void {
  for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
    acknowledgeOn(grantee, {
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action} is what DynamoDB needs to write a table encrypted with a customer managed key, granted on that key only.`,
    });
  }
}
