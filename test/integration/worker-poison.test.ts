import { type Message, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { DynamoDbFailureLedger } from '../../src/aws/ledger.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { DEFAULTS } from '../../src/core/resources.js';
import { newTaskUUID } from '../../src/core/signature.js';
import type { DeadLetterReason } from '../../src/core/types.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, quietLogger, receiveMessages, waitFor } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const GROUP = 'customer-42';
/** The group of the oversized poison messages. */
const BIG_GROUP = 'customer-43';

/** A signature body for `group` with a fresh UUID, and that UUID. */
function signatureBody(
  group: string,
  name: string,
  args: unknown[],
  extra: Record<string, unknown> = {},
): { uuid: string; body: string } {
  const uuid = newTaskUUID();
  return {
    uuid,
    body: JSON.stringify({
      UUID: uuid,
      Name: name,
      Args: args,
      BrokerMessageGroupId: group,
      ...extra,
    }),
  };
}

describe('Function: createWorker (poison input)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  const order: string[] = [];
  let crashRuns = 0;
  /** Simulated process deaths, by task UUID: rejects the invocation running it. */
  const crashers = new Map<string, (e: Error) => void>();
  /** Records handed to the worker, by message id: the task queue's receives of each message. */
  const deliveries = new Map<string, number>();

  const registry = createRegistry([
    defineTask({
      name: 'record',
      args: ['string'],
      run: (_ctx, label) => {
        order.push(label);
        return label;
      },
    }),
    defineTask({
      name: 'fail_always',
      run: () => {
        throw new Error('permanently broken');
      },
    }),
    defineTask({
      name: 'crash',
      run: async (ctx) => {
        crashRuns++;
        // The "process" dies here: the invocation is gone without a word; nothing is written.
        crashers.get(ctx.uuid)?.(new Error('simulated crash of the worker process'));
        await new Promise(() => {});
      },
    }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({
      label: 'poison',
      // A crashed attempt's message comes back after 2 s; its lease (1 s) has expired by then.
      queueOverrides: { tasks: { visibilityTimeoutSeconds: 2 } },
    });
    const aws = { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb };
    const worker = createWorker({
      registry,
      env: stack.env,
      aws,
      logger: quietLogger('SILENT'),
      processorOptions: { leaseMs: 1_000, maxCrashes: 3 },
    });
    const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      new Promise((resolve, reject) => {
        for (const r of event.Records) {
          deliveries.set(r.messageId, (deliveries.get(r.messageId) ?? 0) + 1);
          const uuid = /"UUID":"([^"]+)"/.exec(r.body)?.[1];
          if (uuid) crashers.set(uuid, reject);
        }
        worker(event, context).then(resolve, reject);
      });
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler,
      concurrency: 2,
      // Long enough that the worker's own abort never fires during the test: a crash is silent.
      timeoutMs: 300_000,
      onError: () => {},
    });
    runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
  });

  it('dead-letters each poison class with its reason while healthy tasks of the same group complete in order', async () => {
    // Prepare: one message group, healthy tasks between poison ones
    const body = (name: string, args: unknown[], extra: Record<string, unknown> = {}) =>
      signatureBody(GROUP, name, args, extra);
    const str = (v: string) => ({ Name: '', Type: 'string', Value: v });
    const h1 = body('record', [str('h1')]);
    const invalidSig = body('record', [{ Name: '', Type: 'int64', Value: 'not a number' }]);
    const unregistered = body('no_such_task', []);
    const invalidArgs = body('record', [{ Name: '', Type: 'int64', Value: 7 }]);
    const h2 = body('record', [str('h2')]);
    const permanent = body('fail_always', [], { StopTaskDeletionOnError: true });
    const crash = body('crash', []);
    const h3 = body('record', [str('h3')]);
    const messages = [
      h1.body,
      'this is not json {',
      invalidSig.body,
      unregistered.body,
      invalidArgs.body,
      h2.body,
      permanent.body,
      crash.body,
      h3.body,
    ];

    // Act
    for (const [i, MessageBody] of messages.entries()) {
      await stack.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.tasks,
          MessageBody,
          MessageGroupId: GROUP,
          MessageDeduplicationId: `m${i}`,
        }),
      );
    }
    const dead = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasksDlq, {
      count: 6,
      timeoutMs: 45_000,
    });
    await waitFor(async () => (order.length === 3 ? true : undefined), {
      timeoutMs: 20_000,
      describe: () => `the healthy tasks (ran: ${order.join(', ')})`,
    });

    // Assess: the DLQ holds each poison message once, with its reason
    const byReason = new Map(
      dead.map((m) => [m.MessageAttributes?.['machinery.reason']?.StringValue, m]),
    );
    expect([...byReason.keys()].sort()).toEqual(
      [
        'crash-loop',
        'invalid-args',
        'invalid-signature',
        'permanent-failure',
        'undecodable',
        'unregistered',
      ].sort(),
    );
    expect(byReason.get('undecodable')?.Body).toBe('this is not json {');
    const expectations: [DeadLetterReason, { uuid: string; body: string }][] = [
      ['invalid-signature', invalidSig],
      ['unregistered', unregistered],
      ['invalid-args', invalidArgs],
      ['permanent-failure', permanent],
      ['crash-loop', crash],
    ];
    const backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    for (const [reason, msg] of expectations) {
      const m = byReason.get(reason);
      expect(m?.Body).toBe(msg.body);
      expect(m?.MessageAttributes?.['machinery.task-uuid']?.StringValue).toBe(msg.uuid);
      expect(m?.MessageAttributes?.['machinery.detail']?.StringValue?.length).toBeGreaterThan(0);
      expect(m?.MessageAttributes?.['machinery.source-queue']?.StringValue).toContain('tasks.fifo');
      expect(m?.Attributes?.MessageGroupId).toBe(GROUP);
      const state = await backend.get(msg.uuid, { now: Date.now() });
      expect(state).toMatchObject({
        state: 'FAILURE',
        deadLettered: true,
        deadLetterReason: reason,
      });
    }
    // ... while the healthy tasks of the same group ran in order, once each
    expect(order).toEqual(['h1', 'h2', 'h3']);
    for (const h of [h1, h2, h3]) {
      expect((await backend.get(h.uuid, { now: Date.now() }))?.state).toBe('SUCCESS');
    }
    // ... the crash loop ran maxCrashes times before it was dead-lettered
    expect(crashRuns).toBe(3);
    // ... and nothing is left on the task queue
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
      {
        timeoutMs: 10_000,
        describe: () => 'the task queue to drain',
      },
    );
  });

  it('dead-letters oversized poison on its first receive, its reason findable from the DLQ message alone, while its group runs on', async () => {
    // Prepare: a 1 MiB unregistered task, a 1 MiB non-JSON body and a 250 KB task name, between
    // healthy tasks of one message group
    const limit = DEFAULTS.maxMessageBytes;
    const body = (name: string, args: unknown[]) => signatureBody(BIG_GROUP, name, args);
    const str = (v: string) => ({ Name: '', Type: 'string', Value: v });
    const padded = (name: string) => {
      const shell = body(name, [str('')]);
      const pad = limit - Buffer.byteLength(shell.body) - 16;
      return {
        uuid: shell.uuid,
        body: shell.body.replace('"Value":""', `"Value":"${'p'.repeat(pad)}"`),
      };
    };
    const healthy = ['b1', 'b2', 'b3', 'b4'].map((label) => ({
      label,
      ...body('record', [str(label)]),
    }));
    const bigUnregistered = padded('no_such_task');
    const bigNotJson = { uuid: undefined, body: `not json {${'x'.repeat(limit - 100)}` };
    const longName = body('n'.repeat(250_000), []);
    const messages = [
      healthy[0],
      bigUnregistered,
      healthy[1],
      bigNotJson,
      healthy[2],
      longName,
      healthy[3],
    ] as { uuid: string | undefined; body: string }[];
    expect(Buffer.byteLength(bigUnregistered.body)).toBeGreaterThan(limit - 100);
    expect(Buffer.byteLength(bigUnregistered.body)).toBeLessThanOrEqual(limit);
    const ledger = new DynamoDbFailureLedger({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    /** The reason of a DLQ message, from that message alone: its attributes, or the ledger's note. */
    const reasonOf = async (m: Message) => {
      const attribute = m.MessageAttributes?.['machinery.reason']?.StringValue;
      if (attribute !== undefined) return { reason: attribute, from: 'attributes' };
      const note = await ledger.getDeadLetterNote(m.Attributes?.MessageDeduplicationId ?? '', {
        now: Date.now(),
      });
      return { reason: note?.reason, from: 'note', detail: note?.detail };
    };

    // Act
    const sentIds: string[] = [];
    for (const [i, m] of messages.entries()) {
      const out = await stack.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.tasks,
          MessageBody: m.body,
          MessageGroupId: BIG_GROUP,
          MessageDeduplicationId: `big${i}`,
        }),
      );
      sentIds.push(out.MessageId ?? '');
    }
    const dead = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasksDlq, {
      count: 3,
      timeoutMs: 45_000,
    });
    await waitFor(async () => (healthy.every((h) => order.includes(h.label)) ? true : undefined), {
      timeoutMs: 20_000,
      describe: () => `the healthy tasks of ${BIG_GROUP} (ran: ${order.join(', ')})`,
    });

    // Assess: each poison message is in the DLQ, unchanged, after one receive from the task queue
    const byBody = new Map(dead.map((m) => [m.Body, m]));
    const poison: [string, { uuid: string | undefined; body: string }, string, string][] = [
      ['unregistered', bigUnregistered, 'note', sentIds[1] as string],
      ['undecodable', bigNotJson, 'note', sentIds[3] as string],
      ['invalid-signature', longName, 'attributes', sentIds[5] as string],
    ];
    for (const [reason, msg, from, messageId] of poison) {
      const m = byBody.get(msg.body);
      expect(m, reason).toBeDefined();
      expect(m?.Attributes?.MessageDeduplicationId).toBe(messageId);
      expect(deliveries.get(messageId), `receives of the ${reason} message`).toBe(1);
      expect(await reasonOf(m as Message)).toMatchObject({ reason, from });
    }
    const backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    expect(await backend.get(bigUnregistered.uuid, { now: Date.now() })).toMatchObject({
      state: 'FAILURE',
      deadLetterReason: 'unregistered',
    });
    // ... and every healthy task of the group ran, in order, once
    expect(order.filter((l) => l.startsWith('b'))).toEqual(['b1', 'b2', 'b3', 'b4']);
    for (const h of healthy) {
      expect((await backend.get(h.uuid, { now: Date.now() }))?.state).toBe('SUCCESS');
    }
  });
});
