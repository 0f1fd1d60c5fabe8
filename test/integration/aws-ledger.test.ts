/**
 * The failure ledger on DynamoDB Local: the conformance suite, the items it writes (their key
 * spaces and TTL), and the exact requests each operation costs.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbFailureLedger } from '../../src/aws/ledger.js';
import { InfrastructureError } from '../../src/core/errors.js';
import { LEDGER_DEFAULTS, STREAK_LIFETIME_MS } from '../../src/core/ledger.js';
import { failureLedgerConformance } from '../conformance/failure-ledger.js';
import { countRequests } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const MINUTE = 60_000;

describe('Class: DynamoDbFailureLedger', () => {
  let stack: TestStack;
  let ledger: DynamoDbFailureLedger;
  let counts: Map<string, number>;
  const doc = () => createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb });

  beforeAll(async () => {
    stack = await getTestStack({ label: 'ledger' });
    counts = countRequests(stack.clients.dynamodb);
    ledger = new DynamoDbFailureLedger({
      dynamodb: doc(),
      tableName: stack.names.tables.taskStates,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Requests of each command made by `fn`. */
  async function requestsOf(fn: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = new Map(counts);
    await fn();
    const out: Record<string, number> = {};
    for (const [k, v] of counts) if (v !== (before.get(k) ?? 0)) out[k] = v - (before.get(k) ?? 0);
    return out;
  }

  it('keeps a streak in the task_states table under streak#<messageId> with a TTL', async () => {
    // Prepare
    const messageId = randomUUID();
    const now = Date.now();

    // Act
    await ledger.countStreak({
      messageId,
      code: 'Error',
      now,
      expiresAt: now + STREAK_LIFETIME_MS,
    });
    await ledger.countStreak({
      messageId,
      code: 'Error',
      now,
      expiresAt: now + STREAK_LIFETIME_MS,
    });
    const item = (
      await doc().send(
        new GetCommand({
          TableName: stack.names.tables.taskStates,
          Key: { TaskUUID: `streak#${messageId}` },
        }),
      )
    ).Item;

    // Assess
    expect(item).toMatchObject({
      Code: 'Error',
      Streak: 2,
      TTL: Math.ceil((now + STREAK_LIFETIME_MS) / 1000),
    });
  });

  it('costs one conditional update per count, plus one put to start a streak', async () => {
    // Prepare
    const messageId = randomUUID();
    const now = Date.now();
    const count = () =>
      ledger.countStreak({ messageId, code: 'Error', now, expiresAt: now + MINUTE });

    // Act
    const first = await requestsOf(count);
    const second = await requestsOf(count);

    // Assess
    expect(first).toEqual({ UpdateItemCommand: 1, PutItemCommand: 1 });
    expect(second).toEqual({ UpdateItemCommand: 1 });
  });

  it('notes a code with one update, and reads the earlier minutes in one batch only when needed', async () => {
    // Prepare
    const code = `C_${randomUUID()}`;
    const now = Math.floor(Date.now() / MINUTE) * MINUTE + 1_000;
    const note = (messageId: string) =>
      ledger.noteCode({
        messageId,
        code,
        now,
        windowMs: LEDGER_DEFAULTS.systemicWindowMs,
        enough: 3,
      });

    // Act
    const below = await requestsOf(() => note('a'));
    await note('b');
    const reached = await requestsOf(() => note('c'));
    const full = await requestsOf(() => note('d'));

    // Assess
    expect(below).toEqual({ UpdateItemCommand: 1, BatchGetItemCommand: 1 });
    expect(reached).toEqual({ UpdateItemCommand: 1 });
    expect(full).toEqual({ UpdateItemCommand: 1 });
    const item = (
      await doc().send(
        new GetCommand({
          TableName: stack.names.tables.taskStates,
          Key: { TaskUUID: `fault#${code}#${Math.floor(now / MINUTE)}` },
        }),
      )
    ).Item;
    expect([...((item?.Messages as Set<string> | undefined) ?? [])].sort()).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('writes a dead-letter note under dlq#<deduplicationId> with one put', async () => {
    // Prepare
    const now = Date.now();
    const deduplicationId = randomUUID();

    // Act
    const cost = await requestsOf(() =>
      ledger.putDeadLetterNote({
        deduplicationId,
        messageId: deduplicationId,
        reason: 'undecodable',
        detail: 'the body is not JSON',
        taskUuid: null,
        sourceQueue: 'arn:aws:sqs:us-east-1:000000000000:tasks.fifo',
        deadLetteredAt: now,
        bodyMd5: 'abc',
        bodyBytes: 10,
        expiresAt: now + MINUTE,
      }),
    );
    const item = (
      await doc().send(
        new GetCommand({
          TableName: stack.names.tables.taskStates,
          Key: { TaskUUID: `dlq#${deduplicationId}` },
        }),
      )
    ).Item;

    // Assess
    expect(cost).toEqual({ PutItemCommand: 1 });
    expect(item).toMatchObject({
      Reason: 'undecodable',
      Detail: 'the body is not JSON',
      MessageId: deduplicationId,
      DeadLetteredAt: new Date(now).toISOString(),
      TTL: Math.ceil((now + MINUTE) / 1000),
    });
    expect(item).not.toHaveProperty('DeadLetteredTask');
  });

  it('translates a missing table into a deployment error', async () => {
    // Prepare
    const missing = new DynamoDbFailureLedger({ dynamodb: doc(), tableName: 'no-such-table' });

    // Act
    const error = await missing
      .countStreak({
        messageId: 'm',
        code: 'Error',
        now: Date.now(),
        expiresAt: Date.now() + MINUTE,
      })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).code).toBe('MISSING_RESOURCE');
  });
});

describe('DynamoDbFailureLedger on DynamoDB Local', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await getTestStack({ label: 'ledgerconf' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  failureLedgerConformance(
    'DynamoDbFailureLedger',
    async () =>
      new DynamoDbFailureLedger({
        dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
        tableName: stack.names.tables.taskStates,
      }),
  );
});
