/**
 * The failure ledger (`src/core/ledger.ts`) on DynamoDB, in the `task_states` table: each entry is
 * an item in its own key space (`streak#…`, `fault#…`, `dlq#…`, see `LEDGER_KEYS`) with the
 * table's TTL attribute. Expired items not yet deleted by TTL read as absent.
 *
 * | entry | attributes | writes |
 * | --- | --- | --- |
 * | `streak#<messageId>` | `Code`, `Streak`, `UpdatedAt`, `TTL` | one conditional `UpdateItem` (`ADD Streak :one` if `Code` matches and the item is live); when it does not, one conditional `PutItem` starting a streak of 1 (retried on a lost race) |
 * | `fault#<code>#<minute>` | `Messages` (string set, at most `enough` ids), `TTL` | one conditional `UpdateItem` (`ADD Messages`); plus one consistent `BatchGetItem` of the window's earlier minutes when the current minute alone is not enough |
 * | `dlq#<deduplicationId>` | `MessageId`, `Reason`, `Detail`, `DeadLetteredTask`, `SourceQueue`, `DeadLetteredAt` (ISO 8601), `BodyMd5`, `BodyBytes`, `TTL` | one `PutItem` |
 *
 * IAM: `dynamodb:UpdateItem`, `PutItem`, `GetItem`, `BatchGetItem` on `task_states`.
 *
 * @module
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientInfrastructureError } from '../core/errors.js';
import {
  type DeadLetterNote,
  type FailureLedger,
  type FaultSighting,
  LEDGER_KEYS,
  windowMinutes,
} from '../core/ledger.js';
import { TABLES } from '../core/resources.js';
import { ttlSeconds } from '../core/transitions.js';
import type { DeadLetterReason } from '../core/types.js';
import { isConditionalCheckFailure, translateAwsError } from './errors.js';

/**
 * Options of {@link DynamoDbFailureLedger}.
 *
 * @example
 * ```ts
 * const opts: DynamoDbFailureLedgerOptions = { dynamodb: createDynamoDbDocumentClient(), tableName: 'task_states' };
 * ```
 */
export interface DynamoDbFailureLedgerOptions {
  /** The document client (see `createDynamoDbDocumentClient`). */
  dynamodb: DynamoDBDocumentClient;
  /** Name of the `task_states` table. */
  tableName: string;
}

const KEY = TABLES.taskStates.partitionKey;
const TTL = TABLES.taskStates.ttlAttribute;
const MINUTE = 60_000;
/** Times a streak count retries after losing a race to start the streak. */
const STREAK_ATTEMPTS = 3;

/**
 * The failure ledger in DynamoDB's `task_states` table.
 *
 * @example
 * ```ts
 * const ledger = new DynamoDbFailureLedger({ dynamodb, tableName: 'task_states' });
 * const streak = await ledger.countStreak({ messageId, code: 'Error', now, expiresAt });
 * ```
 */
export class DynamoDbFailureLedger implements FailureLedger {
  readonly #ddb: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbFailureLedgerOptions) {
    this.#ddb = options.dynamodb;
    this.#table = options.tableName;
  }

  async countStreak(sighting: FaultSighting & { expiresAt: number }): Promise<number> {
    const key = { [KEY]: `${LEDGER_KEYS.streak}${sighting.messageId}` };
    const nowSec = sighting.now / 1000;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.#ddb.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: key,
            UpdateExpression: 'ADD #streak :one SET #ttl = :ttl, #updated = :now',
            ConditionExpression: '#code = :code AND #ttl > :nowSec',
            ExpressionAttributeNames: {
              '#streak': 'Streak',
              '#code': 'Code',
              '#ttl': TTL,
              '#updated': 'UpdatedAt',
            },
            ExpressionAttributeValues: {
              ':one': 1,
              ':code': sighting.code,
              ':ttl': ttlSeconds(sighting.expiresAt),
              ':now': sighting.now,
              ':nowSec': nowSec,
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return Number(out.Attributes?.Streak ?? 1);
      } catch (e) {
        if (!isConditionalCheckFailure(e)) throw this.#translate(e);
      }
      // No live streak of this code: start one, unless a concurrent delivery just did.
      try {
        await this.#ddb.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...key,
              Code: sighting.code,
              Streak: 1,
              UpdatedAt: sighting.now,
              [TTL]: ttlSeconds(sighting.expiresAt),
            },
            ConditionExpression: 'attribute_not_exists(#key) OR #code <> :code OR #ttl <= :nowSec',
            ExpressionAttributeNames: { '#key': KEY, '#code': 'Code', '#ttl': TTL },
            ExpressionAttributeValues: { ':code': sighting.code, ':nowSec': nowSec },
          }),
        );
        return 1;
      } catch (e) {
        if (!isConditionalCheckFailure(e)) throw this.#translate(e);
        if (attempt >= STREAK_ATTEMPTS) {
          throw new TransientInfrastructureError(
            `the streak of message ${sighting.messageId} kept changing during ${STREAK_ATTEMPTS} attempts to count it`,
          );
        }
      }
    }
  }

  async noteCode(sighting: FaultSighting & { windowMs: number; enough: number }): Promise<number> {
    const minutes = windowMinutes(sighting.now, sighting.windowMs);
    const keyOf = (minute: number) => ({
      [KEY]: `${LEDGER_KEYS.fault}${sighting.code}#${minute}`,
    });
    const current = minutes[0] as number;
    const seen = new Set<string>();
    try {
      const out = await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keyOf(current),
          UpdateExpression: 'ADD #messages :id SET #ttl = :ttl',
          // A minute keeps at most `enough` ids: more change nothing.
          ConditionExpression:
            'attribute_not_exists(#messages) OR size(#messages) < :enough OR contains(#messages, :mid)',
          ExpressionAttributeNames: { '#messages': 'Messages', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':id': new Set([sighting.messageId]),
            ':mid': sighting.messageId,
            ':enough': sighting.enough,
            ':ttl': ttlSeconds((current + 1) * MINUTE + sighting.windowMs),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      for (const id of messagesOf(out.Attributes)) seen.add(id);
    } catch (e) {
      if (!isConditionalCheckFailure(e)) throw this.#translate(e);
      // This minute alone already holds `enough` other messages.
      return sighting.enough;
    }
    if (seen.size >= sighting.enough || minutes.length === 1) return seen.size;
    for (const item of await this.#batchGet(minutes.slice(1).map(keyOf))) {
      const ttl = Number(item[TTL]);
      if (Number.isFinite(ttl) && ttl * 1000 <= sighting.now) continue;
      for (const id of messagesOf(item)) seen.add(id);
    }
    return seen.size;
  }

  async putDeadLetterNote(note: DeadLetterNote): Promise<void> {
    try {
      await this.#ddb.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            [KEY]: `${LEDGER_KEYS.deadLetter}${note.deduplicationId}`,
            MessageId: note.messageId,
            Reason: note.reason,
            Detail: note.detail,
            ...(note.taskUuid === null ? {} : { DeadLetteredTask: note.taskUuid }),
            SourceQueue: note.sourceQueue,
            DeadLetteredAt: new Date(note.deadLetteredAt).toISOString(),
            BodyMd5: note.bodyMd5,
            BodyBytes: note.bodyBytes,
            [TTL]: ttlSeconds(note.expiresAt),
          },
        }),
      );
    } catch (e) {
      throw this.#translate(e);
    }
  }

  async getDeadLetterNote(
    deduplicationId: string,
    options: { now: number },
  ): Promise<DeadLetterNote | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const out = await this.#ddb.send(
        new GetCommand({
          TableName: this.#table,
          Key: { [KEY]: `${LEDGER_KEYS.deadLetter}${deduplicationId}` },
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    } catch (e) {
      throw this.#translate(e);
    }
    if (item === undefined) return undefined;
    const expiresAt = Number(item[TTL]) * 1000;
    if (!(expiresAt > options.now)) return undefined;
    const deadLetteredAt = Date.parse(String(item.DeadLetteredAt));
    return {
      deduplicationId,
      messageId: String(item.MessageId ?? ''),
      reason: String(item.Reason ?? '') as DeadLetterReason,
      detail: String(item.Detail ?? ''),
      taskUuid: typeof item.DeadLetteredTask === 'string' ? item.DeadLetteredTask : null,
      sourceQueue: String(item.SourceQueue ?? ''),
      deadLetteredAt: Number.isFinite(deadLetteredAt) ? deadLetteredAt : 0,
      bodyMd5: String(item.BodyMd5 ?? ''),
      bodyBytes: Number(item.BodyBytes ?? 0),
      expiresAt,
    };
  }

  /** Consistent reads of `keys`, retrying unprocessed keys a few times. */
  async #batchGet(keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending = keys;
    for (let round = 0; pending.length > 0 && round < 4; round++) {
      try {
        const out = await this.#ddb.send(
          new BatchGetCommand({
            RequestItems: { [this.#table]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        items.push(...(out.Responses?.[this.#table] ?? []));
        pending = (out.UnprocessedKeys?.[this.#table]?.Keys ?? []) as Record<string, unknown>[];
      } catch (e) {
        throw this.#translate(e);
      }
    }
    return items;
  }

  #translate(e: unknown): Error {
    return translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
  }
}

/** The message ids of a `fault#` item (a string set, unmarshalled as a `Set`). */
function messagesOf(item: Record<string, unknown> | undefined): string[] {
  const v = item?.Messages;
  if (v instanceof Set) return [...v].map(String);
  if (Array.isArray(v)) return v.map(String);
  return [];
}
