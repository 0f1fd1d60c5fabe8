import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { conditionInput, DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { newSignature, newTaskUUID } from '../../src/core/signature.js';
import { TASK_ATTRIBUTES } from '../../src/core/transitions.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, uniquePrefix } from '../../src/local/provision.js';
import { resultBackendConformance } from '../conformance/result-backend.js';
import {
  type StoredItem,
  transitionConditionAgreement,
} from '../conformance/transition-conditions.js';
import { countRequests, DYNAMODB_WRITES, total } from './aws-helpers.js';
import { sharedEndpoints } from './support/stack.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A client of the shared DynamoDB Local. */
function localDynamoDb(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: sharedEndpoints().dynamodb,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
}

/** A fresh, empty `task_states` table (unique name); returns its name. */
async function createTaskStatesTable(client: DynamoDBClient, label: string): Promise<string> {
  const name = `${uniquePrefix(label)}task_states`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: TASK_ATTRIBUTES.uuid, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: TASK_ATTRIBUTES.uuid, KeyType: 'HASH' }],
    }),
  );
  return name;
}

describe('Class: DynamoDbResultBackend', () => {
  let raw: DynamoDBClient;
  let backend: DynamoDbResultBackend;
  let tableName: string;
  let counts: Map<string, number>;

  beforeAll(async () => {
    raw = localDynamoDb();
    counts = countRequests(raw);
    tableName = await createTaskStatesTable(raw, 'ddb');
    backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: raw }),
      tableName,
    });
  });
  afterAll(() => raw.destroy());

  function writes(): number {
    return total(counts, DYNAMODB_WRITES);
  }

  it('spends exactly three writes on a simple successful task', async () => {
    // Prepare
    const sig = newSignature('add', [{ Type: 'int64', Value: 1 }]);
    const now = Date.now();
    const before = writes();

    // Act
    await backend.putPending(sig, { now, expiresAt: now + DAY });
    const claim = await backend.claim(sig, {
      now,
      leaseUntil: now + 90_000,
      expiresAt: now + DAY,
      maxCrashes: 3,
    });
    await backend.markSuccess(sig.UUID, 1, [{ Type: 'int64', Value: 1 }], {
      now,
      expiresAt: now + DAY,
    });

    // Assess
    expect(claim).toMatchObject({ kind: 'claimed', attempt: 1 });
    expect(writes() - before).toBe(3);
  });

  it('stores results typed, never stringified, with 64-bit values beyond 2^53 as decimal strings', async () => {
    // Prepare
    const sig = newSignature('mixed', []);
    const now = Date.now();
    await backend.claim(sig, { now, leaseUntil: now + 1000, expiresAt: now + DAY, maxCrashes: 3 });

    // Act
    await backend.markSuccess(
      sig.UUID,
      1,
      [
        { Type: 'int64', Value: 42 },
        { Type: 'uint64', Value: 18446744073709551615n },
        { Type: '[]string', Value: ['a', 'b'] },
        { Type: 'float64', Value: 1e300 },
        { Type: 'bool', Value: true },
      ],
      { now, expiresAt: now + DAY },
    );

    // Assess
    const item = await raw.send(
      new GetItemCommand({ TableName: tableName, Key: { TaskUUID: { S: sig.UUID } } }),
    );
    expect(item.Item?.Results?.L?.[0]).toEqual({ M: { Type: { S: 'int64' }, Value: { N: '42' } } });
    expect(item.Item?.Results?.L?.[1]?.M?.Value).toEqual({ S: '18446744073709551615' });
    expect(item.Item?.Results?.L?.[2]?.M?.Value).toEqual({ L: [{ S: 'a' }, { S: 'b' }] });
    expect(item.Item?.Results?.L?.[4]?.M?.Value).toEqual({ BOOL: true });
    const rec = await backend.get(sig.UUID, { now });
    expect(rec?.results).toEqual([
      { Type: 'int64', Value: 42 },
      { Type: 'uint64', Value: 18446744073709551615n },
      { Type: '[]string', Value: ['a', 'b'] },
      { Type: 'float64', Value: 1e300 },
      { Type: 'bool', Value: true },
    ]);
  });

  it('never shortens an item lifetime, in one extra write at most', async () => {
    // Prepare
    const sig = newSignature('long-lived', []);
    const now = Date.now();
    await backend.putPending(sig, { now, expiresAt: now + 30 * DAY });
    const before = writes();

    // Act
    await backend.claim(sig, { now, leaseUntil: now + 1000, expiresAt: now + DAY, maxCrashes: 3 });

    // Assess
    const rec = await backend.get(sig.UUID, { now });
    expect(rec?.state).toBe('STARTED');
    expect(rec?.expiresAt).toBeGreaterThanOrEqual(now + 30 * DAY);
    expect(writes() - before).toBe(2);
  });

  it('extends the lifetime in the same write when the new expiry is later', async () => {
    // Prepare
    const sig = newSignature('extend', []);
    const now = Date.now();
    await backend.putPending(sig, { now, expiresAt: now + DAY });
    const before = writes();

    // Act
    await backend.claim(sig, {
      now,
      leaseUntil: now + 1000,
      expiresAt: now + 20 * DAY,
      maxCrashes: 3,
    });

    // Assess
    expect((await backend.get(sig.UUID, { now }))?.expiresAt).toBeGreaterThanOrEqual(
      now + 20 * DAY,
    );
    expect(writes() - before).toBe(1);
  });

  it('treats an expired item that DynamoDB has not deleted yet as absent', async () => {
    // Prepare
    const sig = newSignature('old', []);
    const now = Date.now();
    await backend.putPending(sig, { now, expiresAt: now + 1000 });
    await backend.claim(sig, { now, leaseUntil: now + 500, expiresAt: now + 1000, maxCrashes: 3 });
    await backend.markSuccess(sig.UUID, 1, [], { now, expiresAt: now + 1000 });
    const later = now + HOUR;

    // Act
    const read = await backend.get(sig.UUID, { now: later });
    const pending = await backend.putPending(sig, { now: later, expiresAt: later + DAY });
    const claim = await backend.claim(sig, {
      now: later,
      leaseUntil: later + 1000,
      expiresAt: later + DAY,
      maxCrashes: 3,
    });

    // Assess
    expect(read).toBeUndefined();
    expect(pending).toBe(true);
    expect(claim).toMatchObject({ kind: 'claimed', attempt: 1, retries: 0, crashes: 0 });
  });

  it('does not report a revoke when another writer replaced the expired item first', async () => {
    // Prepare: an expired item; a client whose first PutItem (revoke putting over the expired
    // item) lets another writer replace that item and claim the task just before it is sent
    const sig = newSignature('old', []);
    const now = Date.now();
    await backend.putPending(sig, { now, expiresAt: now + 1000 });
    const later = now + HOUR;
    const racy = localDynamoDb();
    let raced = false;
    racy.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand' && !raced) {
          raced = true;
          await backend.putPending(sig, { now: later, expiresAt: later + DAY });
          await backend.claim(sig, {
            now: later,
            leaseUntil: later + 90_000,
            expiresAt: later + DAY,
            maxCrashes: 3,
          });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const racyBackend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: racy }),
      tableName,
    });

    // Act
    const found = await racyBackend.revoke(sig.UUID, { now: later, expiresAt: later + DAY });

    // Assess
    racy.destroy();
    expect(raced).toBe(true);
    expect(found).toBe('STARTED');
    expect(await backend.get(sig.UUID, { now: later })).toMatchObject({
      state: 'STARTED',
      attempt: 1,
    });
  });

  it('learns why a claim failed from the same request (no extra read)', async () => {
    // Prepare
    const sig = newSignature('done', []);
    const now = Date.now();
    await backend.claim(sig, { now, leaseUntil: now + 1000, expiresAt: now + DAY, maxCrashes: 3 });
    await backend.markSuccess(sig.UUID, 1, [{ Type: 'string', Value: 'ok' }], {
      now,
      expiresAt: now + DAY,
    });
    const reads = total(counts, ['GetItemCommand']);
    const before = total(counts);

    // Act
    const claim = await backend.claim(sig, {
      now,
      leaseUntil: now + 1000,
      expiresAt: now + DAY,
      maxCrashes: 3,
    });

    // Assess
    expect(claim.kind).toBe('finished');
    expect(claim.kind === 'finished' && claim.record.results).toEqual([
      { Type: 'string', Value: 'ok' },
    ]);
    expect(total(counts, ['GetItemCommand'])).toBe(reads);
    expect(total(counts) - before).toBe(1);
  });
});

resultBackendConformance('DynamoDB (DynamoDB Local)', async () => {
  const client = localDynamoDb();
  return new DynamoDbResultBackend({
    dynamodb: createDynamoDbDocumentClient({ dynamodb: client }),
    tableName: await createTaskStatesTable(client, 'conf'),
  });
});

describe('Transition conditions on DynamoDB Local', () => {
  const client = localDynamoDb();
  const doc = createDynamoDbDocumentClient({ dynamodb: client });
  let table: Promise<string> | undefined;
  /** The key each stored item of the table was written under (once, on first use). */
  const keys = new WeakMap<object, Promise<string>>();

  afterAll(() => client.destroy());

  async function keyOf(stored: StoredItem): Promise<string> {
    if (stored === undefined) return newTaskUUID(); // never written: absent
    let key = keys.get(stored);
    if (key === undefined) {
      key = (async () => {
        const uuid = newTaskUUID();
        table ??= createTaskStatesTable(client, 'cond');
        await doc.send(
          new PutCommand({
            TableName: await table,
            Item: { ...stored, [TASK_ATTRIBUTES.uuid]: uuid },
          }),
        );
        return uuid;
      })();
      keys.set(stored, key);
    }
    return key;
  }

  // The expression evaluated by DynamoDB itself: a transaction of one ConditionCheck writes
  // nothing and fails with ConditionalCheckFailed when the condition is false.
  transitionConditionAgreement('DynamoDB Local', async (condition, stored) => {
    const key = await keyOf(stored);
    table ??= createTaskStatesTable(client, 'cond');
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: await table,
                Key: { [TASK_ATTRIBUTES.uuid]: key },
                ...conditionInput(condition),
              },
            },
          ],
        }),
      );
      return true;
    } catch (e) {
      const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if (reasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw e;
    }
  });
});
