import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { countRequests, DYNAMODB_WRITES, quietLogger, total } from './aws-helpers.js';
import { getTestStack, makeClients, type TestClients, type TestStack } from './support/stack.js';

const N = 40;

/**
 * Requests per task, counted by SDK middleware on separate clients for the producer, the worker and
 * the event source (Lambda's poller, whose ReceiveMessage/DeleteMessageBatch AWS bills too).
 */
describe('Request budget of a simple successful task', () => {
  let stack: TestStack;
  let producer: TestClients;
  let worker: TestClients;
  let poller: TestClients;
  let client: MachineryClient;
  let runner: EventSourceRunner;
  const counts = {} as Record<
    'producerSqs' | 'producerDdb' | 'workerSqs' | 'workerDdb' | 'pollerSqs',
    Map<string, number>
  >;
  const registry = createRegistry([
    defineTask({ name: 'add', args: ['int64', 'int64'], run: (_ctx, a, b) => a + b }),
  ]);

  beforeAll(async () => {
    stack = await getTestStack({ label: 'budget' });
    producer = makeClients(stack.endpoints);
    worker = makeClients(stack.endpoints);
    poller = makeClients(stack.endpoints);
    counts.producerSqs = countRequests(producer.sqs);
    counts.producerDdb = countRequests(producer.dynamodb);
    counts.workerSqs = countRequests(worker.sqs);
    counts.workerDdb = countRequests(worker.dynamodb);
    counts.pollerSqs = countRequests(poller.sqs);
    client = createClient({
      env: stack.env,
      aws: { sqs: producer.sqs, dynamodb: producer.dynamodb },
    });
    runner = new EventSourceRunner({
      sqs: poller.sqs,
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
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    for (const c of [producer, worker, poller]) for (const x of Object.values(c ?? {})) x.destroy();
    await stack?.stop();
  });

  it('costs exactly 3 DynamoDB writes per task, send included, and no worker reads', async () => {
    // Prepare
    const sigs = Array.from({ length: N }, (_, i) => registry.signature('add', i, 1));

    // Act: send (PENDING + batched sends), then let the worker run them all
    const results = await client.sendTasks(sigs);
    const producerSqs = new Map(counts.producerSqs);
    const producerDdb = new Map(counts.producerDdb);
    runner.start();
    const values = await Promise.all(results.map((r) => r.get({ timeoutMs: 30_000, pollMs: 100 })));
    await runner.stop();

    // Assess
    expect(values).toEqual(sigs.map((_, i) => [i + 1]));
    const producerWrites = total(producerDdb, DYNAMODB_WRITES);
    const workerWrites = total(counts.workerDdb, DYNAMODB_WRITES);
    expect(producerWrites).toBe(N); // PutItem PENDING
    expect(workerWrites).toBe(2 * N); // claim → STARTED, markSuccess → SUCCESS
    expect((producerWrites + workerWrites) / N).toBe(3);
    expect(total(counts.workerDdb, ['GetItemCommand'])).toBe(0);
    expect(total(counts.workerSqs)).toBe(0); // nothing to change, nothing to dead-letter
    expect(total(producerSqs, ['SendMessageBatchCommand'])).toBe(Math.ceil(N / 10));
    const perTask = (m: Map<string, number>, names?: string[]) => (total(m, names) / N).toFixed(2);
    console.info(
      `[budget] per task: DynamoDB writes ${((producerWrites + workerWrites) / N).toFixed(2)} ` +
        `(producer ${perTask(producerDdb, DYNAMODB_WRITES)}, worker ${perTask(counts.workerDdb, DYNAMODB_WRITES)}), ` +
        `worker DynamoDB reads ${perTask(counts.workerDdb, ['GetItemCommand'])}, ` +
        `SQS producer ${perTask(producerSqs)} (SendMessageBatch), worker ${perTask(counts.workerSqs)}, ` +
        `event source ${perTask(counts.pollerSqs, ['ReceiveMessageCommand', 'DeleteMessageBatchCommand'])} ` +
        `(receive ${perTask(counts.pollerSqs, ['ReceiveMessageCommand'])}, delete ${perTask(counts.pollerSqs, ['DeleteMessageBatchCommand'])})`,
    );
  });
});
