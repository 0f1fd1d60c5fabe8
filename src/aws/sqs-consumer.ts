/**
 * The consumer side of SQS, for the worker: visibility changes and explicit dead-lettering of the
 * records Lambda hands it. (Producers use `SqsBroker`; receiving and deleting is the event source
 * mapping's job.)
 *
 * IAM for the worker, besides what the event source mapping needs (`sqs:ReceiveMessage`,
 * `sqs:DeleteMessage`, `sqs:GetQueueAttributes` on the task queue): `sqs:ChangeMessageVisibility`
 * on the task queue, `sqs:SendMessage` on the task DLQ, and `sqs:GetQueueUrl` when records come
 * from a queue other than the configured task queue.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { DEAD_LETTER_NOTE_LIFETIME_MS, type FailureLedger } from '../core/ledger.js';
import { DEFAULTS } from '../core/resources.js';
import type { DeadLetterReason } from '../core/types.js';
import { translateAwsError } from './errors.js';
import { isFifoQueue, messageBytes, queueUrlLookup } from './sqs-broker.js';

/** Names of the message attributes a dead-lettered message carries. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'machinery.reason',
  detail: 'machinery.detail',
  taskUuid: 'machinery.task-uuid',
  deadLetteredAt: 'machinery.dead-lettered-at',
  sourceQueue: 'machinery.source-queue',
} as const;

/** Longest `machinery.detail`, characters (the rest is cut with an ellipsis). */
export const MAX_DETAIL_CHARS = 2_000;

/**
 * Parses an SQS queue ARN (`arn:aws:sqs:<region>:<account>:<name>`).
 *
 * @example
 * ```ts
 * parseQueueArn('arn:aws:sqs:us-east-1:123456789012:tasks.fifo');
 * // { region: 'us-east-1', accountId: '123456789012', name: 'tasks.fifo' }
 * ```
 */
export function parseQueueArn(
  arn: string,
): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:[^:]+:sqs:([^:]*):([^:]*):(.+)$/.exec(arn);
  if (!m) return undefined;
  return { region: m[1] as string, accountId: m[2] as string, name: m[3] as string };
}

/**
 * Makes a string safe as an SQS attribute value and short: characters SQS refuses (control
 * characters but tab and newlines, lone surrogates, U+FFFE/U+FFFF) become `?`, and the text is cut
 * at `max` characters with an ellipsis.
 *
 * @example
 * ```ts
 * sanitizeAttributeText('a\u0000b'); // 'a?b'
 * ```
 */
export function sanitizeAttributeText(text: string, max = MAX_DETAIL_CHARS): string {
  const clean = text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '?')
    .trim();
  if (clean.length <= max) return clean.length > 0 ? clean : '-';
  // Do not split a surrogate pair.
  let cut = max - 1;
  const code = clean.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${clean.slice(0, cut)}…`;
}

/**
 * Options of {@link SqsConsumer}.
 *
 * @example
 * ```ts
 * const opts: SqsConsumerOptions = { sqs, taskQueueUrl, dlqUrl };
 * ```
 */
export interface SqsConsumerOptions {
  sqs: SQSClient;
  /** The configured task queue (records whose ARN names it need no lookup). */
  taskQueueUrl?: string;
  /** The task dead-letter queue. Required to dead-letter. */
  dlqUrl?: string;
  /** The high-priority task queue, when configured (records whose ARN names it need no lookup). */
  highTaskQueueUrl?: string;
  /** The high-priority queue's dead-letter queue: where its records are dead-lettered. */
  highDlqUrl?: string;
  /**
   * Where the reason of a dead-letter copy too large to carry attributes is written, before the
   * copy is sent (see {@link SqsConsumer.deadLetter}). Without it such a copy is sent bare.
   */
  notes?: Pick<FailureLedger, 'putDeadLetterNote'>;
  /** Largest message SQS accepts, body plus attributes, bytes. @default DEFAULTS.maxMessageBytes (1 MiB) */
  maxMessageBytes?: number;
}

/**
 * How a record was dead-lettered.
 *
 * @example
 * ```ts
 * const { withAttributes } = await consumer.deadLetter(record, info);
 * ```
 */
export interface DeadLetterCopy {
  /** `false` when the body left no room for the reason attributes: the reason is in a note. */
  withAttributes: boolean;
  /** The copy's `MessageDeduplicationId` on a FIFO DLQ (the record's message id), else `undefined`. */
  deduplicationId: string | undefined;
}

/**
 * What the worker does to records besides acknowledging them.
 *
 * @example
 * ```ts
 * const consumer = new SqsConsumer({ sqs, taskQueueUrl, dlqUrl });
 * await consumer.changeVisibility(record, 30);
 * ```
 */
export class SqsConsumer {
  readonly #sqs: SQSClient;
  readonly #taskQueueUrl: string | undefined;
  readonly #dlqUrl: string | undefined;
  readonly #highTaskQueueUrl: string | undefined;
  readonly #highDlqUrl: string | undefined;
  readonly #lookupUrl: (queueName: string, ownerAccountId?: string) => Promise<string>;
  readonly #notes: Pick<FailureLedger, 'putDeadLetterNote'> | undefined;
  readonly #maxBytes: number;

  constructor(options: SqsConsumerOptions) {
    this.#sqs = options.sqs;
    this.#taskQueueUrl = options.taskQueueUrl;
    this.#dlqUrl = options.dlqUrl;
    this.#highTaskQueueUrl = options.highTaskQueueUrl;
    this.#highDlqUrl = options.highDlqUrl;
    this.#notes = options.notes;
    this.#maxBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
    this.#lookupUrl = queueUrlLookup(options.sqs);
  }

  /**
   * The URL of the queue a record came from: the configured task queue or high-priority queue
   * when its name matches the record's `eventSourceARN`, else `GetQueueUrl` (cached).
   *
   * @example
   * ```ts
   * const url = await consumer.queueUrlOf(record);
   * ```
   */
  queueUrlOf(record: Pick<SQSRecord, 'eventSourceARN'>): Promise<string> {
    const arn = record.eventSourceARN;
    const parsed = parseQueueArn(arn);
    if (!parsed) return Promise.reject(new Error(`not an SQS queue ARN: '${arn}'`));
    for (const url of [this.#taskQueueUrl, this.#highTaskQueueUrl]) {
      if (url?.endsWith(`/${parsed.name}`)) return Promise.resolve(url);
    }
    return this.#lookupUrl(parsed.name, parsed.accountId);
  }

  /**
   * Sets a record's visibility timeout to `seconds` from now (clamped to 0 … 12 h).
   *
   * @example
   * ```ts
   * await consumer.changeVisibility(record, 5); // back in the queue in 5 s
   * ```
   */
  async changeVisibility(record: SQSRecord, seconds: number): Promise<void> {
    const url = await this.queueUrlOf(record);
    const timeout = Math.min(DEFAULTS.maxVisibilitySeconds, Math.max(0, Math.ceil(seconds)));
    try {
      await this.#sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: timeout,
        }),
      );
    } catch (e) {
      throw translateAwsError(e, { service: 'SQS', resource: url });
    }
  }

  /**
   * Makes records visible again at once (visibility 0), in batches of 10 per queue. Best effort:
   * resolves with the message ids that could not be released (they reappear when their visibility
   * timeout ends anyway).
   *
   * @example
   * ```ts
   * const stuck = await consumer.release(skippedRecords);
   * ```
   */
  async release(records: readonly SQSRecord[]): Promise<string[]> {
    const failed: string[] = [];
    const byArn = new Map<string, SQSRecord[]>();
    for (const r of records)
      byArn.set(r.eventSourceARN, [...(byArn.get(r.eventSourceARN) ?? []), r]);
    await Promise.all(
      [...byArn.values()].map(async (list) => {
        let url: string;
        try {
          url = await this.queueUrlOf(list[0] as SQSRecord);
        } catch {
          failed.push(...list.map((r) => r.messageId));
          return;
        }
        for (let i = 0; i < list.length; i += 10) {
          const chunk = list.slice(i, i + 10);
          try {
            const out = await this.#sqs.send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: url,
                Entries: chunk.map((r, j) => ({
                  Id: String(j),
                  ReceiptHandle: r.receiptHandle,
                  VisibilityTimeout: 0,
                })),
              }),
            );
            for (const f of out.Failed ?? []) {
              const r = chunk[Number(f.Id)];
              if (r) failed.push(r.messageId);
            }
          } catch {
            failed.push(...chunk.map((r) => r.messageId));
          }
        }
      }),
    );
    return failed;
  }

  /**
   * Sends a record's original body, unchanged, to the task DLQ (the high-priority queue's DLQ for
   * a record of that queue, when both are configured) with the reason as message
   * attributes (`machinery.reason`, `machinery.detail`, `machinery.task-uuid`,
   * `machinery.dead-lettered-at`, `machinery.source-queue`, and the record's
   * `traceparent`/`tracestate`). On a FIFO DLQ the message keeps the record's `MessageGroupId` and
   * is deduplicated by the record's message id, so a repeated dead-lettering of one delivery is
   * stored once. Rejects when the send fails: the caller must then not acknowledge the record.
   *
   * Attributes count towards SQS's message size limit: when body plus attributes would exceed it,
   * the copy is sent with no attributes at all (never a cut body), and the reason is first written
   * as a note (`FailureLedger.putDeadLetterNote`, keyed by the copy's deduplication id, kept for the
   * DLQ's retention plus a day). A failed note write rejects before anything is sent.
   *
   * @example
   * ```ts
   * await consumer.deadLetter(record, { reason: 'unregistered', detail: 'task "x" is not registered', uuid, now: Date.now() });
   * ```
   */
  async deadLetter(
    record: SQSRecord,
    info: { reason: DeadLetterReason; detail: string; uuid?: string; now: number },
  ): Promise<DeadLetterCopy> {
    const url = this.#dlqOf(record);
    if (url === undefined) {
      throw new Error('cannot dead-letter: no DLQ URL is configured (MACHINERY_DLQ_URL)');
    }
    const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });
    const detail = sanitizeAttributeText(info.detail);
    const sourceQueue = record.eventSourceARN || '-';
    const attributes: Record<string, MessageAttributeValue> = {
      [DEAD_LETTER_ATTRIBUTES.reason]: str(info.reason),
      [DEAD_LETTER_ATTRIBUTES.detail]: str(detail),
      [DEAD_LETTER_ATTRIBUTES.deadLetteredAt]: str(new Date(info.now).toISOString()),
      [DEAD_LETTER_ATTRIBUTES.sourceQueue]: str(sourceQueue),
    };
    if (info.uuid)
      attributes[DEAD_LETTER_ATTRIBUTES.taskUuid] = str(sanitizeAttributeText(info.uuid, 256));
    for (const key of ['traceparent', 'tracestate']) {
      const v = record.messageAttributes?.[key]?.stringValue;
      if (v) attributes[key] = str(v);
    }
    const body = record.body.length > 0 ? record.body : ' ';
    const fifo = isFifoQueue(url);
    const deduplicationId = fifo ? record.messageId : undefined;
    const withAttributes = messageBytes(body, attributes) <= this.#maxBytes;
    if (!withAttributes && this.#notes !== undefined) {
      await this.#notes.putDeadLetterNote({
        deduplicationId: record.messageId,
        messageId: record.messageId,
        reason: info.reason,
        detail,
        taskUuid: info.uuid ?? null,
        sourceQueue,
        deadLetteredAt: info.now,
        bodyMd5: createHash('md5').update(body, 'utf8').digest('hex'),
        bodyBytes: Buffer.byteLength(body, 'utf8'),
        expiresAt: info.now + DEAD_LETTER_NOTE_LIFETIME_MS,
      });
    }
    const group = record.attributes?.MessageGroupId || info.uuid || record.messageId;
    try {
      await this.#sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          ...(withAttributes ? { MessageAttributes: attributes } : {}),
          ...(deduplicationId === undefined
            ? {}
            : { MessageGroupId: group, MessageDeduplicationId: deduplicationId }),
        }),
      );
    } catch (e) {
      throw translateAwsError(e, { service: 'SQS', resource: url });
    }
    return { withAttributes, deduplicationId };
  }

  /** The DLQ of the queue a record came from: the high queue's for its records, else the task DLQ. */
  #dlqOf(record: Pick<SQSRecord, 'eventSourceARN'>): string | undefined {
    const name = parseQueueArn(record.eventSourceARN)?.name;
    const high = this.#highTaskQueueUrl;
    if (name !== undefined && high?.endsWith(`/${name}`) && this.#highDlqUrl !== undefined) {
      return this.#highDlqUrl;
    }
    return this.#dlqUrl;
  }
}
