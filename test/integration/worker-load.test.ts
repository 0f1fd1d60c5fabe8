import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { DynamoDbResultBackend } from '../../src/aws/dynamodb-backend.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import type { Signature } from '../../src/core/types.js';
import { createWorker } from '../../src/handlers/worker.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/local/provision.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import {
  countRequests,
  DYNAMODB_WRITES,
  injectThrottling,
  queueDepth,
  quietLogger,
  sendDuplicates,
  total,
  waitFor,
} from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

const TASKS = 1_000;
const DUPLICATE_RATE = 0.05;
const THROTTLE_RATE = 0.05;
const CONCURRENCY = 12;

/**
 * 1,000 tasks through the local event-source runner with
 * - 5 % of the messages sent twice (same body, new deduplication id, so SQS really delivers both),
 * - 5 % of the worker's DynamoDB requests failing with `ProvisionedThroughputExceededException`,
 *   injected by middleware at the `finalizeRequest` step below the SDK's retry layer, on a client
 *   built with `maxAttempts: 1`, so the SDK does not retry it away and the worker really sees it,
 * - a high `maxReceiveCount`.
 * Every task must end SUCCESS once, none lost, no task function completes twice, none in the DLQ.
 *
 * The processor retries a failed result write in-process (`writeRetryDelaysMs`, 5 retries here): a
 * result write lost for good would, by design, make the task run again after its lease expires
 * (docs/design.md §4: tasks should be idempotent). With 5 % failures that happens with probability ~2e-8
 * per write; the default (2 retries) would make it ~1e-4.
 */
describe('Function: createWorker (1,000 tasks, duplicates and throttling)', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let workerDdb: DynamoDBClient;
  let runner: EventSourceRunner;
  const completions = new Map<string, number>();
  const registry = createRegistry([
    defineTask({
      name: 'work',
      args: ['int64'],
      run: (ctx, n) => {
        completions.set(ctx.uuid, (completions.get(ctx.uuid) ?? 0) + 1);
        return n * 2;
      },
    }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({
      label: 'load',
      queueOverrides: { tasks: { maxReceiveCount: 1_000 } },
    });
    workerDdb = new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    client = createClient({
      env: stack.env,
      aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
    });
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    workerDdb?.destroy();
    await stack?.stop();
  });

  it('ends every task SUCCESS exactly once, none lost, none dead-lettered', {
    timeout: 300_000,
  }, async () => {
    // Prepare: faults on the worker's DynamoDB client only
    const ddbCounts = countRequests(workerDdb);
    const faults = injectThrottling(workerDdb, THROTTLE_RATE);
    runner = new EventSourceRunner({
      sqs: stack.clients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: createWorker({
        registry,
        env: stack.env,
        aws: { sqs: stack.clients.sqs, dynamodb: workerDdb },
        logger: quietLogger('SILENT'),
        processorOptions: { writeRetryDelaysMs: [50, 100, 200, 400, 800] },
      }),
      concurrency: CONCURRENCY,
      onError: () => {},
    });
    const sigs: Signature[] = Array.from({ length: TASKS }, (_, i) =>
      registry.signature('work', i),
    );
    const dupes = sigs.filter((_, i) => i % Math.round(1 / DUPLICATE_RATE) === 0);

    // Act: send all, then the duplicates (same body and group, new deduplication id)
    await client.sendTasks(sigs);
    await sendDuplicates(stack.clients.sqs, stack.queueUrls.tasks, dupes);
    const started = Date.now();
    runner.start();
    await waitFor(async () => (completions.size === TASKS ? true : undefined), {
      timeoutMs: 240_000,
      intervalMs: 250,
      describe: () => `${TASKS} tasks to complete (${completions.size} so far)`,
    });
    const elapsedMs = Date.now() - started;
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
      { timeoutMs: 120_000, intervalMs: 250, describe: () => 'the task queue to drain' },
    );
    await runner.stop();
    faults.enabled = false;

    // Assess
    const backend = new DynamoDbResultBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: stack.clients.dynamodb }),
      tableName: stack.names.tables.taskStates,
    });
    const states = await Promise.all(sigs.map((s) => backend.get(s.UUID, { now: Date.now() })));
    const notSuccess = states.filter((r) => r?.state !== 'SUCCESS');
    expect(notSuccess).toEqual([]);
    expect(states.map((r) => r?.results?.[0]?.Value)).toEqual(sigs.map((_, i) => i * 2));
    expect([...completions.values()].filter((n) => n !== 1)).toEqual([]);
    expect(completions.size).toBe(TASKS);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    // The duplicates were really delivered, and acknowledged without running
    expect(runner.stats.deleted).toBe(TASKS + dupes.length);
    // The faults really happened and reached the worker
    expect(faults.injected).toBeGreaterThan(0);
    expect(runner.stats.failedRecords).toBeGreaterThan(0);
    console.info(
      `[load] ${TASKS} tasks + ${dupes.length} duplicates in ${(elapsedMs / 1000).toFixed(1)} s ` +
        `(${((TASKS * 1000) / elapsedMs).toFixed(0)} tasks/s, concurrency ${CONCURRENCY}); ` +
        `${faults.injected} DynamoDB requests throttled of ${total(ddbCounts)}; ` +
        `${runner.stats.failedRecords} batch item failures; ${runner.stats.invocations} invocations; ` +
        `worker DynamoDB writes ${(total(ddbCounts, DYNAMODB_WRITES) / TASKS).toFixed(2)} per task (incl. throttled attempts)`,
    );
  });
});
