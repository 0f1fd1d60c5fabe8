import { Metrics } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../src/aws/errors.js';
import { InfrastructureError } from '../../../src/core/errors.js';
import { MemoryBroker, MemoryScheduler } from '../../../src/core/memory.js';
import type { Delivery, ProcessOutcome, ResultBackend } from '../../../src/core/ports.js';
import { DEFAULTS, METRICS } from '../../../src/core/resources.js';
import { newSignature } from '../../../src/core/signature.js';
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

/**
 * An SQS client that refuses every request before it leaves the process: these unit tests make
 * none (what the worker asks SQS is tested against fauxqs in
 * test/integration/worker-outcomes.test.ts).
 */
function offlineSqs(): SQSClient {
  const sqs = new SQSClient({ region: 'us-east-1' });
  sqs.middlewareStack.add(
    () => async () => {
      throw new Error('a unit test makes no SQS request');
    },
    { step: 'initialize', name: 'offline' },
  );
  return sqs;
}

function worker(
  processor: ReturnType<typeof stubProcessor>,
  extra: Record<string, unknown> = {},
  sqs: SQSClient = offlineSqs(),
) {
  return createWorker({
    processor,
    backend: unusedBackend,
    config: { taskQueueUrl: TASKS, dlqUrl: DLQ, delayQueueUrl: DELAY, taskStatesTable: 'unused' },
    env: {},
    aws: { region: 'us-east-1', sqs },
    // biome-ignore lint/suspicious/noExplicitAny: a minimal logger stub
    logger: silentLogger as any,
    ...extra,
  });
}

describe('Function: createWorker', () => {
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

  it('does not abort a record early when the invocation has more than 2^31 ms left', async () => {
    // Prepare
    const event: SQSEvent = { Records: [record('a1', 'A')] };
    let abortedAfterAWhile: boolean | undefined;
    const p = {
      processBody: async (_b: string, d: Delivery): Promise<ProcessOutcome> => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        abortedAfterAWhile = d.signal.aborted;
        return { kind: 'done', uuid: 'task_a1', state: 'SUCCESS' };
      },
    };

    // Act
    await worker(p as ReturnType<typeof stubProcessor>)(event, context(2 ** 31 + 60_000));

    // Assess
    expect(abortedAfterAWhile).toBe(false);
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

  it('publishes its metrics once per invocation that counted one, and not otherwise', async () => {
    // Prepare
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
    const added = vi.spyOn(metrics, 'addMetric');
    const published = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(function (
      this: Metrics,
    ) {
      this.clearMetrics();
      return this;
    });
    const p = stubProcessor({
      a1: {
        kind: 'transient',
        uuid: 'task_a1',
        error: new InfrastructureError('ACCESS_DENIED', 'access denied'),
      },
      b1: { kind: 'duplicate', uuid: 'task_b1', state: 'SUCCESS' },
    });
    const handler = worker(p, { metrics });

    // Act
    const first = await handler({ Records: [record('a1', 'A')] }, context());
    const second = await handler({ Records: [record('b1', 'B')] }, context());

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(added.mock.calls).toEqual([[METRICS.deploymentErrors, 'Count', 1]]);
    expect(published).toHaveBeenCalledTimes(1);
  });

  it('counts the task totals of finished, retried and dead-lettered records (service dimension alone)', async () => {
    // Prepare
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
    const added = vi.spyOn(metrics, 'addMetric');
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
      this.clearMetrics();
      return this;
    });
    const p = stubProcessor({
      a1: { kind: 'done', uuid: 'task_a1', state: 'SUCCESS' },
      b1: { kind: 'done', uuid: 'task_b1', state: 'FAILURE' },
    });

    // Act
    await worker(p, { metrics })({ Records: [record('a1', 'A'), record('b1', 'B')] }, context());

    // Assess
    expect(added.mock.calls.map((c) => c.join(' ')).sort()).toEqual([
      `${METRICS.tasksFailed} Count 1`,
      `${METRICS.tasksSucceeded} Count 1`,
    ]);
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

  it('re-sends a retry past the 12 h cap through the delay queue when the task still has a one-time schedule', async () => {
    // Prepare: first received almost 12 h ago; the schedule that brought the task is not deleted
    // yet (EventBridge deletes it after completion), so no new schedule can be created
    const first = Date.now() - (DEFAULTS.maxVisibilitySeconds - 60) * 1000;
    const event: SQSEvent = {
      Records: [record('a1', 'A', undefined, { ApproximateFirstReceiveTimestamp: String(first) })],
    };
    const p = stubProcessor({
      a1: { kind: 'retry', uuid: 'task_a1', delayMs: 3_600_000, attempt: 1, error: 'boom' },
    });
    const broker = new MemoryBroker();
    const scheduler = new MemoryScheduler();
    await scheduler.scheduleOnce(newSignature('t-a1', [], { UUID: 'task_a1' }), Date.now());

    // Act
    const res = await worker(p, { broker, scheduler })(event, context());

    // Assess: acknowledged, and on its way through the delay queue (never dropped)
    expect(res.batchItemFailures).toEqual([]);
    expect(broker.delayed.map((d) => [d.signature.UUID, d.delaySeconds])).toEqual([
      ['task_a1', DEFAULTS.maxDelaySeconds],
    ]);
  });
});

/**
 * A fault fauxqs cannot produce, injected with `aws-sdk-client-mock`: fauxqs never throttles, so a
 * DLQ send answered `ThrottlingException` exists only here. (A DLQ send failing because the queue
 * does not exist is tested against fauxqs in test/integration/worker-outcomes.test.ts.)
 */
describe('Function: createWorker (faults the SQS emulator cannot produce)', () => {
  it('reports a failure, never an acknowledgement, when the DLQ send fails', async () => {
    // Prepare. Fault: the DLQ SendMessage answers ThrottlingException (the back-off's
    // ChangeMessageVisibility after it succeeds).
    const sqs = new SQSClient({ region: 'us-east-1' });
    const sqsMock = mockClient(sqs);
    sqsMock
      .on(SendMessageCommand)
      .rejects(
        Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: {} }),
      );
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
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
    const res = await worker(p, {}, sqs)(event, context());

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'a1' }]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
  });
});
