import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { decodeSignature, newSignature } from '../../src/core/signature.js';
import { countRequests, receiveMessages } from './aws-helpers.js';
import { getTestStack, makeClients, type TestClients, type TestStack } from './support/stack.js';

/**
 * Receives `count` distinct messages without deleting them (each task is its own message group,
 * so none waits behind another): about a tenth of the requests of receiving and deleting each.
 */
async function receiveWithoutDeleting(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const deadline = Date.now() + 150_000;
  while (seen.size < count && Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 900,
      }),
    );
    for (const m of out.Messages ?? []) if (m.MessageId) seen.set(m.MessageId, m);
  }
  return [...seen.values()];
}

describe('Function: createClient (automatic batching on the emulators)', () => {
  let stack: TestStack;
  let producer: TestClients;
  let sqsRequests: Map<string, number>;
  let ddbRequests: Map<string, number>;
  let client: MachineryClient;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'batching' });
    producer = makeClients(stack.endpoints);
    sqsRequests = countRequests(producer.sqs);
    ddbRequests = countRequests(producer.dynamodb);
    client = createClient({
      env: stack.env,
      aws: { sqs: producer.sqs, dynamodb: producer.dynamodb, scheduler: producer.scheduler },
    });
  });

  afterAll(async () => {
    client?.close();
    for (const c of Object.values(producer ?? {})) c.destroy();
    await stack?.stop();
  });

  it('sends 1,000 concurrent sendTask calls in at most 110 SQS requests, each message on the queue with its body', async () => {
    // Prepare
    sqsRequests.clear();
    ddbRequests.clear();
    const sigs = Array.from({ length: 1_000 }, (_, i) =>
      newSignature('add', [
        { Type: 'int64', Value: i },
        { Type: 'int64', Value: 1 },
      ]),
    );

    // Act
    const results = await Promise.all(sigs.map((s) => client.sendTask(s)));

    // Assess
    const sends =
      (sqsRequests.get('SendMessageBatchCommand') ?? 0) +
      (sqsRequests.get('SendMessageCommand') ?? 0);
    expect(sends).toBeGreaterThanOrEqual(100);
    expect(sends).toBeLessThanOrEqual(110);
    expect(ddbRequests.get('PutItemCommand')).toBe(1_000);
    expect(results.map((r) => r.uuid)).toEqual(sigs.map((s) => s.UUID));
    const received = await receiveWithoutDeleting(producer.sqs, stack.queueUrls.tasks, 1_000);
    const bodies = new Map(
      received.map((m) => {
        const decoded = decodeSignature(m.Body ?? '');
        return [decoded.UUID, decoded];
      }),
    );
    expect(bodies.size).toBe(1_000);
    for (const s of sigs) {
      expect(bodies.get(s.UUID)?.Args).toEqual(s.Args);
    }
  }, 240_000);

  it('delivers concurrent sends of one message group in the order they were called', async () => {
    // Prepare
    sqsRequests.clear();
    const sigs = Array.from({ length: 25 }, (_, i) =>
      newSignature('step', [{ Type: 'int64', Value: i }], { BrokerMessageGroupId: 'order-7' }),
    );

    // Act
    await Promise.all(sigs.map((s) => client.sendTask(s)));

    // Assess
    expect(sqsRequests.get('SendMessageBatchCommand')).toBe(3);
    const received = await receiveMessages(producer.sqs, stack.queueUrls.tasks, { count: 25 });
    expect(received.map((m) => decodeSignature(m.Body ?? '').UUID)).toEqual(
      sigs.map((s) => s.UUID),
    );
  });

  it('sends each call in its own request when batching is disabled', async () => {
    // Prepare
    const unbatched = createClient({
      env: stack.env,
      aws: { sqs: producer.sqs, dynamodb: producer.dynamodb, scheduler: producer.scheduler },
      batching: { enabled: false },
    });
    sqsRequests.clear();
    const sigs = Array.from({ length: 20 }, () => newSignature('add', []));

    // Act
    await Promise.all(sigs.map((s) => unbatched.sendTask(s)));

    // Assess
    expect(sqsRequests.get('SendMessageBatchCommand')).toBe(20);
    await receiveMessages(producer.sqs, stack.queueUrls.tasks, { count: 20 });
    unbatched.close();
  });
});
