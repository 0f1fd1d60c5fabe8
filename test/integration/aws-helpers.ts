/**
 * Test helpers of the AWS adapters' integration tests: per-command request counters and fault
 * injection, both as AWS SDK middleware.
 *
 * @module
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { encodeSignature } from '../../src/core/signature.js';
import type { Signature } from '../../src/core/types.js';

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** A client whose middleware stack we can extend (every SDK v3 client and the document client). */
interface WithMiddleware {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are generic per client
    add(middleware: any, options: any): void;
  };
}

/**
 * Counts HTTP requests per command name (`PutItemCommand`, `SendMessageBatchCommand`…). Added at
 * the `finalizeRequest` step with low priority, i.e. below the retry middleware: SDK retries count
 * as requests, as AWS bills them.
 *
 * @example
 * ```ts
 * const counts = countRequests(ddbClient);
 * counts.get('UpdateItemCommand');
 * ```
 */
export function countRequests(client: WithMiddleware): Map<string, number> {
  const counts = new Map<string, number>();
  const middleware: Middleware = (next, context) => async (args) => {
    const name = context.commandName ?? 'unknown';
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return next(args);
  };
  client.middlewareStack.add(middleware, {
    step: 'finalizeRequest',
    priority: 'low',
    name: `countRequests-${Math.random()}`,
  });
  return counts;
}

/** One command a client sent: its name and its input, as the code under test passed it. */
export interface RecordedCommand {
  name: string;
  input: Record<string, unknown>;
}

/**
 * Records every command a client sends (name and input), in order, without changing it: the
 * request still goes to the emulator. Added at the `initialize` step, i.e. once per `send`, SDK
 * retries not repeated (use {@link countRequests} for HTTP requests). Read the inputs of one
 * command with {@link inputsOf}.
 *
 * @example
 * ```ts
 * const sent = recordCommands(sqs);
 * await broker.publish(items);
 * inputsOf<SendMessageBatchCommandInput>(sent, 'SendMessageBatchCommand');
 * ```
 */
export function recordCommands(client: WithMiddleware): RecordedCommand[] {
  const recorded: RecordedCommand[] = [];
  const middleware: Middleware = (next, context) => async (args) => {
    const input = (args as { input?: Record<string, unknown> }).input ?? {};
    recorded.push({ name: context.commandName ?? 'unknown', input: structuredClone(input) });
    return next(args);
  };
  client.middlewareStack.add(middleware, {
    step: 'initialize',
    priority: 'high',
    name: `recordCommands-${Math.random()}`,
  });
  return recorded;
}

/**
 * The inputs of the recorded commands named `name` (`'SendMessageBatchCommand'`…), in order.
 *
 * @example
 * ```ts
 * const batches = inputsOf<SendMessageBatchCommandInput>(sent, 'SendMessageBatchCommand');
 * ```
 */
export function inputsOf<T>(recorded: readonly RecordedCommand[], name: string): T[] {
  return recorded.filter((c) => c.name === name).map((c) => c.input as T);
}

/** The DynamoDB commands that write. */
export const DYNAMODB_WRITES = [
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
];

/** Sum of the counts of `names`. */
export function total(counts: Map<string, number>, names?: readonly string[]): number {
  let n = 0;
  for (const [k, v] of counts) if (!names || names.includes(k)) n += v;
  return n;
}

/**
 * Makes a fraction of a client's requests fail with a throttling error
 * (`ProvisionedThroughputExceededException`) before they reach the service (so nothing is written,
 * as with real throttling). Added at `finalizeRequest` with low priority: below the SDK's retry
 * layer, where a real throttled response would surface. Build the client with `maxAttempts: 1`
 * so the SDK does not retry it away and the code under test really sees the error.
 *
 * @example
 * ```ts
 * const faults = injectThrottling(new DynamoDBClient({ maxAttempts: 1 }), 0.05);
 * faults.injected; // how many so far
 * ```
 */
export function injectThrottling(
  client: WithMiddleware,
  rate: number,
  random: () => number = Math.random,
): { injected: number; enabled: boolean } {
  const state = { injected: 0, enabled: true };
  const middleware: Middleware = (next) => async (args) => {
    if (state.enabled && random() < rate) {
      state.injected++;
      throw new ProvisionedThroughputExceededException({
        $metadata: { httpStatusCode: 400 },
        message: 'injected by the test: throughput exceeded',
      });
    }
    return next(args);
  };
  client.middlewareStack.add(middleware, {
    step: 'finalizeRequest',
    priority: 'low',
    name: `injectThrottling-${Math.random()}`,
  });
  return state;
}

/**
 * A Powertools logger for tests: only errors (the worker logs every task at info level).
 *
 * @example
 * ```ts
 * createWorker({ tasks, logger: quietLogger() });
 * ```
 */
export function quietLogger(level: 'ERROR' | 'WARN' | 'INFO' | 'SILENT' = 'ERROR'): Logger {
  return new Logger({ serviceName: 'machinery-worker-test', logLevel: level });
}

/**
 * Polls `check` until it returns something other than `undefined`, or fails after `timeoutMs`
 * with `describe()` in the message.
 *
 * @example
 * ```ts
 * const rec = await waitFor(async () => (await backend.get(uuid, { now: Date.now() }))?.state === 'SUCCESS' || undefined);
 * ```
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    describe?: () => string | Promise<string>;
  } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const what = options.describe ? await options.describe() : 'condition';
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/**
 * Receives messages from a queue until `count` distinct ones were seen or `timeoutMs` passed,
 * deleting each (a FIFO queue returns the next message of a group only once the previous one is
 * deleted). Message attributes included.
 *
 * @example
 * ```ts
 * const dead = await receiveMessages(sqs, dlqUrl, { count: 6 });
 * ```
 */
export async function receiveMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: { count: number; timeoutMs?: number },
): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (seen.size < options.count && Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 600,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    for (const m of out.Messages ?? []) {
      if (m.MessageId) seen.set(m.MessageId, m);
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return [...seen.values()];
}

/**
 * Messages in a queue: visible, in flight and delayed.
 *
 * @example
 * ```ts
 * expect(await queueDepth(sqs, dlqUrl)).toBe(0);
 * ```
 */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/**
 * A queue's message counts by kind: visible, in flight (received, not deleted) and delayed.
 *
 * @example
 * ```ts
 * expect(await queueCounts(sqs, delayUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
 * ```
 */
export async function queueCounts(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/**
 * Sends each signature to a FIFO queue again, as a second message (same body and message group, a
 * new deduplication id, so SQS really delivers both), in batches of 10.
 *
 * @example
 * ```ts
 * await sendDuplicates(sqs, queueUrl, sigs.filter((_, i) => i % 20 === 0)); // 5 % twice
 * ```
 */
export async function sendDuplicates(
  sqs: SQSClient,
  queueUrl: string,
  signatures: readonly Signature[],
): Promise<void> {
  for (let i = 0; i < signatures.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: signatures.slice(i, i + 10).map((s, j) => ({
          Id: String(j),
          MessageBody: encodeSignature(s),
          MessageGroupId: s.UUID,
          MessageDeduplicationId: `${s.UUID}-duplicate`,
        })),
      }),
    );
  }
}
