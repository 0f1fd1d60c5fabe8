/**
 * The `Machinery` construct's props: validation (every problem in one error), customisation
 * (prefix names, existing tables, alarm topic, grant helpers) and the dependency rule of cdk/.
 * Bundling is skipped here (`aws:cdk:bundling-stacks: []`); test/cdk/stack.test.ts bundles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  App,
  type CfnElement,
  Duration,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_kms as kms,
  RemovalPolicy,
  Stack,
  aws_sns as sns,
  type aws_sqs as sqs,
  Validations,
} from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkResourceSpecs,
  MACHINERY_ENV_KEYS,
  Machinery,
  MachineryPropsError,
  outputKey,
  RECEIVE_COUNT_MARGIN,
  validateMachineryProps,
} from '../../cdk/construct.js';
import { DEFAULTS, ENV, METRICS, QUEUES, resourceNames } from '../../src/core/resources.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
type TemplateJson = { Resources: Record<string, Resource> };

/** An app that skips bundling and runs cdk-nag like the real one. */
function newApp(): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Statements of the default policy of `role` in the template `json` of `stack`. */
function policyStatementsOf(
  stack: Stack,
  json: TemplateJson,
  role: iam.Role,
): Record<string, unknown>[] {
  const id = stack.getLogicalId(role.node.defaultChild as CfnElement);
  const policy = Object.values(json.Resources).find(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: id }]),
  );
  if (policy === undefined) throw new Error(`no policy for role ${id}`);
  return (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
}

/** Every action of the default policy of `role`. */
function policyActionsOf(stack: Stack, json: TemplateJson, role: iam.Role): string[] {
  return policyStatementsOf(stack, json, role).flatMap((s) =>
    Array.isArray(s.Action) ? (s.Action as string[]) : [s.Action as string],
  );
}

const specInput = {
  queues: QUEUES,
  defaults: DEFAULTS,
  workerTimeoutSeconds: DEFAULTS.workerTimeoutSeconds,
  forwarderTimeoutSeconds: DEFAULTS.forwarderTimeoutSeconds,
};

describe('Function: checkResourceSpecs', () => {
  it('finds no problem in resources.ts for the default timeouts', () => {
    // Act
    const problems = checkResourceSpecs(specInput);

    // Assess
    expect(problems).toEqual([]);
  });

  it('reports a redrive backstop too close to the retries, a wrong DLQ kind, a short visibility and a short DLQ retention together', () => {
    // Prepare
    const floor = DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes + RECEIVE_COUNT_MARGIN;
    const queues = {
      ...QUEUES,
      tasks: {
        ...QUEUES.tasks,
        visibilityTimeoutSeconds: 100,
        redrive: { deadLetterQueue: 'tasksDlq' as const, maxReceiveCount: floor },
      },
      tasksDlq: { ...QUEUES.tasksDlq, retentionSeconds: QUEUES.tasks.retentionSeconds },
      delay: {
        ...QUEUES.delay,
        redrive: { deadLetterQueue: 'tasksDlq' as const, maxReceiveCount: 10 },
      },
    };

    // Act
    const problems = checkResourceSpecs({ ...specInput, queues });

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(
        /^queue tasks: visibility timeout 100 s is less than 6 x the worker's timeout of 60 s/,
      ),
      expect.stringMatching(
        /^queue tasks: its dead-letter queue tasksDlq keeps messages .* not longer/,
      ),
      expect.stringMatching(new RegExp(`^queue tasks: maxReceiveCount ${floor} must exceed`)),
      expect.stringMatching(
        /^queue delay: its dead-letter queue tasksDlq must be standard like it/,
      ),
      expect.stringMatching(
        /^queue delay: its dead-letter queue tasksDlq keeps messages .* not longer/,
      ),
    ]);
  });

  it('holds the visibility of both task queues to 6 x a longer worker timeout', () => {
    // Act
    const problems = checkResourceSpecs({ ...specInput, workerTimeoutSeconds: 61 });

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(/^queue tasks: .*less than 6 x the worker/),
      expect.stringMatching(/^queue highTasks: .*less than 6 x the worker/),
    ]);
  });

  it('holds the high-priority queue to the redrive backstop of the task queue', () => {
    // Prepare
    const floor = DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes + RECEIVE_COUNT_MARGIN;
    const queues = {
      ...QUEUES,
      highTasks: {
        ...QUEUES.highTasks,
        redrive: { deadLetterQueue: 'highTasksDlq' as const, maxReceiveCount: floor },
      },
    };

    // Act
    const problems = checkResourceSpecs({ ...specInput, queues });

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^queue highTasks: maxReceiveCount ${floor} must exceed`)),
    ]);
  });
});

describe('Class: Machinery', () => {
  it('reports every invalid prop in one MachineryPropsError', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Invalid');
    const wrongKey = new dynamodb.Table(stack, 'WrongKey', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    });
    const props = {
      resourcePrefix: 'not a prefix!',
      workerEntry: 'does/not/exist.ts',
      workerHandler: 'not-an-identifier',
      existingTaskStatesTable: wrongKey,
      existingGroupMetasTable: dynamodb.Table.fromTableName(stack, 'Groups', 'group_metas'),
      tableRemovalPolicy: RemovalPolicy.DESTROY,
      oldestMessageAgeAlarmSeconds: 10,
      workerFunctionProps: {
        timeout: Duration.minutes(5),
        maxConcurrency: 1,
        environment: { MACHINERY_TASK_QUEUE_URL: 'x', AWS_REGION: 'eu-west-1', MY_SETTING: 'ok' },
      },
      forwarderFunctionProps: { timeout: Duration.seconds(31), memorySize: 64 },
      highQueueMaxConcurrency: 1,
    };

    // Act
    let error: unknown;
    try {
      new Machinery(stack, 'Machinery', props);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(MachineryPropsError);
    const e = error as MachineryPropsError;
    expect(e.code).toBe('INVALID_MACHINERY_PROPS');
    expect(e.problems).toEqual([
      expect.stringMatching(/^resourcePrefix: resource name prefix must be/),
      expect.stringMatching(/^workerEntry .*does\/not\/exist\.ts does not exist$/),
      "workerHandler 'not-an-identifier' is not an export name",
      'tableRemovalPolicy applies to new tables, but both tables are existing ones',
      'existing task_states table has partition key id (S); machinery needs TaskUUID (S)',
      'oldestMessageAgeAlarmSeconds must be an integer >= 60 (got 10)',
      expect.stringMatching(/^workerFunctionProps\.environment sets MACHINERY_TASK_QUEUE_URL/),
      expect.stringMatching(/^workerFunctionProps\.environment sets AWS_REGION/),
      expect.stringMatching(/^workerFunctionProps\.timeout is 300 s, more than 60 s/),
      'workerFunctionProps.maxConcurrency must be an integer in 2-1000 (got 1)',
      expect.stringMatching(/^forwarderFunctionProps\.timeout is 31 s, more than 30 s/),
      'forwarderFunctionProps.memorySize must be an integer in 128-10240 MiB (got 64)',
      'highQueueMaxConcurrency must be an integer in 2-1000 (got 1)',
      expect.stringMatching(
        /^queue tasks: visibility timeout 360 s is less than 6 x the worker's timeout of 300 s/,
      ),
      expect.stringMatching(
        /^queue highTasks: visibility timeout 360 s is less than 6 x the worker's timeout of 300 s/,
      ),
      expect.stringMatching(
        /^queue delay: visibility timeout 180 s is less than 6 x the forwarder's timeout of 31 s/,
      ),
    ]);
    expect(e.message).toContain(`(${e.problems.length} problems)`);
    for (const problem of e.problems) expect(e.message).toContain(problem);
    expect(stack.node.tryFindChild('Machinery')).toBeUndefined();
  });

  it('accepts the defaults', () => {
    // Act
    const problems = validateMachineryProps({});

    // Assess
    expect(problems).toEqual([]);
  });

  it("reports event source caps that do not fit the worker's reserved concurrency, with every other problem", () => {
    // Prepare
    const stack = new Stack(newApp(), 'Caps');
    const props = {
      oldestMessageAgeAlarmSeconds: 10,
      highQueueMaxConcurrency: 9,
      workerFunctionProps: { reservedConcurrentExecutions: 10, maxConcurrency: 2 },
    };

    // Act
    let error: unknown;
    try {
      new Machinery(stack, 'Machinery', props);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(MachineryPropsError);
    expect((error as MachineryPropsError).problems).toEqual([
      'oldestMessageAgeAlarmSeconds must be an integer >= 60 (got 10)',
      expect.stringMatching(
        /^highQueueMaxConcurrency 9 leaves the default task queue 1 of the worker's reserved concurrency of 10: keep at least 2/,
      ),
    ]);
    expect(stack.node.tryFindChild('Machinery')).toBeUndefined();
  });

  it('requires the default queue cap, within what the high queue leaves of the reserved concurrency', () => {
    // Prepare
    const reserved = { reservedConcurrentExecutions: 10 };

    // Act
    const uncapped = validateMachineryProps({
      highQueueMaxConcurrency: 4,
      workerFunctionProps: reserved,
    });
    const tooMany = validateMachineryProps({
      highQueueMaxConcurrency: 4,
      workerFunctionProps: { ...reserved, maxConcurrency: 7 },
    });
    const fits = validateMachineryProps({
      highQueueMaxConcurrency: 4,
      workerFunctionProps: { ...reserved, maxConcurrency: 6 },
    });
    const noReserved = validateMachineryProps({ highQueueMaxConcurrency: 4 });

    // Assess
    expect(uncapped).toEqual([
      expect.stringMatching(/^workerFunctionProps\.maxConcurrency is not set: .*at most 6$/),
    ]);
    expect(tooMany).toEqual([
      expect.stringMatching(
        /^workerFunctionProps\.maxConcurrency 7 \+ highQueueMaxConcurrency 4 = 11 exceed the worker's reserved concurrency of 10/,
      ),
    ]);
    expect(fits).toEqual([]);
    expect(noReserved).toEqual([]);
  });

  describe('customised', () => {
    let stack: Stack;
    let machinery: Machinery;
    let json: TemplateJson;
    let producer: iam.Role;
    let operator: iam.Role;
    const names = resourceNames('dev-');

    const statementsOf = (role: iam.Role) => policyStatementsOf(stack, json, role);
    const actionsOf = (role: iam.Role) => policyActionsOf(stack, json, role);

    beforeAll(() => {
      const app = newApp();
      stack = new Stack(app, 'Custom');
      const topic = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
      Validations.of(topic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason: 'test topic: server-side encryption is irrelevant here',
      });
      const groups = new dynamodb.Table(stack, 'ExistingGroups', {
        partitionKey: { name: 'GroupUUID', type: dynamodb.AttributeType.STRING },
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      });
      machinery = new Machinery(stack, 'Machinery', {
        resourcePrefix: 'dev-',
        alarmTopic: topic,
        existingGroupMetasTable: groups,
        tableRemovalPolicy: RemovalPolicy.DESTROY,
        oldestMessageAgeAlarmSeconds: 600,
        workerFunctionProps: {
          memorySize: 1024,
          timeout: Duration.seconds(45),
          maxConcurrency: 5,
          reservedConcurrentExecutions: 10,
          environment: { MACHINERY_EXAMPLE_LONG_RUNNING_MS: '500' },
        },
        highQueueMaxConcurrency: 4,
      });
      producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });
      operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
      machinery.grantProducer(producer, { cancel: true, periodic: true });
      machinery.grantOperator(operator);
      // Synthesizes with the cdk-nag plugin: throws on any unacknowledged finding.
      json = Template.fromStack(stack).toJSON() as TemplateJson;
    }, 60_000);

    it('names every resource with the prefix through resourceNames()', () => {
      // Prepare
      const byType = (type: string) => Object.values(json.Resources).filter((r) => r.Type === type);

      // Assess
      expect(
        byType('AWS::SQS::Queue')
          .map((q) => q.Properties.QueueName)
          .sort(),
      ).toEqual(Object.values(names.queues).sort());
      expect(byType('AWS::DynamoDB::Table').map((t) => t.Properties.TableName)).toEqual(
        expect.arrayContaining([names.tables.taskStates]),
      );
      expect(byType('AWS::Scheduler::ScheduleGroup')[0]?.Properties.Name).toBe(names.scheduleGroup);
      expect(
        byType('AWS::IAM::Role').filter((r) => r.Properties.RoleName === names.schedulerRole),
      ).toHaveLength(1);
    });

    it('uses the existing group table instead of creating one, and applies the removal policy to the new one', () => {
      // Prepare
      const tables = Object.entries(json.Resources).filter(
        ([, r]) => r.Type === 'AWS::DynamoDB::Table',
      );

      // Assess
      expect(tables).toHaveLength(3); // the existing one of the test + task_states + workers
      const taskStates = stack.getLogicalId(
        machinery.taskStatesTable.node.defaultChild as CfnElement,
      );
      expect(
        (json.Resources[taskStates] as unknown as { DeletionPolicy: string }).DeletionPolicy,
      ).toBe('Delete');
      expect(machinery.environment[ENV.groupMetasTable]).toBe(
        (machinery.groupMetasTable as dynamodb.Table).tableName,
      );
    });

    it('applies the worker settings and keeps the MACHINERY_* environment', () => {
      // Prepare
      const fn = json.Resources[
        stack.getLogicalId(machinery.workerFunction.node.defaultChild as CfnElement)
      ] as Resource;
      const esmOf = (queue: sqs.Queue) =>
        Object.values(json.Resources).find(
          (r) =>
            r.Type === 'AWS::Lambda::EventSourceMapping' &&
            JSON.stringify(r.Properties.EventSourceArn).includes(
              stack.getLogicalId(queue.node.defaultChild as CfnElement),
            ),
        );

      // Assess
      expect(fn.Properties).toMatchObject({ MemorySize: 1024, Timeout: 45 });
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(Object.keys(variables).sort()).toEqual(
        [
          ...MACHINERY_ENV_KEYS.map((k) => ENV[k]),
          'MACHINERY_EXAMPLE_LONG_RUNNING_MS',
          'NODE_OPTIONS',
        ].sort(),
      );
      expect(esmOf(machinery.taskQueue)?.Properties.ScalingConfig).toEqual({
        MaximumConcurrency: 5,
      });
      expect(esmOf(machinery.highTaskQueue)?.Properties.ScalingConfig).toEqual({
        MaximumConcurrency: 4,
      });
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(10);
    });

    it('sends alarm and OK notifications of every alarm to the topic', () => {
      // Prepare
      const alarms = Object.values(json.Resources).filter(
        (r) => r.Type === 'AWS::CloudWatch::Alarm',
      );
      const topicRef = {
        Ref: stack.getLogicalId(stack.node.findChild('Alarms').node.defaultChild as CfnElement),
      };

      // Assess
      expect(alarms).toHaveLength(9);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
        expect(alarm.Properties.OKActions).toEqual([topicRef]);
      }
      expect(alarms.map((a) => a.Properties.Threshold)).toContain(600);
      expect(
        alarms
          .filter((a) => a.Properties.Namespace === METRICS.namespace)
          .map((a) => a.Properties.MetricName)
          .sort(),
      ).toEqual([METRICS.deploymentErrors, METRICS.systemicErrors].sort());
    });

    it('grants a producer sending, state writes, schedules and PassRole to Scheduler only', () => {
      // Act
      const actions = actionsOf(producer);

      // Assess
      expect(actions.sort()).toEqual(
        [
          'sqs:SendMessage',
          'dynamodb:PutItem',
          'dynamodb:GetItem',
          'dynamodb:UpdateItem',
          'dynamodb:UpdateItem',
          'dynamodb:PutItem',
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'scheduler:CreateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
          'scheduler:UpdateSchedule',
          'iam:PassRole',
          'scheduler:ListSchedules',
        ].sort(),
      );
      const passRole = statementsOf(producer).find((s) => s.Action === 'iam:PassRole');
      expect(passRole?.Condition).toEqual({
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      });
      const groupTable = (machinery.groupMetasTable as dynamodb.Table).node
        .defaultChild as CfnElement;
      const groups = statementsOf(producer).find((s) =>
        JSON.stringify(s.Resource).includes(stack.getLogicalId(groupTable)),
      );
      expect(groups?.Action).toEqual([
        'dynamodb:UpdateItem',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
      ]);
      const wildcard = statementsOf(producer).filter((s) => s.Resource === '*');
      expect(wildcard).toEqual([
        { Action: 'scheduler:ListSchedules', Effect: 'Allow', Resource: '*' },
      ]);
    });

    it('grants an operator the DLQs (incl. StartMessageMoveTask), reading states, schedules, metrics and the stack, nothing else', () => {
      // Act
      const actions = actionsOf(operator);

      // Assess
      expect(new Set(actions)).toEqual(
        new Set([
          'sqs:ReceiveMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:PurgeQueue',
          'sqs:GetQueueUrl',
          'sqs:StartMessageMoveTask',
          'sqs:ListMessageMoveTasks',
          'sqs:CancelMessageMoveTask',
          'sqs:SendMessage',
          'sqs:GetQueueAttributes',
          'dynamodb:GetItem',
          'dynamodb:Scan',
          'scheduler:GetSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:ListSchedules',
          'cloudwatch:GetMetricData',
          'cloudwatch:GetMetricStatistics',
          'cloudformation:DescribeStacks',
        ]),
      );
      expect(actions).not.toContain('iam:PassRole');
      expect(actions).not.toContain('scheduler:CreateSchedule');
      expect(actions).not.toContain('dynamodb:UpdateItem');
    });

    it('lets a producer send to the high-priority queue and an operator redrive its DLQ', () => {
      // Prepare
      const arnOf = (queue: sqs.Queue) => ({
        'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as CfnElement), 'Arn'],
      });
      const resourcesOf = (role: iam.Role, action: string) =>
        statementsOf(role)
          .filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action))
          .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));

      // Assess
      expect(resourcesOf(producer, 'sqs:SendMessage')).toContainEqual(
        arnOf(machinery.highTaskQueue),
      );
      expect(resourcesOf(operator, 'sqs:SendMessage')).toContainEqual(
        arnOf(machinery.highTaskQueue),
      );
      expect(resourcesOf(operator, 'sqs:StartMessageMoveTask')).toContainEqual(
        arnOf(machinery.highTaskDlq),
      );
      expect(resourcesOf(producer, 'sqs:SendMessage')).not.toContainEqual(
        arnOf(machinery.highTaskDlq),
      );
    });

    it('grants the worker PutItem on the workers table (its opt-in alive record) and nothing else there', () => {
      // Prepare
      const table = (machinery.workersTable as dynamodb.Table).node.defaultChild as CfnElement;

      // Act
      const onTable = statementsOf(machinery.workerRole as iam.Role).filter((s) =>
        JSON.stringify(s.Resource).includes(stack.getLogicalId(table)),
      );

      // Assess
      expect(onTable.map((s) => s.Action)).toEqual(['dynamodb:PutItem']);
    });

    it('grants an operator Scan on the workers table only (machinery workers)', () => {
      // Prepare
      const tableArn = {
        'Fn::GetAtt': [
          stack.getLogicalId(
            (machinery.workersTable as dynamodb.Table).node.defaultChild as CfnElement,
          ),
          'Arn',
        ],
      };

      // Act
      const scans = statementsOf(operator).filter((s) =>
        (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('dynamodb:Scan'),
      );

      // Assess
      expect(scans.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))).toEqual(
        [tableArn],
      );
    });

    it('grants an operator on * only the reads that have no resource-level permissions', () => {
      // Act
      const wildcard = statementsOf(operator).filter((s) => s.Resource === '*');

      // Assess
      expect(wildcard).toEqual([
        {
          Action: [
            'scheduler:ListSchedules',
            'cloudwatch:GetMetricData',
            'cloudwatch:GetMetricStatistics',
          ],
          Effect: 'Allow',
          Resource: '*',
        },
      ]);
    });

    it('grants an operator DescribeStacks on its own stack only', () => {
      // Act
      const describe = statementsOf(operator).filter(
        (s) => s.Action === 'cloudformation:DescribeStacks',
      );

      // Assess
      expect(describe).toEqual([
        {
          Action: 'cloudformation:DescribeStacks',
          Effect: 'Allow',
          Resource: { Ref: 'AWS::StackId' },
        },
      ]);
    });

    it('names the machinery commands that inspect each alarm in its description', () => {
      // Prepare
      const descriptions = Object.values(json.Resources)
        .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
        .map((r) => r.Properties.AlarmDescription as string);
      const dlq = (name: string) =>
        descriptions.filter(
          (d) =>
            d.includes(`machinery dlq list --queue ${name}`) &&
            d.includes(`machinery dlq redrive --queue ${name}`),
        );

      // Assess
      expect(dlq('task')).toHaveLength(1);
      expect(dlq('high')).toHaveLength(1);
      expect(dlq('delay')).toHaveLength(1);
      expect(dlq('scheduler')).toHaveLength(1);
      expect(descriptions.filter((d) => d.includes('is more than 600 s old'))).not.toHaveLength(0);
      for (const d of descriptions) expect(d).toContain('`machinery queues`');
    });

    it('leaves no unacknowledged cdk-nag finding, grantees included', () => {
      // Act
      const report = new AwsSolutionsChecks().validateScope(stack);

      // Assess
      expect(report.violations).toEqual([]);
    });
  });
});

describe('Class: Machinery with a customer managed table key', () => {
  it('grants the worker and a producer encrypt and decrypt on the key, an operator only decrypt, cdk-nag clean', () => {
    // Prepare
    const stack = new Stack(newApp(), 'Cmk');
    const key = new kms.Key(stack, 'StatesKey', { enableKeyRotation: true });
    const states = new dynamodb.Table(stack, 'ExistingStates', {
      partitionKey: { name: 'TaskUUID', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    const machinery = new Machinery(stack, 'Machinery', { existingTaskStatesTable: states });
    const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });

    // Act
    machinery.grantOperator(operator);
    machinery.grantProducer(producer);
    // Synthesizes with the cdk-nag plugin: throws on any unacknowledged finding.
    const json = Template.fromStack(stack).toJSON() as TemplateJson;

    // Assess
    const kmsActionsOf = (role: iam.Role) =>
      policyActionsOf(stack, json, role)
        .filter((a) => a.startsWith('kms:'))
        .sort();
    const readWrite = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];
    expect(kmsActionsOf(machinery.workerRole)).toEqual(readWrite.sort());
    expect(kmsActionsOf(producer)).toEqual(readWrite.sort());
    expect(kmsActionsOf(operator)).toEqual(['kms:Decrypt']);
  });
});

describe('Function: outputKey', () => {
  it('turns an env var name into an alphanumeric PascalCase output key', () => {
    // Act
    const keys = MACHINERY_ENV_KEYS.map((k) => outputKey(ENV[k]));

    // Assess
    expect(keys).toEqual([
      'MachineryTaskQueueUrl',
      'MachineryDlqUrl',
      'MachineryDelayQueueUrl',
      'MachineryDelayDlqUrl',
      'MachinerySchedulerDlqUrl',
      'MachineryTaskStatesTable',
      'MachineryGroupMetasTable',
      'MachineryScheduleGroup',
      'MachinerySchedulerRoleArn',
      'MachineryHighTaskQueueUrl',
      'MachineryHighDlqUrl',
      'MachineryWorkersTable',
    ]);
  });
});

describe('Dependency rule of cdk/', () => {
  it('imports no runtime code except src/core/resources.ts', () => {
    // Prepare
    const dir = join(import.meta.dirname, '..', '..', 'cdk');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

    // Act
    const imports = files.flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]),
    );

    // Assess
    expect(files.length).toBeGreaterThanOrEqual(3);
    const local = imports.filter((i) => i?.startsWith('.'));
    expect(local.filter((i) => i?.startsWith('../'))).toEqual(
      expect.arrayContaining(['../src/core/resources.js']),
    );
    const siblings = files.map((f) => `./${f.replace(/\.ts$/, '.js')}`);
    for (const i of local) expect(['../src/core/resources.js', ...siblings]).toContain(i);
  });
});
