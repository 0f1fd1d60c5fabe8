/**
 * The worker's backstop and fault metrics end to end on the emulators (fauxqs, DynamoDB Local):
 * the local event-source runner delivers real messages to the worker, whose result backend is the
 * DynamoDB one wrapped to inject faults the code does not classify; the failure ledger is the
 * DynamoDB one in the stack's `task_states` table; metrics are read back as the EMF lines the
 * worker writes to stdout.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import type { ResultBackend } from '../../src/core/ports.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { METRICS } from '../../src/core/resources.js';
import { newTaskUUID } from '../../src/core/signature.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, quietLogger, receiveMessages, waitFor } from './aws-helpers.js';
import { captureEmf, type EmfCapture } from './support/emf.js';
import { getTestStack, type TestStack } from './support/stack.js';

const registry = createRegistry([
  defineTask({ name: 'echo', args: ['string'], run: (_ctx, v) => v }),
]);

const body = (uuid: string, group: string) =>
  JSON.stringify({
    UUID: uuid,
    Name: 'echo',
    Args: [{ Name: '', Type: 'string', Value: uuid }],
    BrokerMessageGroupId: group,
  });

function countDeliveries(
  worker: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
  deliveries: Map<string, number[]>,
) {
  return (event: SQSEvent, context: Context) => {
    for (const r of event.Records) {
      const uuid = /"UUID":"([^"]+)"/.exec(r.body)?.[1] ?? r.messageId;
      deliveries.set(uuid, [
        ...(deliveries.get(uuid) ?? []),
        Number(r.attributes.ApproximateReceiveCount),
      ]);
    }
    return worker(event, context);
  };
}

async function send(stack: TestStack, uuids: readonly string[]): Promise<Map<string, string>> {
  const messageIds = new Map<string, string>();
  for (const uuid of uuids) {
    const out = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MessageBody: body(uuid, `g-${uuid}`),
        MessageGroupId: `g-${uuid}`,
        MessageDeduplicationId: uuid,
      }),
    );
    messageIds.set(uuid, out.MessageId ?? '');
  }
  return messageIds;
}

describe('Function: createWorker (backstop for unclassified errors)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  let emf: EmfCapture;
  let backend: DynamoDbResultBackend;
  const deliveries = new Map<string, number[]>();
  /** Injected faults by task UUID: thrown by `claim`; `thrown` counts them. */
  const faults = new Map<string, () => Error>();
  const thrown = new Map<string, number>();
  let backoffSeconds = 0;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'backstop' });
    emf = captureEmf();
    const dynamodb = createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb });
    backend = new DynamoDbResultBackend({ dynamodb, tableName: stack.names.tables.taskStates });
    const faulty: ResultBackend = new Proxy(backend, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'claim' || typeof value !== 'function') {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (...args: Parameters<ResultBackend['claim']>) => {
          const fault = faults.get(args[0].UUID);
          if (fault === undefined) return target.claim(...args);
          thrown.set(args[0].UUID, (thrown.get(args[0].UUID) ?? 0) + 1);
          return Promise.reject(fault());
        };
      },
    });
    const worker = createWorker({
      registry,
      backend: faulty,
      env: stack.env,
      aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
      logger: quietLogger('SILENT'),
      transientBackoffSeconds: () => backoffSeconds,
    });
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: countDeliveries(worker, deliveries),
      concurrency: 2,
      onError: () => {},
    });
    runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    emf?.stop();
    await stack?.stop();
  });

  it('dead-letters a message at its 5th receive failing with one unclassified error', async () => {
    // Prepare
    backoffSeconds = 0;
    const uuid = newTaskUUID();
    faults.set(uuid, () => new Error('boom'));

    // Act
    const messageIds = await send(stack, [uuid]);
    const [dead] = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasksDlq, {
      count: 1,
      timeoutMs: 30_000,
    });

    // Assess
    expect(deliveries.get(uuid)).toEqual([1, 2, 3, 4, 5]);
    expect(dead?.Body).toBe(body(uuid, `g-${uuid}`));
    expect(dead?.Attributes?.MessageDeduplicationId).toBe(messageIds.get(uuid));
    expect(dead?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('repeated-error');
    expect(dead?.MessageAttributes?.['machinery.detail']?.StringValue).toBe(
      'Error: boom (code Error: 5 receives in a row)',
    );
    expect(await backend.get(uuid, { now: Date.now() })).toMatchObject({
      state: 'FAILURE',
      deadLettered: true,
      deadLetterReason: 'repeated-error',
    });
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
      { describe: () => 'the task queue to drain' },
    );
  });

  it('dead-letters none of many messages failing with one unclassified error, and counts it in SystemicErrors', async () => {
    // Prepare: a 2 s back-off, so every message is received once before any comes back
    backoffSeconds = 2;
    const uuids = Array.from({ length: 4 }, () => newTaskUUID());
    for (const uuid of uuids) {
      faults.set(uuid, () =>
        Object.assign(new Error('shared dependency down'), { name: 'Outage' }),
      );
    }

    // Act: every message fails more often than the streak limit, then the fault goes away
    const messageIds = await send(stack, uuids);
    await waitFor(async () => (uuids.every((u) => (thrown.get(u) ?? 0) >= 7) ? true : undefined), {
      timeoutMs: 45_000,
      describe: () => `7 failures of each message (${uuids.map((u) => thrown.get(u) ?? 0)})`,
    });
    for (const uuid of uuids) faults.delete(uuid);
    await waitFor(
      async () => {
        const states = await Promise.all(uuids.map((u) => backend.get(u, { now: Date.now() })));
        return states.every((s) => s?.state === 'SUCCESS') ? true : undefined;
      },
      { timeoutMs: 30_000, describe: () => 'every task to succeed once the fault is gone' },
    );

    // Assess: nothing dead-lettered, every task ran
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    // ... and every failure not counted in a streak was counted as systemic
    const dynamodb = createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb });
    let streaks = 0;
    for (const uuid of uuids) {
      const item = await dynamodb.send(
        new GetCommand({
          TableName: stack.names.tables.taskStates,
          Key: { TaskUUID: `streak#${messageIds.get(uuid)}` },
          ConsistentRead: true,
        }),
      );
      const streak = Number(item.Item?.Streak ?? 0);
      expect(streak).toBeLessThan(5);
      streaks += streak;
    }
    const failures = uuids.reduce((n, u) => n + (thrown.get(u) ?? 0), 0);
    // (stopped: every invocation has ended and flushed its metrics)
    await runner.stop();
    expect(emf.count(METRICS.systemicErrors)).toBe(failures - streaks);
    expect(emf.count(METRICS.systemicErrors)).toBeGreaterThan(0);
  });
});

describe('Function: createWorker (deployment errors)', () => {
  let stack: TestStack;
  let emf: EmfCapture;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'deploy' });
    emf = captureEmf();
  });

  afterAll(async () => {
    emf?.stop();
    await stack?.stop();
  });

  it('dead-letters none of many messages failing on a wrong table name, and counts each failure in DeploymentErrors', async () => {
    // Prepare: the worker is deployed with a table that does not exist
    const deliveries = new Map<string, number[]>();
    const worker = createWorker({
      registry,
      env: stack.env,
      config: { taskStatesTable: `${stack.prefix}no-such-table` },
      aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
      logger: quietLogger('SILENT'),
      transientBackoffSeconds: () => 1,
    });
    const runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: countDeliveries(worker, deliveries),
      concurrency: 2,
      onError: () => {},
    });
    const uuids = Array.from({ length: 4 }, () => newTaskUUID());

    // Act: every message received more often than the streak limit
    await send(stack, uuids);
    runner.start();
    try {
      await waitFor(
        async () => (uuids.every((u) => (deliveries.get(u)?.length ?? 0) >= 6) ? true : undefined),
        {
          timeoutMs: 45_000,
          describe: () => `6 receives of each message (${uuids.map((u) => deliveries.get(u))})`,
        },
      );
    } finally {
      await runner.stop();
    }

    // Assess
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    const received = uuids.reduce((n, u) => n + (deliveries.get(u)?.length ?? 0), 0);
    expect(emf.count(METRICS.deploymentErrors)).toBe(received);
    expect(emf.count(METRICS.systemicErrors)).toBe(0);
    // Still on the task queue, never counted against the task: nothing could be written anywhere
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)).toBe(uuids.length);
  });
});
