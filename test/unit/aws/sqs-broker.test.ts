import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageTooLargeError, PublishError } from '../../../src/aws/errors.js';
import { messageBytes, SqsBroker, splitIntoBatches } from '../../../src/aws/sqs-broker.js';
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

/**
 * Faults fauxqs cannot produce, injected with `aws-sdk-client-mock`: fauxqs's `SendMessageBatch`
 * reports an entry `Failed` only as the sender's fault (bad characters, too large, FIFO ids
 * missing) and never throttles, so a batch with entries failed for a server-side reason
 * (`InternalError`, `SenderFault: false`) and a throttled call exist only here. Everything SQS
 * does when it works is tested against fauxqs in `test/integration/aws-sqs-broker.test.ts`.
 */
describe('Class: SqsBroker (faults the SQS emulator cannot produce)', () => {
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

  it('retries failed entries until they are sent', async () => {
    // Prepare. Fault: the first batch reports two entries Failed with `InternalError`
    // (`SenderFault: false`), which fauxqs never answers.
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
    // Prepare. Fault: every batch reports its first entry Failed with `InternalError`
    // (`SenderFault: false`), which fauxqs never answers.
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

  it('retries a throttled call and treats a missing queue as permanent', async () => {
    // Prepare. Fault: a throttled call (`RequestThrottled`), which fauxqs never answers, then a
    // missing queue on the retry of the same batch, a sequence of two answers only a mock gives
    // (a missing queue alone is tested against fauxqs in aws-sqs-broker.test.ts).
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
});
