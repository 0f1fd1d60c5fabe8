/**
 * `DeadLetterQueues` on fauxqs and DynamoDB Local: where `list` finds each kind of message's
 * reason (attributes, the ledger's `dlq#` note, none for SQS's own moves, the Scheduler's error
 * attributes), and what the loop redrive sends (selected tasks only, the DLQ message id as
 * deduplication id, the `machinery.redriven-from` marker).
 */
import { createHash } from 'node:crypto';
import { type MessageAttributeValue, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { DynamoDbFailureLedger } from '../../src/aws/ledger.js';
import {
  createDeadLetterQueues,
  type DeadLetterQueues,
  REDRIVEN_FROM_ATTRIBUTE,
} from '../../src/client/dlq.js';
import { encodeReference } from '../../src/core/delay-body.js';
import { DEAD_LETTER_NOTE_LIFETIME_MS } from '../../src/core/ledger.js';
import { encodeSignature, newSignature } from '../../src/core/signature.js';
import { queueDepth, receiveMessages } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });

describe('Class: DeadLetterQueues (fauxqs)', () => {
  let stack: TestStack;
  let dlqs: DeadLetterQueues;

  /** Sends a message to the task DLQ as the worker would; resolves with its message id. */
  async function toTaskDlq(
    body: string,
    group: string,
    deduplicationId: string,
    attributes: Record<string, MessageAttributeValue> = {},
  ): Promise<string> {
    const out = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasksDlq,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: deduplicationId,
        ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
      }),
    );
    return out.MessageId ?? '';
  }

  beforeAll(async () => {
    stack = await getTestStack({ label: 'dlqlist' });
    dlqs = createDeadLetterQueues({ env: stack.env, aws: stack.clients });
  });

  afterAll(async () => {
    dlqs?.close();
    await stack?.stop();
  });

  it('finds each reason: attributes, the ledger note of a bare copy, none for a message SQS moved', async () => {
    // Prepare: an attributed copy, a bare copy with its note, a bare message without one, an undecodable body
    const at = '2026-11-28T10:00:00.000Z';
    const attributed = await toTaskDlq('{"UUID":"task_a","Name":"add"}', 'g-a', 'orig-a', {
      'machinery.reason': str('unregistered'),
      'machinery.detail': str('task "add" is not registered'),
      'machinery.task-uuid': str('task_a'),
      'machinery.dead-lettered-at': str(at),
    });
    const bareBody = '{"UUID":"task_b","Name":"big"}';
    const ledger = new DynamoDbFailureLedger({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    const now = Date.parse(at);
    await ledger.putDeadLetterNote({
      deduplicationId: 'orig-b',
      messageId: 'orig-b',
      reason: 'message-rejected',
      detail: 'too large for its attributes',
      taskUuid: 'task_b',
      sourceQueue: stack.queueArns.tasks,
      deadLetteredAt: now,
      bodyMd5: createHash('md5').update(bareBody).digest('hex'),
      bodyBytes: Buffer.byteLength(bareBody),
      expiresAt: Date.now() + DEAD_LETTER_NOTE_LIFETIME_MS,
    });
    const bare = await toTaskDlq(bareBody, 'g-b', 'orig-b');
    const moved = await toTaskDlq('{"UUID":"task_c","Name":"crashy"}', 'g-c', 'orig-c');
    const undecodable = await toTaskDlq('not json {', 'g-d', 'orig-d', {
      'machinery.reason': str('undecodable'),
      'machinery.detail': str('not JSON'),
    });

    // Act
    const first = await dlqs.list({ queue: 'task' });
    const second = await dlqs.list({ queue: 'task' });

    // Assess
    const byId = new Map(first.map((e) => [e.messageId, e]));
    expect(first).toHaveLength(4);
    expect(byId.get(attributed)).toEqual({
      messageId: attributed,
      taskUUID: 'task_a',
      name: 'add',
      reason: 'unregistered',
      detail: 'task "add" is not registered',
      receiveCount: 1,
      deadLetteredAt: at,
      messageGroupId: 'g-a',
      movedBySqs: false,
    });
    expect(byId.get(bare)).toMatchObject({
      taskUUID: 'task_b',
      reason: 'message-rejected',
      detail: 'too large for its attributes',
      deadLetteredAt: at,
      movedBySqs: false,
    });
    expect(byId.get(moved)).toMatchObject({
      taskUUID: 'task_c',
      reason: null,
      detail: null,
      deadLetteredAt: null,
      movedBySqs: true,
    });
    expect(byId.get(undecodable)).toMatchObject({
      taskUUID: null,
      name: null,
      reason: 'undecodable',
    });
    expect(second.map((e) => e.receiveCount)).toEqual([2, 2, 2, 2]);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(4);
  });

  it('redrives only the selected tasks by the loop, each copy deduplicated by its DLQ message id', async () => {
    // Prepare: the DLQ holds the four messages of the test before; redrive two of them
    const entries = await dlqs.list({ queue: 'task' });
    const a = entries.find((e) => e.taskUUID === 'task_a');

    // Act
    const result = await dlqs.redrive({ queue: 'task', uuids: ['task_a', 'task_b', 'task_zz'] });

    // Assess: two moved, the unknown one reported; the copies carry group, dedup id and marker
    expect(result).toEqual({
      method: 'loop',
      queue: 'task',
      moved: 2,
      notFound: ['task_zz'],
      fallback: null,
    });
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(2);
    const copies = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasks, { count: 2 });
    const copyOfA = copies.find((m) => m.Body?.includes('task_a'));
    expect(copies).toHaveLength(2);
    expect(copyOfA?.Attributes?.MessageGroupId).toBe('g-a');
    expect(copyOfA?.Attributes?.MessageDeduplicationId).toBe(a?.messageId);
    expect(copyOfA?.MessageAttributes?.[REDRIVEN_FROM_ATTRIBUTE]?.StringValue).toBe(a?.messageId);
    expect(copyOfA?.MessageAttributes?.['machinery.reason']).toBeUndefined();
  });

  it("lists a Scheduler DLQ message with the Scheduler's error and redrives it to the delay queue", async () => {
    // Prepare
    const sent = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.schedulerDlq,
        MessageBody: '{"machinery.ref":"task_s"}',
        MessageAttributes: {
          ERROR_CODE: str('AccessDenied'),
          ERROR_MESSAGE: str('not allowed to send to the delay queue'),
        },
      }),
    );

    // Act
    const listed = await dlqs.list({ queue: 'scheduler' });
    const result = await dlqs.redrive({ queue: 'scheduler' });

    // Assess
    expect(listed).toEqual([
      expect.objectContaining({
        messageId: sent.MessageId,
        taskUUID: 'task_s',
        reason: 'AccessDenied',
        detail: 'not allowed to send to the delay queue',
        movedBySqs: false,
        messageGroupId: null,
      }),
    ]);
    expect(result).toMatchObject({ method: 'loop', queue: 'scheduler', moved: 1 });
    const [copy] = await receiveMessages(stack.clients.sqs, stack.queueUrls.delay, { count: 1 });
    expect(copy?.Body).toBe('{"machinery.ref":"task_s"}');
    expect(copy?.MessageAttributes?.[REDRIVEN_FROM_ATTRIBUTE]?.StringValue).toBe(sent.MessageId);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.schedulerDlq)).toBe(0);
  });

  it('redrives the high-priority DLQ into the high-priority task queue', async () => {
    // Prepare
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.highTasksDlq,
        MessageBody: '{"UUID":"task_h","Name":"urgent"}',
        MessageGroupId: 'g-h',
        MessageDeduplicationId: 'orig-h',
      }),
    );

    // Act
    const listed = await dlqs.list({ queue: 'high' });
    const result = await dlqs.redrive({ queue: 'high', method: 'loop' });

    // Assess
    expect(listed.map((e) => e.taskUUID)).toEqual(['task_h']);
    expect(result).toMatchObject({ method: 'loop', queue: 'high', moved: 1 });
    const [copy] = await receiveMessages(stack.clients.sqs, stack.queueUrls.highTasks, {
      count: 1,
    });
    expect(copy?.Attributes?.MessageGroupId).toBe('g-h');
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.highTasksDlq)).toBe(0);
  });

  it('shows a delay reference with the signature kept in its task item, and the task state', async () => {
    // Prepare: a far-ETA task whose body is kept in its PENDING item; its reference in the Scheduler DLQ
    const signature = newSignature('add', [
      { Type: 'int64', Value: 1 },
      { Type: 'int64', Value: 2 },
    ]);
    const backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    const now = Date.now();
    await backend.putPending(signature, {
      now,
      expiresAt: now + 86_400_000,
      body: encodeSignature(signature),
    });
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.schedulerDlq,
        MessageBody: encodeReference(signature.UUID),
        MessageAttributes: { ERROR_CODE: str('Throttled') },
      }),
    );

    // Act
    const found = await dlqs.show(signature.UUID);

    // Assess
    expect(found?.queue).toBe('scheduler');
    expect(found?.entry).toMatchObject({ taskUUID: signature.UUID, reason: 'Throttled' });
    expect(found?.signature).toMatchObject({ UUID: signature.UUID, Name: 'add' });
    expect(found?.task).toMatchObject({ state: 'PENDING', attempt: 0 });
    expect(await dlqs.show('task_not_there')).toBeUndefined();
  });
});
