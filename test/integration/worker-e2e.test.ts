import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../examples/worker.js';
import {
  createClient,
  type MachineryClient,
  ResultTimeoutError,
  TaskFailedError,
} from '../../src/client/index.js';
import { newTaskUUID } from '../../src/core/signature.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { quietLogger, receiveMessages } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

describe('Function: createWorker (end to end on the local stack)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  let client: MachineryClient;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'e2e' });
    const aws = {
      sqs: stack.clients.sqs,
      dynamodb: stack.clients.dynamodb,
      scheduler: stack.clients.scheduler,
    };
    const handler = createWorker({ registry, env: stack.env, aws, logger: quietLogger('SILENT') });
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler,
      concurrency: 4,
      onError: () => {},
    });
    runner.start();
    client = createClient({ env: stack.env, aws });
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    await stack?.stop();
  });

  it("processes a body in Go machinery's exact format sent with the raw SQS client", async () => {
    // Prepare: byte for byte what a Go producer's SQS broker sends (docs/design.md §2), no PENDING item
    const uuid = newTaskUUID();
    const body =
      `{"UUID":"${uuid}","Name":"sum_ints","RoutingKey":"","ETA":null,"GroupUUID":"","GroupTaskCount":0,` +
      '"Args":[{"Name":"","Type":"[]int64","Value":[9007199254740993,1]}],"Headers":{},"Priority":0,' +
      '"Immutable":false,"RetryCount":0,"RetryTimeout":0,"OnSuccess":null,"OnError":null,' +
      '"ChordCallback":null,"BrokerMessageGroupId":"","SQSReceiptHandle":"","StopTaskDeletionOnError":false,' +
      '"IgnoreWhenTaskNotRegistered":false}';

    // Act
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MessageBody: body,
        MessageGroupId: 'go-producer',
        MessageDeduplicationId: uuid,
      }),
    );
    const values = await client.asyncResult(uuid).get({ timeoutMs: 30_000, pollMs: 50 });

    // Assess
    expect(values).toEqual([9007199254740994n]);
    const state = await client.getState(uuid);
    expect(state).toMatchObject({
      uuid,
      name: 'sum_ints',
      state: 'SUCCESS',
      results: [{ Type: 'int64', Value: 9007199254740994n }],
      attempt: 1,
      error: null,
    });
  });

  it('routes a Go body whose ETA is still ahead to the delay queue instead of running it', async () => {
    // Prepare: Go producers put ETA'd bodies straight on the FIFO queue
    const uuid = newTaskUUID();
    const eta = new Date(Date.now() + 3_000).toISOString();
    const body = JSON.stringify({ UUID: uuid, Name: 'add', ETA: eta, Args: [] });

    // Act
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MessageBody: body,
        MessageGroupId: uuid,
        MessageDeduplicationId: uuid,
      }),
    );
    const [delayed] = await receiveMessages(stack.clients.sqs, stack.queueUrls.delay, {
      count: 1,
      timeoutMs: 20_000,
    });

    // Assess: on the delay queue with its ETA, delivered no earlier than ~the ETA, and not run
    expect(delayed).toBeDefined();
    const forwarded = JSON.parse(delayed?.Body ?? '{}');
    expect(forwarded).toMatchObject({ UUID: uuid, Name: 'add' });
    expect(Date.parse(forwarded.ETA)).toBe(Date.parse(eta));
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(eta) - 1_000);
    expect(await client.getState(uuid)).toBeUndefined();
  });

  it("runs machinery's example tasks sent with the SDK client", async () => {
    // Prepare
    const sigs = [
      registry.signature('add', 1, 1),
      registry.signature('multiply', 2, 3, 4),
      registry.signature('sum_ints', [1, 2]),
      registry.signature('sum_floats', [1.5, 2.7]),
      registry.signature('concat', ['foo', 'bar']),
      registry.signature('split', 'foo'),
    ];

    // Act
    const results = await client.sendTasks(sigs);
    const values = await Promise.all(results.map((r) => r.get({ timeoutMs: 30_000, pollMs: 50 })));

    // Assess
    expect(values).toEqual([[2], [24], [3], [1.5 + 2.7], ['foobar'], [['f', 'o', 'o']]]);
    const typed = await results[3]?.getTyped();
    expect(typed).toEqual([{ Type: 'float64', Value: 1.5 + 2.7 }]);
  });

  it('rejects get() with TaskFailedError carrying the task error when the task fails', async () => {
    // Prepare
    const sig = registry.signature('panic_task');

    // Act
    const result = await client.sendTask(sig);
    const err = await result.get({ timeoutMs: 30_000, pollMs: 50 }).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).taskError).toBe('oops');
    expect((await result.getState())?.state).toBe('FAILURE');
  });

  it('records PENDING at send, before any worker sees the task', async () => {
    // Prepare: an ETA far enough that the task waits in the delay queue
    const sig = registry.signatureWith('add', [1, 2], { ETA: new Date(Date.now() + 600_000) });

    // Act
    const result = await client.sendTask(sig);

    // Assess
    expect(await result.getState()).toMatchObject({ state: 'PENDING', name: 'add', attempt: 0 });
  });

  it('rejects get() with ResultTimeoutError when the task does not finish in time', async () => {
    // Prepare
    const result = client.asyncResult(newTaskUUID());

    // Act
    const err = await result.get({ timeoutMs: 300, pollMs: 50 }).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ResultTimeoutError);
    expect((err as ResultTimeoutError).lastState).toBeUndefined();
  });
});
