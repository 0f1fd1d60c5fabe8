/**
 * The group backend on DynamoDB Local: the conformance suite, the items a chord writes (key
 * spaces, sizes, TTL) and the requests a completion costs.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbGroupBackend } from '../../src/aws/group-backend.js';
import { attributeValueBytes, utf8Bytes } from '../../src/core/bounds.js';
import { GROUP_LIMITS } from '../../src/core/workflow.js';
import { groupBackendConformance } from '../conformance/group-backend.js';
import { countRequests } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
const doc = () => createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb });
const table = () => stack.names.tables.groupMetas;

beforeAll(async () => {
  stack = await getTestStack({ label: 'groups' });
});
afterAll(async () => {
  await stack?.stop();
});

groupBackendConformance('DynamoDB', async () => ({
  backend: new DynamoDbGroupBackend({ dynamodb: doc(), tableName: table() }),
  seedMachinery: async (groupUUID, item) => {
    await doc().send(
      new PutCommand({ TableName: table(), Item: { GroupUUID: groupUUID, ...item } }),
    );
  },
  readRoot: async (groupUUID) =>
    (
      await doc().send(
        new GetCommand({ TableName: table(), Key: { GroupUUID: groupUUID }, ConsistentRead: true }),
      )
    ).Item,
}));

describe('Class: DynamoDbGroupBackend', () => {
  it('marks a slot with one UpdateItem, and a repeated mark costs one more (refused) request', async () => {
    // Prepare
    const counts = countRequests(stack.clients.dynamodb);
    const groups = new DynamoDbGroupBackend({ dynamodb: doc(), tableName: table() });
    const node = { groupUUID: `group_${randomUUID()}`, level: 0, node: 0 };
    const expiresAt = Date.now() + 86_400_000;
    const before = new Map(counts);

    // Act
    await groups.markNode(node, 1, { expiresAt });
    await groups.markNode(node, 1, { expiresAt });

    // Assess
    expect((counts.get('UpdateItemCommand') ?? 0) - (before.get('UpdateItemCommand') ?? 0)).toBe(2);
    expect(counts.size).toBe(before.size + (before.has('UpdateItemCommand') ? 0 : 1));
  });

  it('keeps a full leaf under 1 KB', async () => {
    // Prepare
    const groups = new DynamoDbGroupBackend({ dynamodb: doc(), tableName: table() });
    const groupUUID = `group_${randomUUID()}`;
    const expiresAt = Date.now() + 86_400_000;

    // Act
    for (let slot = 0; slot < GROUP_LIMITS.branching; slot++) {
      await groups.markNode({ groupUUID, level: 0, node: 0 }, slot, { expiresAt });
    }
    const item = (
      await doc().send(
        new GetCommand({ TableName: table(), Key: { GroupUUID: `${groupUUID}#L0#0` } }),
      )
    ).Item;

    // Assess: the item's size by DynamoDB's rules (a set sized as a list of its numbers).
    const stored = { ...item, done: [...((item?.done as Set<number> | undefined) ?? [])] };
    const size = Object.entries(stored).reduce(
      (n, [k, v]) => n + utf8Bytes(k) + attributeValueBytes(v),
      0,
    );
    expect(item?.n).toBe(GROUP_LIMITS.branching);
    expect(size).toBeLessThan(1024);
  });
});
