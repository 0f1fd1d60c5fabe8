/**
 * Writes DynamoDB Local really refuses because of what a message holds: an item over 400 KB
 * (checked against DynamoDB Local: a 399 KB item is stored, a 401 KB one refused with
 * `ValidationException: Item size has exceeded the maximum allowed size`). The worker's default
 * bounds (error texts cut to 4,096 characters, results over `maxResultBytes` refused before the
 * write) keep such items from being written at all, so this worker raises them to let the
 * oversized write reach DynamoDB.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newTaskUUID } from '../../src/core/signature.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, quietLogger, receiveMessages, waitFor } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const GROUP = 'customer-7';
/** Over DynamoDB's 400 KB item limit on its own. */
const OVERSIZED = 'x'.repeat(410 * 1024);

describe('Function: createWorker (writes refused for the message content)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  let backend: DynamoDbResultBackend;
  const ran: string[] = [];
  /** Records received by the worker, by task UUID. */
  const receives = new Map<string, number>();

  const registry = createRegistry([
    defineTask({
      name: 'record',
      args: ['string'],
      run: (_ctx, label) => {
        ran.push(label);
        return label;
      },
    }),
    defineTask({
      name: 'fail_with',
      args: ['string'],
      run: (_ctx, text) => {
        throw new Error(text);
      },
    }),
    defineTask({ name: 'echo', args: ['string'], run: (_ctx, text) => text }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({ label: 'rejected' });
    const worker = createWorker({
      registry,
      env: stack.env,
      aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
      logger: quietLogger('SILENT'),
      processorOptions: { maxErrorTextLength: 1_000_000, maxResultBytes: 1_000_000 },
    });
    const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      for (const r of event.Records) {
        const uuid = /"UUID":"([^"]+)"/.exec(r.body)?.[1];
        if (uuid) receives.set(uuid, (receives.get(uuid) ?? 0) + 1);
      }
      return worker(event, context);
    };
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler,
      onError: () => {},
    });
    runner.start();
    backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
  });

  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
  });

  async function send(name: string, arg: string, dedup: string): Promise<string> {
    const uuid = newTaskUUID();
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MessageBody: JSON.stringify({
          UUID: uuid,
          Name: name,
          Args: [{ Name: '', Type: 'string', Value: arg }],
          BrokerMessageGroupId: GROUP,
        }),
        MessageGroupId: GROUP,
        MessageDeduplicationId: dedup,
      }),
    );
    return uuid;
  }

  it('dead-letters a message whose FAILURE write DynamoDB refuses on its first receive, while the next task of its group succeeds', async () => {
    // Prepare: a task failing with a 410 KB error text, then a healthy task of the same group
    const poison = await send('fail_with', OVERSIZED, 'poison');
    const healthy = await send('record', 'after-poison', 'healthy');

    // Act
    const [dead] = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasksDlq, {
      count: 1,
      timeoutMs: 30_000,
    });
    await waitFor(
      async () =>
        (await backend.get(healthy, { now: Date.now() }))?.state === 'SUCCESS' ? true : undefined,
      { timeoutMs: 20_000, describe: () => `the healthy task (ran: ${ran.join(', ')})` },
    );

    // Assess: dead-lettered with its reason after exactly one receive
    expect(dead?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('message-rejected');
    expect(dead?.MessageAttributes?.['machinery.task-uuid']?.StringValue).toBe(poison);
    expect(dead?.MessageAttributes?.['machinery.detail']?.StringValue).toMatch(
      /^recording FAILURE was refused for the message's content: .*has exceeded the maximum allowed size$/,
    );
    expect(receives.get(poison)).toBe(1);
    // ... its FAILURE recorded with the short refusal instead of the text DynamoDB refused
    const state = await backend.get(poison, { now: Date.now() });
    expect(state).toMatchObject({
      state: 'FAILURE',
      deadLettered: true,
      deadLetterReason: 'message-rejected',
    });
    expect(state?.error).toMatch(/^recording FAILURE was refused for the message's content: /);
    // ... and the healthy task of the group ran once
    expect(ran).toEqual(['after-poison']);
    expect(receives.get(healthy)).toBe(1);
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
      { timeoutMs: 10_000, describe: () => 'the task queue to drain' },
    );
  });

  it('fails a task result-too-large, without retries, when DynamoDB refuses its SUCCESS write', async () => {
    // Prepare: a task returning 410 KB
    const big = await send('echo', OVERSIZED, 'big-result');

    // Act
    const state = await waitFor(
      async () => {
        const rec = await backend.get(big, { now: Date.now() });
        return rec?.state === 'FAILURE' ? rec : undefined;
      },
      { timeoutMs: 30_000, describe: () => 'the oversized result to fail the task' },
    );

    // Assess
    expect(state.error).toMatch(
      /^result-too-large: the SUCCESS write was refused: .*Item size has exceeded the maximum allowed size for key :results$/,
    );
    expect(state).toMatchObject({ retries: 0, attempt: 1, deadLettered: false, results: null });
    expect(receives.get(big)).toBe(1);
  });
});
