/**
 * The default app of `cdk.json` (`createMachineryApp()`), synthesized ONCE with real esbuild
 * bundling (no Docker, no network, no credentials), its template asserted resource by resource,
 * and its cdk-nag report.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINERY_ENV_KEYS, outputKey } from '../../cdk/construct.js';
import { createMachineryApp, type MachineryStack } from '../../cdk/stack.js';
import { DEFAULTS, ENV, METRICS, QUEUES, TABLES } from '../../src/core/resources.js';

type Resource = { Type: string; Properties: Record<string, unknown> } & Record<string, unknown>;

let outdir: string;
let app: App;
let stack: MachineryStack;
let template: Template;
let json: { Resources: Record<string, Resource>; Outputs: Record<string, Record<string, unknown>> };

/** Logical id of a construct of the stack. */
const idOf = (construct: { node: { defaultChild?: unknown } } | object): string => {
  const child = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(child as Parameters<MachineryStack['getLogicalId']>[0]);
};
const arnOf = (construct: object) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const refOf = (construct: object) => ({ Ref: idOf(construct) });

/** Statements of the default policy of a role (by the role's logical id). */
function statementsOf(roleLogicalId: string): Record<string, unknown>[] {
  const policies = Object.values(json.Resources).filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleLogicalId }]),
  );
  expect(policies).toHaveLength(1);
  const doc = policies[0]?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
  return doc.Statement;
}
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'machinery-cdk-'));
  ({ app, stack } = createMachineryApp({ app: { outdir } }));
  // Synthesizes the whole app: bundling, then the cdk-nag plugin (an unacknowledged finding
  // would throw here).
  template = Template.fromStack(stack);
  json = template.toJSON() as typeof json;
}, 180_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('Class: MachineryStack', () => {
  it('creates exactly the resources of the design', () => {
    // Assess
    template.resourceCountIs('AWS::SQS::Queue', 7);
    template.resourceCountIs('AWS::SQS::QueuePolicy', 7);
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.resourceCountIs('AWS::IAM::Role', 3);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    expect(Object.keys(json.Outputs)).toHaveLength(MACHINERY_ENV_KEYS.length);
  });

  it('makes the task queue FIFO in high-throughput mode with the redrive backstop of resources.ts', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: QUEUES.tasks.visibilityTimeoutSeconds,
      MessageRetentionPeriod: QUEUES.tasks.retentionSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(m.taskDlq),
        maxReceiveCount: QUEUES.tasks.redrive?.maxReceiveCount,
      },
    });
    expect(QUEUES.tasks.redrive?.maxReceiveCount).toBeGreaterThan(
      DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes,
    );
    const dlq = json.Resources[idOf(m.taskDlq)];
    expect(dlq?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      MessageRetentionPeriod: QUEUES.tasksDlq.retentionSeconds,
    });
    expect(dlq?.Properties.RedrivePolicy).toBeUndefined();
  });

  it('makes the high-priority task queue FIFO like the task queue, with its own FIFO DLQ', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    expect(json.Resources[idOf(m.highTaskQueue)]?.Properties).toEqual(
      expect.objectContaining({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        VisibilityTimeout: QUEUES.tasks.visibilityTimeoutSeconds,
        MessageRetentionPeriod: QUEUES.tasks.retentionSeconds,
        RedrivePolicy: {
          deadLetterTargetArn: arnOf(m.highTaskDlq),
          maxReceiveCount: QUEUES.tasks.redrive?.maxReceiveCount,
        },
      }),
    );
    expect(json.Resources[idOf(m.highTaskDlq)]?.Properties).toEqual(
      expect.objectContaining({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        MessageRetentionPeriod: QUEUES.tasksDlq.retentionSeconds,
      }),
    );
    expect(json.Resources[idOf(m.highTaskDlq)]?.Properties.RedrivePolicy).toBeUndefined();
    expect(QUEUES.highTasks.visibilityTimeoutSeconds).toBe(QUEUES.tasks.visibilityTimeoutSeconds);
  });

  it('makes the delay queue standard with its DLQ, and the Scheduler DLQ standard', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    for (const queue of [m.delayQueue, m.delayDlq, m.schedulerDlq]) {
      expect(json.Resources[idOf(queue)]?.Properties.FifoQueue).toBeUndefined();
    }
    expect(json.Resources[idOf(m.delayQueue)]?.Properties).toMatchObject({
      VisibilityTimeout: QUEUES.delay.visibilityTimeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(m.delayDlq),
        maxReceiveCount: QUEUES.delay.redrive?.maxReceiveCount,
      },
    });
    expect(json.Resources[idOf(m.schedulerDlq)]?.Properties).toMatchObject({
      VisibilityTimeout: QUEUES.schedulerDlq.visibilityTimeoutSeconds,
      MessageRetentionPeriod: QUEUES.schedulerDlq.retentionSeconds,
    });
  });

  it('encrypts every queue (SSE-SQS) and denies every non-TLS request to it', () => {
    // Prepare
    const queues = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
    const policies = Object.values(json.Resources).filter(
      (r) => r.Type === 'AWS::SQS::QueuePolicy',
    );

    // Assess
    expect(queues).toHaveLength(7);
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: id }]),
      );
      expect(policy?.Properties.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          {
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: { 'Fn::GetAtt': [id, 'Arn'] },
          },
        ]),
      });
    }
  });

  it('keeps each consumed queue visible for at least 6 x its consumer timeout', () => {
    // Prepare
    const m = stack.machinery;
    const pairs = [
      [m.taskQueue, m.workerFunction],
      [m.highTaskQueue, m.workerFunction],
      [m.delayQueue, m.forwarderFunction],
    ] as const;

    // Assess
    for (const [queue, fn] of pairs) {
      const visibility = json.Resources[idOf(queue)]?.Properties.VisibilityTimeout as number;
      const timeout = json.Resources[idOf(fn)]?.Properties.Timeout as number;
      expect(visibility).toBeGreaterThanOrEqual(DEFAULTS.visibilityTimeoutFactor * timeout);
    }
    expect(json.Resources[idOf(m.workerFunction)]?.Properties.Timeout).toBe(
      DEFAULTS.workerTimeoutSeconds,
    );
    expect(json.Resources[idOf(m.forwarderFunction)]?.Properties.Timeout).toBe(
      DEFAULTS.forwarderTimeoutSeconds,
    );
  });

  it('makes every table on-demand, keyed as resources.ts says, with TTL, PITR, encryption and retain', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    for (const [table, spec] of [
      [m.taskStatesTable, TABLES.taskStates],
      [m.groupMetasTable, TABLES.groupMetas],
      [m.workersTable, TABLES.workers],
    ] as const) {
      const resource = json.Resources[idOf(table)];
      expect(resource?.DeletionPolicy).toBe('Retain');
      expect(resource?.UpdateReplacePolicy).toBe('Retain');
      expect(resource?.Properties).toEqual(
        expect.objectContaining({
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: spec.partitionKey, AttributeType: 'S' }],
          TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        }),
      );
    }
  });

  it('runs both functions on nodejs24.x arm64 with exactly the MACHINERY_* environment', () => {
    // Prepare
    const m = stack.machinery;
    const expected: Record<string, unknown> = {
      [ENV.taskQueueUrl]: refOf(m.taskQueue),
      [ENV.dlqUrl]: refOf(m.taskDlq),
      [ENV.delayQueueUrl]: refOf(m.delayQueue),
      [ENV.delayDlqUrl]: refOf(m.delayDlq),
      [ENV.schedulerDlqUrl]: refOf(m.schedulerDlq),
      [ENV.taskStatesTable]: refOf(m.taskStatesTable),
      [ENV.groupMetasTable]: refOf(m.groupMetasTable),
      [ENV.scheduleGroup]: refOf(m.scheduleGroup),
      [ENV.schedulerRoleArn]: arnOf(m.schedulerRole),
      [ENV.highTaskQueueUrl]: refOf(m.highTaskQueue),
      [ENV.highDlqUrl]: refOf(m.highTaskDlq),
      [ENV.workersTable]: refOf(m.workersTable),
    };

    // Assess
    expect(Object.keys(expected).sort()).toEqual(MACHINERY_ENV_KEYS.map((k) => ENV[k]).sort());
    for (const fn of [m.workerFunction, m.forwarderFunction]) {
      const props = json.Resources[idOf(fn)]?.Properties ?? {};
      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
      expect(props.RecursiveLoop).toBe('Allow');
      const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).toEqual({ ...expected, NODE_OPTIONS: '--enable-source-maps' });
    }
  });

  it('wires each function to its queue with batches of 10 and ReportBatchItemFailures', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    for (const [queue, fn] of [
      [m.taskQueue, m.workerFunction],
      [m.highTaskQueue, m.workerFunction],
      [m.delayQueue, m.forwarderFunction],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arnOf(queue),
        FunctionName: refOf(fn),
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('lets EventBridge Scheduler of this account and group assume its role, only to send to the delay queue and its DLQ', () => {
    // Prepare
    const m = stack.machinery;
    const role = json.Resources[idOf(m.schedulerRole)];

    // Assess
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnEquals: { 'aws:SourceArn': arnOf(m.scheduleGroup) },
          },
        },
      ],
    });
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(statementsOf(idOf(m.schedulerRole))).toEqual([
      {
        Sid: 'DeliverToDelayQueueAndDlq',
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: [arnOf(m.delayQueue), arnOf(m.schedulerDlq)],
      },
    ]);
  });

  it('grants the worker and the forwarder only what they call', () => {
    // Prepare
    const m = stack.machinery;
    const scheduleArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':scheduler:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':schedule/',
          refOf(m.scheduleGroup),
          '/*',
        ],
      ],
    };
    const consume = [
      'sqs:ReceiveMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueUrl',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
    ];
    const passRole = {
      Action: 'iam:PassRole',
      Effect: 'Allow',
      Resource: arnOf(m.schedulerRole),
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    };
    const logs = (group: object) => ({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Effect: 'Allow',
      Resource: arnOf(group),
    });
    const rw = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

    // Assess
    expect(statementsOf(idOf(m.workerRole))).toEqual([
      logs(m.workerLogGroup),
      { Action: consume, Effect: 'Allow', Resource: arnOf(m.taskQueue) },
      { Action: consume, Effect: 'Allow', Resource: arnOf(m.highTaskQueue) },
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: [
          arnOf(m.taskDlq),
          arnOf(m.taskQueue),
          arnOf(m.highTaskQueue),
          arnOf(m.highTaskDlq),
          arnOf(m.delayQueue),
        ],
      },
      {
        Action: [...rw, 'dynamodb:BatchGetItem'],
        Effect: 'Allow',
        Resource: arnOf(m.taskStatesTable),
      },
      {
        Action: [...rw, 'dynamodb:BatchGetItem'],
        Effect: 'Allow',
        Resource: arnOf(m.groupMetasTable),
      },
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: arnOf(m.workersTable) },
      { Action: 'scheduler:CreateSchedule', Effect: 'Allow', Resource: scheduleArn },
      passRole,
    ]);
    expect(statementsOf(idOf(m.forwarderRole))).toEqual([
      logs(m.forwarderLogGroup),
      { Action: consume, Effect: 'Allow', Resource: arnOf(m.delayQueue) },
      {
        Action: 'sqs:SendMessage',
        Effect: 'Allow',
        Resource: [
          arnOf(m.taskQueue),
          arnOf(m.highTaskQueue),
          arnOf(m.delayQueue),
          arnOf(m.delayDlq),
        ],
      },
      { Action: rw, Effect: 'Allow', Resource: arnOf(m.taskStatesTable) },
      { Action: 'scheduler:CreateSchedule', Effect: 'Allow', Resource: scheduleArn },
      passRole,
    ]);
    for (const role of [m.workerRole, m.forwarderRole]) {
      expect(json.Resources[idOf(role)]?.Properties.ManagedPolicyArns).toBeUndefined();
      for (const statement of statementsOf(idOf(role))) {
        for (const action of asList(statement.Action)) expect(action).not.toContain('*');
        for (const resource of asList(statement.Resource)) expect(resource).not.toBe('*');
      }
    }
  });

  it('alarms on every DLQ holding a message and on old messages in both task queues, without actions by default', () => {
    // Prepare
    const m = stack.machinery;

    // Assess
    for (const dlq of [m.taskDlq, m.highTaskDlq, m.delayDlq, m.schedulerDlq]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(dlq), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      });
    }
    for (const queue of [m.taskQueue, m.highTaskQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(queue), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 3600,
      });
    }
    for (const alarm of Object.values(json.Resources).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm',
    )) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it("alarms on any datapoint of each of the worker's error metrics, without actions by default", () => {
    // Prepare
    const m = stack.machinery;
    const alarms = [
      [m.alarms.deploymentErrors, METRICS.deploymentErrors, /IAM.*(tables and queues).*endpoint/s],
      [m.alarms.systemicErrors, METRICS.systemicErrors, /logs of the worker/],
    ] as const;

    // Assess
    for (const [alarm, metricName, description] of alarms) {
      const resource = json.Resources[idOf(alarm)];
      expect(resource?.Type).toBe('AWS::CloudWatch::Alarm');
      expect(resource?.Properties).toEqual({
        AlarmDescription: expect.stringMatching(description),
        Namespace: METRICS.namespace,
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: METRICS.service }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('outputs every MACHINERY_* variable under its PascalCase key, described by its name', () => {
    // Assess
    for (const key of MACHINERY_ENV_KEYS) {
      const name = ENV[key];
      expect(json.Outputs[outputKey(name)]).toEqual({
        Description: name,
        Value: stack.resolve(stack.machinery.environment[name]),
      });
    }
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('bundles handlers that load on Node and export the handler', async () => {
    // Prepare
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));

    // Act
    const modules = await Promise.all(
      assets.map((d) => import(pathToFileURL(join(outdir, d, 'index.mjs')).href)),
    );

    // Assess
    expect(assets).toHaveLength(2);
    for (const mod of modules)
      expect(typeof (mod as { handler?: unknown }).handler).toBe('function');
  });
});
