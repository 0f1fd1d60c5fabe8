import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/core/clock.js';
import { EventSourceRunner, type InvocationResult } from '../../src/local/runner.js';
import { inputsOf, queueDepth, recordCommands } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs`. */
async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

async function sendFifo(stack: TestStack, items: { body: string; group: string }[]): Promise<void> {
  for (let i = 0; i < items.length; i += 10) {
    const chunk = items.slice(i, i + 10);
    const out = await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queueUrls.tasks,
        Entries: chunk.map((item, n) => ({
          Id: String(n),
          MessageBody: item.body,
          MessageGroupId: item.group,
          MessageDeduplicationId: `${item.group}-${item.body}`,
        })),
      }),
    );
    expect(out.Failed ?? []).toEqual([]);
  }
}

function runnerFor(
  stack: TestStack,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>,
  options: Partial<ConstructorParameters<typeof EventSourceRunner>[0]> = {},
): EventSourceRunner {
  return new EventSourceRunner({
    sqs: stack.clients.sqs,
    queueUrl: stack.queueUrls.tasks,
    queueArn: stack.queueArns.tasks,
    handler,
    onError: () => {},
    ...options,
  });
}

describe('Class: EventSourceRunner', () => {
  // One stack per test keeps queues apart; a 1 s visibility timeout makes failures reappear fast.
  const stacks: TestStack[] = [];
  const fresh = async (maxReceiveCount = 10) => {
    const stack = await getTestStack({
      label: 'run',
      queueOverrides: { tasks: { visibilityTimeoutSeconds: 1, maxReceiveCount } },
    });
    stacks.push(stack);
    return stack;
  };
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
  });

  it('builds Lambda SQSEvent records with attributes and message attributes', async () => {
    // Prepare
    const stack = await fresh();
    const body = '{"hello":"world"}';
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MessageBody: body,
        MessageGroupId: 'g1',
        MessageDeduplicationId: 'd1',
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: 'because' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    const seen: SQSRecord[] = [];
    const runner = runnerFor(stack, async (event) => {
      seen.push(...event.Records);
      return undefined;
    });

    // Act
    runner.start();
    await eventually(() => seen.length === 1);
    await runner.stop();

    // Assess
    const record = seen[0] as SQSRecord;
    expect(record).toMatchObject({
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: stack.queueArns.tasks,
      awsRegion: 'us-east-1',
    });
    expect(record.messageId).toMatch(/.+/);
    expect(record.receiptHandle).toMatch(/.+/);
    expect(record.attributes).toMatchObject({
      ApproximateReceiveCount: '1',
      MessageGroupId: 'g1',
      MessageDeduplicationId: 'd1',
      SenderId: expect.any(String),
      SentTimestamp: expect.stringMatching(/^\d+$/),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      SequenceNumber: expect.stringMatching(/^\d+$/),
    });
    expect(record.messageAttributes).toEqual({
      reason: {
        stringValue: 'because',
        stringListValues: [],
        binaryListValues: [],
        dataType: 'String',
      },
      blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)).toBe(0);
  });

  it('retries exactly the batchItemFailures and deletes the rest', async () => {
    // Prepare
    const stack = await fresh();
    const bodies = ['m0', 'm1', 'm2', 'm3', 'm4'];
    await sendFifo(
      stack,
      bodies.map((body) => ({ body, group: `g-${body}` })),
    );
    const deliveries = new Map<string, string[]>();
    const failOnce = new Set(['m1', 'm3']);
    const runner = runnerFor(stack, async (event) => {
      const batchItemFailures: { itemIdentifier: string }[] = [];
      for (const r of event.Records) {
        deliveries.set(r.body, [
          ...(deliveries.get(r.body) ?? []),
          r.attributes.ApproximateReceiveCount,
        ]);
        if (failOnce.delete(r.body)) batchItemFailures.push({ itemIdentifier: r.messageId });
      }
      return { batchItemFailures };
    });

    // Act
    runner.start();
    await eventually(
      async () => (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0,
    );
    await sleep(1_500); // longer than the visibility timeout: anything not deleted would come back
    await runner.stop();

    // Assess
    expect(Object.fromEntries(deliveries)).toEqual({
      m0: ['1'],
      m1: ['1', '2'],
      m2: ['1'],
      m3: ['1', '2'],
      m4: ['1'],
    });
    expect(runner.stats.failedRecords).toBe(2);
  });

  it('leaves the whole batch for redelivery when the handler throws', async () => {
    // Prepare
    const stack = await fresh();
    await sendFifo(stack, [
      { body: 'a', group: 'ga' },
      { body: 'b', group: 'gb' },
    ]);
    const counts = new Map<string, number>();
    let thrown = false;
    const results: InvocationResult[] = [];
    const runner = runnerFor(
      stack,
      async (event) => {
        for (const r of event.Records) counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
        if (!thrown && event.Records.length === 2) {
          thrown = true;
          throw new Error('boom');
        }
        return undefined;
      },
      { onInvocationEnd: (r) => results.push(r) },
    );

    // Act
    runner.start();
    await eventually(
      async () => thrown && (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0,
    );
    await runner.stop();

    // Assess
    expect(thrown).toBe(true);
    expect(counts.get('a')).toBe(2);
    expect(counts.get('b')).toBe(2);
    expect(results.some((r) => r.outcome === 'error' && r.failedMessageIds.length === 2)).toBe(
      true,
    );
  });

  it('treats an invocation past its timeout as failed and gives the context the time left', async () => {
    // Prepare
    const stack = await fresh();
    await sendFifo(stack, [{ body: 'slow', group: 'g' }]);
    const remaining: number[] = [];
    const results: InvocationResult[] = [];
    let calls = 0;
    const runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      timeoutMs: 300,
      onError: () => {},
      onInvocationEnd: (r) => results.push(r),
      handler: async (_event, context) => {
        calls++;
        remaining.push(context.getRemainingTimeInMillis());
        if (calls === 1) await sleep(800);
      },
    });

    // Act
    runner.start();
    await eventually(
      async () => calls >= 2 && (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0,
    );
    await runner.stop();

    // Assess
    expect(results[0]?.outcome).toBe('timeout');
    expect(results.at(-1)?.outcome).toBe('success');
    expect(runner.stats.timeouts).toBe(1);
    for (const ms of remaining) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(300);
    }
  });

  it('times an invocation out when an injected clock is advanced past the timeout', async () => {
    // Prepare
    const stack = await fresh();
    await sendFifo(stack, [{ body: 'x', group: 'g' }]);
    const clock = new AdjustableClock();
    const results: InvocationResult[] = [];
    let started = false;
    let release: () => void = () => {};
    const runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      timeoutMs: 60_000,
      clock,
      onError: () => {},
      onInvocationEnd: (r) => results.push(r),
      handler: async () => {
        if (started) return; // the redelivery succeeds at once
        started = true;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    runner.start();
    await eventually(() => started);

    // Act
    clock.advance(60_000);
    await eventually(() => results.length === 1);
    release();
    await runner.stop();

    // Assess
    expect(results[0]?.outcome).toBe('timeout');
  });

  it('moves a message that always fails to the DLQ after maxReceiveCount receives', async () => {
    // Prepare
    const stack = await fresh(2);
    await sendFifo(stack, [{ body: 'poison', group: 'gp' }]);
    const receiveCounts: string[] = [];
    const runner = runnerFor(stack, async (event) => ({
      batchItemFailures: event.Records.map((r) => {
        receiveCounts.push(r.attributes.ApproximateReceiveCount);
        return { itemIdentifier: r.messageId };
      }),
    }));

    // Act
    runner.start();
    let dead: string | undefined;
    await eventually(async () => {
      const out = await stack.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queueUrls.tasksDlq, WaitTimeSeconds: 0 }),
      );
      dead = out.Messages?.[0]?.Body;
      return dead !== undefined;
    });
    await runner.stop();

    // Assess
    expect(dead).toBe('poison');
    expect(receiveCounts).toEqual(['1', '2']);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)).toBe(0);
  });

  it('keeps order within a message group, across a retried failure', async () => {
    // Prepare
    const stack = await fresh();
    const bodies = Array.from({ length: 12 }, (_, i) => `n${i}`);
    await sendFifo(
      stack,
      bodies.map((body) => ({ body, group: 'ordered' })),
    );
    const succeeded: string[] = [];
    let failedOnce = false;
    const runner = runnerFor(
      stack,
      async (event) => {
        const batchItemFailures: { itemIdentifier: string }[] = [];
        for (const r of event.Records) {
          // After a failure, the rest of the group's records fail too (Powertools' FIFO rule).
          if (batchItemFailures.length > 0 || (r.body === 'n4' && !failedOnce)) {
            failedOnce = true;
            batchItemFailures.push({ itemIdentifier: r.messageId });
          } else {
            succeeded.push(r.body);
          }
        }
        return { batchItemFailures };
      },
      { concurrency: 4 },
    );

    // Act
    runner.start();
    await eventually(() => succeeded.length === bodies.length);
    await runner.stop();

    // Assess
    expect(failedOnce).toBe(true);
    expect(succeeded).toEqual(bodies);
  });

  it('never runs two batches of one message group at once, while running groups in parallel', async () => {
    // Prepare
    const stack = await fresh();
    const groups = ['ga', 'gb', 'gc', 'gd'];
    await sendFifo(
      stack,
      groups.flatMap((group) => [0, 1, 2, 3].map((i) => ({ body: `${group}-${i}`, group }))),
    );
    const inFlight = new Map<string, number>();
    let maxPerGroup = 0;
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const runner = runnerFor(
      stack,
      async (event) => {
        const mine = new Set(event.Records.map((r) => r.attributes.MessageGroupId as string));
        running++;
        maxRunning = Math.max(maxRunning, running);
        for (const g of mine) {
          inFlight.set(g, (inFlight.get(g) ?? 0) + 1);
          maxPerGroup = Math.max(maxPerGroup, inFlight.get(g) ?? 0);
        }
        await sleep(60);
        for (const g of mine) inFlight.set(g, (inFlight.get(g) ?? 1) - 1);
        running--;
        done += event.Records.length;
        return undefined;
      },
      { concurrency: 4, batchSize: 1 },
    );

    // Act
    runner.start();
    await eventually(() => done === 16);
    await runner.stop();

    // Assess
    expect(maxPerGroup).toBe(1);
    expect(maxRunning).toBeGreaterThan(1);
  });

  it('does not invoke a redelivered record while its group is still in flight', async () => {
    // Prepare: the first invocation outlives the 1 s visibility timeout, so SQS redelivers.
    const stack = await fresh();
    await sendFifo(stack, [{ body: 'long', group: 'gl' }]);
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const runner = runnerFor(
      stack,
      async () => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (calls === 1) await sleep(2_500);
        inFlight--;
        return undefined;
      },
      { waitTimeSeconds: 1 },
    );

    // Act
    runner.start();
    await eventually(() => runner.stats.skippedBusyGroup > 0, 10_000);
    await eventually(() => calls >= 1 && inFlight === 0, 10_000);
    await runner.stop();

    // Assess
    expect(maxInFlight).toBe(1);
    expect(runner.stats.skippedBusyGroup).toBeGreaterThan(0);
  });

  it('releases a retried record that reappears while its group is busy, so it runs after its back-off', async () => {
    // Prepare: the queue's own visibility timeout is 360 s; the handler gives its record a 1 s
    // retry back-off (as the worker does) and keeps its group busy for 2.5 s more, so the record
    // reappears and is received while its group is still in flight.
    const stack = await getTestStack({ label: 'rel' });
    stacks.push(stack);
    await sendFifo(stack, [{ body: 'retry-me', group: 'gr' }]);
    const sent = recordCommands(stack.clients.sqs);
    const starts: number[] = [];
    let backoffSetAt = 0;
    const runner = runnerFor(
      stack,
      async (event) => {
        starts.push(Date.now());
        const record = event.Records[0] as SQSRecord;
        if (starts.length > 1) return undefined;
        await stack.clients.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: stack.queueUrls.tasks,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 1,
          }),
        );
        backoffSetAt = Date.now();
        await sleep(2_500);
        return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      },
      { waitTimeSeconds: 1 },
    );

    // Act
    runner.start();
    await eventually(() => starts.length === 2, 20_000);
    await runner.stop();

    // Assess
    const releases = inputsOf<ChangeMessageVisibilityCommandInput>(
      sent,
      'ChangeMessageVisibilityCommand',
    ).filter((input) => input.VisibilityTimeout === 0);
    expect(runner.stats.skippedBusyGroup).toBe(1);
    expect(releases).toHaveLength(1);
    expect(runner.stats.released).toBe(1);
    expect((starts[1] as number) - backoffSetAt).toBeGreaterThanOrEqual(1_000);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)).toBe(0);
  });

  it('releases a skipped record at stop when its group is held by a timed-out invocation', async () => {
    // Prepare: the first invocation gives its record a 1 s retry delay, then hangs past its 2 s
    // timeout; its group stays locked while it hangs, so the reappearing record is skipped and held.
    const stack = await getTestStack({ label: 'relstop' });
    stacks.push(stack);
    await sendFifo(stack, [{ body: 'held', group: 'gh' }]);
    let unblock!: () => void;
    const hung = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    let calls = 0;
    const runner = runnerFor(
      stack,
      async (event) => {
        calls++;
        const record = event.Records[0] as SQSRecord;
        await stack.clients.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: stack.queueUrls.tasks,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 1,
          }),
        );
        await hung;
        return undefined;
      },
      { waitTimeSeconds: 1, timeoutMs: 2_000 },
    );
    runner.start();
    await eventually(() => runner.stats.skippedBusyGroup === 1 && runner.stats.timeouts === 1);

    // Act
    await runner.stop();
    const out = await stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.queueUrls.tasks, WaitTimeSeconds: 0 }),
    );
    unblock();

    // Assess
    expect(calls).toBe(1);
    expect(runner.stats.released).toBe(1);
    expect(out.Messages?.map((m) => m.Body)).toEqual(['held']);
  });
});

describe('Class: EventSourceRunner (configuration)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await getTestStack({ label: 'cfg' });
  });
  afterAll(() => stack.stop());

  it('refuses a batch size above 10', () => {
    // Prepare
    const make = () =>
      new EventSourceRunner({
        sqs: stack.clients.sqs,
        queueUrl: stack.queueUrls.tasks,
        handler: async () => undefined,
        batchSize: 11,
      });

    // Act / Assess
    expect(make).toThrow(RangeError);
  });
});
