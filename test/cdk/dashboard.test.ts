/**
 * Template tests of the construct's dashboard and failure-rate alarm.
 *
 * @module
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machinery } from '../../cdk/construct.js';
import { METRICS } from '../../src/core/resources.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('Class: Machinery (dashboard and failure-rate alarm)', () => {
  let stack: Stack;
  let resources: Resource[];

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    stack = new Stack(app, 'Dash');
    new Machinery(stack, 'Machinery', {});
    const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
    resources = Object.values(json.Resources);
  });

  it('adds a dashboard graphing the task totals, the failure rate and the task queues', () => {
    // Prepare
    const dashboards = resources.filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');

    // Assess
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const name of [
      METRICS.tasksSucceeded,
      METRICS.tasksFailed,
      METRICS.tasksRetried,
      METRICS.tasksDeadLettered,
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'Failure rate',
    ]) {
      expect(body).toContain(name);
    }
  });

  it('alarms when more than 10 % of the finished tasks failed in 5 minutes', () => {
    // Prepare
    const alarm = resources.find(
      (r) =>
        r.Type === 'AWS::CloudWatch::Alarm' &&
        JSON.stringify(r.Properties.Metrics ?? '').includes(METRICS.tasksFailed),
    );

    // Assess
    expect(alarm?.Properties).toMatchObject({
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const metrics = alarm?.Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Namespace: string } };
    }[];
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      'IF(succeeded + failed > 0, 100 * failed / (succeeded + failed), 0)',
    );
    expect(
      metrics
        .filter((m) => m.MetricStat !== undefined)
        .map((m) => [m.Id, m.MetricStat?.Metric.MetricName, m.MetricStat?.Metric.Namespace])
        .sort(),
    ).toEqual([
      ['failed', METRICS.tasksFailed, METRICS.namespace],
      ['succeeded', METRICS.tasksSucceeded, METRICS.namespace],
    ]);
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations).toEqual([]);
  });
});
