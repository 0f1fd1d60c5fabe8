/**
 * The workers' alive records on DynamoDB (the `workers` table of `TABLES`, key `WorkerId`, TTL on
 * `TTL`). A heartbeat is one `PutItem` of the whole record; the list is a consistent `Scan`
 * filtered on `ExpiresAt > :now`, since TTL deletes lapsed items only eventually. The table holds
 * one small item per running worker, so a scan reads a few KB.
 *
 * IAM: `dynamodb:PutItem`, `DeleteItem` for workers; `dynamodb:Scan` to list.
 *
 * @module
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LivenessStore, WorkerRecord } from '../core/liveness.js';
import { TABLES } from '../core/resources.js';
import { translateAwsError } from './errors.js';

const KEY = TABLES.workers.partitionKey;
const TTL = TABLES.workers.ttlAttribute;

/**
 * Options of {@link DynamoDbLivenessStore}.
 *
 * @example
 * ```ts
 * const o: DynamoDbLivenessOptions = { dynamodb, tableName: 'machinery-workers' };
 * ```
 */
export interface DynamoDbLivenessOptions {
  /** The document client (see `createDynamoDbDocumentClient`). */
  dynamodb: DynamoDBDocumentClient;
  /** Name of the workers table. */
  tableName: string;
}

function toItem(r: WorkerRecord): Record<string, unknown> {
  return {
    [KEY]: r.id,
    Kind: r.kind,
    Host: r.host,
    StartedAt: r.startedAt,
    LastHeartbeatAt: r.lastHeartbeatAt,
    ExpiresAt: r.expiresAt,
    Executed: r.executed,
    Failed: r.failed,
    [TTL]: Math.ceil(r.expiresAt / 1000),
  };
}

function fromItem(item: Record<string, unknown>): WorkerRecord {
  const num = (k: string) => Number(item[k] ?? 0);
  return {
    id: String(item[KEY]),
    kind: item.Kind === 'lambda' ? 'lambda' : 'poller',
    host: String(item.Host ?? ''),
    startedAt: num('StartedAt'),
    lastHeartbeatAt: num('LastHeartbeatAt'),
    expiresAt: num('ExpiresAt'),
    executed: num('Executed'),
    failed: num('Failed'),
  };
}

/**
 * `LivenessStore` on a DynamoDB table.
 *
 * @example
 * ```ts
 * const store = new DynamoDbLivenessStore({ dynamodb, tableName });
 * const live = await store.list(Date.now());
 * ```
 */
export class DynamoDbLivenessStore implements LivenessStore {
  readonly #ddb: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbLivenessOptions) {
    this.#ddb = options.dynamodb;
    this.#table = options.tableName;
  }

  async put(record: WorkerRecord): Promise<void> {
    try {
      await this.#ddb.send(new PutCommand({ TableName: this.#table, Item: toItem(record) }));
    } catch (e) {
      throw translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
    }
  }

  async list(now: number): Promise<WorkerRecord[]> {
    const out: WorkerRecord[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.#ddb.send(
          new ScanCommand({
            TableName: this.#table,
            ConsistentRead: true,
            // Lapsed: past its expiry though TTL has not deleted it yet.
            FilterExpression: '#expiresAt > :now',
            ExpressionAttributeNames: { '#expiresAt': 'ExpiresAt' },
            ExpressionAttributeValues: { ':now': now },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        for (const item of page.Items ?? []) out.push(fromItem(item));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    } catch (e) {
      throw translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
    }
    return out.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  async remove(id: string): Promise<void> {
    try {
      await this.#ddb.send(new DeleteCommand({ TableName: this.#table, Key: { [KEY]: id } }));
    } catch (e) {
      throw translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
    }
  }
}
