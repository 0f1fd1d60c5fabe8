import {
  ChangeMessageVisibilityBatchCommand,
  type ChangeMessageVisibilityBatchCommandInput,
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery, ProcessOutcome, ResultBackend } from '../../../src/core/ports.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import { encodeSignature, newSignature } from '../../../src/core/signature.js';
import { createWorker } from '../../../src/handlers/worker.js';

const ACCOUNT = '000000000000';
const TASKS = `http://sqs.local/${ACCOUNT}/tasks.fifo`;
const DLQ = `http://sqs.local/${ACCOUNT}/tasks-dlq.fifo`;
const DELAY = `http://sqs.local/${ACCOUNT}/delay`;
const TASKS_ARN = `arn:aws:sqs:us-east-1:${ACCOUNT}:tasks.fifo`;

/** A backend nobody should call: the processor here is a stub. */
const unusedBackend = new Proxy({} as ResultBackend, {
  get: () => () => Promise.reject(new Error('backend not expected in this test')),
});

function record(
  id: string,
  group: string,
  body = `{"UUID":"task_${id}","Name":"t-${id}"}`,
  extra: Partial<SQSRecord['attributes']> = {},
): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: group,
      MessageDeduplicationId: id,
      ...extra,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: TASKS_ARN,
    awsRegion: 'us-east-1',
  };
}

function context(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:worker`,
    memoryLimitInMB: '1024',
    awsRequestId: 'req-1',
    logGroupName: 'g',
    logStreamName: 's',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A processor answering from a table keyed by message id, recording the order of calls. */
function stubProcessor(outcomes: Record<string, ProcessOutcome>) {
  const calls: { messageId: string; delivery: Delivery }[] = [];
  return {
    calls,
    processBody: async (_body: string, delivery: Delivery): Promise<ProcessOutcome> => {
      calls.push({ messageId: delivery.messageId, delivery });
      const o = outcomes[delivery.messageId];
      if (!o) throw new Error(`no outcome for ${delivery.messageId}`);
      return o;
    },
  };
}

const silentLogger = {
  createChild() {
    return this;
  },
  addContext() {},
  info() {},
  warn() {},
  error() {},
  debug() {},
};

function worker(processor: ReturnType<typeof stubProcessor>, extra: Record<string, unknown> = {}) {
  return createWorker({
    processor,
    backend: unusedBackend,
    config: { taskQueueUrl: TASKS, dlqUrl: DLQ, delayQueueUrl: DELAY, taskStatesTable: 'unused' },
    env: {},
    aws: { region: 'us-east-1' },
    // biome-ignore lint/suspicious/noExplicitAny: a minimal logger stub
    logger: silentLogger as any,
    ...extra,
  });
}

describe('Function: createWorker', () => {
  const sqsMock = mockClient(SQSClient);
  beforeEach(() => {
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: (input.Entries ?? []).map((e) => ({
        Id: e.Id,
        MessageId: 'm',
        MD5OfMessageBody: '',
      })),
    }));
  });
  afterEach(() => sqsMock.reset());

  it('skips the rest of a failed group in a batch, keeps other groups going, and releases the skipped records', async () => {
    // Prepare: synthetic event (fauxqs never puts two records of one group in a batch)
    const event: SQSEvent = {
      Records: [
        record('a1', 'A'),
        record('b1', 'B'),
        record('a2', 'A'),
        record('c1', 'C'),
        record('b2', 'B'),
        record('a3', 'A'),
      ],
    };
    const p = stubProcessor({
      a1: { kind: 'done', uuid: 'task_a1', state: 'SUCCESS' },
      b1: { kind: 'retry', uuid: 'task_b1', delayMs: 4_500, attempt: 1, error: 'boom' },
      a2: { kind: 'transient', uuid: 'task_a2', error: new Error('throttled') },
      c1: { kind: 'done', uuid: 'task_c1', state: 'FAILURE' },
      b2: { kind: 'done', uuid: 'task_b2', state: 'SUCCESS' },
      a3: { kind: 'done', uuid: 'task_a3', state: 'SUCCESS' },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(p.calls.map((c) => c.messageId)).toEqual(['a1', 'b1', 'a2', 'c1']);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'a2',
      'a3',
      'b1',
      'b2',
    ]);
    const single = sqsMock
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((c) => c.args[0].input as ChangeMessageVisibilityCommandInput);
    expect(single).toEqual(
      expect.arrayContaining([
        { QueueUrl: TASKS, ReceiptHandle: 'rh-b1', VisibilityTimeout: 5 },
        { QueueUrl: TASKS, ReceiptHandle: 'rh-a2', VisibilityTimeout: 1 },
      ]),
    );
    expect(single).toHaveLength(2);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => (c.args[0].input as ChangeMessageVisibilityBatchCommandInput).Entries ?? []);
    expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout]).sort()).toEqual([
      ['rh-a3', 0],
      ['rh-b2', 0],
    ]);
  });

  it('gives the processor the delivery facts of the record', async () => {
    // Prepare
    const first = Date.now() - 5_000;
    const event: SQSEvent = {
      Records: [
        record('a1', 'A', undefined, {
          ApproximateReceiveCount: '3',
          ApproximateFirstReceiveTimestamp: String(first),
        }),
      ],
    };
    const p = stubProcessor({ a1: { kind: 'done', uuid: 'task_a1', state: 'SUCCESS' } });

    // Act
    await worker(p, { abortMarginMs: 1_000 })(event, context(30_000));

    // Assess
    const d = p.calls[0]?.delivery as Delivery;
    expect(d).toMatchObject({ messageId: 'a1', receiveCount: 3, firstReceivedAt: first });
    expect(d.remainingTimeMs()).toBeGreaterThan(20_000);
    expect(d.remainingTimeMs()).toBeLessThanOrEqual(29_000);
    expect(d.signal.aborted).toBe(false);
  });

  it('aborts the signal shortly before the invocation runs out of time', async () => {
    // Prepare
    let aborted = false;
    const event: SQSEvent = { Records: [record('a1', 'A')] };
    const p = {
      processBody: async (_b: string, d: Delivery): Promise<ProcessOutcome> => {
        await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve()));
        aborted = d.signal.aborted;
        return { kind: 'retry', uuid: 'task_a1', delayMs: 0, attempt: 1, error: 'timed out' };
      },
    };

    // Act
    const res = await worker(p as ReturnType<typeof stubProcessor>, {
      abortMarginMs: 200,
      safetyMarginMs: 0,
    })(event, context(400));

    // Assess
    expect(aborted).toBe(true);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
  });

  it('claims no record when less than the safety margin is left, and releases them', async () => {
    // Prepare
    const event: SQSEvent = { Records: [record('a1', 'A'), record('b1', 'B')] };
    const p = stubProcessor({});

    // Act
    const res = await worker(p, { safetyMarginMs: 10_000 })(event, context(5_000));

    // Assess
    expect(p.calls).toHaveLength(0);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1', 'b1']);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => (c.args[0].input as ChangeMessageVisibilityBatchCommandInput).Entries ?? []);
    expect(released).toHaveLength(2);
  });

  it('dead-letters with the reason attributes, the record group and its message id as deduplication id, then acknowledges', async () => {
    // Prepare
    const event: SQSEvent = { Records: [record('a1', 'orders', 'not json at all')] };
    const p = stubProcessor({
      a1: { kind: 'dead-letter', reason: 'undecodable', detail: `bad\u0000${'x'.repeat(5_000)}` },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0]
      .input as SendMessageCommandInput;
    expect(sent).toMatchObject({
      QueueUrl: DLQ,
      MessageBody: 'not json at all',
      MessageGroupId: 'orders',
      MessageDeduplicationId: 'a1',
    });
    const attrs = sent.MessageAttributes ?? {};
    expect(attrs['machinery.reason']?.StringValue).toBe('undecodable');
    expect(attrs['machinery.source-queue']?.StringValue).toBe(TASKS_ARN);
    expect(attrs['machinery.detail']?.StringValue?.startsWith('bad?x')).toBe(true);
    expect(attrs['machinery.detail']?.StringValue?.length).toBeLessThanOrEqual(2_000);
    expect(Date.parse(attrs['machinery.dead-lettered-at']?.StringValue ?? '')).not.toBeNaN();
    expect(attrs['machinery.task-uuid']).toBeUndefined();
  });

  it('reports a failure, never an acknowledgement, when the DLQ send fails', async () => {
    // Prepare
    sqsMock
      .on(SendMessageCommand)
      .rejects(
        Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: {} }),
      );
    const event: SQSEvent = { Records: [record('a1', 'A')] };
    const p = stubProcessor({
      a1: {
        kind: 'dead-letter',
        uuid: 'task_a1',
        reason: 'unregistered',
        detail: 'not registered',
      },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
  });

  it('sends a task that is not due through the delay queue with its ETA, then acknowledges', async () => {
    // Prepare
    const sig = newSignature('add', [{ Type: 'int64', Value: 1 }]);
    const eta = Date.now() + 120_000;
    const event: SQSEvent = { Records: [record('a1', sig.UUID, encodeSignature(sig))] };
    const p = stubProcessor({
      a1: { kind: 'not-due', uuid: sig.UUID, eta, signature: sig },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const input = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0]
      .input as SendMessageBatchCommandInput;
    expect(input.QueueUrl).toBe(DELAY);
    expect(input.Entries?.[0]?.DelaySeconds).toBeGreaterThanOrEqual(119);
    expect(input.Entries?.[0]?.DelaySeconds).toBeLessThanOrEqual(DEFAULTS.maxDelaySeconds);
    expect(Date.parse(JSON.parse(input.Entries?.[0]?.MessageBody ?? '{}').ETA)).toBe(eta);
  });

  it('re-sends a retry through the delay path and acknowledges when it would pass the 12 h visibility cap', async () => {
    // Prepare
    const sig = newSignature('add', []);
    const first = Date.now() - (DEFAULTS.maxVisibilitySeconds - 60) * 1000;
    const event: SQSEvent = {
      Records: [
        record('a1', sig.UUID, encodeSignature(sig), {
          ApproximateFirstReceiveTimestamp: String(first),
        }),
      ],
    };
    const p = stubProcessor({
      a1: { kind: 'retry', uuid: sig.UUID, delayMs: 120_000, attempt: 4, error: 'boom' },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    const input = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0]
      .input as SendMessageBatchCommandInput;
    expect(input.QueueUrl).toBe(DELAY);
    expect(JSON.parse(input.Entries?.[0]?.MessageBody ?? '{}').UUID).toBe(sig.UUID);
  });

  it('keeps a busy record in flight until the other lease ends', async () => {
    // Prepare
    const event: SQSEvent = { Records: [record('a1', 'A')] };
    const p = stubProcessor({
      a1: { kind: 'busy', uuid: 'task_a1', leaseUntil: Date.now() + 30_000 },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
    const v = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0]
      .input as ChangeMessageVisibilityCommandInput;
    expect(v.VisibilityTimeout).toBeGreaterThanOrEqual(29);
    expect(v.VisibilityTimeout).toBeLessThanOrEqual(30);
  });

  it('acknowledges duplicates, ignored and revoked tasks', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [record('a1', 'A'), record('b1', 'B'), record('c1', 'C')],
    };
    const p = stubProcessor({
      a1: { kind: 'duplicate', uuid: 'task_a1', state: 'SUCCESS' },
      b1: { kind: 'ignored', uuid: 'task_b1', reason: 'unregistered' },
      c1: { kind: 'revoked', uuid: 'task_c1' },
    });

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('turns a processor that throws into a failure with a back-off', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [record('a1', 'A', undefined, { ApproximateReceiveCount: '4' })],
    };
    const p = stubProcessor({});

    // Act
    const res = await worker(p)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
    const v = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0]
      .input as ChangeMessageVisibilityCommandInput;
    expect(v.VisibilityTimeout).toBe(8);
  });
});
