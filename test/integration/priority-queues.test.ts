/**
 * The high-priority task queue on the emulators: where sends land (SDK by Priority, SDK and CLI
 * by `queue`), and that every later hop (a retry re-sent through the delay path, an ETA through
 * the forwarder, a callback, a dead-letter) follows the task's `RoutingKey`, read back from the
 * queue each record was delivered from.
 */
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEnvFile, localEnvSource } from '../../src/aws/settings.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { DEFAULTS, ENV, TABLES } from '../../src/core/resources.js';
import { queueNameOf } from '../../src/core/routing.js';
import { decodeSignature, newSignature } from '../../src/core/signature.js';
import { createForwarderFromEnv } from '../../src/handlers/forwarder.js';
import { createWorker, fromPowertools } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { countRequests, quietLogger, receiveMessages, waitFor } from './aws-helpers.js';
import { machinery } from './support/cli.js';
import { getTestStack, makeClients, sharedEndpoints, type TestStack } from './support/stack.js';

const int = (v: number) => ({ Type: 'int64' as const, Value: v });

describe('Priority queues: where sends land', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let producerRequests: Map<string, number>;
  let sqs: SQSClient;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'prio-send' });
    sqs = makeClients(sharedEndpoints()).sqs;
    producerRequests = countRequests(sqs);
    client = createClient({ env: stack.env, aws: { sqs } });
  });

  afterAll(async () => {
    client?.close();
    sqs?.destroy();
    await stack?.stop();
  });

  it('puts a high-Priority task and one sent with queue high on the high queue, others on the default one', async () => {
    // Prepare
    const highName = queueNameOf(stack.queueUrls.highTasks);
    const urgent = newSignature('add', [int(1), int(2)], {
      Priority: DEFAULTS.highPriorityThreshold,
    });
    const named = newSignature('add', [int(3), int(4)]);
    const plain = newSignature('add', [int(5), int(6)], {
      Priority: DEFAULTS.highPriorityThreshold - 1,
    });
    const forcedDefault = newSignature('add', [int(7), int(8)], { Priority: 200 });

    // Act
    await client.sendTask(urgent);
    await client.sendTask(named, { queue: 'high' });
    await client.sendTask(plain);
    await client.sendTask(forcedDefault, { queue: 'default' });
    const sends = new Map(producerRequests);
    const high = await receiveMessages(stack.clients.sqs, stack.queueUrls.highTasks, { count: 2 });
    const low = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasks, { count: 2 });

    // Assess
    const bodies = (ms: typeof high) => ms.map((m) => decodeSignature(m.Body ?? ''));
    expect(
      bodies(high)
        .map((s) => s.UUID)
        .sort(),
    ).toEqual([urgent.UUID, named.UUID].sort());
    expect(bodies(high).map((s) => s.RoutingKey)).toEqual([highName, highName]);
    expect(
      bodies(low)
        .map((s) => s.UUID)
        .sort(),
    ).toEqual([plain.UUID, forcedDefault.UUID].sort());
    const keys = Object.fromEntries(bodies(low).map((s) => [s.UUID, s.RoutingKey]));
    expect(keys).toEqual({
      [plain.UUID]: '',
      [forcedDefault.UUID]: queueNameOf(stack.queueUrls.tasks),
    });
    // Both queue names are resolved from the configured URLs: no GetQueueUrl call.
    expect(Object.fromEntries(sends)).toEqual({ SendMessageBatchCommand: 4 });
  });

  it('puts a task sent with `machinery send --queue high` on the high queue', async () => {
    // Act
    const result = await machinery(['send', 'add', 'int64:1', 'int64:2', '--queue', 'high'], {
      env: stack.env,
    });
    const [message] = await receiveMessages(stack.clients.sqs, stack.queueUrls.highTasks, {
      count: 1,
    });

    // Assess
    expect(result.code).toBe(0);
    const sig = decodeSignature(message?.Body ?? '');
    expect(sig.UUID).toBe(result.stdout.trim());
    expect(sig.RoutingKey).toBe(queueNameOf(stack.queueUrls.highTasks));
  });

  it('refuses --queue high without a high queue, naming the variable, before any write', async () => {
    // Prepare
    const env = { ...stack.env };
    delete env[ENV.highTaskQueueUrl];
    const sig = newSignature('add', [int(1), int(1)]);
    const noHigh = createClient({ env, aws: { sqs: stack.clients.sqs } });

    // Act
    const cli = await machinery(['send', 'add', 'int64:1', 'int64:2', '--queue', 'high'], { env });
    const sdk = noHigh.sendTask(sig, { queue: 'high' });

    // Assess
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(ENV.highTaskQueueUrl);
    await expect(sdk).rejects.toThrow(ENV.highTaskQueueUrl);
    expect(await noHigh.getState(sig.UUID)).toBeUndefined();
    noHigh.close();
  });
});

describe('Priority queues: every hop follows RoutingKey', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let runners: EventSourceRunner[];
  /** Each task's deliveries to the worker: the name of the queue each came from. */
  const arrivals = new Map<string, string[]>();
  let flakyRuns = 0;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'prio-hops' });
    const aws = {
      sqs: stack.clients.sqs,
      dynamodb: stack.clients.dynamodb,
      scheduler: stack.clients.scheduler,
    };
    const worker = createWorker({
      tasks: {
        add: (a: number, b: number) => a + b,
        flaky: () => {
          flakyRuns++;
          if (flakyRuns === 1) throw new Error('first run fails');
          return 'ok';
        },
      },
      env: stack.env,
      aws,
      logger: quietLogger('SILENT'),
      // Every retry is re-sent through the delay path (as past SQS's visibility cap) instead of
      // waiting in flight, so the re-send is what puts it back on its queue.
      visibilityCapMarginSeconds: DEFAULTS.maxVisibilitySeconds,
    });
    const recording = async (event: SQSEvent, context: Context) => {
      for (const r of event.Records) {
        const uuid = JSON.parse(r.body).UUID as string;
        arrivals.set(uuid, [
          ...(arrivals.get(uuid) ?? []),
          r.eventSourceARN.split(':').at(-1) ?? '',
        ]);
      }
      return worker(event, context);
    };
    const forwarder = createForwarderFromEnv(stack.env, {
      logger: fromPowertools(quietLogger('SILENT')),
    });
    const common = { sqs: stack.clients.sqs, onError: () => {} };
    runners = [
      new EventSourceRunner({ ...common, queueUrl: stack.queueUrls.tasks, handler: recording }),
      new EventSourceRunner({ ...common, queueUrl: stack.queueUrls.highTasks, handler: recording }),
      new EventSourceRunner({ ...common, queueUrl: stack.queueUrls.delay, handler: forwarder }),
    ];
    for (const r of runners) r.start();
    client = createClient({ env: stack.env, aws });
  });

  afterAll(async () => {
    await Promise.all((runners ?? []).map((r) => r.stop()));
    client?.close();
    await stack?.stop();
  });

  it('keeps a retried high task on the high queue: its re-send goes through the delay path back to it', async () => {
    // Prepare
    const sig = newSignature('flaky', [], { RetryCount: 2 });
    const high = queueNameOf(stack.queueUrls.highTasks);

    // Act
    const result = await client.sendTask(sig, { queue: 'high' });
    const values = await result.get({ timeoutMs: 30_000, pollMs: 100 });

    // Assess
    expect(values).toEqual(['ok']);
    expect(flakyRuns).toBe(2);
    expect(arrivals.get(sig.UUID)).toEqual([high, high]);
  });

  it('delivers an ETA’d high-Priority task to the high queue through the forwarder', async () => {
    // Prepare
    const sig = newSignature('add', [int(2), int(3)], {
      Priority: 9,
      ETA: Date.now() + 2_000,
    });

    // Act
    const result = await client.sendTask(sig);
    const values = await result.get({ timeoutMs: 30_000, pollMs: 100 });

    // Assess
    expect(values).toEqual([5]);
    expect(arrivals.get(sig.UUID)).toEqual([queueNameOf(stack.queueUrls.highTasks)]);
  });

  it('sends each callback of a high task to the queue its RoutingKey names', async () => {
    // Prepare
    const urgentCallback = newSignature('add', [int(10)], { Priority: 9 });
    const plainCallback = newSignature('add', [int(20)]);
    const sig = newSignature('add', [int(1), int(2)], {
      Priority: 9,
      OnSuccess: [urgentCallback, plainCallback],
    });

    // Act
    await client.sendTask(sig);
    await waitFor(
      async () =>
        (await client.getState(urgentCallback.UUID))?.state === 'SUCCESS' &&
        (await client.getState(plainCallback.UUID))?.state === 'SUCCESS'
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );

    // Assess
    expect(arrivals.get(sig.UUID)).toEqual([queueNameOf(stack.queueUrls.highTasks)]);
    expect(arrivals.get(urgentCallback.UUID)).toEqual([queueNameOf(stack.queueUrls.highTasks)]);
    expect(arrivals.get(plainCallback.UUID)).toEqual([queueNameOf(stack.queueUrls.tasks)]);
  });

  it("dead-letters a high task's poison message to the high queue's own DLQ", async () => {
    // Prepare
    const sig = newSignature('not_registered', [], { Priority: 9 });

    // Act
    await client.sendTask(sig);
    const dead = await receiveMessages(stack.clients.sqs, stack.queueUrls.highTasksDlq, {
      count: 1,
      timeoutMs: 30_000,
    });

    // Assess
    expect(dead.map((m) => decodeSignature(m.Body ?? '').UUID)).toEqual([sig.UUID]);
    expect(dead[0]?.MessageAttributes?.['machinery.reason']?.StringValue).toBe('unregistered');
  });
});

describe('Priority queues: the local stack', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'prio-stack' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('creates the high queue FIFO with a redrive policy to its own FIFO DLQ, and the workers table with TTL', async () => {
    // Act
    const attrs = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.queueUrls.highTasks,
        AttributeNames: ['All'],
      }),
    );
    const dlq = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.queueUrls.highTasksDlq,
        AttributeNames: ['FifoQueue', 'QueueArn'],
      }),
    );
    const table = await stack.clients.dynamodb.send(
      new DescribeTableCommand({ TableName: stack.names.tables.workers }),
    );
    const ttl = await stack.clients.dynamodb.send(
      new DescribeTimeToLiveCommand({ TableName: stack.names.tables.workers }),
    );

    // Assess
    expect(attrs.Attributes?.FifoQueue).toBe('true');
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq.Attributes?.QueueArn,
      maxReceiveCount: DEFAULTS.maxReceiveCount,
    });
    expect(dlq.Attributes?.FifoQueue).toBe('true');
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: TABLES.workers.partitionKey, KeyType: 'HASH' },
    ]);
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(TABLES.workers.ttlAttribute);
  });

  it('writes the new variables to local.env and reads them back', () => {
    // Act
    const text = formatEnvFile(stack.env);
    const source = localEnvSource('/tmp/local.env', text);

    // Assess
    expect(text).toContain(`${ENV.highTaskQueueUrl}=${stack.queueUrls.highTasks}\n`);
    expect(text).toContain(`${ENV.highDlqUrl}=${stack.queueUrls.highTasksDlq}\n`);
    expect(text).toContain(`${ENV.workersTable}=${stack.names.tables.workers}\n`);
    expect(source.variables[ENV.highTaskQueueUrl]).toBe(stack.queueUrls.highTasks);
  });
});
