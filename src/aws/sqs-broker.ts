/**
 * The SQS implementation of the core `Broker` port: sends signatures to the FIFO task queue (or
 * the queue a `RoutingKey` names) and to the standard delay queue.
 *
 * - **FIFO ids.** `MessageGroupId` is `BrokerMessageGroupId` when set (the user's ordering key),
 *   otherwise the task UUID, the same on every send, resend and redrive. `MessageDeduplicationId`
 *   is `PublishItem.deduplicationId`, by default the task UUID: a re-send of the same attempt
 *   within SQS's 5-minute window is a duplicate, and a retry passes a new id.
 * - **Batching.** Many signatures go in `SendMessageBatch` calls of at most 10 entries and 1 MiB
 *   (body plus message attributes, as SQS counts it), several at once; a batch holding a message
 *   group is sent after the earlier batches holding it, so the group keeps the items' order. A
 *   single message over 1 MiB is refused before anything is sent ({@link MessageTooLargeError}).
 * - **Never dropped.** Entries a batch reports as failed are retried with exponential back-off (a
 *   bounded number of attempts). Entries still unsent after that, or rejected by SQS as the
 *   sender's fault, make `publish` reject with a {@link PublishError} listing their UUIDs (the
 *   others were sent; re-publishing all is safe, FIFO deduplication drops the repeats).
 * - **RoutingKey** is a queue URL (`https://…`) or a queue name. `''` is the task queue; the name
 *   of the task queue or of the high-priority task queue (`core/routing.ts` writes those) is
 *   resolved from the configured URLs, with no call; any other name with `GetQueueUrl` once, then
 *   cached. A target whose name does not end in `.fifo` is a standard queue: no group or
 *   deduplication id.
 * - **Trace context.** When `Headers.traceparent` (and `tracestate`) is a string, it is also sent
 *   as a message attribute, so tools that look only at attributes can follow the trace.
 *
 * IAM: `sqs:SendMessage` on the task queue(s) and the delay queue, `sqs:GetQueueUrl` when routing
 * keys name queues other than the configured ones (plus `kms:GenerateDataKey` / `kms:Decrypt` for queues with a customer key).
 *
 * @module
 */
import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../core/clock.js';
import { TransientInfrastructureError } from '../core/errors.js';
import type { Broker, PublishItem } from '../core/ports.js';
import { DEFAULTS } from '../core/resources.js';
import { queueNameOf } from '../core/routing.js';
import { encodeSignature } from '../core/signature.js';
import type { Signature } from '../core/types.js';
import { ConfigError, MessageTooLargeError, PublishError, translateAwsError } from './errors.js';

/** SQS's largest batch. */
export const MAX_BATCH_ENTRIES = 10;

/**
 * Options of {@link SqsBroker}.
 *
 * @example
 * ```ts
 * const opts: SqsBrokerOptions = { sqs, taskQueueUrl, delayQueueUrl };
 * ```
 */
export interface SqsBrokerOptions {
  /** The SQS client (see `createSqsClient`). */
  sqs: SQSClient;
  /** URL of the FIFO task queue. */
  taskQueueUrl: string;
  /** URL of the FIFO high-priority task queue, when the deployment has one. @default none */
  highTaskQueueUrl?: string;
  /** URL of the standard delay queue; required by `publishDelayed`. */
  delayQueueUrl?: string;
  /** Attempts per entry, the first included, before an entry counts as unsent. @default 5 */
  maxSendAttempts?: number;
  /** Back-off before the second attempt, ms; doubles each attempt, with jitter. @default 100 */
  retryBaseDelayMs?: number;
  /** `SendMessageBatch` calls in flight at once. @default 8 */
  concurrency?: number;
  /** Largest message (body plus attributes), bytes. @default DEFAULTS.maxMessageBytes (1 MiB) */
  maxMessageBytes?: number;
  /** Clock used for back-off sleeps. @default systemClock */
  clock?: Clock;
}

/** One message ready to send. */
export interface OutgoingMessage {
  /** Task UUID (for errors). */
  uuid: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  groupId?: string;
  deduplicationId?: string;
  delaySeconds?: number;
  /** Body plus attributes, bytes, as SQS counts it. */
  bytes: number;
}

/** What one batch left unsent, and why. */
interface BatchResult {
  unsent: string[];
  reason?: string;
  cause?: unknown;
}

/**
 * Size of a message as SQS counts it against the 1 MiB limit: the body plus, for each message
 * attribute, its name, data type and value, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * messageBytes('{}', { traceparent: { DataType: 'String', StringValue: '00-…' } });
 * ```
 */
export function messageBytes(
  body: string,
  attributes: Record<string, MessageAttributeValue>,
): number {
  let n = Buffer.byteLength(body, 'utf8');
  for (const [name, v] of Object.entries(attributes)) {
    n += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(v.DataType ?? '', 'utf8');
    if (v.StringValue !== undefined) n += Buffer.byteLength(v.StringValue, 'utf8');
    if (v.BinaryValue !== undefined) n += v.BinaryValue.byteLength;
  }
  return n;
}

/**
 * Splits messages into batches SQS accepts: at most `maxEntries` entries and at most `maxBytes`
 * in total, keeping their order. Throws {@link MessageTooLargeError} for a message that alone
 * exceeds `maxBytes`.
 *
 * @example
 * ```ts
 * const batches = splitIntoBatches(messages); // [[m0..m9], [m10..]]
 * ```
 */
export function splitIntoBatches<T extends Pick<OutgoingMessage, 'uuid' | 'bytes'>>(
  messages: readonly T[],
  maxEntries: number = MAX_BATCH_ENTRIES,
  maxBytes: number = DEFAULTS.maxMessageBytes,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const m of messages) {
    if (m.bytes > maxBytes) throw new MessageTooLargeError(m.uuid, m.bytes, maxBytes);
    if (current.length > 0 && (current.length >= maxEntries || size + m.bytes > maxBytes)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += m.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Message attributes carrying a signature's trace context (`traceparent`, `tracestate` from
 * `Headers`), when present.
 *
 * @example
 * ```ts
 * traceAttributes(sig); // { traceparent: { DataType: 'String', StringValue: '00-…-01' } }
 * ```
 */
export function traceAttributes(signature: Signature): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const v = signature.Headers?.[key];
    if (typeof v === 'string' && v.length > 0) out[key] = { DataType: 'String', StringValue: v };
  }
  return out;
}

/** Whether a queue (URL or name) is FIFO. */
export function isFifoQueue(urlOrName: string): boolean {
  return urlOrName.endsWith('.fifo');
}

/**
 * The message group of a signature on a FIFO queue: `BrokerMessageGroupId`, else the task UUID.
 *
 * @example
 * ```ts
 * messageGroupId({ ...sig, BrokerMessageGroupId: '' }); // sig.UUID
 * ```
 */
export function messageGroupId(
  signature: Pick<Signature, 'UUID' | 'BrokerMessageGroupId'>,
): string {
  return signature.BrokerMessageGroupId || signature.UUID;
}

/**
 * A `GetQueueUrl` lookup with a cache: each queue (name and owner account) is asked for once; a
 * failed lookup is not kept, so the next call asks again. Errors are translated
 * (`MISSING_QUEUE`…). Shared by the broker (routing keys) and the consumer (records' source ARNs).
 *
 * @example
 * ```ts
 * const lookup = queueUrlLookup(sqs);
 * await lookup('reports.fifo'); // 'https://sqs…/123456789012/reports.fifo'
 * ```
 */
export function queueUrlLookup(
  sqs: SQSClient,
): (queueName: string, ownerAccountId?: string) => Promise<string> {
  const urls = new Map<string, Promise<string>>();
  return (queueName, ownerAccountId) => {
    const key = `${ownerAccountId ?? ''}/${queueName}`;
    let url = urls.get(key);
    if (url === undefined) {
      url = sqs
        .send(
          new GetQueueUrlCommand({
            QueueName: queueName,
            ...(ownerAccountId ? { QueueOwnerAWSAccountId: ownerAccountId } : {}),
          }),
        )
        .then(
          (out) => {
            if (!out.QueueUrl) throw new Error(`GetQueueUrl returned no URL for ${queueName}`);
            return out.QueueUrl;
          },
          (e: unknown) => {
            throw translateAwsError(e, { service: 'SQS', resource: queueName });
          },
        )
        .catch((e: unknown) => {
          urls.delete(key);
          throw e;
        });
      urls.set(key, url);
    }
    return url;
  };
}

/**
 * Sends signatures to SQS. Implements the core `Broker` port.
 *
 * @example
 * ```ts
 * const broker = new SqsBroker({ sqs: createSqsClient(), taskQueueUrl, delayQueueUrl });
 * await broker.publish([{ signature: newSignature('add', args) }]);
 * ```
 */
export class SqsBroker implements Broker {
  readonly #sqs: SQSClient;
  readonly #taskQueueUrl: string;
  readonly #delayQueueUrl: string | undefined;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #concurrency: number;
  readonly #maxBytes: number;
  readonly #clock: Clock;
  readonly #lookupUrl: (queueName: string) => Promise<string>;
  /** The configured task queues by name: routing keys naming them need no lookup. */
  readonly #known: ReadonlyMap<string, string>;

  constructor(options: SqsBrokerOptions) {
    this.#sqs = options.sqs;
    this.#taskQueueUrl = options.taskQueueUrl;
    this.#known = new Map(
      [options.taskQueueUrl, options.highTaskQueueUrl]
        .filter((url): url is string => url !== undefined)
        .map((url) => [queueNameOf(url), url]),
    );
    this.#delayQueueUrl = options.delayQueueUrl;
    this.#maxAttempts = Math.max(1, options.maxSendAttempts ?? 5);
    this.#baseDelayMs = options.retryBaseDelayMs ?? 100;
    this.#concurrency = Math.max(1, options.concurrency ?? 8);
    this.#maxBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
    this.#clock = options.clock ?? systemClock;
    this.#lookupUrl = queueUrlLookup(options.sqs);
  }

  /** URL of the FIFO task queue. */
  get taskQueueUrl(): string {
    return this.#taskQueueUrl;
  }

  /** URL of the delay queue, when configured. */
  get delayQueueUrl(): string | undefined {
    return this.#delayQueueUrl;
  }

  /**
   * The URL of the queue a `RoutingKey` names: the task queue for `''`, the key itself when it is
   * a URL, the configured URL for the name of the task queue or the high-priority queue, else
   * `GetQueueUrl` of the name (cached).
   *
   * @example
   * ```ts
   * await broker.queueUrlFor('reports.fifo'); // 'https://sqs…/123456789012/reports.fifo'
   * ```
   */
  queueUrlFor(routingKey: string): Promise<string> {
    if (routingKey === '') return Promise.resolve(this.#taskQueueUrl);
    if (/^https?:\/\//.test(routingKey)) return Promise.resolve(routingKey);
    const known = this.#known.get(routingKey);
    if (known !== undefined) return Promise.resolve(known);
    return this.#lookupUrl(routingKey);
  }

  async publish(items: readonly PublishItem[]): Promise<void> {
    const byQueue = new Map<string, OutgoingMessage[]>();
    const urls = await Promise.all(items.map((i) => this.queueUrlFor(i.signature.RoutingKey)));
    items.forEach((item, i) => {
      const url = urls[i] as string;
      const fifo = isFifoQueue(url);
      const body = encodeSignature(item.signature);
      const attributes = traceAttributes(item.signature);
      const msg: OutgoingMessage = {
        uuid: item.signature.UUID,
        body,
        attributes,
        bytes: messageBytes(body, attributes),
        ...(fifo
          ? {
              groupId: messageGroupId(item.signature),
              deduplicationId: item.deduplicationId ?? item.signature.UUID,
            }
          : {}),
      };
      const list = byQueue.get(url) ?? [];
      list.push(msg);
      byQueue.set(url, list);
    });
    await this.#sendAll(byQueue);
  }

  async publishDelayed(
    items: readonly { signature: Signature; delaySeconds: number; body?: string }[],
  ): Promise<void> {
    if (items.length === 0) return;
    const url = this.#delayQueueUrl;
    if (url === undefined) {
      throw new ConfigError(
        'a delayed send needs the delay queue, but no delay queue URL is configured (MACHINERY_DELAY_QUEUE_URL)',
      );
    }
    const messages = items.map((item): OutgoingMessage => {
      const d = item.delaySeconds;
      if (!Number.isInteger(d) || d < 0 || d > DEFAULTS.maxDelaySeconds) {
        throw new RangeError(
          `delaySeconds must be an integer from 0 to ${DEFAULTS.maxDelaySeconds}, got ${d} (task ${item.signature.UUID})`,
        );
      }
      const body = item.body ?? encodeSignature(item.signature);
      const attributes = traceAttributes(item.signature);
      return {
        uuid: item.signature.UUID,
        body,
        attributes,
        bytes: messageBytes(body, attributes),
        delaySeconds: d,
      };
    });
    await this.#sendAll(new Map([[url, messages]]));
  }

  /**
   * Sends every message (validated and split first, so an oversize one sends nothing). Batches go
   * `concurrency` at a time, except that a batch holding a message group waits until the earlier
   * batches holding that group have settled (retries included), so a group keeps its order.
   */
  async #sendAll(byQueue: Map<string, OutgoingMessage[]>): Promise<void> {
    const jobs: { url: string; batch: OutgoingMessage[]; after: Promise<unknown>[] }[] = [];
    const done: Promise<unknown>[] = [];
    const settle: (() => void)[] = [];
    for (const [url, messages] of byQueue) {
      const lastOfGroup = new Map<string, number>();
      for (const batch of splitIntoBatches(messages, MAX_BATCH_ENTRIES, this.#maxBytes)) {
        const index = jobs.length;
        const after = new Set<Promise<unknown>>();
        for (const m of batch) {
          if (m.groupId === undefined) continue;
          const previous = lastOfGroup.get(m.groupId);
          if (previous !== undefined && previous !== index)
            after.add(done[previous] as Promise<unknown>);
          lastOfGroup.set(m.groupId, index);
        }
        jobs.push({ url, batch, after: [...after] });
        done.push(new Promise<void>((resolve) => settle.push(resolve)));
      }
    }
    const unsent: string[] = [];
    const reasons: string[] = [];
    let cause: unknown;
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const index = next++;
        const job = jobs[index] as (typeof jobs)[number];
        let result: BatchResult;
        try {
          await Promise.all(job.after);
          result = await this.#sendBatch(job.url, job.batch);
        } finally {
          settle[index]?.();
        }
        unsent.push(...result.unsent);
        if (result.reason !== undefined) reasons.push(result.reason);
        if (result.cause !== undefined) cause ??= result.cause;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, jobs.length) }, worker));
    if (unsent.length > 0) {
      throw new PublishError(unsent, [...new Set(reasons)].join('; '), { cause });
    }
  }

  /** One batch, with retries of failed entries. Resolves with what is still unsent. */
  async #sendBatch(url: string, batch: readonly OutgoingMessage[]): Promise<BatchResult> {
    let pending = batch.map((m, i) => ({ id: String(i), m }));
    const permanent: string[] = [];
    let reason: string | undefined;
    let cause: unknown;
    for (let attempt = 1; ; attempt++) {
      const entries: SendMessageBatchRequestEntry[] = pending.map(({ id, m }) => ({
        Id: id,
        MessageBody: m.body,
        ...(Object.keys(m.attributes).length > 0 ? { MessageAttributes: m.attributes } : {}),
        ...(m.groupId === undefined ? {} : { MessageGroupId: m.groupId }),
        ...(m.deduplicationId === undefined ? {} : { MessageDeduplicationId: m.deduplicationId }),
        ...(m.delaySeconds === undefined ? {} : { DelaySeconds: m.delaySeconds }),
      }));
      let retryable: typeof pending = [];
      try {
        const out = await this.#sqs.send(
          new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }),
        );
        const sent = new Set((out.Successful ?? []).map((s) => s.Id));
        const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
        for (const p of pending) {
          if (sent.has(p.id)) continue;
          const f = failed.get(p.id);
          // An entry reported neither sent nor failed counts as failed: never assume a send.
          if (f !== undefined) reason = `${f.Code ?? 'error'}${f.Message ? `: ${f.Message}` : ''}`;
          if (f?.SenderFault) permanent.push(p.m.uuid);
          else retryable.push(p);
        }
      } catch (e) {
        const err = translateAwsError(e, { service: 'SQS', resource: url });
        reason = err.message;
        cause = err;
        if (err instanceof TransientInfrastructureError) retryable = pending;
        else permanent.push(...pending.map((p) => p.m.uuid));
      }
      pending = retryable;
      if (pending.length === 0 || attempt >= this.#maxAttempts) break;
      await this.#backoff(attempt);
    }
    return {
      unsent: [...permanent, ...pending.map((p) => p.m.uuid)],
      ...(reason === undefined ? {} : { reason }),
      ...(cause === undefined ? {} : { cause }),
    };
  }

  #backoff(attempt: number): Promise<void> {
    const ms = this.#baseDelayMs * 2 ** (attempt - 1);
    return this.#clock.sleep(ms / 2 + Math.random() * (ms / 2));
  }
}
