/**
 * The SQS calls of dead-letter queue operations (list, redrive, purge): receive with every
 * attribute, release, delete, copy to another queue, message move tasks. Every AWS error is
 * translated here (`translateAwsError`); an endpoint without message move tasks answers
 * {@link MoveTasksUnsupportedError}.
 *
 * IAM: `sqs:ReceiveMessage`, `sqs:ChangeMessageVisibility`, `sqs:DeleteMessage`,
 * `sqs:GetQueueAttributes`, `sqs:PurgeQueue` on the DLQs, `sqs:SendMessage` on the queues they
 * redrive into, and `sqs:StartMessageMoveTask` / `sqs:ListMessageMoveTasks` on the DLQs.
 *
 * @module
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { MoveTasksUnsupportedError, translateAwsError } from './errors.js';
import { MAX_BATCH_ENTRIES, messageBytes, splitIntoBatches } from './sqs-broker.js';

/**
 * One received DLQ message with its system and message attributes.
 *
 * @example
 * ```ts
 * const [m] = await dlq.receive({ max: 1 });
 * m?.attributes.MessageGroupId;
 * ```
 */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS's `MD5OfBody`. */
  md5OfBody: string | undefined;
  /** System attributes (`ApproximateReceiveCount`, `MessageGroupId`, `MessageDeduplicationId`…). */
  attributes: Readonly<Record<string, string>>;
  messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
}

/**
 * A message to send to a queue, copied from a DLQ message.
 *
 * @example
 * ```ts
 * const copy: MessageCopy = { id: m.messageId, body: m.body, attributes: {}, groupId: 'g', deduplicationId: m.messageId };
 * ```
 */
export interface MessageCopy {
  /** The DLQ message id the copy comes from (names it in errors). */
  id: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  /** FIFO only. */
  groupId?: string;
  /** FIFO only. */
  deduplicationId?: string;
}

/**
 * A message move task as `ListMessageMoveTasks` reports it.
 *
 * @example
 * ```ts
 * const t: MoveTask = { taskHandle: 'h', status: 'RUNNING', sourceArn, destinationArn, moved: 10, toMove: 500, maxPerSecond: 100, startedAt: Date.now(), failureReason: null };
 * ```
 */
export interface MoveTask {
  /** Only for a running task (what `CancelMessageMoveTask` takes). */
  taskHandle: string | null;
  status: string;
  sourceArn: string;
  destinationArn: string | null;
  moved: number;
  toMove: number | null;
  maxPerSecond: number | null;
  /** Epoch ms. */
  startedAt: number | null;
  failureReason: string | null;
}

/** Names an endpoint uses to say it has no such action (fauxqs: `InvalidAction`). */
const UNKNOWN_ACTION_NAMES = new Set(['InvalidAction', 'UnknownOperationException']);

function isUnknownAction(e: unknown): boolean {
  const err = e as { name?: unknown; Code?: unknown; message?: unknown } | null;
  if (err === null || typeof err !== 'object') return false;
  if (typeof err.name === 'string' && UNKNOWN_ACTION_NAMES.has(err.name)) return true;
  if (typeof err.Code === 'string' && UNKNOWN_ACTION_NAMES.has(err.Code)) return true;
  return typeof err.message === 'string' && /unknown (action|operation)/i.test(err.message);
}

function chunks<T>(items: readonly T[], size = MAX_BATCH_ENTRIES): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One dead-letter queue (or any queue) by URL.
 *
 * @example
 * ```ts
 * const dlq = new SqsQueue(sqs, 'http://127.0.0.1:4566/000000000000/tasks-dlq.fifo');
 * const messages = await dlq.receive({ max: 10, visibilityTimeoutSeconds: 30 });
 * await dlq.release(messages);
 * ```
 */
export class SqsQueue {
  readonly #sqs: SQSClient;
  readonly url: string;
  #arn: Promise<string> | undefined;

  constructor(sqs: SQSClient, url: string) {
    this.#sqs = sqs;
    this.url = url;
  }

  /** Whether the queue is FIFO (its name ends in `.fifo`). */
  get fifo(): boolean {
    return this.url.endsWith('.fifo');
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw translateAwsError(e, { service: 'SQS', resource: this.url });
    }
  }

  /** A message move task call: an unknown-action answer is {@link MoveTasksUnsupportedError}. */
  async #moveTaskCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (isUnknownAction(e)) throw new MoveTasksUnsupportedError(operation, { cause: e });
      throw translateAwsError(e, { service: 'SQS', resource: this.url });
    }
  }

  /**
   * Receives up to `max` (at most 10) messages at once (no long poll), hiding them for
   * `visibilityTimeoutSeconds`.
   */
  receive(options: { max: number; visibilityTimeoutSeconds: number }): Promise<ReceivedMessage[]> {
    return this.#call(async () => {
      const out = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.url,
          MaxNumberOfMessages: Math.min(MAX_BATCH_ENTRIES, Math.max(1, options.max)),
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return (out.Messages ?? []).flatMap((m): ReceivedMessage[] =>
        m.MessageId && m.ReceiptHandle
          ? [
              {
                messageId: m.MessageId,
                receiptHandle: m.ReceiptHandle,
                body: m.Body ?? '',
                md5OfBody: m.MD5OfBody,
                attributes: { ...(m.Attributes ?? {}) },
                messageAttributes: { ...(m.MessageAttributes ?? {}) },
              },
            ]
          : [],
      );
    });
  }

  /** Makes received messages visible again at once (`ChangeMessageVisibility` 0). */
  async release(messages: readonly ReceivedMessage[]): Promise<void> {
    for (const batch of chunks(messages)) {
      await this.#call(() =>
        this.#sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.url,
            Entries: batch.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.receiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        ),
      );
    }
  }

  /** Deletes received messages; resolves with the ids SQS did not delete. */
  async delete(messages: readonly ReceivedMessage[]): Promise<string[]> {
    const failed: string[] = [];
    for (const batch of chunks(messages)) {
      const out = await this.#call(() =>
        this.#sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.url,
            Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
          }),
        ),
      );
      for (const f of out.Failed ?? []) {
        const m = batch[Number(f.Id)];
        if (m) failed.push(m.messageId);
      }
    }
    return failed;
  }

  /**
   * Sends copies in batches (at most 10 entries and 1 MiB each); resolves with the ids of the
   * copies sent. Entries SQS refuses are left out (their DLQ messages stay where they are).
   */
  async send(copies: readonly MessageCopy[]): Promise<{ sent: string[]; failed: string[] }> {
    const sized = copies.map((c) => ({
      ...c,
      uuid: c.id,
      bytes: messageBytes(c.body, c.attributes),
    }));
    const sent: string[] = [];
    const failed: string[] = [];
    for (const batch of splitIntoBatches(sized)) {
      const out = await this.#call(() =>
        this.#sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.url,
            Entries: batch.map((c, i) => ({
              Id: String(i),
              MessageBody: c.body,
              ...(Object.keys(c.attributes).length > 0 ? { MessageAttributes: c.attributes } : {}),
              ...(c.groupId === undefined ? {} : { MessageGroupId: c.groupId }),
              ...(c.deduplicationId === undefined
                ? {}
                : { MessageDeduplicationId: c.deduplicationId }),
            })),
          }),
        ),
      );
      const ok = new Set((out.Successful ?? []).map((s) => s.Id));
      batch.forEach((c, i) => {
        (ok.has(String(i)) ? sent : failed).push(c.id);
      });
    }
    return { sent, failed };
  }

  /** The queue's ARN (`GetQueueAttributes`, asked once). */
  arn(): Promise<string> {
    this.#arn ??= this.#call(async () => {
      const out = await this.#sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['QueueArn'] }),
      );
      const arn = out.Attributes?.QueueArn;
      if (!arn) throw new Error(`GetQueueAttributes returned no QueueArn for ${this.url}`);
      return arn;
    }).catch((e: unknown) => {
      this.#arn = undefined;
      throw e;
    });
    return this.#arn;
  }

  /** Messages in the queue, visible plus in flight (SQS's approximate counts). */
  approximateCount(): Promise<number> {
    return this.#call(async () => {
      const out = await this.#sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const a = out.Attributes ?? {};
      return (
        Number(a.ApproximateNumberOfMessages ?? 0) +
        Number(a.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    });
  }

  /** Deletes every message (`PurgeQueue`; SQS allows one purge per queue every 60 s). */
  async purge(): Promise<void> {
    await this.#call(() => this.#sqs.send(new PurgeQueueCommand({ QueueUrl: this.url })));
  }

  /**
   * Starts a message move task from this queue (a DLQ) to `destinationArn`; resolves with its
   * handle. Throws {@link MoveTasksUnsupportedError} when the endpoint has no such action.
   */
  async startMoveTask(options: { destinationArn: string; maxPerSecond?: number }): Promise<string> {
    const sourceArn = await this.arn();
    return this.#moveTaskCall('StartMessageMoveTask', async () => {
      const out = await this.#sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: sourceArn,
          DestinationArn: options.destinationArn,
          ...(options.maxPerSecond === undefined
            ? {}
            : { MaxNumberOfMessagesPerSecond: options.maxPerSecond }),
        }),
      );
      return out.TaskHandle ?? '';
    });
  }

  /**
   * The most recent message move tasks of this queue (running first), at most 10. Throws
   * {@link MoveTasksUnsupportedError} when the endpoint has no such action.
   */
  async listMoveTasks(): Promise<MoveTask[]> {
    const sourceArn = await this.arn();
    return this.#moveTaskCall('ListMessageMoveTasks', async () => {
      const out = await this.#sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }),
      );
      return (out.Results ?? []).map((r) => ({
        taskHandle: r.TaskHandle ?? null,
        status: r.Status ?? 'UNKNOWN',
        sourceArn: r.SourceArn ?? sourceArn,
        destinationArn: r.DestinationArn ?? null,
        moved: Number(r.ApproximateNumberOfMessagesMoved ?? 0),
        toMove:
          r.ApproximateNumberOfMessagesToMove === undefined
            ? null
            : Number(r.ApproximateNumberOfMessagesToMove),
        maxPerSecond:
          r.MaxNumberOfMessagesPerSecond === undefined ? null : r.MaxNumberOfMessagesPerSecond,
        startedAt: r.StartedTimestamp === undefined ? null : Number(r.StartedTimestamp),
        failureReason: r.FailureReason ?? null,
      }));
    });
  }
}
