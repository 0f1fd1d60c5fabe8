/**
 * The CloudWatch alarms of a machinery deployment: a message in any dead-letter queue (the
 * high-priority queue's included), an old message in the task queue or the high-priority queue,
 * and the worker's error metrics (`METRICS` of
 * `src/core/resources.ts`: deployment errors and systemic errors, emitted in embedded metric
 * format). Every alarm sends its alarm and OK notifications to the optional SNS topic. The queues
 * come from `queues.ts`; emitting the metrics is the worker's job.
 *
 * @module
 */
import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  type aws_sns as sns,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { METRICS } from '../src/core/resources.js';
import type { MachineryQueues } from './queues.js';

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
  /** High-priority task DLQ depth > 0. */
  readonly highTasksDlqDepth: cloudwatch.Alarm;
  /** Delay DLQ depth > 0. */
  readonly delayDlqDepth: cloudwatch.Alarm;
  /** Scheduler DLQ depth > 0. */
  readonly schedulerDlqDepth: cloudwatch.Alarm;
  /** Age of the task queue's oldest message above the threshold. */
  readonly taskQueueOldestMessage: cloudwatch.Alarm;
  /** Age of the high-priority task queue's oldest message above the threshold. */
  readonly highTaskQueueOldestMessage: cloudwatch.Alarm;
  /** The worker counted a deployment error (`METRICS.deploymentErrors` ≥ 1 in 5 minutes). */
  readonly deploymentErrors: cloudwatch.Alarm;
  /** The worker counted a systemic fault (`METRICS.systemicErrors` ≥ 1 in 5 minutes). */
  readonly systemicErrors: cloudwatch.Alarm;
  /** The worker's failure rate ({@link failureRate}) above the threshold in 5 minutes. */
  readonly taskFailureRate: cloudwatch.Alarm;
}

/**
 * What {@link buildAlarms} watches.
 *
 * @example
 * ```ts
 * const input: AlarmInput = { queues, oldestMessageAgeSeconds: 3_600 };
 * ```
 */
export interface AlarmInput {
  /** The deployment's queues. */
  readonly queues: Pick<
    MachineryQueues,
    'tasks' | 'tasksDlq' | 'highTasks' | 'highTasksDlq' | 'delayDlq' | 'schedulerDlq'
  >;
  /** Threshold of the task queues' oldest-message alarms, seconds. */
  readonly oldestMessageAgeSeconds: number;
  /** Alarm and OK action of every alarm. @default no action */
  readonly alarmTopic?: sns.ITopic | undefined;
  /** Threshold of the failure-rate alarm, percent of finished tasks. @default 10 */
  readonly failureRatePercent?: number;
}

/** Evaluation period of every alarm. */
const PERIOD = Duration.minutes(5);

/**
 * The worker's metric `metricName` (namespace `METRICS.namespace`, dimension `service` =
 * `METRICS.service`), summed over 5 minutes.
 *
 * @example
 * ```ts
 * workerMetric(METRICS.deploymentErrors).metricName; // 'DeploymentErrors'
 * ```
 */
export function workerMetric(metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { service: METRICS.service },
    period: PERIOD,
    statistic: cloudwatch.Stats.SUM,
  });
}

/**
 * The worker's failure rate over 5 minutes, percent: `TasksFailed / (TasksSucceeded +
 * TasksFailed) × 100` (0 when no task finished).
 *
 * @example
 * ```ts
 * new cloudwatch.GraphWidget({ left: [failureRate()] });
 * ```
 */
export function failureRate(): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(succeeded + failed > 0, 100 * failed / (succeeded + failed), 0)',
    usingMetrics: {
      succeeded: workerMetric(METRICS.tasksSucceeded),
      failed: workerMetric(METRICS.tasksFailed),
    },
    label: 'failure rate (%)',
    period: Duration.minutes(5),
  });
}

/**
 * Creates the alarms in `scope`, wired to `input.alarmTopic` when given.
 *
 * @example
 * ```ts
 * const alarms = buildAlarms(this, { queues, oldestMessageAgeSeconds: 3_600, alarmTopic: topic });
 * ```
 */
export function buildAlarms(scope: Construct, input: AlarmInput): MachineryAlarms {
  const { queues } = input;
  const alarm = (
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    comparisonOperator: cloudwatch.ComparisonOperator,
    alarmDescription: string,
  ) =>
    new cloudwatch.Alarm(scope, id, {
      alarmDescription,
      metric,
      threshold,
      comparisonOperator,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  const maxOverPeriod = { period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM };
  // The `--queue` of `machinery dlq` for each DLQ it reads.
  const dlqNames = new Map<sqs.IQueue, string>([
    [queues.tasksDlq, 'task'],
    [queues.highTasksDlq, 'high'],
    [queues.delayDlq, 'delay'],
    [queues.schedulerDlq, 'scheduler'],
  ]);
  const dlqAlarm = (id: string, queue: sqs.Queue, what: string) => {
    const name = dlqNames.get(queue);
    const option = name === undefined ? '' : ` --queue ${name}`;
    return alarm(
      id,
      queue.metricApproximateNumberOfMessagesVisible(maxOverPeriod),
      0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      `${what} holds messages: tasks that could not be delivered or run. List them and why with \`machinery dlq list${option}\` (\`machinery dlq show <uuid>\` for one), fix the cause, then \`machinery dlq redrive${option}\`; \`machinery queues\` shows the depth of every queue.`,
    );
  };
  const anyDatapoint = (id: string, metricName: string, description: string) =>
    alarm(
      id,
      workerMetric(metricName),
      1,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description,
    );
  const age = input.oldestMessageAgeSeconds;
  const oldestAlarm = (id: string, queue: sqs.Queue, what: string) =>
    alarm(
      id,
      queue.metricApproximateAgeOfOldestMessage(maxOverPeriod),
      age,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      `The oldest message of ${what} is more than ${age} s old: the worker is failing, throttled or cannot keep up (\`machinery queues\` shows every queue's visible, in-flight and delayed messages and oldest age).`,
    );
  const alarms: MachineryAlarms = {
    tasksDlqDepth: dlqAlarm('TaskDlqDepthAlarm', queues.tasksDlq, 'The task dead-letter queue'),
    highTasksDlqDepth: dlqAlarm(
      'HighTaskDlqDepthAlarm',
      queues.highTasksDlq,
      'The high-priority task dead-letter queue',
    ),
    delayDlqDepth: dlqAlarm('DelayDlqDepthAlarm', queues.delayDlq, 'The delay dead-letter queue'),
    schedulerDlqDepth: dlqAlarm(
      'SchedulerDlqDepthAlarm',
      queues.schedulerDlq,
      'The EventBridge Scheduler dead-letter queue',
    ),
    taskQueueOldestMessage: oldestAlarm(
      'TaskQueueOldestMessageAlarm',
      queues.tasks,
      'the task queue',
    ),
    highTaskQueueOldestMessage: oldestAlarm(
      'HighTaskQueueOldestMessageAlarm',
      queues.highTasks,
      'the high-priority task queue',
    ),
    deploymentErrors: anyDatapoint(
      'WorkerDeploymentErrorsAlarm',
      METRICS.deploymentErrors,
      'The worker could not reach or was refused by AWS for a reason of the deployment, not of a task: tasks are retried and wait until it is fixed. Check the worker role (IAM permissions, KMS key policies), that the tables and queues named in its MACHINERY_* environment exist, and the endpoints and network it uses; `machinery queues` shows the tasks waiting meanwhile.',
    ),
    systemicErrors: anyDatapoint(
      'WorkerSystemicErrorsAlarm',
      METRICS.systemicErrors,
      'The worker saw the same unclassified error on several different messages within 5 minutes: a fault of the worker or of something it depends on, not of one message (those messages are not dead-lettered). Check the logs of the worker function for the error code; `machinery queues` shows the tasks waiting.',
    ),
    taskFailureRate: alarm(
      'TaskFailureRateAlarm',
      failureRate(),
      input.failureRatePercent ?? 10,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      `More than ${input.failureRatePercent ?? 10} % of the tasks that finished in 5 minutes failed (TasksFailed / (TasksSucceeded + TasksFailed)). The TaskName dimension of the TasksFailed metric (and the dashboard) shows which tasks; their errors are in the task states (\`machinery status <uuid>\`) and the worker's logs; \`machinery queues\` shows the tasks waiting.`,
    ),
  };
  if (input.alarmTopic !== undefined) {
    const action = new cloudwatchActions.SnsAction(input.alarmTopic);
    for (const each of Object.values(alarms)) {
      each.addAlarmAction(action);
      each.addOkAction(action);
    }
  }
  return alarms;
}
