/**
 * Throughput benchmark: `add` tasks end to end through the engine on the embedded local stack
 * (producer `sendTasks` → FIFO task queue → local event source → worker → DynamoDB), compared with
 * what the emulators themselves do, measured in the same run and the same process:
 *
 * - **fauxqs baseline**: batched `SendMessageBatch` + `ReceiveMessage` (10) + `DeleteMessageBatch`
 *   of task-sized messages on a FIFO queue (one message group per message, as our tasks), 8
 *   senders and 8 receivers at once: messages per second through the whole cycle;
 * - **DynamoDB Local baseline**: conditional `UpdateItem`s at 16 concurrent (three per item, each
 *   conditioned on the previous state, as a task's state moves): updates per second.
 *
 * Each task costs one full SQS cycle and 3 conditional DynamoDB writes, so the two ceilings are
 * `fauxqs msgs/s` and `DynamoDB updates/s ÷ 3`; ours is reported as a ratio to both. The baselines
 * run before and after ours (the machine is shared; the two values show the drift).
 *
 * Then each lane (`full`, `lean`, `idempotent`) runs the same number of tasks again, reported as
 * tasks/s and as a ratio to the fauxqs ceiling and to the DynamoDB ceiling for its requests per
 * task.
 *
 * Run: `npx tsx bench/throughput.ts [tasks]` (default 2000; or `BENCH_TASKS`; worker invocations at
 * once: `BENCH_CONCURRENCY`, default 8). Writes
 * `bench/results/throughput.json`.
 *
 * @module
 */
import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { exampleTasks } from '../examples/tasks.js';
import { LANES, type Lane } from '../src/core/lanes.js';
import { defineTask } from '../src/core/registry.js';
import { type ArgInput, encodeSignature, newSignature } from '../src/core/signature.js';
import {
  type BenchSystem,
  dynamodbWrites,
  machineInfo,
  printTable,
  ROLES,
  round,
  sqsRequests,
  sumCounts,
  waitFor,
  withSystem,
  writeResults,
} from './lib.js';

const int64 = (v: number): ArgInput => ({ Name: '', Type: 'int64', Value: v });

/** Runs `fn(0..n-1)` with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        await fn(i);
      }
    }),
  );
}

/** fauxqs: send, receive and delete `n` messages in batches of 10; messages per second. */
async function sqsBaseline(
  sqs: SQSClient,
  queueUrl: string,
  n: number,
  body: string,
  concurrency: number,
  run: string,
): Promise<number> {
  const start = performance.now();
  let deleted = 0;
  const batches = Math.ceil(n / 10);
  const senders = pool(batches, concurrency, async (b) => {
    const entries = [];
    for (let i = b * 10; i < Math.min(n, b * 10 + 10); i++) {
      const id = `${run}-${i}`;
      entries.push({
        Id: String(i % 10),
        MessageBody: body,
        MessageGroupId: id,
        MessageDeduplicationId: id,
      });
    }
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  });
  const receivers = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (deleted < n) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle as string,
            })),
          }),
        );
        deleted += messages.length;
      }
    }),
  );
  await Promise.all([senders, receivers]);
  return n / ((performance.now() - start) / 1000);
}

/** DynamoDB Local: `items` × 3 conditional updates at `concurrency`; updates per second. */
async function dynamodbBaseline(
  ddb: DynamoDBClient,
  table: string,
  items: number,
  concurrency: number,
  run: string,
): Promise<number> {
  const steps: [string, string][] = [
    ['attribute_not_exists(pk)', 'PENDING'],
    ['#s = :prev', 'STARTED'],
    ['#s = :prev', 'SUCCESS'],
  ];
  const start = performance.now();
  await pool(items, concurrency, async (i) => {
    let prev = '';
    for (const [condition, state] of steps) {
      await ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: `${run}-${i}` } },
          UpdateExpression: 'SET #s = :s, #u = :u',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'State', '#u': 'UpdatedAt' },
          ExpressionAttributeValues: {
            ':s': { S: state },
            ':u': { N: String(Date.now()) },
            ...(prev === '' ? {} : { ':prev': { S: prev } }),
          },
        }),
      );
      prev = state;
    }
  });
  return (items * steps.length) / ((performance.now() - start) / 1000);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** `add`, declared idempotent, so every lane may send it. */
const addAnyLane = defineTask({
  name: 'bench_add',
  args: ['int64', 'int64'],
  lane: 'idempotent',
  run: (_ctx, a, b) => a + b,
});

/** DynamoDB requests of a simple task per lane (docs/design.md §4 "Lanes"): its ceiling divisor. */
const LANE_REQUESTS: Record<Lane, number> = { full: 3, lean: 2, idempotent: 2 };

/**
 * Sends `n` add tasks in `sendBatch` chunks (in `lane`, when given) and waits until the worker
 * acknowledged them all.
 */
async function runTasks(sys: BenchSystem, n: number, sendBatch: number, lane?: Lane) {
  const deletedBefore = sys.runners.worker.stats.deleted;
  const invocationsBefore = sys.runners.worker.stats.invocations;
  const uuids: string[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i += sendBatch) {
    const sigs = Array.from({ length: Math.min(sendBatch, n - i) }, (_, k) =>
      newSignature(lane === undefined ? 'add' : 'bench_add', [int64(i + k), int64(1)]),
    );
    for (const s of sigs) uuids.push(s.UUID);
    await sys.client.sendTasks(sigs, lane === undefined ? {} : { lane });
  }
  const sentMs = performance.now() - start;
  await waitFor(
    () => sys.runners.worker.stats.deleted >= deletedBefore + n,
    `${n} tasks to be processed`,
    110_000,
    10,
  );
  const doneMs = performance.now() - start;
  return {
    uuids,
    sentMs,
    doneMs,
    invocations: sys.runners.worker.stats.invocations - invocationsBefore,
  };
}

/** Latencies (SUCCESS write − PENDING write) of the given tasks, from their items. */
async function latencies(sys: BenchSystem, uuids: readonly string[]) {
  const wanted = new Set(uuids);
  const found: number[] = [];
  let success = 0;
  let key: Record<string, unknown> | undefined;
  do {
    const out = await sys.raw.doc.send(
      new ScanCommand({
        TableName: sys.stack.names.tables.taskStates,
        ProjectionExpression: 'TaskUUID, #s, CreatedAt, UpdatedAt',
        ExpressionAttributeNames: { '#s': 'State' },
        ...(key ? { ExclusiveStartKey: key } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      if (!wanted.has(item.TaskUUID as string)) continue;
      if (item.State === 'SUCCESS') success++;
      found.push(Number(item.UpdatedAt) - Number(item.CreatedAt));
    }
    key = out.LastEvaluatedKey;
  } while (key);
  found.sort((a, b) => a - b);
  return {
    success,
    p50: percentile(found, 50),
    p95: percentile(found, 95),
    max: found[found.length - 1] ?? 0,
  };
}

async function main() {
  const arg = Number(process.argv[2] ?? process.env.BENCH_TASKS ?? 2000);
  const params = {
    tasks: Number.isFinite(arg) && arg > 0 ? Math.floor(arg) : 2000,
    sendBatch: 100,
    workerConcurrency: Number(process.env.BENCH_CONCURRENCY ?? 8),
    batchSize: 10,
    warmupTasks: 100,
    sqsBaselineMessages: 2000,
    sqsBaselineConcurrency: 8,
    dynamodbBaselineItems: 1000,
    dynamodbBaselineConcurrency: 16,
  };
  const machine = machineInfo();
  const results = await withSystem(
    {
      tasks: [...exampleTasks(), addAnyLane],
      capacity: false,
      workerConcurrency: params.workerConcurrency,
      batchSize: params.batchSize,
    },
    async (sys) => {
      const { raw } = sys;
      const queue = await raw.sqs.send(
        new CreateQueueCommand({
          QueueName: 'bench-baseline.fifo',
          Attributes: { FifoQueue: 'true', VisibilityTimeout: '60' },
        }),
      );
      const queueUrl = queue.QueueUrl as string;
      const table = 'bench-baseline';
      await raw.dynamodb.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      const body = encodeSignature(newSignature('add', [int64(1), int64(2)]));
      let runs = 0;
      const baselines = async () => ({
        fauxqsMsgsPerSecond: await sqsBaseline(
          raw.sqs,
          queueUrl,
          params.sqsBaselineMessages,
          body,
          params.sqsBaselineConcurrency,
          `r${runs++}`,
        ),
        dynamodbUpdatesPerSecond: await dynamodbBaseline(
          raw.dynamodb,
          table,
          params.dynamodbBaselineItems,
          params.dynamodbBaselineConcurrency,
          `r${runs++}`,
        ),
      });

      // Warm-up (JIT of this process and of DynamoDB Local), not measured.
      await sqsBaseline(raw.sqs, queueUrl, 200, body, 8, 'warm');
      await dynamodbBaseline(raw.dynamodb, table, 100, 16, 'warm');
      await runTasks(sys, params.warmupTasks, params.sendBatch);

      const before = await baselines();
      sys.reset();
      const ours = await runTasks(sys, params.tasks, params.sendBatch);
      const counts = sumCounts(ROLES.map((r) => sys.requests[r].snapshot()));
      const meanInvocationMs = sys.invocations.worker.meanMs;
      const lat = await latencies(sys, ours.uuids);
      // Each lane in turn, the same number of tasks (docs/design.md §4 "Lanes").
      const laneSeconds: Partial<Record<Lane, number>> = {};
      for (const lane of LANES) {
        const run = await runTasks(sys, params.tasks, params.sendBatch, lane);
        laneSeconds[lane] = run.doneMs / 1000;
      }
      const after = await baselines();

      const fauxqs = (before.fauxqsMsgsPerSecond + after.fauxqsMsgsPerSecond) / 2;
      const dynamodb = (before.dynamodbUpdatesPerSecond + after.dynamodbUpdatesPerSecond) / 2;
      const tasksPerSecond = params.tasks / (ours.doneMs / 1000);
      return {
        engine: {
          tasksPerSecond: round(tasksPerSecond, 1),
          sendTasksPerSecond: round(params.tasks / (ours.sentMs / 1000), 1),
          elapsedSeconds: round(ours.doneMs / 1000, 2),
          succeeded: lat.success,
          latencyMs: { p50: lat.p50, p95: lat.p95, max: lat.max },
          workerInvocations: ours.invocations,
          recordsPerInvocation: round(params.tasks / ours.invocations, 2),
          /** Mean wall time of a worker invocation (records run one after another inside it). */
          meanInvocationMs: round(meanInvocationMs, 1),
          perTask: {
            sqsFifoRequests: round(sqsRequests(counts, 'fifo') / params.tasks, 3),
            emptyReceives: round(
              (counts.ops['sqs-fifo:ReceiveMessage(empty)'] ?? 0) / params.tasks,
              3,
            ),
            dynamodbWrites: round(dynamodbWrites(counts) / params.tasks, 3),
          },
        },
        baselines: {
          before: {
            fauxqsMsgsPerSecond: round(before.fauxqsMsgsPerSecond, 1),
            dynamodbUpdatesPerSecond: round(before.dynamodbUpdatesPerSecond, 1),
          },
          after: {
            fauxqsMsgsPerSecond: round(after.fauxqsMsgsPerSecond, 1),
            dynamodbUpdatesPerSecond: round(after.dynamodbUpdatesPerSecond, 1),
          },
          fauxqsMsgsPerSecond: round(fauxqs, 1),
          dynamodbUpdatesPerSecond: round(dynamodb, 1),
          /** A task needs 3 conditional writes: the DynamoDB-bound ceiling in tasks/s. */
          dynamodbTaskCeiling: round(dynamodb / 3, 1),
        },
        /**
         * Tasks/s of each lane, and its ratio to the fauxqs ceiling and to the DynamoDB Local
         * ceiling for its requests per task (3 writes; 2 writes; 1 write + 1 read).
         */
        lanes: Object.fromEntries(
          LANES.map((lane) => {
            const perSecond = params.tasks / (laneSeconds[lane] ?? Number.POSITIVE_INFINITY);
            const ceiling = dynamodb / LANE_REQUESTS[lane];
            return [
              lane,
              {
                tasksPerSecond: round(perSecond, 1),
                dynamodbTaskCeiling: round(ceiling, 1),
                toFauxqs: round(perSecond / fauxqs, 3),
                toDynamodbTaskCeiling: round(perSecond / ceiling, 3),
              },
            ];
          }),
        ) as Record<
          Lane,
          {
            tasksPerSecond: number;
            dynamodbTaskCeiling: number;
            toFauxqs: number;
            toDynamodbTaskCeiling: number;
          }
        >,
        ratios: {
          toFauxqs: round(tasksPerSecond / fauxqs, 3),
          toDynamodbUpdates: round(tasksPerSecond / dynamodb, 3),
          toDynamodbTaskCeiling: round(tasksPerSecond / (dynamodb / 3), 3),
        },
      };
    },
  );
  const file = writeResults('throughput', machine, params, results);
  console.log(
    `\nThroughput: ${params.tasks} add tasks (${machine.cpus} cpus, node ${machine.node}, load ${machine.loadAverage.join(' ')})\n`,
  );
  printTable(
    ['measure', 'value', 'ratio (ours / it)'],
    [
      ['engine, tasks/s end to end', String(results.engine.tasksPerSecond), ''],
      ['engine, send only, tasks/s', String(results.engine.sendTasksPerSecond), ''],
      [
        'latency p50 / p95 / max, ms',
        `${results.engine.latencyMs.p50} / ${results.engine.latencyMs.p95} / ${results.engine.latencyMs.max}`,
        '',
      ],
      [
        'fauxqs send+receive+delete, msgs/s',
        String(results.baselines.fauxqsMsgsPerSecond),
        String(results.ratios.toFauxqs),
      ],
      [
        'DynamoDB Local cond. UpdateItem/s (16)',
        String(results.baselines.dynamodbUpdatesPerSecond),
        String(results.ratios.toDynamodbUpdates),
      ],
      [
        'DynamoDB ceiling, tasks/s (÷3 writes)',
        String(results.baselines.dynamodbTaskCeiling),
        String(results.ratios.toDynamodbTaskCeiling),
      ],
    ],
  );
  console.log('\nPer lane\n');
  printTable(
    ['lane', 'tasks/s', 'ratio to fauxqs', 'DynamoDB ceiling', 'ratio to it'],
    LANES.map((lane) => {
      const l = results.lanes[lane];
      return [
        lane,
        String(l.tasksPerSecond),
        String(l.toFauxqs),
        String(l.dynamodbTaskCeiling),
        String(l.toDynamodbTaskCeiling),
      ];
    }),
  );
  console.log(
    `\nbaselines before: ${JSON.stringify(results.baselines.before)}; after: ${JSON.stringify(results.baselines.after)}`,
  );
  console.log(`succeeded: ${results.engine.succeeded}/${params.tasks}; written ${file}`);
  if (results.engine.succeeded !== params.tasks) process.exitCode = 1;
}

await main();
