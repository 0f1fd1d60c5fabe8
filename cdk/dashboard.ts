/**
 * The CloudWatch dashboard of a deployment: the worker's task totals (succeeded, failed, retried,
 * dead-lettered), its failure rate, and the depth and oldest-message age of the task queues and
 * their DLQs. Metrics are the worker's (`METRICS` of `src/core/resources.ts`, namespace
 * `Machinery`, dimension `service`) and the queues' own.
 *
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRICS } from '../src/core/resources.js';
import { failureRate, workerMetric } from './alarms.js';
import type { MachineryQueues } from './queues.js';

/**
 * Creates the dashboard in `scope`.
 *
 * @example
 * ```ts
 * const dashboard = buildDashboard(this, { queues: this.queues });
 * ```
 */
export function buildDashboard(
  scope: Construct,
  input: { queues: Pick<MachineryQueues, 'tasks' | 'tasksDlq' | 'highTasks' | 'highTasksDlq'> },
): cloudwatch.Dashboard {
  const { queues } = input;
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
  });
  const max = { period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM };
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Tasks (per 5 minutes)',
      width: 12,
      left: [
        METRICS.tasksSucceeded,
        METRICS.tasksFailed,
        METRICS.tasksRetried,
        METRICS.tasksDeadLettered,
      ].map((name) => workerMetric(name)),
    }),
    new cloudwatch.GraphWidget({ title: 'Failure rate', width: 12, left: [failureRate()] }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Queue depth',
      width: 12,
      left: [queues.tasks, queues.highTasks, queues.tasksDlq, queues.highTasksDlq].map((q) =>
        q.metricApproximateNumberOfMessagesVisible(max),
      ),
    }),
    new cloudwatch.GraphWidget({
      title: 'Oldest message age (s)',
      width: 12,
      left: [queues.tasks, queues.highTasks].map((q) => q.metricApproximateAgeOfOldestMessage(max)),
    }),
  );
  return dashboard;
}
