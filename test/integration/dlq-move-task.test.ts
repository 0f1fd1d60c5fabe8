/**
 * The redrive by a message move task (`StartMessageMoveTask` with `DestinationArn`), on an SQS
 * emulator that implements it (npm `local-aws-sqs`, started here) with DynamoDB Local: tasks
 * dead-lettered by a worker that does not know them are moved back by SQS and succeed once a
 * worker knows them; `redriveStatus` reports the move task; a second move task while one runs is
 * refused.
 */
import type { Server } from 'node:http';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterQueues, type DeadLetterQueues } from '../../src/client/dlq.js';
import { RedriveError } from '../../src/client/errors.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import type { TaskLookup } from '../../src/core/processor.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import { freePort } from '../../src/local/net.js';
import { type ProvisionedStack, provisionStack, uniquePrefix } from '../../src/local/provision.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { countRequests, queueDepth, waitFor } from './aws-helpers.js';
import { makeClients, sharedEndpoints, type TestClients } from './support/stack.js';
import { startWorkerRunner } from './support/worker.js';

describe('Class: DeadLetterQueues (message move task on local-aws-sqs)', () => {
  let server: Server;
  let stack: ProvisionedStack;
  let clients: TestClients;
  let client: MachineryClient;
  let dlqs: DeadLetterQueues;
  let runner: EventSourceRunner | undefined;
  const runs = new Map<string, number>();

  const double = defineTask({
    name: 'double',
    args: ['int64'],
    run: (ctx, n) => {
      runs.set(ctx.uuid, (runs.get(ctx.uuid) ?? 0) + 1);
      return n * 2;
    },
  });

  const startWorker = (registry: TaskLookup) =>
    startWorkerRunner({ clients, env: stack.env, registry });

  beforeAll(async () => {
    const port = await freePort();
    server = await createSqsServer({
      port,
      hostname: '127.0.0.1',
      emulateQueueCreationLifecycle: false,
    });
    const shared = sharedEndpoints();
    stack = await provisionStack(
      { ...shared, sqs: `http://127.0.0.1:${port}` },
      uniquePrefix('mv'),
    );
    clients = makeClients(stack.endpoints);
    client = createClient({ env: stack.env, aws: clients });
    dlqs = createDeadLetterQueues({
      env: stack.env,
      aws: { sqs: clients.sqs, dynamodb: clients.dynamodb },
    });
  });

  afterAll(async () => {
    await runner?.stop();
    dlqs?.close();
    client?.close();
    for (const c of Object.values(clients ?? {})) c.destroy();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
  });

  it('moves a whole task DLQ back with one move task, and each task succeeds in one fresh attempt', async () => {
    // Prepare: three tasks dead-lettered by a worker that does not know them
    runner = startWorker(createRegistry([]));
    const sent = await client.sendTasks(
      [1, 2, 3].map((n) => newSignature('double', [{ Name: '', Type: 'int64', Value: n }])),
    );
    await waitFor(
      async () => (await queueDepth(clients.sqs, stack.queueUrls.tasksDlq)) === 3 || undefined,
    );
    await runner.stop();
    const listed = await dlqs.list();
    runner = startWorker(createRegistry([double]));
    const requests = countRequests(clients.sqs);

    // Act
    const result = await dlqs.redrive({ queue: 'task', maxPerSecond: 100, pollMs: 50 });

    // Assess: one move task, no message copied by us; every task SUCCESS after one fresh attempt
    expect(listed.map((e) => e.reason)).toEqual(['unregistered', 'unregistered', 'unregistered']);
    expect(result).toMatchObject({
      method: 'move-task',
      queue: 'task',
      moved: 3,
      status: 'COMPLETED',
    });
    expect(requests.get('StartMessageMoveTaskCommand')).toBe(1);
    expect(requests.get('SendMessageBatchCommand') ?? 0).toBe(0);
    for (const [i, handle] of sent.entries()) {
      // The item stays FAILURE (dead-lettered) until a worker claims the redriven message.
      await waitFor(
        async () => (await client.getState(handle.uuid))?.state === 'SUCCESS' || undefined,
      );
      expect(await handle.get()).toEqual([(i + 1) * 2]);
      expect(await client.getState(handle.uuid)).toMatchObject({
        state: 'SUCCESS',
        attempt: 1,
        deadLettered: false,
      });
      expect(runs.get(handle.uuid)).toBe(1);
    }
    expect(await queueDepth(clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    const status = await dlqs.redriveStatus({ queue: 'task' });
    expect(status.supported).toBe(true);
    expect(status.tasks[0]).toMatchObject({
      status: 'COMPLETED',
      moved: 3,
      sourceArn: stack.queueArns.tasksDlq,
      destinationArn: stack.queueArns.tasks,
    });
  });

  it('refuses a second move task while one runs on the queue', async () => {
    // Prepare: a slow move task (1 message/s) over two messages of the delay DLQ
    for (const body of ['{"UUID":"task_a","Name":"x"}', '{"UUID":"task_b","Name":"x"}']) {
      await clients.sqs.send(
        new SendMessageCommand({ QueueUrl: stack.queueUrls.delayDlq, MessageBody: body }),
      );
    }
    const first = dlqs.redrive({ queue: 'delay', maxPerSecond: 1, pollMs: 50 });
    await waitFor(async () => {
      const s = await dlqs.redriveStatus({ queue: 'delay' });
      return s.tasks.some((t) => t.status === 'RUNNING') || undefined;
    });

    // Act
    const second = dlqs.redrive({ queue: 'delay' });

    // Assess
    await expect(second).rejects.toBeInstanceOf(RedriveError);
    await expect(second).rejects.toMatchObject({ code: 'MOVE_TASK_RUNNING' });
    expect(await first).toMatchObject({ method: 'move-task', queue: 'delay', moved: 2 });
  });
});
