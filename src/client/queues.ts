/**
 * Queue depths of a deployment (`machinery queues`): for the task queue (and the high-priority
 * one when configured), the delay queue and each dead-letter queue, SQS's approximate visible, in-flight and delayed counts, and the age of the
 * oldest message from CloudWatch.
 *
 * The age is `null` where CloudWatch has none: on the local stack (and any queue whose URL is not
 * an AWS SQS URL, where CloudWatch is not asked), without a CloudWatch client, or when SQS
 * published no datapoint in the last 15 minutes (an idle or new queue). Counts are approximate,
 * as SQS says: a message can be missing from them for about a minute.
 *
 * IAM: `sqs:GetQueueAttributes` on each queue, `cloudwatch:GetMetricData` (`grantOperator`).
 *
 * @module
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { oldestMessageAges, queueCounts } from '../aws/queue-stats.js';
import type { MachineryConfig } from '../aws/settings.js';
import { type Clock, systemClock } from '../core/clock.js';

/**
 * A queue of the deployment: `task` (the FIFO task queue), `high` (the high-priority task queue,
 * when configured), `delay`, and the dead-letter queues of each (`task-dlq`, `high-dlq`,
 * `delay-dlq`) and of EventBridge Scheduler (`scheduler-dlq`).
 *
 * @example
 * ```ts
 * const q: QueueName = 'task-dlq';
 * ```
 */
export type QueueName =
  | 'task'
  | 'high'
  | 'delay'
  | 'task-dlq'
  | 'high-dlq'
  | 'delay-dlq'
  | 'scheduler-dlq';

/** Each queue's setting, in the order {@link queueStats} reports them. */
const QUEUE_SETTINGS: readonly (readonly [QueueName, keyof MachineryConfig])[] = [
  ['task', 'taskQueueUrl'],
  ['high', 'highTaskQueueUrl'],
  ['delay', 'delayQueueUrl'],
  ['task-dlq', 'dlqUrl'],
  ['high-dlq', 'highDlqUrl'],
  ['delay-dlq', 'delayDlqUrl'],
  ['scheduler-dlq', 'schedulerDlqUrl'],
];

/**
 * The queues the settings name, in the order {@link queueStats} reports them (task, high, delay,
 * then the DLQs); a queue whose URL is not configured is left out.
 *
 * @example
 * ```ts
 * queuesOf(client.config).map((q) => q.queue); // ['task', 'delay', 'task-dlq', 'delay-dlq', 'scheduler-dlq'] without a high-priority queue
 * ```
 */
export function queuesOf(settings: Partial<MachineryConfig>): { queue: QueueName; url: string }[] {
  return QUEUE_SETTINGS.flatMap(([queue, key]) => {
    const url = settings[key];
    return url === undefined ? [] : [{ queue, url }];
  });
}

/**
 * One queue's counts and age.
 *
 * @example
 * ```ts
 * const s: QueueStats = { queue: 'task', url, visible: 2, inFlight: 1, delayed: 0, oldestMessageAgeSeconds: null };
 * ```
 */
export interface QueueStats {
  queue: QueueName;
  url: string;
  /** Messages ready to be received. */
  visible: number;
  /** Messages received and not yet deleted (running, retrying, or held by a listing). */
  inFlight: number;
  /** Messages waiting out a delay (the delay queue's ETAs up to 15 minutes). */
  delayed: number;
  /** Age of the oldest message, seconds, from CloudWatch; `null` where there is none (see the module documentation). */
  oldestMessageAgeSeconds: number | null;
}

/**
 * What {@link queueStats} reads with.
 *
 * @example
 * ```ts
 * const deps: QueueStatsDeps = { sqs, cloudwatch: new CloudWatchClient({}) };
 * ```
 */
export interface QueueStatsDeps {
  sqs: SQSClient;
  /** Reads the ages; without it every age is `null`. */
  cloudwatch?: CloudWatchClient;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * The counts and age of every queue the settings name (task, delay, then the DLQs; a queue whose
 * URL is not configured is left out): one `GetQueueAttributes` per queue and at most one
 * `GetMetricData` for all of them.
 *
 * @example
 * ```ts
 * const client = createClient({ source: fromLocalEnv() });
 * for (const q of await queueStats(client.config, { sqs })) console.log(q.queue, q.visible);
 * ```
 */
export async function queueStats(
  settings: Partial<MachineryConfig>,
  deps: QueueStatsDeps,
): Promise<QueueStats[]> {
  const queues = queuesOf(settings);
  const [counts, ages] = await Promise.all([
    Promise.all(queues.map((q) => queueCounts(deps.sqs, q.url))),
    oldestMessageAges(
      deps.cloudwatch,
      queues.map((q) => q.url),
      (deps.clock ?? systemClock).now(),
    ),
  ]);
  return queues.map((q, i) => ({
    queue: q.queue,
    url: q.url,
    ...(counts[i] as (typeof counts)[number]),
    oldestMessageAgeSeconds: ages[i] ?? null,
  }));
}
