/**
 * What the worker asks SQS for each processor outcome, against fauxqs through the real SDK: the
 * records are real messages received from a FIFO task queue (real receipt handles, receive counts
 * and timestamps), so every visibility change, release, dead-letter and delayed re-send has an
 * observable effect — a retried message is not receivable before its back-off, a released one is
 * receivable at once, an acknowledged one stays in flight (deleting it is the event source
 * mapping's job), the DLQ and the delay queue hold what was sent. SDK middleware on the worker's
 * own SQS client records the exact requests (visibility seconds, batch entries).
 *
 * The processor is a stub answering an outcome per message: these tests are about the worker's
 * mapping of outcomes, not about running tasks (worker-e2e / worker-fifo / worker-poison run real
 * tasks on DynamoDB Local).
 *
 * Several records of one message group in one batch: SQS hands those out, fauxqs never does (it
 * gives at most one message of a group per receive, and none while one is in flight). Such a
 * batch is built from real messages sent in groups of their own, each record's `MessageGroupId`
 * then set to the group under test: the worker groups by that attribute, while the visibility
 * requests still act on the real in-flight messages.
 */

import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type ChangeMessageVisibilityBatchCommandInput,
  type ChangeMessageVisibilityCommandInput,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SendMessageBatchCommandInput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError, MessageRejectedError } from '../../src/core/errors.js';
import { type FailureLedger, MemoryFailureLedger } from '../../src/core/ledger.js';
import { MemoryResultBackend } from '../../src/core/memory.js';
import type { Delivery, ProcessOutcome, ResultBackend } from '../../src/core/ports.js';
import { DEFAULTS, METRICS } from '../../src/core/resources.js';
import { encodeSignature, newSignature } from '../../src/core/signature.js';
import { type BodyProcessor, createWorker, type WorkerOptions } from '../../src/handlers/worker.js';
import { toSqsRecord } from '../../src/local/runner.js';
import {
  inputsOf,
  queueCounts,
  queueDepth,
  quietLogger,
  type RecordedCommand,
  receiveMessages,
  recordCommands,
} from './aws-helpers.js';
import { captureEmf, type EmfCapture } from './support/emf.js';
import { getTestStack, type TestStack } from './support/stack.js';

/** A backend nobody should call: the processor here is a stub. */
const unusedBackend = new Proxy({} as ResultBackend, {
  get: () => () => Promise.reject(new Error('backend not expected in this test')),
});

function context(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:worker',
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

/** One message to put on the task queue: its label, its real group and its body. */
interface Spec {
  label: string;
  group?: string;
  body?: string;
}

describe('Function: createWorker (outcomes against SQS)', () => {
  let stack: TestStack;
  let n = 0;
  const clients: SQSClient[] = [];

  beforeAll(async () => {
    stack = await getTestStack({ label: 'wout' });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await stack?.stop();
  });

  async function createQueue(name: string): Promise<{ url: string; arn: string }> {
    const fifo = name.endsWith('.fifo');
    const out = await stack.clients.sqs.send(
      new CreateQueueCommand({
        QueueName: `${stack.prefix}${name}`,
        Attributes: fifo ? { FifoQueue: 'true' } : {},
      }),
    );
    const url = out.QueueUrl ?? '';
    const attrs = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: attrs.Attributes?.QueueArn ?? '' };
  }

  /**
   * Fresh queues (FIFO task queue and DLQ, standard delay queue), the messages of `specs` on the
   * task queue, received (visibility `receiveVisibilitySeconds`, `receives` times: the last
   * receive is the one the records come from), and a worker on its own recorded SQS client.
   */
  async function setUp(
    specs: readonly Spec[],
    options: {
      processor: (label: string, delivery: Delivery) => Promise<ProcessOutcome>;
      worker?: Partial<WorkerOptions>;
      receiveVisibilitySeconds?: number;
      receives?: number;
      dlqUrl?: string;
      /** Wraps the worker's in-memory ledger (the inner one stays readable as `ledger`). */
      wrapLedger?: (ledger: FailureLedger, sent: RecordedCommand[]) => FailureLedger;
    },
  ) {
    const i = ++n;
    const tasks = await createQueue(`w${i}-tasks.fifo`);
    const dlq = await createQueue(`w${i}-dlq.fifo`);
    const delay = await createQueue(`w${i}-delay`);
    for (const s of specs) {
      await stack.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: tasks.url,
          MessageBody: s.body ?? `{"UUID":"task_${s.label}","Name":"t-${s.label}"}`,
          MessageGroupId: s.group ?? `g-${s.label}`,
          MessageDeduplicationId: s.label,
        }),
      );
    }
    const receives = options.receives ?? 1;
    for (let r = 1; r < receives; r++) {
      // Received and put straight back (visibility 0): one more receive count each.
      await receiveAll(tasks.url, specs.length, 0);
    }
    const messages = await receiveAll(
      tasks.url,
      specs.length,
      options.receiveVisibilitySeconds ?? 120,
    );
    const bySpec = new Map<string, Message>();
    const labelOf = new Map<string, string>();
    for (const m of messages) {
      // The label was sent as the deduplication id.
      const label = m.Attributes?.MessageDeduplicationId;
      if (label === undefined) throw new Error(`message ${m.MessageId} without deduplication id`);
      bySpec.set(label, m);
      labelOf.set(m.MessageId ?? '', label);
    }
    const sqs = new SQSClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.endpoints.sqs,
    });
    clients.push(sqs);
    const sent = recordCommands(sqs);
    const calls: string[] = [];
    const ledger = new MemoryFailureLedger();
    const processor: BodyProcessor = {
      processBody: async (_body, delivery) => {
        const label = labelOf.get(delivery.messageId) ?? `?${delivery.messageId}`;
        calls.push(label);
        return options.processor(label, delivery);
      },
    };
    const handler = createWorker({
      processor,
      backend: unusedBackend,
      config: {
        taskQueueUrl: tasks.url,
        dlqUrl: options.dlqUrl ?? dlq.url,
        delayQueueUrl: delay.url,
        taskStatesTable: 'unused',
      },
      env: {},
      aws: { region: stack.region, sqs },
      logger: quietLogger('SILENT'),
      ledger: options.wrapLedger ? options.wrapLedger(ledger, sent) : ledger,
      metrics: new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service }),
      ...options.worker,
    });

    /** The record of a label's message, as Lambda gives it, in `group` when given. */
    const record = (label: string, group?: string, attributes: Record<string, string> = {}) => {
      const m = bySpec.get(label);
      if (!m) throw new Error(`no message ${label}`);
      const r: SQSRecord = toSqsRecord(m, tasks.arn, stack.region);
      r.attributes = {
        ...r.attributes,
        ...(group === undefined ? {} : { MessageGroupId: group }),
        ...attributes,
      };
      return r;
    };
    const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
    const labels = (ids: readonly { itemIdentifier: string }[]) =>
      ids.map((f) => labelOf.get(f.itemIdentifier) ?? `?${f.itemIdentifier}`);
    const receiptOf = (label: string) => bySpec.get(label)?.ReceiptHandle ?? '';
    const labelOfReceipt = (rh: string | undefined) =>
      [...bySpec].find(([, m]) => m.ReceiptHandle === rh)?.[0] ?? `?${rh}`;
    return {
      tasks,
      dlq,
      delay,
      handler,
      sent,
      calls,
      record,
      event,
      labels,
      receiptOf,
      labelOfReceipt,
      labelOf,
      ledger,
    };
  }

  async function receiveAll(queueUrl: string, count: number, visibility: number) {
    const got: Message[] = [];
    const deadline = Date.now() + 20_000;
    while (got.length < count && Date.now() < deadline) {
      const out = await stack.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: visibility,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      got.push(...(out.Messages ?? []));
    }
    if (got.length < count) throw new Error(`received ${got.length} of ${count} messages`);
    return got;
  }

  /**
   * Receives from `queueUrl` until every label of `expected` was seen or `timeoutMs` passed, and
   * returns when each label was first received (`Date.now()` after the receive answered).
   */
  async function receiveTimes(
    queueUrl: string,
    labelOf: Map<string, string>,
    expected: readonly string[],
    timeoutMs = 20_000,
  ): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    const deadline = Date.now() + timeoutMs;
    while (expected.some((l) => !seen.has(l)) && Date.now() < deadline) {
      const out = await stack.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 600,
        }),
      );
      const at = Date.now();
      for (const m of out.Messages ?? []) {
        const label = labelOf.get(m.MessageId ?? '') ?? `?${m.MessageId}`;
        if (!seen.has(label)) seen.set(label, at);
      }
    }
    return seen;
  }

  const visibilityChanges = (sent: readonly RecordedCommand[]) =>
    inputsOf<ChangeMessageVisibilityCommandInput>(sent, 'ChangeMessageVisibilityCommand');
  const releases = (sent: readonly RecordedCommand[]) =>
    inputsOf<ChangeMessageVisibilityBatchCommandInput>(
      sent,
      'ChangeMessageVisibilityBatchCommand',
    ).flatMap((c) => c.Entries ?? []);

  it('skips the rest of a failed group in a batch, keeps other groups going, and releases the skipped records', async () => {
    // Prepare: a batch with several records of groups A and B (see the module notes)
    const outcomes: Record<string, ProcessOutcome> = {
      a1: { kind: 'done', uuid: 'task_a1', state: 'SUCCESS' },
      b1: { kind: 'retry', uuid: 'task_b1', delayMs: 4_500, attempt: 1, error: 'boom' },
      a2: { kind: 'transient', uuid: 'task_a2', error: new Error('throttled') },
      c1: { kind: 'done', uuid: 'task_c1', state: 'FAILURE' },
      b2: { kind: 'done', uuid: 'task_b2', state: 'SUCCESS' },
      a3: { kind: 'done', uuid: 'task_a3', state: 'SUCCESS' },
    };
    const w = await setUp(
      Object.keys(outcomes).map((label) => ({ label })),
      {
        processor: async (label) => {
          const o = outcomes[label];
          if (!o) throw new Error(`no outcome for ${label}`);
          return o;
        },
      },
    );
    const event = w.event(
      w.record('a1', 'A'),
      w.record('b1', 'B'),
      w.record('a2', 'A'),
      w.record('c1', 'C'),
      w.record('b2', 'B'),
      w.record('a3', 'A'),
    );
    const start = Date.now();

    // Act
    const res = await w.handler(event, context());

    // Assess: groups run concurrently, so only the order within a group is fixed
    expect(w.calls.filter((id) => id.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(w.calls.filter((id) => !id.startsWith('a')).sort()).toEqual(['b1', 'c1']);
    expect(w.labels(res.batchItemFailures)).toEqual(['b1', 'a2', 'b2', 'a3']);
    const single = visibilityChanges(w.sent);
    expect(single).toEqual(
      expect.arrayContaining([
        { QueueUrl: w.tasks.url, ReceiptHandle: w.receiptOf('b1'), VisibilityTimeout: 5 },
        { QueueUrl: w.tasks.url, ReceiptHandle: w.receiptOf('a2'), VisibilityTimeout: 1 },
      ]),
    );
    expect(single).toHaveLength(2);
    expect(
      releases(w.sent)
        .map((e) => [w.labelOfReceipt(e.ReceiptHandle), e.VisibilityTimeout])
        .sort(),
    ).toEqual([
      ['a3', 0],
      ['b2', 0],
    ]);
    // ... and on the queue: the skipped records come back at once (their receive made them
    // invisible for 120 s), the retried ones not before their back-off, the finished ones stay
    // in flight until the event source deletes them
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a2', 'a3', 'b1', 'b2']);
    expect([...back.keys()].sort()).toEqual(['a2', 'a3', 'b1', 'b2']);
    expect(back.get('a2')).toBeGreaterThanOrEqual(start + 1_000);
    expect(back.get('b1')).toBeGreaterThanOrEqual(start + 5_000);
    expect((await queueCounts(stack.clients.sqs, w.tasks.url)).inFlight).toBe(6);
  });

  it('aborts the signal shortly before the invocation runs out of time', async () => {
    // Prepare
    let aborted = false;
    const w = await setUp([{ label: 'a1' }], {
      processor: async (_label, d) => {
        await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve()));
        aborted = d.signal.aborted;
        return { kind: 'retry', uuid: 'task_a1', delayMs: 0, attempt: 1, error: 'timed out' };
      },
      worker: { abortMarginMs: 200, safetyMarginMs: 0 },
    });

    // Act
    const res = await w.handler(w.event(w.record('a1')), context(400));

    // Assess: the retry without delay puts the message back at once
    expect(aborted).toBe(true);
    expect(w.labels(res.batchItemFailures)).toEqual(['a1']);
    expect(visibilityChanges(w.sent).map((c) => c.VisibilityTimeout)).toEqual([0]);
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a1']);
    expect([...back.keys()]).toEqual(['a1']);
  });

  it('claims no record when less than the safety margin is left, and releases them', async () => {
    // Prepare
    const w = await setUp([{ label: 'a1' }, { label: 'b1' }], {
      processor: async (label) => {
        throw new Error(`${label} must not run`);
      },
      worker: { safetyMarginMs: 10_000 },
    });

    // Act
    const res = await w.handler(w.event(w.record('a1'), w.record('b1')), context(5_000));

    // Assess
    expect(w.calls).toHaveLength(0);
    expect(w.labels(res.batchItemFailures)).toEqual(['a1', 'b1']);
    expect(releases(w.sent)).toHaveLength(2);
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a1', 'b1']);
    expect([...back.keys()].sort()).toEqual(['a1', 'b1']);
  });

  it('dead-letters with the reason attributes, the record group and its message id as deduplication id, then acknowledges', async () => {
    // Prepare
    const w = await setUp([{ label: 'a1', group: 'orders', body: 'not json at all' }], {
      processor: async () => ({
        kind: 'dead-letter',
        reason: 'undecodable',
        detail: `bad\u0000${'x'.repeat(5_000)}`,
      }),
    });
    const rec = w.record('a1');

    // Act
    const res = await w.handler(w.event(rec), context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const [dead] = await receiveMessages(stack.clients.sqs, w.dlq.url, { count: 1 });
    expect(dead?.Body).toBe('not json at all');
    expect(dead?.Attributes).toMatchObject({
      MessageGroupId: 'orders',
      MessageDeduplicationId: rec.messageId,
    });
    const attrs = dead?.MessageAttributes ?? {};
    expect(attrs['machinery.reason']?.StringValue).toBe('undecodable');
    expect(attrs['machinery.source-queue']?.StringValue).toBe(w.tasks.arn);
    expect(attrs['machinery.detail']?.StringValue?.startsWith('bad?x')).toBe(true);
    expect(attrs['machinery.detail']?.StringValue?.length).toBeLessThanOrEqual(2_000);
    expect(Date.parse(attrs['machinery.dead-lettered-at']?.StringValue ?? '')).not.toBeNaN();
    expect(attrs['machinery.task-uuid']).toBeUndefined();
    // acknowledged: left in flight for the event source to delete, not put back
    expect(await queueCounts(stack.clients.sqs, w.tasks.url)).toEqual({
      visible: 0,
      inFlight: 1,
      delayed: 0,
    });
  });

  it('reports a failure, never an acknowledgement, when the DLQ does not exist', async () => {
    // Prepare
    const w = await setUp([{ label: 'a1' }], {
      processor: async () => ({
        kind: 'dead-letter',
        uuid: 'task_a1',
        reason: 'unregistered',
        detail: 'not registered',
      }),
      dlqUrl: `${stack.queueUrls.tasksDlq.replace(/[^/]+$/, '')}${stack.prefix}no-such-dlq.fifo`,
    });
    const start = Date.now();
    const emf = captureEmf();

    // Act
    const res = await w.handler(w.event(w.record('a1')), context());
    emf.stop();

    // Assess: failed, backed off like a transient error, counted as a deployment error, and back
    // on the queue after the back-off
    expect(w.labels(res.batchItemFailures)).toEqual(['a1']);
    expect(emf.count(METRICS.deploymentErrors)).toBe(1);
    expect(visibilityChanges(w.sent).map((c) => c.VisibilityTimeout)).toEqual([1]);
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a1']);
    expect(back.get('a1')).toBeGreaterThanOrEqual(start + 1_000);
  });

  it('sends a task that is not due through the delay queue with its ETA, then acknowledges', async () => {
    // Prepare
    const sig = newSignature('add', [{ Type: 'int64', Value: 1 }]);
    const eta = Date.now() + 120_000;
    const w = await setUp([{ label: 'a1', group: sig.UUID, body: encodeSignature(sig) }], {
      processor: async () => ({ kind: 'not-due', uuid: sig.UUID, eta, signature: sig }),
    });

    // Act
    const res = await w.handler(w.event(w.record('a1')), context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const [input] = inputsOf<SendMessageBatchCommandInput>(w.sent, 'SendMessageBatchCommand');
    expect(input?.QueueUrl).toBe(w.delay.url);
    expect(input?.Entries?.[0]?.DelaySeconds).toBeGreaterThanOrEqual(119);
    expect(input?.Entries?.[0]?.DelaySeconds).toBeLessThanOrEqual(DEFAULTS.maxDelaySeconds);
    expect(Date.parse(JSON.parse(input?.Entries?.[0]?.MessageBody ?? '{}').ETA)).toBe(eta);
    expect(await queueCounts(stack.clients.sqs, w.delay.url)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 1,
    });
  });

  it('re-sends a retry through the delay path and acknowledges when it would pass the 12 h visibility cap', async () => {
    // Prepare: first received almost 12 h ago (a record attribute no emulator can age)
    const sig = newSignature('add', []);
    const first = Date.now() - (DEFAULTS.maxVisibilitySeconds - 60) * 1000;
    const w = await setUp([{ label: 'a1', group: sig.UUID, body: encodeSignature(sig) }], {
      processor: async () => ({
        kind: 'retry',
        uuid: sig.UUID,
        delayMs: 120_000,
        attempt: 4,
        error: 'boom',
      }),
    });
    const rec = w.record('a1', undefined, { ApproximateFirstReceiveTimestamp: String(first) });

    // Act
    const res = await w.handler(w.event(rec), context());

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(visibilityChanges(w.sent)).toHaveLength(0);
    const [input] = inputsOf<SendMessageBatchCommandInput>(w.sent, 'SendMessageBatchCommand');
    expect(input?.QueueUrl).toBe(w.delay.url);
    expect(JSON.parse(input?.Entries?.[0]?.MessageBody ?? '{}').UUID).toBe(sig.UUID);
    expect((await queueCounts(stack.clients.sqs, w.delay.url)).delayed).toBe(1);
    expect(await queueCounts(stack.clients.sqs, w.tasks.url)).toEqual({
      visible: 0,
      inFlight: 1,
      delayed: 0,
    });
  });

  it('keeps a busy record in flight until the other lease ends', async () => {
    // Prepare: received for 3 s only, so a record left alone would be back after 3 s
    const w = await setUp([{ label: 'a1' }], {
      processor: async () => ({ kind: 'busy', uuid: 'task_a1', leaseUntil: Date.now() + 30_000 }),
      receiveVisibilitySeconds: 3,
    });
    const start = Date.now();

    // Act
    const res = await w.handler(w.event(w.record('a1')), context());

    // Assess
    expect(w.labels(res.batchItemFailures)).toEqual(['a1']);
    const [v] = visibilityChanges(w.sent);
    expect(v?.VisibilityTimeout).toBeGreaterThanOrEqual(29);
    expect(v?.VisibilityTimeout).toBeLessThanOrEqual(30);
    // ... not receivable before the lease ends (watched past the 3 s of the receive)
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a1'], 5_000);
    expect(back.get('a1') ?? Number.POSITIVE_INFINITY).toBeGreaterThanOrEqual(start + 29_000);
  });

  it('acknowledges duplicates, ignored and revoked tasks', async () => {
    // Prepare
    const outcomes: Record<string, ProcessOutcome> = {
      a1: { kind: 'duplicate', uuid: 'task_a1', state: 'SUCCESS' },
      b1: { kind: 'ignored', uuid: 'task_b1', reason: 'unregistered' },
      c1: { kind: 'revoked', uuid: 'task_c1' },
    };
    const w = await setUp([{ label: 'a1' }, { label: 'b1' }, { label: 'c1' }], {
      processor: async (label) => outcomes[label] as ProcessOutcome,
    });

    // Act
    const res = await w.handler(
      w.event(w.record('a1', 'A'), w.record('b1', 'B'), w.record('c1', 'C')),
      context(),
    );

    // Assess: no SQS request at all; the messages stay in flight for the event source to delete
    expect(res.batchItemFailures).toEqual([]);
    expect(w.sent).toHaveLength(0);
    expect(await queueCounts(stack.clients.sqs, w.tasks.url)).toEqual({
      visible: 0,
      inFlight: 3,
      delayed: 0,
    });
  });

  it('turns a processor that throws into a failure with a back-off', async () => {
    // Prepare: the fourth receive of the message
    const w = await setUp([{ label: 'a1' }], {
      processor: async () => {
        throw new Error('processor bug');
      },
      receives: 4,
    });
    const rec = w.record('a1');
    const start = Date.now();

    // Act
    const res = await w.handler(w.event(rec), context());

    // Assess: 2^(4-1) s, and the message is back after it (not after the receive's 120 s)
    expect(rec.attributes.ApproximateReceiveCount).toBe('4');
    expect(w.labels(res.batchItemFailures)).toEqual(['a1']);
    const [v] = visibilityChanges(w.sent);
    expect(v?.VisibilityTimeout).toBe(8);
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a1']);
    expect(back.get('a1')).toBeGreaterThanOrEqual(start + 8_000);
  });

  it('keeps the order and the skip after a failure within a group while other groups run concurrently', async () => {
    // Prepare: a batch with several records of groups A and B (see the module notes)
    const meet = barrier(2);
    const met: Record<string, boolean> = {};
    const events: string[] = [];
    const w = await setUp(
      ['a1', 'b1', 'a2', 'b2', 'a3', 'b3'].map((label) => ({ label })),
      {
        processor: async (id) => {
          events.push(`start ${id}`);
          if (id === 'a1' || id === 'b1') met[id] = await meet.arrive();
          else await yieldToOthers();
          events.push(`end ${id}`);
          if (id === 'a2') {
            return { kind: 'retry', uuid: 'task_a2', delayMs: 3_000, attempt: 1, error: 'boom' };
          }
          return { kind: 'done', uuid: `task_${id}`, state: 'SUCCESS' };
        },
      },
    );
    const event = w.event(
      w.record('a1', 'A'),
      w.record('b1', 'B'),
      w.record('a2', 'A'),
      w.record('b2', 'B'),
      w.record('a3', 'A'),
      w.record('b3', 'B'),
    );
    const start = Date.now();

    // Act
    const res = await w.handler(event, context());

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
    expect(w.labels(res.batchItemFailures)).toEqual(['a2', 'a3']);
    expect(visibilityChanges(w.sent)).toEqual([
      { QueueUrl: w.tasks.url, ReceiptHandle: w.receiptOf('a2'), VisibilityTimeout: 3 },
    ]);
    expect(
      releases(w.sent).map((e) => [w.labelOfReceipt(e.ReceiptHandle), e.VisibilityTimeout]),
    ).toEqual([['a3', 0]]);
    // ... and on the queue: a3 back at once, a2 not before its back-off, the rest in flight
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['a2', 'a3']);
    expect([...back.keys()].sort()).toEqual(['a2', 'a3']);
    expect(back.get('a2')).toBeGreaterThanOrEqual(start + 3_000);
    expect((await queueCounts(stack.clients.sqs, w.tasks.url)).inFlight).toBe(6);
  });

  it('runs one record at a time in record order with groupConcurrency: 1', async () => {
    // Prepare: a batch with several records of groups A and B (see the module notes)
    let inFlight = 0;
    let maxInFlight = 0;
    const w = await setUp(
      ['a1', 'b1', 'a2', 'b2'].map((label) => ({ label })),
      {
        processor: async (id) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await yieldToOthers();
          await yieldToOthers();
          inFlight -= 1;
          if (id === 'b1') {
            return { kind: 'retry', uuid: 'task_b1', delayMs: 1_000, attempt: 1, error: 'boom' };
          }
          return { kind: 'done', uuid: `task_${id}`, state: 'SUCCESS' };
        },
        worker: { groupConcurrency: 1 },
      },
    );
    const event = w.event(
      w.record('a1', 'A'),
      w.record('b1', 'B'),
      w.record('a2', 'A'),
      w.record('b2', 'B'),
    );
    const start = Date.now();

    // Act
    const res = await w.handler(event, context());

    // Assess
    expect(maxInFlight).toBe(1);
    expect(w.calls).toEqual(['a1', 'b1', 'a2']);
    expect(w.labels(res.batchItemFailures)).toEqual(['b1', 'b2']);
    // ... and on the queue: b2 released at once, b1 not before its back-off
    const back = await receiveTimes(w.tasks.url, w.labelOf, ['b1', 'b2']);
    expect([...back.keys()].sort()).toEqual(['b1', 'b2']);
    expect(back.get('b1')).toBeGreaterThanOrEqual(start + 1_000);
  });

  describe('faults by kind', () => {
    let emf: EmfCapture | undefined;
    afterEach(() => {
      emf?.stop();
      emf = undefined;
    });

    /** A ledger that records its calls in `sent` (beside the SQS commands), or fails them. */
    function watchedLedger(
      sent: RecordedCommand[],
      inner: FailureLedger,
      fail?: { putDeadLetterNote?: Error; noteCode?: Error },
    ): FailureLedger {
      const log = async <T>(name: string, input: unknown, run: () => Promise<T>): Promise<T> => {
        sent.push({ name: `ledger.${name}`, input: input as Record<string, unknown> });
        const error = fail?.[name as keyof typeof fail];
        if (error) throw error;
        return run();
      };
      return {
        countStreak: (s) => log('countStreak', s, () => inner.countStreak(s)),
        noteCode: (s) => log('noteCode', s, () => inner.noteCode(s)),
        putDeadLetterNote: (n) => log('putDeadLetterNote', n, () => inner.putDeadLetterNote(n)),
        getDeadLetterNote: (d, o) => inner.getDeadLetterNote(d, o),
      };
    }

    const ledgerCalls = (sent: readonly RecordedCommand[]) =>
      sent.filter((c) => c.name.startsWith('ledger.')).map((c) => c.name);

    it('counts a deployment error in DeploymentErrors, backs off and never dead-letters or counts it against the task', async () => {
      // Prepare
      emf = captureEmf();
      const w = await setUp([{ label: 'a1' }, { label: 'a2' }], {
        processor: async (label) => ({
          kind: 'transient',
          uuid: `task_${label}`,
          error: new InfrastructureError('ACCESS_DENIED', 'DynamoDB refused: access denied'),
        }),
        wrapLedger: (ledger, sent) => watchedLedger(sent, ledger),
      });

      // Act: two invocations
      const first = await w.handler(w.event(w.record('a1'), w.record('a2')), context());
      const second = await w.handler(w.event(w.record('a1')), context());

      // Assess
      expect(w.labels(first.batchItemFailures)).toEqual(['a1', 'a2']);
      expect(w.labels(second.batchItemFailures)).toEqual(['a1']);
      expect(visibilityChanges(w.sent).map((c) => c.VisibilityTimeout)).toEqual([1, 1, 1]);
      expect(emf.count(METRICS.deploymentErrors)).toBe(3);
      expect(emf.count(METRICS.systemicErrors)).toBe(0);
      // One EMF line per invocation: flushed per invocation
      expect(emf.records).toHaveLength(2);
      expect(ledgerCalls(w.sent)).toEqual([]);
      expect(await queueDepth(stack.clients.sqs, w.dlq.url)).toBe(0);
    });

    it('dead-letters an error caused by the message at once (message-rejected) and records the task FAILURE', async () => {
      // Prepare
      const backend = new MemoryResultBackend();
      const w = await setUp([{ label: 'a1', group: 'orders' }], {
        processor: async () => ({
          kind: 'transient',
          uuid: 'task_a1',
          error: new MessageRejectedError(
            'DynamoDB refused the item: Item size has exceeded the maximum allowed size',
          ),
        }),
        worker: { backend },
      });
      const rec = w.record('a1');

      // Act
      const res = await w.handler(w.event(rec), context());

      // Assess
      expect(res.batchItemFailures).toEqual([]);
      const [dead] = await receiveMessages(stack.clients.sqs, w.dlq.url, { count: 1 });
      expect(dead?.Body).toBe(rec.body);
      expect(dead?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('message-rejected');
      expect(dead?.MessageAttributes?.['machinery.detail']?.StringValue).toContain('Item size');
      expect(dead?.MessageAttributes?.['machinery.task-uuid']?.StringValue).toBe('task_a1');
      expect(await backend.get('task_a1', { now: Date.now() })).toMatchObject({
        state: 'FAILURE',
        deadLettered: true,
        deadLetterReason: 'message-rejected',
        name: 't-a1',
      });
      expect(ledgerCalls(w.sent)).toEqual([]);
    });

    it('dead-letters a message at its 5th failing receive with one unclassified error (repeated-error)', async () => {
      // Prepare: the message stays in flight between the calls (60 s back-off)
      const backend = new MemoryResultBackend();
      const w = await setUp([{ label: 'a1' }], {
        processor: async () => ({ kind: 'transient', uuid: 'task_a1', error: new Error('boom') }),
        worker: { backend, transientBackoffSeconds: () => 60 },
      });
      const rec = w.record('a1');

      // Act
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await w.handler(w.event(rec), context()));

      // Assess: failures 1-4 went back to the queue, the 5th went to the DLQ and was acknowledged
      expect(results.map((r) => w.labels(r.batchItemFailures))).toEqual([
        ['a1'],
        ['a1'],
        ['a1'],
        ['a1'],
        [],
      ]);
      expect(visibilityChanges(w.sent)).toHaveLength(4);
      const [dead] = await receiveMessages(stack.clients.sqs, w.dlq.url, { count: 1 });
      expect(dead?.Body).toBe(rec.body);
      expect(dead?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('repeated-error');
      expect(dead?.MessageAttributes?.['machinery.detail']?.StringValue).toBe(
        'Error: boom (code Error: 5 receives in a row)',
      );
      expect(await backend.get('task_a1', { now: Date.now() })).toMatchObject({
        state: 'FAILURE',
        deadLetterReason: 'repeated-error',
      });
    });

    it('counts an unclassified error on a 3rd message within the window as systemic and dead-letters none', async () => {
      // Prepare
      emf = captureEmf();
      const labels = ['a1', 'a2', 'a3'];
      const w = await setUp(
        labels.map((label) => ({ label })),
        {
          processor: async (label) => ({
            kind: 'transient',
            uuid: `task_${label}`,
            error: new Error('boom'),
          }),
          worker: { transientBackoffSeconds: () => 60 },
        },
      );

      // Act: six rounds over the three messages
      const failures: string[][] = [];
      for (let round = 0; round < 6; round++) {
        for (const label of labels) {
          failures.push(
            w.labels((await w.handler(w.event(w.record(label)), context())).batchItemFailures),
          );
        }
      }

      // Assess: every delivery failed back to the queue; only the first two were counted in streaks
      expect(failures).toEqual(Array.from({ length: 18 }, (_, i) => [labels[i % 3]]));
      expect(emf.count(METRICS.systemicErrors)).toBe(16);
      expect(await queueDepth(stack.clients.sqs, w.dlq.url)).toBe(0);
    });

    it('returns an unclassified error to the queue when the ledger fails', async () => {
      // Prepare
      const w = await setUp([{ label: 'a1' }], {
        processor: async () => ({ kind: 'transient', error: new Error('boom') }),
        wrapLedger: (ledger, sent) =>
          watchedLedger(sent, ledger, { noteCode: new Error('ledger down') }),
      });

      // Act
      const res = await w.handler(w.event(w.record('a1')), context());

      // Assess
      expect(w.labels(res.batchItemFailures)).toEqual(['a1']);
      expect(ledgerCalls(w.sent)).toEqual(['ledger.noteCode']);
      expect(visibilityChanges(w.sent).map((c) => c.VisibilityTimeout)).toEqual([1]);
      expect(await queueDepth(stack.clients.sqs, w.dlq.url)).toBe(0);
    });

    it('sends a body too large for the reason attributes bare and unchanged, its reason noted before the send', async () => {
      // Prepare: a body just under SQS's 1 MiB, sent to the task queue as it is
      const body = `not json ${'x'.repeat(DEFAULTS.maxMessageBytes - 100)}`;
      const w = await setUp([{ label: 'big', group: 'orders', body }], {
        processor: async () => ({ kind: 'dead-letter', reason: 'undecodable', detail: 'not JSON' }),
        wrapLedger: (ledger, sent) => watchedLedger(sent, ledger),
      });
      const rec = w.record('big');

      // Act
      const res = await w.handler(w.event(rec), context());

      // Assess: acknowledged on its first receive
      expect(rec.attributes.ApproximateReceiveCount).toBe('1');
      expect(res.batchItemFailures).toEqual([]);
      const [dead] = await receiveMessages(stack.clients.sqs, w.dlq.url, { count: 1 });
      expect(dead?.Body).toBe(body);
      expect(dead?.MessageAttributes ?? {}).toEqual({});
      expect(dead?.Attributes?.MessageDeduplicationId).toBe(rec.messageId);
      // ... the note is found from the DLQ message alone, and was written before the copy was sent
      const note = await w.ledger.getDeadLetterNote(
        dead?.Attributes?.MessageDeduplicationId ?? '',
        {
          now: Date.now(),
        },
      );
      expect(note).toMatchObject({
        reason: 'undecodable',
        detail: 'not JSON',
        messageId: rec.messageId,
        taskUuid: null,
        sourceQueue: w.tasks.arn,
        bodyMd5: dead?.MD5OfBody,
        bodyBytes: Buffer.byteLength(body),
      });
      expect(
        w.sent
          .map((c) => c.name)
          .filter((n) => n === 'ledger.putDeadLetterNote' || n === 'SendMessageCommand'),
      ).toEqual(['ledger.putDeadLetterNote', 'SendMessageCommand']);
    });

    it('sends nothing and reports a failure when the reason note cannot be written', async () => {
      // Prepare
      const body = `not json ${'x'.repeat(DEFAULTS.maxMessageBytes - 100)}`;
      const w = await setUp([{ label: 'big', body }], {
        processor: async () => ({ kind: 'dead-letter', reason: 'undecodable', detail: 'not JSON' }),
        wrapLedger: (ledger, sent) =>
          watchedLedger(sent, ledger, { putDeadLetterNote: new Error('table gone') }),
      });

      // Act
      const res = await w.handler(w.event(w.record('big')), context());

      // Assess
      expect(w.labels(res.batchItemFailures)).toEqual(['big']);
      expect(inputsOf(w.sent, 'SendMessageCommand')).toEqual([]);
      expect(await queueDepth(stack.clients.sqs, w.dlq.url)).toBe(0);
    });
  });
});
