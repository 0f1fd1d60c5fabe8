import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import type { Lane } from '../../src/core/lanes.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import type { Signature } from '../../src/core/types.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { countRequests, DYNAMODB_WRITES, quietLogger, total } from './aws-helpers.js';
import { getTestStack, makeClients, type TestClients, type TestStack } from './support/stack.js';

const N = 20;

/** A count map's growth since a snapshot of it. */
function since(now: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of now) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/**
 * DynamoDB requests per task in each cost lane (docs/design.md §4 "Lanes"), counted by SDK
 * middleware on separate producer and worker clients, on the emulators.
 */
describe('Request budget per lane', () => {
  let stack: TestStack;
  let producer: TestClients;
  let worker: TestClients;
  let client: MachineryClient;
  let producerDdb: Map<string, number>;
  let workerDdb: Map<string, number>;
  const failedOnce = new Set<string>();
  const registry = createRegistry([
    defineTask({
      name: 'add',
      args: ['int64', 'int64'],
      lane: 'idempotent',
      run: (_ctx, a, b) => a + b,
    }),
    defineTask({
      name: 'flaky',
      args: ['int64'],
      lane: 'idempotent',
      run: (ctx, n) => {
        if (!failedOnce.has(ctx.uuid)) {
          failedOnce.add(ctx.uuid);
          throw new Error('first run fails');
        }
        return n;
      },
    }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({ label: 'lanes' });
    producer = makeClients(stack.endpoints);
    worker = makeClients(stack.endpoints);
    producerDdb = countRequests(producer.dynamodb);
    workerDdb = countRequests(worker.dynamodb);
    client = createClient({
      env: stack.env,
      aws: { sqs: producer.sqs, dynamodb: producer.dynamodb },
    });
  });

  afterAll(async () => {
    client?.close();
    for (const c of [producer, worker]) for (const x of Object.values(c ?? {})) x.destroy();
    await stack?.stop();
  });

  /** Sends `sigs` in `lane`, runs them to SUCCESS; DynamoDB writes and reads per task. */
  async function measure(sigs: Signature[], lane: Lane) {
    const runner = new EventSourceRunner({
      sqs: worker.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: createWorker({
        registry,
        env: stack.env,
        aws: { sqs: worker.sqs, dynamodb: worker.dynamodb },
        logger: quietLogger('SILENT'),
      }),
      concurrency: 4,
      onError: () => {},
    });
    const p0 = new Map(producerDdb);
    const w0 = new Map(workerDdb);
    const results = await client.sendTasks(sigs, { lane });
    const p1 = new Map(producerDdb);
    runner.start();
    try {
      await Promise.all(results.map((r) => r.get({ timeoutMs: 60_000, pollMs: 100 })));
    } finally {
      await runner.stop();
    }
    const produced = since(p1, p0);
    const worked = since(workerDdb, w0);
    return {
      producerWrites: total(produced, DYNAMODB_WRITES) / sigs.length,
      workerWrites: total(worked, DYNAMODB_WRITES) / sigs.length,
      workerReads: total(worked, ['GetItemCommand']) / sigs.length,
    };
  }

  it('costs 3 / 2 / 1 DynamoDB writes and 0 / 0 / 1 worker reads for a simple task', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    const lanes: Lane[] = ['full', 'lean', 'idempotent'];

    // Act
    const measured = [];
    for (const lane of lanes) {
      const sigs = Array.from({ length: N }, (_, i) => registry.signature('add', i, 1));
      measured.push(await measure(sigs, lane));
    }

    // Assess
    expect(measured).toEqual([
      { producerWrites: 1, workerWrites: 2, workerReads: 0 },
      { producerWrites: 0, workerWrites: 2, workerReads: 0 },
      { producerWrites: 0, workerWrites: 1, workerReads: 1 },
    ]);
  });

  it('costs 5 / 4 / 2 writes and 0 / 0 / 2 reads for a task retried once', {
    timeout: 180_000,
  }, async () => {
    // Prepare
    const lanes: Lane[] = ['full', 'lean', 'idempotent'];

    // Act
    const measured = [];
    for (const lane of lanes) {
      const sigs = Array.from({ length: 5 }, (_, i) =>
        registry.signatureWith('flaky', [i], { RetryCount: 1 }),
      );
      measured.push(await measure(sigs, lane));
    }

    // Assess: claim, RETRY, claim, SUCCESS (+ PENDING in the full lane); RETRY and SUCCESS
    // after one read each in the idempotent lane
    expect(measured).toEqual([
      { producerWrites: 1, workerWrites: 4, workerReads: 0 },
      { producerWrites: 0, workerWrites: 4, workerReads: 0 },
      { producerWrites: 0, workerWrites: 2, workerReads: 2 },
    ]);
  });
});
