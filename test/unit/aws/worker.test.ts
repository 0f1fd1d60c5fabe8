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
import { ConfigError } from '../../../src/aws/errors.js';
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

/**
 * A meeting point of `n` parties: `arrive()` resolves with true once all `n` have arrived. It
 * gives up after `guardMs` with false, so work that does not overlap fails the test instead of
 * hanging it (a deadlock guard, not a timing assertion).
 */
function barrier(n: number, guardMs = 2_000) {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    async arrive(): Promise<boolean> {
      arrived += 1;
      if (arrived >= n) open();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const guard = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), guardMs);
      });
      const met = await Promise.race([opened.then(() => true), guard]);
      clearTimeout(timer);
      return met;
    },
  };
}

/** Lets other promises and I/O callbacks run. */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

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

    // Assess: groups run concurrently, so only the order within a group is fixed
    const called = p.calls.map((c) => c.messageId);
    expect(called.filter((id) => id.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(called.filter((id) => !id.startsWith('a')).sort()).toEqual(['b1', 'c1']);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['b1', 'a2', 'b2', 'a3']);
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

  it('runs the message groups of a batch concurrently', async () => {
    // Prepare: each task waits until the other has started
    const event: SQSEvent = { Records: [record('a1', 'A'), record('b1', 'B')] };
    const meet = barrier(2);
    const met: Record<string, boolean> = {};
    const p = {
      processBody: async (_b: string, d: Delivery): Promise<ProcessOutcome> => {
        met[d.messageId] = await meet.arrive();
        return { kind: 'done', uuid: `task_${d.messageId}`, state: 'SUCCESS' };
      },
    };

    // Act
    const res = await worker(p as ReturnType<typeof stubProcessor>)(event, context());

    // Assess
    expect(met).toEqual({ a1: true, b1: true });
    expect(res.batchItemFailures).toEqual([]);
  });

  it('keeps the order and the skip after a failure within a group while other groups run concurrently', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [
        record('a1', 'A'),
        record('b1', 'B'),
        record('a2', 'A'),
        record('b2', 'B'),
        record('a3', 'A'),
        record('b3', 'B'),
      ],
    };
    const meet = barrier(2);
    const met: Record<string, boolean> = {};
    const events: string[] = [];
    const p = {
      processBody: async (_b: string, d: Delivery): Promise<ProcessOutcome> => {
        const id = d.messageId;
        events.push(`start ${id}`);
        if (id === 'a1' || id === 'b1') met[id] = await meet.arrive();
        else await yieldToOthers();
        events.push(`end ${id}`);
        if (id === 'a2') {
          return { kind: 'retry', uuid: 'task_a2', delayMs: 3_000, attempt: 1, error: 'boom' };
        }
        return { kind: 'done', uuid: `task_${id}`, state: 'SUCCESS' };
      },
    };

    // Act
    const res = await worker(p as ReturnType<typeof stubProcessor>)(event, context());

    // Assess: the groups overlapped, yet each ran in order and A stopped at its failure
    expect(met).toEqual({ a1: true, b1: true });
    expect(events.filter((e) => e.endsWith('a1') || e.endsWith('a2') || e.endsWith('a3'))).toEqual([
      'start a1',
      'end a1',
      'start a2',
      'end a2',
    ]);
    expect(events.filter((e) => / b\d$/.test(e))).toEqual([
      'start b1',
      'end b1',
      'start b2',
      'end b2',
      'start b3',
      'end b3',
    ]);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a2' }, { itemIdentifier: 'a3' }]);
    const single = sqsMock
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((c) => c.args[0].input as ChangeMessageVisibilityCommandInput);
    expect(single).toEqual([{ QueueUrl: TASKS, ReceiptHandle: 'rh-a2', VisibilityTimeout: 3 }]);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => (c.args[0].input as ChangeMessageVisibilityBatchCommandInput).Entries ?? []);
    expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([['rh-a3', 0]]);
  });

  it('runs one record at a time in record order with groupConcurrency: 1', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('b2', 'B')],
    };
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const p = {
      processBody: async (_b: string, d: Delivery): Promise<ProcessOutcome> => {
        calls.push(d.messageId);
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await yieldToOthers();
        await yieldToOthers();
        inFlight -= 1;
        if (d.messageId === 'b1') {
          return { kind: 'retry', uuid: 'task_b1', delayMs: 1_000, attempt: 1, error: 'boom' };
        }
        return { kind: 'done', uuid: `task_${d.messageId}`, state: 'SUCCESS' };
      },
    };

    // Act
    const res = await worker(p as ReturnType<typeof stubProcessor>, { groupConcurrency: 1 })(
      event,
      context(),
    );

    // Assess
    expect(maxInFlight).toBe(1);
    expect(calls).toEqual(['a1', 'b1', 'a2']);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'b1' }, { itemIdentifier: 'b2' }]);
  });

  it('refuses a groupConcurrency that is not an integer >= 1', () => {
    // Prepare
    const p = stubProcessor({});

    // Act
    const make = (groupConcurrency: number) => () => worker(p, { groupConcurrency });

    // Assess
    expect(make(0)).toThrow(ConfigError);
    expect(make(1.5)).toThrow(/groupConcurrency must be an integer >= 1/);
    expect(make(Number.NaN)).toThrow(ConfigError);
  });
});
