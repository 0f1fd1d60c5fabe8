import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleGroupCommand } from '@aws-sdk/client-scheduler';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENV, QUEUES } from '../../src/core/resources.js';
import { startLocalStack } from '../../src/local/stack.js';
import { getTestStack, type TestStack } from './support/stack.js';

describe('Function: provisionStack', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'prov' });
  });
  afterAll(() => stack.stop());

  it('returns an env with exactly the ENV keys, all non-empty', () => {
    // Prepare
    const expected = Object.values(ENV).sort();

    // Act
    const keys = Object.keys(stack.env).sort();

    // Assess
    expect(keys).toEqual(expected);
    for (const value of Object.values(stack.env)) expect(value).not.toBe('');
    expect(stack.env[ENV.taskQueueUrl]).toBe(stack.queueUrls.tasks);
    expect(stack.env[ENV.taskStatesTable]).toBe(`${stack.prefix}task_states`);
  });

  it('creates the FIFO task queue in high-throughput mode with its redrive policy', async () => {
    // Prepare
    const url = stack.queueUrls.tasks;

    // Act
    const { Attributes } = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );

    // Assess
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/.+tasks\.fifo$/);
    expect(Attributes).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: String(QUEUES.tasks.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(QUEUES.tasks.retentionSeconds),
    });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: stack.queueArns.tasksDlq,
      maxReceiveCount: QUEUES.tasks.redrive?.maxReceiveCount,
    });
  });

  it('creates both tables on demand with TTL on the TTL attribute', async () => {
    // Prepare
    const table = stack.names.tables.taskStates;

    // Act
    const { Table } = await stack.clients.dynamodb.send(
      new DescribeTableCommand({ TableName: table }),
    );
    const ttl = await stack.clients.dynamodb.send(
      new DescribeTimeToLiveCommand({ TableName: table }),
    );

    // Assess
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'TaskUUID', KeyType: 'HASH' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'TTL',
      TimeToLiveStatus: 'ENABLED',
    });
  });

  it('creates the schedule group', async () => {
    // Prepare
    const name = stack.names.scheduleGroup;

    // Act
    const group = await stack.clients.scheduler.send(new GetScheduleGroupCommand({ Name: name }));

    // Assess
    expect(group).toMatchObject({ Name: name, State: 'ACTIVE' });
  });

  it('shares one DynamoDB Local whose start-up time is reported', () => {
    // Prepare / Act
    const ms = inject('dynamodbStartupMs');

    // Assess
    expect(ms).toBeGreaterThan(0);
    expect(inject('dynamodbPid')).toBeGreaterThan(0);
  });
});

describe('Function: startLocalStack', () => {
  it('starts every emulator, provisions without a prefix, and stop() ends the JVM', async () => {
    // Prepare
    const stack = await startLocalStack();
    const pid = stack.dynamodb?.pid as number;
    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };

    try {
      // Act: a client configured only through the environment, as the CLI and handlers are.
      const saved = process.env[ENV.endpointSqs];
      process.env[ENV.endpointSqs] = stack.env[ENV.endpointSqs];
      const sqs = new SQSClient({ region: stack.region, credentials: stack.credentials });
      try {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: stack.queueUrls.delay, MessageBody: 'hi' }),
        );
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: stack.queueUrls.delay, WaitTimeSeconds: 1 }),
        );

        // Assess
        expect(Messages?.[0]?.Body).toBe('hi');
      } finally {
        sqs.destroy();
        if (saved === undefined) delete process.env[ENV.endpointSqs];
        else process.env[ENV.endpointSqs] = saved;
      }
      expect(stack.prefix).toBe('');
      expect(stack.names.queues.tasks).toBe('tasks.fifo');
      expect(Object.keys(stack.env).sort()).toEqual(Object.values(ENV).sort());
      expect(alive(pid)).toBe(true);
    } finally {
      await stack.stop();
    }
    expect(alive(pid)).toBe(false);
  });
});
