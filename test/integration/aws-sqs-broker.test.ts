/**
 * The SQS broker against fauxqs through the real SDK: what it sends is read back from the queues
 * (bodies, FIFO ids, message attributes, delays), and what it asks SQS is observed by SDK
 * middleware on a client of its own (request counts, batch inputs). Every test sends to queues
 * it creates, so the counts are its own.
 *
 * The faults fauxqs cannot produce (a `SendMessageBatch` reporting entries `Failed` for a reason
 * that is not the sender's, throttling) stay in `test/unit/aws/sqs-broker.test.ts`.
 */
import {
  CreateQueueCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageTooLargeError, PublishError } from '../../src/aws/errors.js';
import { MAX_BATCH_ENTRIES, SqsBroker } from '../../src/aws/sqs-broker.js';
import { newSignature } from '../../src/core/signature.js';
import {
  countRequests,
  inputsOf,
  queueCounts,
  receiveMessages,
  recordCommands,
} from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

function sig(opts: Parameters<typeof newSignature>[2] = {}) {
  return newSignature('add', [{ Type: 'int64', Value: 1 }], opts);
}

describe('Class: SqsBroker', () => {
  let stack: TestStack;
  let queues = 0;
  const clients: SQSClient[] = [];

  beforeAll(async () => {
    stack = await getTestStack({ label: 'broker' });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await stack?.stop();
  });

  /** A new queue of this stack: FIFO when `name` ends in `.fifo`. */
  async function createQueue(name: string, attributes: Record<string, string> = {}) {
    const fifo = name.endsWith('.fifo');
    const out = await stack.clients.sqs.send(
      new CreateQueueCommand({
        QueueName: `${stack.prefix}${name}`,
        Attributes: { ...(fifo ? { FifoQueue: 'true' } : {}), ...attributes },
      }),
    );
    if (!out.QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    return out.QueueUrl;
  }

  /**
   * A broker on fresh queues, with its own SQS client: `requests` counts its HTTP requests by
   * command, `sent` records its commands' inputs.
   */
  async function brokerOnFreshQueues(
    extra: Partial<ConstructorParameters<typeof SqsBroker>[0]> = {},
    taskQueueAttributes: Record<string, string> = {},
  ) {
    const n = ++queues;
    const taskQueueUrl = await createQueue(`b${n}-tasks.fifo`, taskQueueAttributes);
    const delayQueueUrl = await createQueue(`b${n}-delay`);
    const sqs = new SQSClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.endpoints.sqs,
    });
    clients.push(sqs);
    const requests = countRequests(sqs);
    const sent = recordCommands(sqs);
    const broker = new SqsBroker({
      sqs,
      taskQueueUrl,
      delayQueueUrl,
      retryBaseDelayMs: 1,
      ...extra,
    });
    return { broker, taskQueueUrl, delayQueueUrl, requests, sent, n };
  }

  const batchesOf = (sent: Parameters<typeof inputsOf>[0]) =>
    inputsOf<SendMessageBatchCommandInput>(sent, 'SendMessageBatchCommand');

  it('sends FIFO messages with the group id and the UUID as deduplication id', async () => {
    // Prepare
    const { broker, taskQueueUrl, requests } = await brokerOnFreshQueues();
    const plain = sig();
    const grouped = sig({
      BrokerMessageGroupId: 'customer-7',
      Headers: { traceparent: '00-a-b-01' },
    });

    // Act
    await broker.publish([
      { signature: plain },
      { signature: grouped, deduplicationId: `${grouped.UUID}-r1` },
    ]);

    // Assess
    expect(requests.get('SendMessageBatchCommand')).toBe(1);
    const received = await receiveMessages(stack.clients.sqs, taskQueueUrl, { count: 2 });
    expect(received).toHaveLength(2);
    const byUuid = new Map(received.map((m) => [JSON.parse(m.Body ?? '{}').UUID, m]));
    const m0 = byUuid.get(plain.UUID);
    const m1 = byUuid.get(grouped.UUID);
    expect(m0?.Attributes).toMatchObject({
      MessageGroupId: plain.UUID,
      MessageDeduplicationId: plain.UUID,
    });
    expect(JSON.parse(m0?.Body ?? '')).toMatchObject({ UUID: plain.UUID, Name: 'add' });
    expect(m1?.Attributes).toMatchObject({
      MessageGroupId: 'customer-7',
      MessageDeduplicationId: `${grouped.UUID}-r1`,
    });
    expect(m1?.MessageAttributes).toMatchObject({
      traceparent: { DataType: 'String', StringValue: '00-a-b-01' },
    });
  });

  it('sends 25 signatures in three batches', async () => {
    // Prepare
    const { broker, taskQueueUrl, sent } = await brokerOnFreshQueues();
    const items = Array.from({ length: 25 }, () => ({ signature: sig() }));

    // Act
    await broker.publish(items);

    // Assess
    const sizes = batchesOf(sent).map((b) => b.Entries?.length ?? 0);
    expect(sizes.sort()).toEqual([10, 10, 5]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_ENTRIES);
    expect(await queueCounts(stack.clients.sqs, taskQueueUrl)).toEqual({
      visible: 25,
      inFlight: 0,
      delayed: 0,
    });
  });

  it('keeps the order of one message group split over several batches, whichever batch is answered first', async () => {
    // Prepare
    const { broker, taskQueueUrl } = await brokerOnFreshQueues();
    const items = Array.from({ length: 25 }, () => ({
      signature: sig({ BrokerMessageGroupId: 'order-1' }),
    }));
    let firstBatch = true;
    const client = clients.at(-1) as SQSClient; // the broker's own client
    // The first SendMessageBatch answers 300 ms late, so without ordering the later batches of
    // the group would reach the queue first.
    client.middlewareStack.add(
      (next) => async (args) => {
        if (firstBatch) {
          firstBatch = false;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'slowFirstBatch' },
    );

    // Act
    await broker.publish(items);

    // Assess
    const received = await receiveMessages(stack.clients.sqs, taskQueueUrl, { count: 25 });
    expect(received.map((m) => JSON.parse(m.Body ?? '{}').UUID)).toEqual(
      items.map((i) => i.signature.UUID),
    );
  });

  it('does not retry an entry rejected as the sender fault', async () => {
    // Prepare: a queue taking at most 1 KiB, the broker's own limit being 1 MiB
    const { broker, taskQueueUrl, requests } = await brokerOnFreshQueues(
      {},
      { MaximumMessageSize: '1024' },
    );
    const item = {
      signature: newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(2_000) }]),
    };

    // Act
    const err = await broker.publish([item]).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).unsent).toEqual([item.signature.UUID]);
    expect((err as PublishError).message).toContain('InvalidParameterValue');
    expect(requests.get('SendMessageBatchCommand')).toBe(1);
    expect(await queueCounts(stack.clients.sqs, taskQueueUrl)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
  });

  it('treats a missing queue as permanent: one request, no retry', async () => {
    // Prepare
    const { broker, taskQueueUrl, requests } = await brokerOnFreshQueues();
    const missing = taskQueueUrl.replace(/-tasks\.fifo$/, '-missing.fifo');
    const item = { signature: sig({ RoutingKey: missing }) };

    // Act
    const err = await broker.publish([item]).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).unsent).toEqual([item.signature.UUID]);
    expect((err as PublishError).cause).toMatchObject({ code: 'MISSING_QUEUE' });
    expect(requests.get('SendMessageBatchCommand')).toBe(1);
  });

  it('refuses a signature over 1 MiB before sending anything', async () => {
    // Prepare
    const { broker, taskQueueUrl, requests } = await brokerOnFreshQueues();
    const big = newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(1_100_000) }]);

    // Act
    const err = await broker
      .publish([{ signature: sig() }, { signature: big }])
      .catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect((err as MessageTooLargeError).uuid).toBe(big.UUID);
    expect(requests.get('SendMessageBatchCommand') ?? 0).toBe(0);
    expect(await queueCounts(stack.clients.sqs, taskQueueUrl)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
  });

  it('routes by RoutingKey, resolving a queue name once', async () => {
    // Prepare
    const { broker, taskQueueUrl, requests, sent, n } = await brokerOnFreshQueues();
    const reportsName = `${stack.prefix}b${n}-reports.fifo`;
    const reportsUrl = await createQueue(`b${n}-reports.fifo`);

    // Act
    await broker.publish([{ signature: sig({ RoutingKey: reportsName }) }, { signature: sig() }]);
    await broker.publish([{ signature: sig({ RoutingKey: reportsName }) }]);

    // Assess
    expect(requests.get('GetQueueUrlCommand')).toBe(1);
    const urls = batchesOf(sent).map((b) => b.QueueUrl);
    expect(urls.sort()).toEqual([reportsUrl, reportsUrl, taskQueueUrl].sort());
    expect((await queueCounts(stack.clients.sqs, reportsUrl)).visible).toBe(2);
    expect((await queueCounts(stack.clients.sqs, taskQueueUrl)).visible).toBe(1);
  });

  it('asks again for a routing key whose queue was missing, once it exists', async () => {
    // Prepare
    const { broker, requests, n } = await brokerOnFreshQueues();
    const laterName = `${stack.prefix}b${n}-later.fifo`;
    const first = await broker
      .publish([{ signature: sig({ RoutingKey: laterName }) }])
      .catch((e: unknown) => e);
    const laterUrl = await createQueue(`b${n}-later.fifo`);

    // Act
    await broker.publish([{ signature: sig({ RoutingKey: laterName }) }]);
    await broker.publish([{ signature: sig({ RoutingKey: laterName }) }]);

    // Assess: the failed lookup was not kept, the successful one was
    expect(first).toMatchObject({ code: 'MISSING_QUEUE' });
    expect(requests.get('GetQueueUrlCommand')).toBe(2);
    expect((await queueCounts(stack.clients.sqs, laterUrl)).visible).toBe(2);
  });

  it('sends delayed messages to the delay queue with DelaySeconds and no FIFO ids', async () => {
    // Prepare
    const { broker, taskQueueUrl, delayQueueUrl, sent } = await brokerOnFreshQueues();
    const s = sig();

    // Act
    await broker.publishDelayed([{ signature: s, delaySeconds: 30 }]);

    // Assess: asked with a 30 s delay and no FIFO ids; the message waits, delayed, on the delay queue
    const [input] = batchesOf(sent);
    expect(batchesOf(sent)).toHaveLength(1);
    expect(input?.QueueUrl).toBe(delayQueueUrl);
    expect(input?.Entries?.[0]).toMatchObject({ DelaySeconds: 30 });
    expect(input?.Entries?.[0]?.MessageGroupId).toBeUndefined();
    expect(input?.Entries?.[0]?.MessageDeduplicationId).toBeUndefined();
    expect(JSON.parse(input?.Entries?.[0]?.MessageBody ?? '{}').UUID).toBe(s.UUID);
    expect(await queueCounts(stack.clients.sqs, delayQueueUrl)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 1,
    });
    expect((await queueCounts(stack.clients.sqs, taskQueueUrl)).visible).toBe(0);
  });

  it('refuses a delay over 900 s', async () => {
    // Prepare
    const { broker, delayQueueUrl, requests } = await brokerOnFreshQueues();

    // Act
    const act = broker.publishDelayed([{ signature: sig(), delaySeconds: 901 }]);

    // Assess
    await expect(act).rejects.toThrow(RangeError);
    expect(requests.get('SendMessageBatchCommand') ?? 0).toBe(0);
    expect((await queueCounts(stack.clients.sqs, delayQueueUrl)).delayed).toBe(0);
  });
});
