import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { type CliIO, runCli } from '../../src/cli/main.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { DispatchError } from '../../src/core/dispatch.js';
import { SignatureEncodeError } from '../../src/core/errors.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { DEFAULTS } from '../../src/core/resources.js';
import { newSignature, newTaskUUID } from '../../src/core/signature.js';
import type { Signature } from '../../src/core/types.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import {
  countRequests,
  DYNAMODB_WRITES,
  queueDepth,
  quietLogger,
  receiveMessages,
  total,
  waitFor,
} from './aws-helpers.js';
import { getTestStack, makeClients, type TestClients, type TestStack } from './support/stack.js';

/** Items in the task-state table (the stack is private to this file). */
async function taskItems(stack: TestStack): Promise<number> {
  const out = await stack.clients.dynamodb.send(
    new ScanCommand({ TableName: stack.names.tables.taskStates, Select: 'COUNT' }),
  );
  return out.Count ?? 0;
}

describe('Function: createClient (sends refused before any write)', () => {
  let stack: TestStack;
  let producer: TestClients;
  let client: MachineryClient;
  let producerDdb: Map<string, number>;
  let producerSqs: Map<string, number>;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'sendval' });
    producer = makeClients(stack.endpoints);
    producerDdb = countRequests(producer.dynamodb);
    producerSqs = countRequests(producer.sqs);
    client = createClient({
      env: stack.env,
      aws: { sqs: producer.sqs, dynamodb: producer.dynamodb, scheduler: producer.scheduler },
    });
  });

  afterAll(async () => {
    client?.close();
    for (const c of Object.values(producer ?? {})) c.destroy();
    await stack?.stop();
  });

  it('refuses a body over 1 MiB, a body too large for an item and a malformed ETA with no PENDING record', async () => {
    // Prepare
    const now = Date.now();
    const ok = newSignature('ok', []);
    const overSqs = newSignature('big', [
      { Type: 'string', Value: 'x'.repeat(DEFAULTS.maxMessageBytes) },
    ]);
    const overItem = newSignature('far', [{ Type: 'string', Value: 'x'.repeat(400_000) }], {
      ETA: now + 86_400_000,
    });
    const malformedEta: Signature = { ...newSignature('later', []), ETA: 'garbage' };
    const longName: Signature = { ...newSignature('n', []), Name: 'n'.repeat(300) };

    // Act
    const errors = [
      await client.sendTask(overSqs).catch((e: unknown) => e),
      await client.sendTasks([ok, overSqs]).catch((e: unknown) => e),
      await client.sendTask(overItem).catch((e: unknown) => e),
      await client.sendTasks([ok, malformedEta]).catch((e: unknown) => e),
      await client.sendTask(longName).catch((e: unknown) => e),
    ];

    // Assess
    expect(errors.slice(0, 3).map((e) => e instanceof DispatchError)).toStrictEqual([
      true,
      true,
      true,
    ]);
    expect((errors[0] as Error).message).toMatch(/more than the 1048576 bytes an SQS message/);
    expect((errors[2] as Error).message).toMatch(/too large to schedule/);
    expect(errors[3]).toBeInstanceOf(SignatureEncodeError);
    expect((errors[3] as SignatureEncodeError).field).toBe('ETA');
    expect(errors[4]).toBeInstanceOf(SignatureEncodeError);
    expect((errors[4] as SignatureEncodeError).field).toBe('Name');
    expect(total(producerDdb, DYNAMODB_WRITES)).toBe(0);
    expect(total(producerSqs, ['SendMessageCommand', 'SendMessageBatchCommand'])).toBe(0);
    expect(await taskItems(stack)).toBe(0);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)).toBe(0);
  });

  it('exits 2 for send --eta garbage or an over-long task name, writing nothing', async () => {
    // Prepare
    const err: string[] = [];
    const io: CliIO = {
      stdout: () => {},
      stderr: (s) => err.push(s),
      env: { ...stack.env },
      cwd: process.cwd(),
    };
    const before = await taskItems(stack);

    // Act
    const badEta = await runCli(['send', 'add', 'int64:1', '--eta', 'garbage'], io);
    const badName = await runCli(['send', 'n'.repeat(300), '--eta', '+1s'], io);

    // Assess
    expect(badEta).toBe(2);
    expect(badName).toBe(2);
    expect(err.join('')).toMatch(/--eta: invalid ETA "garbage"/);
    expect(err.join('')).toMatch(/a task name is at most 256 characters, got 300/);
    expect(await taskItems(stack)).toBe(before);
  });
});

describe('Function: createWorker (malformed ETA and over-long fields on receipt)', () => {
  const GROUP = 'eta-poison';
  let stack: TestStack;
  let runner: EventSourceRunner;
  const ran: string[] = [];
  const registry = createRegistry([
    defineTask({
      name: 'record',
      args: ['string'],
      run: (_ctx, label) => {
        ran.push(label);
        return label;
      },
    }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({ label: 'etapoison' });
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: createWorker({
        registry,
        env: stack.env,
        aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
        logger: quietLogger('SILENT'),
      }),
      concurrency: 2,
      onError: () => {},
    });
    runner.start();
  });

  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
  });

  it('dead-letters each as invalid-signature at once, naming the field, while the group runs on', async () => {
    // Prepare: raw bodies, as a Go producer (or anyone) may put them on the task queue
    const str = (v: string) => ({ Name: '', Type: 'string', Value: v });
    const body = (extra: Record<string, unknown>, label = 'x') => {
      const uuid = newTaskUUID();
      const fields = { UUID: uuid, Name: 'record', Args: [str(label)], ...extra };
      return { uuid, body: JSON.stringify({ ...fields, BrokerMessageGroupId: GROUP }) };
    };
    const h1 = body({}, 'h1');
    const poison = {
      ETA: body({ ETA: 'garbage' }),
      'OnSuccess[0].ETA': body({ OnSuccess: [{ Name: 'record', ETA: '2030-01-01T10:00:00' }] }),
      Name: body({ Name: 'n'.repeat(DEFAULTS.maxTaskNameLength + 1) }),
      GroupUUID: body({ GroupUUID: `group_${'g'.repeat(DEFAULTS.maxUuidLength)}` }),
      'ChordCallback.UUID': body({
        ChordCallback: { UUID: 'c'.repeat(DEFAULTS.maxUuidLength + 1), Name: 'record' },
      }),
    };
    const h2 = body({}, 'h2');
    const messages = [h1, ...Object.values(poison), h2];

    // Act
    for (const [i, m] of messages.entries()) {
      await stack.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.tasks,
          MessageBody: m.body,
          MessageGroupId: GROUP,
          MessageDeduplicationId: `m${i}`,
        }),
      );
    }
    const dead = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasksDlq, {
      count: Object.keys(poison).length,
      timeoutMs: 30_000,
    });
    await waitFor(async () => (ran.length === 2 ? true : undefined), {
      timeoutMs: 20_000,
      describe: () => `the healthy tasks (ran: ${ran.join(', ')})`,
    });

    // Assess: every poison message is in the DLQ once, reason invalid-signature, its field named
    const byUuid = new Map(
      dead.map((m) => [m.MessageAttributes?.['machinery.task-uuid']?.StringValue, m]),
    );
    expect(dead).toHaveLength(Object.keys(poison).length);
    const backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    for (const [field, msg] of Object.entries(poison)) {
      const m = byUuid.get(msg.uuid);
      expect(m?.Body).toBe(msg.body);
      expect(m?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('invalid-signature');
      expect(m?.MessageAttributes?.['machinery.detail']?.StringValue).toMatch(
        new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}: `),
      );
      const state = await backend.get(msg.uuid, { now: Date.now() });
      expect(state).toMatchObject({ state: 'FAILURE', deadLetterReason: 'invalid-signature' });
      expect(state?.name.length ?? 0).toBeLessThanOrEqual(DEFAULTS.maxTaskNameLength);
    }
    // ... while the healthy tasks of the same group ran, in order
    expect(ran).toStrictEqual(['h1', 'h2']);
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
      { timeoutMs: 10_000, describe: () => 'the task queue to drain' },
    );
  });
});
