/**
 * The long-running worker (`createPoller`) in process on the emulators: the priority rule over
 * the high and default queues, and the heartbeat that keeps a task longer than the queue's
 * visibility timeout in flight and leased.
 *
 * @module
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { METRICS } from '../../src/core/resources.js';
import { newSignature } from '../../src/core/signature.js';
import { createPoller, type Poller } from '../../src/handlers/poller.js';
import { countRequests, quietLogger, waitFor } from './aws-helpers.js';
import { captureEmf, type EmfRecord } from './support/emf.js';
import { getTestStack, type TestStack } from './support/stack.js';

let stack: TestStack | undefined;
let client: MachineryClient | undefined;
let poller: Poller | undefined;

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  client?.close();
  client = undefined;
  await stack?.stop();
  stack = undefined;
});

function awsOf(s: TestStack) {
  return { sqs: s.clients.sqs, dynamodb: s.clients.dynamodb, scheduler: s.clients.scheduler };
}

describe('Function: createPoller', () => {
  it('runs every high task before the 30th default one with one slot, and every task completes', async () => {
    // Prepare: 200 default and 20 high tasks queued before the worker starts
    stack = await getTestStack({ label: 'poll-prio' });
    client = createClient({ env: stack.env, aws: awsOf(stack) });
    const order: string[] = [];
    const note = defineTask({
      name: 'note',
      args: ['string'],
      run: (_ctx, tag) => {
        order.push(tag);
        return tag;
      },
    });
    const tag = (q: string, i: number) =>
      newSignature('note', [{ Type: 'string', Value: `${q}${i}` }]);
    await client.sendTasks(Array.from({ length: 200 }, (_, i) => tag('d', i)));
    await client.sendTasks(
      Array.from({ length: 20 }, (_, i) => tag('h', i)),
      { queue: 'high' },
    );

    // Act
    poller = createPoller({
      registry: createRegistry([note]),
      env: stack.env,
      aws: awsOf(stack),
      logger: quietLogger('SILENT'),
      concurrency: 1,
      waitTimeSeconds: 1,
      onError: () => {},
    });
    poller.start();
    await waitFor(async () => order.length === 220 || undefined, { timeoutMs: 240_000 });

    // Assess
    const lastHigh = Math.max(...order.map((t, i) => (t.startsWith('h') ? i : -1)));
    const defaultsBefore = order.slice(0, lastHigh).filter((t) => t.startsWith('d')).length;
    expect(defaultsBefore).toBeLessThanOrEqual(29);
    expect(new Set(order).size).toBe(220);
  }, 300_000);

  it('runs a task longer than the visibility timeout once, extending its visibility and lease', async () => {
    // Prepare: a 2 s visibility timeout, a task of 7 s, a 3 s lease beaten every 0.5 s
    stack = await getTestStack({
      label: 'poll-long',
      queueOverrides: { tasks: { visibilityTimeoutSeconds: 2 } },
    });
    client = createClient({ env: stack.env, aws: awsOf(stack) });
    let runs = 0;
    const slow = defineTask({
      name: 'slow',
      args: [],
      run: async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 7_000));
        return 'done';
      },
    });
    const sent = await client.sendTask(newSignature('slow'));
    const requests = countRequests(stack.clients.sqs);
    const leases: number[] = [];
    const dynamoRequests = countRequests(stack.clients.dynamodb);

    // Act
    poller = createPoller({
      registry: createRegistry([slow]),
      env: stack.env,
      aws: awsOf(stack),
      logger: quietLogger('SILENT'),
      concurrency: 2,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 2,
      heartbeatSeconds: 0.5,
      leaseSeconds: 3,
      onError: () => {},
      onMessageDone: () => {},
    });
    poller.start();
    const probe = setInterval(() => {
      void client
        ?.getState(sent.uuid)
        .then((r) => r?.leaseUntil && leases.push(r.leaseUntil))
        .catch(() => {});
    }, 1_000);
    const values = await sent.get({ timeoutMs: 30_000, pollMs: 100 });
    clearInterval(probe);

    // Assess
    expect(values).toEqual(['done']);
    expect(runs).toBe(1);
    expect(await client.getState(sent.uuid)).toMatchObject({
      state: 'SUCCESS',
      attempt: 1,
      crashes: 0,
    });
    expect(requests.get('ChangeMessageVisibilityCommand') ?? 0).toBeGreaterThanOrEqual(5);
    expect(dynamoRequests.get('UpdateItemCommand') ?? 0).toBeGreaterThanOrEqual(5);
    expect(new Set(leases).size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('emits the per-task metrics of a success, a retry and a dead-letter as EMF', async () => {
    // Prepare: 'ok' succeeds, 'flaky' fails its first attempt, 'unknown' is not registered
    stack = await getTestStack({ label: 'poll-emf' });
    client = createClient({ env: stack.env, aws: awsOf(stack) });
    let flakyRuns = 0;
    const ok = defineTask({ name: 'ok', args: [], run: () => 1 });
    const flaky = defineTask({
      name: 'flaky',
      args: [],
      run: () => {
        flakyRuns++;
        if (flakyRuns === 1) throw new Error('first attempt fails');
        return 2;
      },
    });
    const emf = captureEmf();
    try {
      poller = createPoller({
        registry: createRegistry([ok, flaky]),
        env: stack.env,
        aws: awsOf(stack),
        logger: quietLogger('SILENT'),
        concurrency: 2,
        waitTimeSeconds: 1,
        onError: () => {},
      });
      poller.start();

      // Act
      const sent = await Promise.all([
        client.sendTask(newSignature('ok')),
        client.sendTask(newSignature('flaky', [], { RetryCount: 1 })),
      ]);
      const unknown = await client.sendTask(newSignature('unknown'));
      await Promise.all(sent.map((r) => r.get({ timeoutMs: 30_000, pollMs: 100 })));
      await waitFor(
        async () => (await client?.getState(unknown.uuid))?.state === 'FAILURE' || undefined,
      );
      await waitFor(async () => emf.records.some((r) => r.TaskName === 'unknown') || undefined);
    } finally {
      emf.stop();
    }

    // Assess
    const values = (metric: string, task: string) =>
      emf.records
        .filter(
          (r: EmfRecord) =>
            r.TaskName === task &&
            r.service === METRICS.service &&
            r._aws.CloudWatchMetrics[0]?.Dimensions[0]?.includes(METRICS.taskNameDimension),
        )
        .flatMap((r) => (r[metric] === undefined ? [] : [r[metric]]));
    expect(values(METRICS.tasksSucceeded, 'ok')).toEqual([1]);
    expect(values(METRICS.taskDuration, 'ok')).toHaveLength(1);
    expect(values(METRICS.tasksRetried, 'flaky')).toEqual([1]);
    expect(values(METRICS.tasksSucceeded, 'flaky')).toEqual([1]);
    expect(values(METRICS.taskDuration, 'flaky')).toHaveLength(2);
    expect(values(METRICS.tasksDeadLettered, 'unknown')).toEqual([1]);
    expect(values(METRICS.tasksFailed, 'ok')).toEqual([]);
  }, 60_000);
});
