/**
 * The queues of a machinery deployment, built from the queue definitions of
 * `src/core/resources.ts`: the FIFO task queue (high-throughput mode) and its FIFO DLQ, the
 * standard delay queue and its DLQ, and the standard Scheduler DLQ, every one encrypted (SSE-SQS)
 * and TLS-only. Who may send to or consume them is decided by `grants.ts` and the event sources
 * of `functions.ts`; their alarms are `alarms.ts`'s.
 *
 * @module
 */
import { Duration, aws_sqs as sqs } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { QUEUES, type QueueId, type QueueSpec, type ResourceNames } from '../src/core/resources.js';
import { acknowledgeSchedulerDlq } from './nag.js';

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
 * Creates every queue of `resources.ts` in `scope` (dead-letter queues first, so each redrive
 * policy can name its target), named by `names` or, without them, by CloudFormation.
 *
 * @example
 * ```ts
 * const queues = buildQueues(this, resourceNames('dev-'));
 * ```
 */
export function buildQueues(scope: Construct, names: ResourceNames | undefined): MachineryQueues {
  const queues: Partial<Record<QueueId, sqs.Queue>> = {};
  const order = (Object.keys(QUEUES) as QueueId[]).sort(
    (a, b) => Number(QUEUES[a].redrive !== undefined) - Number(QUEUES[b].redrive !== undefined),
  );
  for (const id of order) queues[id] = buildQueue(scope, QUEUES[id], names, queues);
  const built = queues as MachineryQueues;
  acknowledgeSchedulerDlq(built.schedulerDlq);
  return built;
}

function buildQueue(
  scope: Construct,
  spec: QueueSpec,
  names: ResourceNames | undefined,
  created: Partial<Record<QueueId, sqs.Queue>>,
): sqs.Queue {
  const dlq = spec.redrive ? created[spec.redrive.deadLetterQueue] : undefined;
  if (spec.redrive && dlq === undefined) {
    throw new Error(
      `internal: dead-letter queue ${spec.redrive.deadLetterQueue} of ${spec.id} not created yet`,
    );
  }
  const logicalId = spec.id.charAt(0).toUpperCase() + spec.id.slice(1);
  return new sqs.Queue(scope, `${logicalId}Queue`, {
    ...(names ? { queueName: names.queues[spec.id] } : {}),
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
