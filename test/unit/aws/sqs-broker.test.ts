import {
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageTooLargeError, PublishError } from '../../../src/aws/errors.js';
import {
  MAX_BATCH_ENTRIES,
  messageBytes,
  SqsBroker,
  splitIntoBatches,
} from '../../../src/aws/sqs-broker.js';
import { newSignature } from '../../../src/core/signature.js';

const TASKS = 'http://sqs.local/000000000000/tasks.fifo';
const DELAY = 'http://sqs.local/000000000000/delay';

function sig(opts: Parameters<typeof newSignature>[2] = {}) {
  return newSignature('add', [{ Type: 'int64', Value: 1 }], opts);
}

function entriesOf(input: SendMessageBatchCommandInput) {
  return input.Entries ?? [];
}

describe('Function: splitIntoBatches', () => {
  it('cuts at ten entries', () => {
    // Prepare
    const msgs = Array.from({ length: 23 }, (_, i) => ({ uuid: `t${i}`, bytes: 10 }));

    // Act
    const batches = splitIntoBatches(msgs);

    // Assess
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat().map((m) => m.uuid)).toEqual(msgs.map((m) => m.uuid));
  });

  it('cuts before the total size passes the limit', () => {
    // Prepare
    const msgs = [400, 400, 400, 100, 1000].map((bytes, i) => ({ uuid: `t${i}`, bytes }));

    // Act
    const batches = splitIntoBatches(msgs, 10, 1000);

    // Assess
    expect(batches.map((b) => b.map((m) => m.bytes))).toEqual([[400, 400], [400, 100], [1000]]);
  });

  it('refuses a single message over the limit', () => {
    // Prepare
    const msgs = [
      { uuid: 'ok', bytes: 10 },
      { uuid: 'huge', bytes: 1001 },
    ];

    // Act & Assess
    expect(() => splitIntoBatches(msgs, 10, 1000)).toThrow(MessageTooLargeError);
  });
});

describe('Function: messageBytes', () => {
  it('counts the body and each attribute name, type and value in UTF-8', () => {
    // Act
    const n = messageBytes('é', { tp: { DataType: 'String', StringValue: 'ab' } });

    // Assess
    expect(n).toBe(2 + 2 + 6 + 2);
  });
});

describe('Class: SqsBroker', () => {
  const sqsMock = mockClient(SQSClient);
  afterEach(() => sqsMock.reset());

  function broker(extra: Partial<ConstructorParameters<typeof SqsBroker>[0]> = {}) {
    return new SqsBroker({
      sqs: new SQSClient({ region: 'us-east-1' }),
      taskQueueUrl: TASKS,
      delayQueueUrl: DELAY,
      retryBaseDelayMs: 1,
      ...extra,
    });
  }

  it('sends FIFO messages with the group id and the UUID as deduplication id', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: entriesOf(input).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
      Failed: [],
    }));
    const plain = sig();
    const grouped = sig({
      BrokerMessageGroupId: 'customer-7',
      Headers: { traceparent: '00-a-b-01' },
    });

    // Act
    await broker().publish([
      { signature: plain },
      { signature: grouped, deduplicationId: `${grouped.UUID}-r1` },
    ]);

    // Assess
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    const [e0, e1] = entriesOf(calls[0]?.args[0].input as SendMessageBatchCommandInput);
    expect(calls[0]?.args[0].input.QueueUrl).toBe(TASKS);
    expect(e0).toMatchObject({ MessageGroupId: plain.UUID, MessageDeduplicationId: plain.UUID });
    expect(JSON.parse(e0?.MessageBody ?? '')).toMatchObject({ UUID: plain.UUID, Name: 'add' });
    expect(e1).toMatchObject({
      MessageGroupId: 'customer-7',
      MessageDeduplicationId: `${grouped.UUID}-r1`,
      MessageAttributes: { traceparent: { DataType: 'String', StringValue: '00-a-b-01' } },
    });
  });

  it('sends 25 signatures in three batches', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: entriesOf(input).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
    }));
    const items = Array.from({ length: 25 }, () => ({ signature: sig() }));

    // Act
    await broker().publish(items);

    // Assess
    const sizes = sqsMock
      .commandCalls(SendMessageBatchCommand)
      .map((c) => entriesOf(c.args[0].input as SendMessageBatchCommandInput).length);
    expect(sizes.sort()).toEqual([10, 10, 5]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_ENTRIES);
  });

  it('retries failed entries until they are sent', async () => {
    // Prepare
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call++;
      const entries = entriesOf(input);
      if (call === 1) {
        return {
          Successful: [{ Id: entries[0]?.Id, MessageId: 'm', MD5OfMessageBody: '' }],
          Failed: entries
            .slice(1)
            .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
        };
      }
      return {
        Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
      };
    });
    const items = [sig(), sig(), sig()].map((signature) => ({ signature }));

    // Act
    await broker().publish(items);

    // Assess
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    const retried = entriesOf(calls[1]?.args[0].input as SendMessageBatchCommandInput);
    expect(retried.map((e) => e.MessageGroupId)).toEqual([
      items[1]?.signature.UUID,
      items[2]?.signature.UUID,
    ]);
  });

  it('throws a PublishError naming only the unsent task when retries run out', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const [first, ...rest] = entriesOf(input);
      return {
        Successful: rest.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
        Failed: first ? [{ Id: first.Id, SenderFault: false, Code: 'InternalError' }] : [],
      };
    });
    const items = [sig(), sig()].map((signature) => ({ signature }));

    // Act
    const err = await broker({ maxSendAttempts: 3 })
      .publish(items)
      .catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).unsent).toEqual([items[0]?.signature.UUID]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('does not retry an entry rejected as the sender fault', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad' }],
    });
    const item = { signature: sig() };

    // Act
    const err = await broker()
      .publish([item])
      .catch((e: unknown) => e);

    // Assess
    expect((err as PublishError).unsent).toEqual([item.signature.UUID]);
    expect((err as PublishError).message).toContain('InvalidParameterValue');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('retries a throttled call and treats a missing queue as permanent', async () => {
    // Prepare
    const throttled = Object.assign(new Error('slow down'), {
      name: 'RequestThrottled',
      $metadata: { httpStatusCode: 400 },
    });
    const missing = Object.assign(new Error('The specified queue does not exist.'), {
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
    sqsMock.on(SendMessageBatchCommand).rejectsOnce(throttled).rejects(missing);
    const item = { signature: sig() };

    // Act
    const err = await broker()
      .publish([item])
      .catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(PublishError);
    expect((err as PublishError).cause).toMatchObject({ code: 'MISSING_QUEUE' });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });

  it('refuses a signature over 1 MiB before sending anything', async () => {
    // Prepare
    const big = newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(1_100_000) }]);

    // Act
    const err = await broker()
      .publish([{ signature: sig() }, { signature: big }])
      .catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect((err as MessageTooLargeError).uuid).toBe(big.UUID);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('routes by RoutingKey, resolving a queue name once', async () => {
    // Prepare
    const other = 'http://sqs.local/000000000000/reports.fifo';
    sqsMock.on(GetQueueUrlCommand).resolves({ QueueUrl: other });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: entriesOf(input).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
    }));
    const b = broker();

    // Act
    await b.publish([{ signature: sig({ RoutingKey: 'reports.fifo' }) }, { signature: sig() }]);
    await b.publish([{ signature: sig({ RoutingKey: 'reports.fifo' }) }]);

    // Assess
    expect(sqsMock.commandCalls(GetQueueUrlCommand)).toHaveLength(1);
    const urls = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.QueueUrl);
    expect(urls.sort()).toEqual([other, other, TASKS].sort());
  });

  it('sends delayed messages to the delay queue with DelaySeconds and no FIFO ids', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: entriesOf(input).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: '' })),
    }));
    const s = sig();

    // Act
    await broker().publishDelayed([{ signature: s, delaySeconds: 30 }]);

    // Assess
    const input = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0]
      .input as SendMessageBatchCommandInput;
    expect(input.QueueUrl).toBe(DELAY);
    expect(input.Entries?.[0]).toMatchObject({ DelaySeconds: 30 });
    expect(input.Entries?.[0]?.MessageGroupId).toBeUndefined();
    expect(input.Entries?.[0]?.MessageDeduplicationId).toBeUndefined();
  });

  it('refuses a delay over 900 s', async () => {
    // Act & Assess
    await expect(
      broker().publishDelayed([{ signature: sig(), delaySeconds: 901 }]),
    ).rejects.toThrow(RangeError);
  });
});
