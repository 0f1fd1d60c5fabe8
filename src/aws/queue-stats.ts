/**
 * Queue depths and ages on AWS: SQS's approximate counts (`GetQueueAttributes`) and the age of a
 * queue's oldest message from CloudWatch (`ApproximateAgeOfOldestMessage` of namespace `AWS/SQS`,
 * `GetMetricData`). SQS publishes that metric for AWS queues only: a queue URL that is not an AWS
 * one (an emulator's, `queueArnOfUrl` reads no ARN from it) has no age, and CloudWatch is not
 * asked.
 *
 * IAM: `sqs:GetQueueAttributes` on the queues, `cloudwatch:GetMetricData` (no resource-level
 * permissions).
 *
 * @module
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { translateAwsError } from './errors.js';
import { queueArnOfUrl } from './scheduler.js';

/**
 * SQS's approximate counts of one queue.
 *
 * @example
 * ```ts
 * const c: QueueCounts = { visible: 3, inFlight: 1, delayed: 0 };
 * ```
 */
export interface QueueCounts {
  /** `ApproximateNumberOfMessages`: ready to be received. */
  visible: number;
  /** `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted. */
  inFlight: number;
  /** `ApproximateNumberOfMessagesDelayed`: waiting out a delay. */
  delayed: number;
}

/**
 * The approximate counts of a queue (one `GetQueueAttributes`). AWS errors are translated.
 *
 * @example
 * ```ts
 * const { visible } = await queueCounts(sqs, process.env.MACHINERY_DLQ_URL!);
 * ```
 */
export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const count = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0);
    return {
      visible: count('ApproximateNumberOfMessages'),
      inFlight: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  } catch (e) {
    throw translateAwsError(e, { service: 'SQS', resource: queueUrl });
  }
}

/** How far back the age query looks: SQS publishes its metrics every minute, sometimes late. */
const AGE_WINDOW_MS = 15 * 60_000;

/**
 * The queue name CloudWatch knows a queue by (its `QueueName` dimension), or `undefined` when the
 * URL is not an AWS SQS queue URL (no metric exists for it).
 *
 * @example
 * ```ts
 * metricQueueName('https://sqs.eu-west-1.amazonaws.com/123456789012/tasks.fifo'); // 'tasks.fifo'
 * metricQueueName('http://127.0.0.1:4566/000000000000/tasks.fifo');               // undefined
 * ```
 */
export function metricQueueName(queueUrl: string): string | undefined {
  const arn = queueArnOfUrl(queueUrl);
  return arn === undefined ? undefined : arn.slice(arn.lastIndexOf(':') + 1);
}

/**
 * The age of each queue's oldest message, seconds: the latest `Maximum` of
 * `ApproximateAgeOfOldestMessage` in the last 15 minutes, in one `GetMetricData` for all queues.
 * `null` for a queue with no datapoint in that window, or whose URL is not an AWS one (no call is
 * made for those; none at all when no URL is an AWS one).
 *
 * @example
 * ```ts
 * const [age] = await oldestMessageAges(cloudwatch, [taskQueueUrl], Date.now());
 * ```
 */
export async function oldestMessageAges(
  cloudwatch: CloudWatchClient | undefined,
  queueUrls: readonly string[],
  now: number,
): Promise<(number | null)[]> {
  const names = queueUrls.map(metricQueueName);
  const queries: MetricDataQuery[] = [];
  names.forEach((name, i) => {
    if (name === undefined) return;
    queries.push({
      Id: `q${i}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateAgeOfOldestMessage',
          Dimensions: [{ Name: 'QueueName', Value: name }],
        },
        Period: 60,
        Stat: 'Maximum',
      },
      ReturnData: true,
    });
  });
  const ages: (number | null)[] = names.map(() => null);
  if (queries.length === 0 || cloudwatch === undefined) return ages;
  let next: string | undefined;
  try {
    do {
      const out: GetMetricDataCommandOutput = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(now - AGE_WINDOW_MS),
          EndTime: new Date(now),
          ScanBy: 'TimestampDescending',
          ...(next === undefined ? {} : { NextToken: next }),
        }),
      );
      for (const result of out.MetricDataResults ?? []) {
        const i = Number(result.Id?.slice(1));
        const latest = result.Values?.[0];
        if (latest !== undefined && ages[i] === null) ages[i] = latest;
      }
      next = out.NextToken;
    } while (next !== undefined && next !== '');
  } catch (e) {
    throw translateAwsError(e, { service: 'CloudWatch', resource: 'AWS/SQS' });
  }
  return ages;
}
