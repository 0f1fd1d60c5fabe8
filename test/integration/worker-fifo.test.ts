import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { encodeSignature } from '../../src/core/signature.js';
import type { Signature } from '../../src/core/types.js';
import { createWorker, type WorkerHandler } from '../../src/handlers/worker.js';
import { countRequests, quietLogger } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

/**
 * FIFO partial-batch behaviour with several records of one message group in one batch. fauxqs (like
 * SQS with the local runner) never hands out two in-flight messages of one group, so these batches
 * are synthetic `SQSEvent`s; the worker, the processor and DynamoDB are real, and the visibility
 * calls go to fauxqs, which answers `MessageNotInflight` for the synthetic receipt handles (the worker
 * logs it as a warning; the batch response is what these tests assert).
 */
describe('Function: createWorker (FIFO partial batch failures)', () => {
  let stack: TestStack;
  let handler: WorkerHandler;
  let backend: DynamoDbResultBackend;
  let sqsCounts: Map<string, number>;
  const runs: string[] = [];

  const registry = createRegistry([
    defineTask({
      name: 'record',
      args: ['string'],
      run: (_ctx, label) => {
        runs.push(label);
        return label;
      },
    }),
    defineTask({
      name: 'flaky',
      args: ['string'],
      run: (ctx, label) => {
        runs.push(`${label}#${ctx.attempt}`);
        if (ctx.attempt === 1) throw new Error('first attempt fails');
        return label;
      },
    }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({ label: 'fifo' });
    sqsCounts = countRequests(stack.clients.sqs);
    handler = createWorker({
      registry,
      env: stack.env,
      aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
      logger: quietLogger('SILENT'),
    });
    backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
  });
  afterAll(() => stack?.stop());

  function record(id: string, sig: Signature, receiveCount = 1): SQSRecord {
    return {
      messageId: id,
      receiptHandle: `synthetic-${id}-${receiveCount}`,
      body: encodeSignature(sig),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: sig.BrokerMessageGroupId,
        MessageDeduplicationId: id,
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: stack.queueArns.tasks,
      awsRegion: stack.region,
    };
  }

  function context(): Context {
    const deadline = Date.now() + 60_000;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'worker',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:worker',
      memoryLimitInMB: '1024',
      awsRequestId: 'synthetic',
      logGroupName: 'g',
      logStreamName: 's',
      getRemainingTimeInMillis: () => deadline - Date.now(),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  it('fails the rest of a group after a failure, keeps other groups going, and the retry keeps its place', async () => {
    // Prepare
    const sig = (name: 'record' | 'flaky', label: string, group: string) =>
      registry.signatureWith(name, [label] as [string], {
        BrokerMessageGroupId: group,
        RetryCount: 2,
      });
    const a1 = sig('record', 'a1', 'A');
    const b1 = sig('record', 'b1', 'B');
    const a2 = sig('flaky', 'a2', 'A');
    const c1 = sig('record', 'c1', 'C');
    const a3 = sig('record', 'a3', 'A');
    const b2 = sig('record', 'b2', 'B');
    const now = Date.now();
    for (const s of [a1, b1, a2, c1, a3, b2]) {
      await backend.putPending(s, { now, expiresAt: now + 3_600_000 });
    }
    const first: SQSEvent = {
      Records: [
        record('m-a1', a1),
        record('m-b1', b1),
        record('m-a2', a2),
        record('m-c1', c1),
        record('m-a3', a3),
        record('m-b2', b2),
      ],
    };
    const visibilityBefore = sqsCounts.get('ChangeMessageVisibilityCommand') ?? 0;
    const releaseBefore = sqsCounts.get('ChangeMessageVisibilityBatchCommand') ?? 0;

    // Act
    const res1 = await handler(first, context());

    // Assess: group A stops at its failed record; B and C go on (groups run concurrently, so
    // only the order within a group is fixed)
    const ofGroup = (g: string) => runs.filter((r) => r.startsWith(g));
    expect(ofGroup('a')).toEqual(['a1', 'a2#1']);
    expect(ofGroup('b')).toEqual(['b1', 'b2']);
    expect(ofGroup('c')).toEqual(['c1']);
    expect(runs).toHaveLength(5);
    expect(res1.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m-a2', 'm-a3']);
    const states = async (...s: Signature[]) =>
      Promise.all(s.map(async (x) => (await backend.get(x.UUID, { now: Date.now() }))?.state));
    expect(await states(a1, b1, c1, b2)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(await states(a2, a3)).toEqual(['RETRY', 'PENDING']);
    // a2 waits in flight for its back-off; a3, skipped, is released at once
    expect((sqsCounts.get('ChangeMessageVisibilityCommand') ?? 0) - visibilityBefore).toBe(1);
    expect((sqsCounts.get('ChangeMessageVisibilityBatchCommand') ?? 0) - releaseBefore).toBe(1);

    // Act: SQS redelivers group A from its head once a2's back-off is over
    const second: SQSEvent = { Records: [record('m-a2', a2, 2), record('m-a3', a3, 2)] };
    const res2 = await handler(second, context());

    // Assess: the retry ran before the later message of its group
    expect(res2.batchItemFailures).toEqual([]);
    expect(runs.slice(5)).toEqual(['a2#2', 'a3']);
    expect(await states(a2, a3)).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('acknowledges a duplicate of a finished task in the same batch without running it again', async () => {
    // Prepare
    const s = registry.signatureWith('record', ['dup'], { BrokerMessageGroupId: 'D' });
    const event: SQSEvent = { Records: [record('m-d1', s), record('m-d2', s)] };
    const before = runs.length;

    // Act
    const res = await handler(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(runs.slice(before)).toEqual(['dup']);
  });
});
