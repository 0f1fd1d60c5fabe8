/**
 * The opt-in alive record of a Lambda execution environment (`createWorker({ liveness })`) on the
 * emulators, driven by the local event-source runner.
 *
 * @module
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { listWorkers } from '../../src/client/workers.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import { createWorker, type WorkerOptions } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { quietLogger, waitFor } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

let stack: TestStack | undefined;
let client: MachineryClient | undefined;
let runner: EventSourceRunner | undefined;

afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  client?.close();
  client = undefined;
  await stack?.stop();
  stack = undefined;
});

const ok = defineTask({ name: 'ok', args: [], run: () => 1 });

async function runTwo(liveness: WorkerOptions['liveness']): Promise<TestStack> {
  stack = await getTestStack({ label: 'lambda-alive' });
  const aws = { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb };
  client = createClient({ env: stack.env, aws });
  const handler = createWorker({
    registry: createRegistry([ok]),
    env: stack.env,
    aws,
    logger: quietLogger('SILENT'),
    ...(liveness === undefined ? {} : { liveness }),
  });
  runner = new EventSourceRunner({
    sqs: stack.clients.sqs,
    queueUrl: stack.queueUrls.tasks,
    handler,
    onError: () => {},
  });
  runner.start();
  const sent = await client.sendTasks([newSignature('ok'), newSignature('ok')]);
  await Promise.all(sent.map((r) => r.get({ timeoutMs: 30_000, pollMs: 100 })));
  return stack;
}

describe('Function: createWorker (liveness)', () => {
  it('keeps an alive record of the execution environment when asked, lapsing after its last invocation', async () => {
    // Prepare
    const s = await runTwo({ lapseSeconds: 2 });
    const deps = { dynamodb: createDynamoDbDocumentClient({ dynamodb: s.clients.dynamodb }) };
    const settings = { workersTable: s.env.MACHINERY_WORKERS_TABLE ?? '' };

    // Act
    const live = await waitFor(async () => {
      const all = await listWorkers(settings, deps);
      return all.length === 1 && (all[0]?.executed ?? 0) >= 1 ? all : undefined;
    });
    await runner?.stop();
    const lapsed = await waitFor(async () => {
      const all = await listWorkers(settings, deps);
      return all.length === 0 ? all : undefined;
    });

    // Assess
    expect(live[0]).toMatchObject({ kind: 'lambda', failed: 0 });
    expect(lapsed).toEqual([]);
  }, 60_000);

  it('keeps none by default', async () => {
    // Prepare
    const s = await runTwo(undefined);

    // Act
    const all = await listWorkers(
      { workersTable: s.env.MACHINERY_WORKERS_TABLE ?? '' },
      { dynamodb: createDynamoDbDocumentClient({ dynamodb: s.clients.dynamodb }) },
    );

    // Assess
    expect(all).toEqual([]);
  }, 60_000);
});
