/**
 * `GroupBackend` on DynamoDB's `group_metas` table (key `GroupUUID`). Item kinds, each small and
 * keyed in its own space (see `docs/design.md §3` and the key helpers of `src/core/workflow.ts`):
 *
 * | item | attributes | written by |
 * | --- | --- | --- |
 * | `<GroupUUID>` (root) | ours: `WfKind`, `WfTotal`, `WfCallback`, `WfDeadline`, `WfFailedAt`, `WfError`, `WfFailedMember`, `WfTriggeredAt`; shared with Go machinery: `ChordTriggered`, `CreatedAt`, `TTL`; machinery's alone: `TaskUUIDs`, `Lock` (never written here) | `initGroup` (`if_not_exists` SETs only), `trigger`, `fail` |
 * | `<GroupUUID>#M#<page>` | `Members` (list of ≤ 1,000 UUIDs), `TTL` | `initGroup` (`PutItem`, same content on a re-send) |
 * | `<GroupUUID>#L<level>#<node>` | `done` (number set of ≤ B slots), `n`, `TTL` | `markNode` (one conditional `UpdateItem`) |
 * | `<GroupUUID>#B#<bucket>` / `<GroupUUID>#C` | `members` (string set) / `n`, `total` | `countMember` (one transaction) |
 *
 * Reads that decide anything are strongly consistent; an item whose `TTL` has passed reads as
 * absent. IAM: `dynamodb:GetItem`, `UpdateItem`, `PutItem`, `BatchGetItem`, `TransactWriteItems`
 * (workers); `UpdateItem`, `PutItem`, `GetItem`, `BatchGetItem` (producers).
 *
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TransientInfrastructureError } from '../core/errors.js';
import { toGroupRecord } from '../core/memory-groups.js';
import type { GroupBackend, GroupInit, GroupRecord, TreeNode } from '../core/ports.js';
import { TABLES } from '../core/resources.js';
import { ttlSeconds } from '../core/transitions.js';
import {
  bucketCount,
  bucketKey,
  bucketOf,
  counterKey,
  GROUP_LIMITS,
  nodeKey,
  pageKey,
  rootKey,
} from '../core/workflow.js';
import { isConditionalCheckFailure, translateAwsError } from './errors.js';

/**
 * Options of {@link DynamoDbGroupBackend}.
 *
 * @example
 * ```ts
 * const opts: DynamoDbGroupBackendOptions = { dynamodb, tableName: 'group_metas' };
 * ```
 */
export interface DynamoDbGroupBackendOptions {
  /** The document client (see `createDynamoDbDocumentClient`). */
  dynamodb: DynamoDBDocumentClient;
  /** Name of the `group_metas` table. */
  tableName: string;
}

const KEY = TABLES.groupMetas.partitionKey;
const TTL = TABLES.groupMetas.ttlAttribute;
/** Keys per `BatchGetItem` (DynamoDB's limit). */
const BATCH_GET_KEYS = 100;
/** Attempts of a `countMember` transaction that met a concurrent one on the counter. */
const COUNT_ATTEMPTS = 5;

/**
 * The conditions of the group writes, one named clause each.
 */
const CLAUSES = {
  /** The slot `:slot` of a node is not marked yet (a missing set has no slot). */
  slotUnmarked: '(attribute_not_exists(done) OR NOT contains(done, :slot))',
  /** The member `:member` is not in its bucket yet. */
  memberUncounted: '(attribute_not_exists(members) OR NOT contains(members, :member))',
  /** machinery's `ChordTriggered` is not set (absent, or `false` as machinery's InitGroup writes it). */
  notTriggered: '(attribute_not_exists(ChordTriggered) OR ChordTriggered = :false)',
  /** No failure of the chord is recorded. */
  notFailed: 'attribute_not_exists(WfFailedAt)',
} as const;

function oldItem(e: unknown): Record<string, unknown> {
  const item = (e as { Item?: Record<string, AttributeValue> }).Item;
  return item === undefined ? {} : unmarshall(item);
}

/**
 * The group bookkeeping in DynamoDB (see the module documentation).
 *
 * @example
 * ```ts
 * const groups = new DynamoDbGroupBackend({ dynamodb, tableName: 'group_metas' });
 * await groups.initGroup(init, { now: Date.now(), expiresAt });
 * ```
 */
export class DynamoDbGroupBackend implements GroupBackend {
  readonly #ddb: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbGroupBackendOptions) {
    this.#ddb = options.dynamodb;
    this.#table = options.tableName;
  }

  async initGroup(init: GroupInit, options: { now: number; expiresAt: number }): Promise<boolean> {
    const ttl = ttlSeconds(options.expiresAt);
    const sets = [
      'WfKind = if_not_exists(WfKind, :kind)',
      'WfTotal = if_not_exists(WfTotal, :total)',
      'WfDeadline = if_not_exists(WfDeadline, :deadline)',
      'CreatedAt = if_not_exists(CreatedAt, :now)',
      '#ttl = if_not_exists(#ttl, :ttl)',
      ...(init.callbackUUID === null ? [] : ['WfCallback = if_not_exists(WfCallback, :cb)']),
    ];
    let old: Record<string, unknown> | undefined;
    try {
      const out = await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [KEY]: rootKey(init.groupUUID) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':kind': init.kind,
            ':total': init.members.length,
            ':deadline': init.deadline,
            ':now': options.now,
            ':ttl': ttl,
            ...(init.callbackUUID === null ? {} : { ':cb': init.callbackUUID }),
          },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      old = out.Attributes;
    } catch (e) {
      throw this.#translate(e);
    }
    const pages: string[][] = [];
    for (let start = 0; start < init.members.length; start += GROUP_LIMITS.pageSize) {
      pages.push(init.members.slice(start, start + GROUP_LIMITS.pageSize));
    }
    for (const [page, members] of pages.entries()) {
      try {
        await this.#ddb.send(
          new PutCommand({
            TableName: this.#table,
            Item: { [KEY]: pageKey(init.groupUUID, page), Members: members, [TTL]: ttl },
          }),
        );
      } catch (e) {
        throw this.#translate(e);
      }
    }
    return old?.WfKind === undefined;
  }

  async getGroup(groupUUID: string, options: { now: number }): Promise<GroupRecord | undefined> {
    const item = await this.#get(rootKey(groupUUID), options.now);
    return item === undefined ? undefined : toGroupRecord(groupUUID, item);
  }

  async memberUUIDs(groupUUID: string, total: number, options: { now: number }): Promise<string[]> {
    const keys: string[] = [];
    for (let page = 0; page * GROUP_LIMITS.pageSize < total; page++) {
      keys.push(pageKey(groupUUID, page));
    }
    const items = await this.#batchGet(keys, options.now);
    const out: string[] = [];
    for (const key of keys) {
      const members = items.get(key)?.Members;
      if (Array.isArray(members)) out.push(...members.filter((m) => typeof m === 'string'));
    }
    return out.slice(0, total);
  }

  async markNode(
    node: TreeNode,
    slot: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; marked: boolean }> {
    try {
      const out = await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [KEY]: nodeKey(node.groupUUID, node.level, node.node) },
          UpdateExpression: 'ADD done :slots, n :one SET #ttl = :ttl',
          ConditionExpression: CLAUSES.slotUnmarked,
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':slots': new Set([slot]),
            ':slot': slot,
            ':one': 1,
            ':ttl': ttlSeconds(options.expiresAt),
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { count: Number(out.Attributes?.n ?? 1), marked: true };
    } catch (e) {
      if (!isConditionalCheckFailure(e)) throw this.#translate(e);
      return { count: Number(oldItem(e).n ?? 0), marked: false };
    }
  }

  async readLevel(
    groupUUID: string,
    level: number,
    nodes: number,
    options: { now: number },
  ): Promise<Map<number, Set<number>>> {
    const keys = Array.from({ length: nodes }, (_, node) => nodeKey(groupUUID, level, node));
    const items = await this.#batchGet(keys, options.now);
    const out = new Map<number, Set<number>>();
    keys.forEach((key, node) => {
      const done = items.get(key)?.done;
      if (done instanceof Set) out.set(node, new Set([...done].map(Number)));
    });
    return out;
  }

  async countMember(
    groupUUID: string,
    memberUUID: string,
    total: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; counted: boolean }> {
    const ttl = ttlSeconds(options.expiresAt);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#ddb.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.#table,
                  Key: { [KEY]: bucketKey(groupUUID, bucketOf(memberUUID, total)) },
                  UpdateExpression: 'ADD members :members SET #ttl = :ttl',
                  ConditionExpression: CLAUSES.memberUncounted,
                  ExpressionAttributeNames: { '#ttl': TTL },
                  ExpressionAttributeValues: {
                    ':members': new Set([memberUUID]),
                    ':member': memberUUID,
                    ':ttl': ttl,
                  },
                },
              },
              {
                Update: {
                  TableName: this.#table,
                  Key: { [KEY]: counterKey(groupUUID) },
                  UpdateExpression:
                    'ADD n :one SET #total = if_not_exists(#total, :total), #ttl = :ttl',
                  ExpressionAttributeNames: { '#ttl': TTL, '#total': 'total' },
                  ExpressionAttributeValues: { ':one': 1, ':total': total, ':ttl': ttl },
                },
              },
            ],
          }),
        );
        return { count: await this.#counter(groupUUID), counted: true };
      } catch (e) {
        const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
        if ((e as { name?: unknown }).name !== 'TransactionCanceledException' || !reasons) {
          throw this.#translate(e);
        }
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          return { count: await this.#counter(groupUUID), counted: false };
        }
        if (attempt >= COUNT_ATTEMPTS) {
          throw new TransientInfrastructureError(
            `counting member ${memberUUID} of group ${groupUUID} met concurrent transactions ${attempt} times`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40));
      }
    }
  }

  async countedMembers(
    groupUUID: string,
    options: { now: number },
  ): Promise<{ count: number; total: number; members: string[] } | undefined> {
    const counter = await this.#get(counterKey(groupUUID), options.now);
    if (counter === undefined) return undefined;
    const total = Number(counter.total ?? 0);
    const keys = Array.from({ length: bucketCount(total) }, (_, b) => bucketKey(groupUUID, b));
    const items = await this.#batchGet(keys, options.now);
    const members: string[] = [];
    for (const key of keys) {
      const set = items.get(key)?.members;
      if (set instanceof Set) members.push(...[...set].map(String));
    }
    return { count: Number(counter.n ?? 0), total, members };
  }

  async trigger(
    groupUUID: string,
    options: { now: number; expiresAt: number },
  ): Promise<'triggered' | 'already-triggered' | 'failed'> {
    try {
      await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [KEY]: rootKey(groupUUID) },
          UpdateExpression:
            'SET ChordTriggered = :true, WfTriggeredAt = :now, CreatedAt = if_not_exists(CreatedAt, :now), #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: `${CLAUSES.notTriggered} AND ${CLAUSES.notFailed}`,
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':true': true,
            ':false': false,
            ':now': options.now,
            ':ttl': ttlSeconds(options.expiresAt),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'triggered';
    } catch (e) {
      if (!isConditionalCheckFailure(e)) throw this.#translate(e);
      return oldItem(e).ChordTriggered === true ? 'already-triggered' : 'failed';
    }
  }

  async fail(
    groupUUID: string,
    failure: { member: string | null; error: string },
    options: { now: number; expiresAt: number },
  ): Promise<'failed' | 'already-failed' | 'triggered'> {
    const sets = [
      'WfFailedAt = :now',
      'WfError = :error',
      'CreatedAt = if_not_exists(CreatedAt, :now)',
      '#ttl = if_not_exists(#ttl, :ttl)',
      ...(failure.member === null ? [] : ['WfFailedMember = :member']),
    ];
    try {
      await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [KEY]: rootKey(groupUUID) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `${CLAUSES.notFailed} AND ${CLAUSES.notTriggered}`,
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':now': options.now,
            ':error': failure.error,
            ':false': false,
            ':ttl': ttlSeconds(options.expiresAt),
            ...(failure.member === null ? {} : { ':member': failure.member }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'failed';
    } catch (e) {
      if (!isConditionalCheckFailure(e)) throw this.#translate(e);
      return oldItem(e).ChordTriggered === true ? 'triggered' : 'already-failed';
    }
  }

  async #counter(groupUUID: string): Promise<number> {
    const item = await this.#get(counterKey(groupUUID), undefined);
    return Number(item?.n ?? 0);
  }

  /** A consistent read; `undefined` when absent or expired at `now` (when given). */
  async #get(key: string, now: number | undefined): Promise<Record<string, unknown> | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const out = await this.#ddb.send(
        new GetCommand({ TableName: this.#table, Key: { [KEY]: key }, ConsistentRead: true }),
      );
      item = out.Item;
    } catch (e) {
      throw this.#translate(e);
    }
    return item === undefined || expired(item, now) ? undefined : item;
  }

  /** Consistent `BatchGetItem`s of `keys`, unprocessed keys retried; live items by key. */
  async #batchGet(
    keys: readonly string[],
    now: number,
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
      let pending: Record<string, unknown>[] = keys
        .slice(start, start + BATCH_GET_KEYS)
        .map((k) => ({ [KEY]: k }));
      for (let round = 0; pending.length > 0; round++) {
        let res: BatchGetCommandOutput;
        try {
          res = await this.#ddb.send(
            new BatchGetCommand({
              RequestItems: { [this.#table]: { Keys: pending, ConsistentRead: true } },
            }),
          );
        } catch (e) {
          throw this.#translate(e);
        }
        for (const item of res.Responses?.[this.#table] ?? []) {
          if (!expired(item, now)) out.set(String(item[KEY]), item);
        }
        pending = res.UnprocessedKeys?.[this.#table]?.Keys ?? [];
        if (pending.length > 0) {
          if (round >= 8) {
            throw new TransientInfrastructureError(
              `BatchGetItem on ${this.#table} left keys unprocessed ${round + 1} times`,
            );
          }
          await new Promise((r) => setTimeout(r, 20 * 2 ** round));
        }
      }
    }
    return out;
  }

  #translate(e: unknown): Error {
    return translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
  }
}

function expired(item: Record<string, unknown>, now: number | undefined): boolean {
  const ttl = item[TTL];
  return now !== undefined && typeof ttl === 'number' && ttl * 1000 <= now;
}
