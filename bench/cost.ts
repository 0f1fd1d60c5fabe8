/**
 * Cost benchmark: exact AWS requests per task on the embedded local stack, by service and
 * operation, for the paths a task can take, and the resulting dollars per million tasks at the
 * list prices of docs/design.md §6.
 *
 * Scenarios (run one after the other on one system; counters reset between them):
 * - `simple`: one `add` task, sent alone, succeeds on the first attempt;
 * - `retry-once`: a task failing its first attempt (`RetryCount: 1`), then succeeding;
 * - `eta-delay-queue`: an `add` with an ETA 2 s away: delay queue, forwarder, task queue, worker;
 * - `duplicate`: a second delivery of an already finished task (injected on the task queue with a
 *   new deduplication id, as an SQS redelivery would be): only the worker's side is counted;
 * - `eta-schedule`: an `add` with an ETA 20 min away: a one-time EventBridge schedule, fired into
 *   the delay queue (the shared clock is advanced), forwarder, task queue, worker;
 * - `bulk`: 100 `add` tasks sent with one `sendTasks` (batched sends, batched receives and deletes):
 *   the per-task cost at scale.
 *
 * Idle polling of the event source mappings (empty `ReceiveMessage`s) is counted apart and left
 * out of the per-task figures: it is a fixed cost per poller, not per task.
 *
 * Run: `npx tsx bench/cost.ts`. Writes `bench/results/cost.json`.
 *
 * @module
 */

import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { exampleTasks } from '../examples/tasks.js';
import { AdjustableClock } from '../src/core/clock.js';
import type { Lane } from '../src/core/lanes.js';
import { defineTask } from '../src/core/registry.js';
import { type ArgInput, encodeSignature, newSignature } from '../src/core/signature.js';
import type { Signature } from '../src/core/types.js';
import {
  type BenchSystem,
  dynamodbReads,
  dynamodbWrites,
  machineInfo,
  opsMatching,
  PRICES,
  printTable,
  type RequestCounts,
  ROLES,
  type Role,
  round,
  sleep,
  sqsRequests,
  sumCounts,
  waitFor,
  withSystem,
  writeResults,
} from './lib.js';

/** machinery's writes per successful task with its DynamoDB backend: PENDING, RECEIVED, STARTED, SUCCESS. */
const MACHINERY_WRITES_PER_TASK = 4;
/** docs/design.md §4: the budget of writes per simple successful task. */
const WRITE_BUDGET = 3;

/** Fails its first attempt, succeeds after (declared idempotent, so every lane may send it). */
const flaky = defineTask({
  name: 'bench_flaky',
  lane: 'idempotent',
  run: (ctx): number => {
    if (ctx.attempt === 1) throw new Error('first attempt fails on purpose');
    return ctx.attempt;
  },
});

/** The delay-queue send a Scheduler firing makes. */
const SCHEDULER_SEND = 'sqs-standard:SendMessage(by Scheduler)';

const int64 = (v: number): ArgInput => ({ Name: '', Type: 'int64', Value: v });

/** `add`, declared idempotent, so every lane may send it. */
const addAnyLane = defineTask({
  name: 'bench_add',
  args: ['int64', 'int64'],
  lane: 'idempotent',
  run: (_ctx, a, b) => a + b,
});

/** The lanes measured, each beside machinery's design (docs/design.md §4 "Lanes"). */
const LANES_MEASURED: readonly Lane[] = ['full', 'lean', 'idempotent'];

/** The issue's targets, $ per million simple tasks (bulk scenario) at the deployed memory. */
const TARGETS: Partial<Record<Lane, number>> = { lean: 1.5, idempotent: 1.0 };

interface ScenarioResult {
  name: string;
  description: string;
  tasks: number;
  requests: Record<Role, RequestCounts>;
  total: RequestCounts;
  perTask: {
    sqsFifoRequests: number;
    sqsStandardRequests: number;
    dynamodbWrites: number;
    dynamodbReads: number;
    wru: number;
    rru: number;
    conditionalFailures: number;
    schedulerInvocations: number;
    schedulerApiCalls: number;
    workerInvocations: number;
    forwarderInvocations: number;
    lambdaMs: number;
  };
  /** Empty ReceiveMessage calls of the pollers during the scenario (idle cost, not per task). */
  idleReceives: number;
  lambdaMeanInvocationMs: number;
  dollarsPerMillionTasks: {
    sqs: number;
    dynamodb: number;
    lambdaRequests: number;
    lambdaDuration: number;
    scheduler: number;
    total: number;
  };
}

async function stateOf(sys: BenchSystem, uuid: string): Promise<string | undefined> {
  const out = await sys.raw.doc.send(
    new GetCommand({
      TableName: sys.stack.names.tables.taskStates,
      Key: { TaskUUID: uuid },
      ConsistentRead: true,
    }),
  );
  return out.Item?.State as string | undefined;
}

async function waitFinal(sys: BenchSystem, uuids: readonly string[], timeoutMs = 60_000) {
  await waitFor(
    async () => {
      for (const u of uuids) if ((await stateOf(sys, u)) !== 'SUCCESS') return false;
      return true;
    },
    `SUCCESS of ${uuids.length} task(s)`,
    timeoutMs,
    50,
  );
}

/** Waits until the pollers deleted what they must and nothing is in flight, then a little more. */
async function settle(sys: BenchSystem, worker: number, forwarder: number) {
  await waitFor(
    () =>
      sys.runners.worker.stats.deleted >= worker &&
      sys.runners.forwarder.stats.deleted >= forwarder,
    'the pollers to delete the messages',
  );
  await sleep(300);
}

/** Runs one scenario with fresh counters and summarises it. */
async function scenario(
  sys: BenchSystem,
  name: string,
  description: string,
  tasks: number,
  run: () => Promise<{ workerDeletes: number; forwarderDeletes: number }>,
): Promise<ScenarioResult> {
  const deletedBefore = {
    worker: sys.runners.worker.stats.deleted,
    forwarder: sys.runners.forwarder.stats.deleted,
  };
  const deliveriesBefore = sys.stack.scheduler?.deliveries.length ?? 0;
  sys.reset();
  const expected = await run();
  await settle(
    sys,
    deletedBefore.worker + expected.workerDeletes,
    deletedBefore.forwarder + expected.forwarderDeletes,
  );
  const requests = sys.snapshot();
  const schedulerInvocations = (sys.stack.scheduler?.deliveries.length ?? 0) - deliveriesBefore;
  // Each schedule firing is one SendMessage into the delay queue (a standard queue), made by
  // EventBridge Scheduler and billed to the queue's owner; the emulator's own client is not
  // instrumented, so it is added here.
  const bySchedulerRole: RequestCounts = {
    ops: schedulerInvocations > 0 ? { [SCHEDULER_SEND]: schedulerInvocations } : {},
    wru: 0,
    rru: 0,
    conditionalFailures: 0,
  };
  const total = sumCounts([...ROLES.map((r) => requests[r]), bySchedulerRole]);
  const lambdaMs = sys.invocations.worker.totalMs + sys.invocations.forwarder.totalMs;
  const lambdaInvocations = sys.invocations.worker.count + sys.invocations.forwarder.count;
  const fifo = sqsRequests(total, 'fifo');
  const standard = sqsRequests(total, 'standard');
  const per = (x: number) => round(x / tasks, 3);
  const perTask = {
    sqsFifoRequests: per(fifo),
    sqsStandardRequests: per(standard),
    dynamodbWrites: per(dynamodbWrites(total)),
    dynamodbReads: per(dynamodbReads(total)),
    wru: per(total.wru),
    rru: per(total.rru),
    conditionalFailures: per(total.conditionalFailures),
    schedulerInvocations: per(schedulerInvocations),
    schedulerApiCalls: per(opsMatching(total, (k) => k.startsWith('scheduler:'))),
    workerInvocations: per(sys.invocations.worker.count),
    forwarderInvocations: per(sys.invocations.forwarder.count),
    lambdaMs: per(lambdaMs),
  };
  const million = (dollarsPerTask: number) => round(dollarsPerTask * 1e6, 4);
  const dollars = {
    sqs: million(
      perTask.sqsFifoRequests * PRICES.sqsFifoRequest +
        perTask.sqsStandardRequests * PRICES.sqsStandardRequest,
    ),
    dynamodb: million(perTask.wru * PRICES.dynamodbWru + perTask.rru * PRICES.dynamodbRru),
    lambdaRequests: million(
      (perTask.workerInvocations + perTask.forwarderInvocations) * PRICES.lambdaRequest,
    ),
    lambdaDuration: million(
      ((sys.invocations.worker.totalMs * PRICES.workerMemoryGb +
        sys.invocations.forwarder.totalMs * PRICES.forwarderMemoryGb) /
        tasks /
        1000) *
        PRICES.lambdaGbSecond,
    ),
    scheduler: million(perTask.schedulerInvocations * PRICES.schedulerInvocation),
    total: 0,
  };
  dollars.total = round(
    dollars.sqs +
      dollars.dynamodb +
      dollars.lambdaRequests +
      dollars.lambdaDuration +
      dollars.scheduler,
    4,
  );
  return {
    name,
    description,
    tasks,
    requests,
    total,
    perTask,
    idleReceives: opsMatching(total, (k) => k.endsWith('ReceiveMessage(empty)')),
    lambdaMeanInvocationMs: round(lambdaInvocations === 0 ? 0 : lambdaMs / lambdaInvocations, 1),
    dollarsPerMillionTasks: dollars,
  };
}

/**
 * Each lane beside machinery's design: the bulk scenario's per-task requests and dollars, the
 * retried task's requests, the target and, when missed, by how much and which term dominates.
 */
function laneSummary(results: readonly ScenarioResult[]) {
  const byName = (n: string) => results.find((r) => r.name === n);
  const machineryDollars = round(
    MACHINERY_WRITES_PER_TASK * PRICES.dynamodbWru * 1e6 +
      ((byName('bulk')?.dollarsPerMillionTasks.total ?? 0) -
        (byName('bulk')?.dollarsPerMillionTasks.dynamodb ?? 0)),
    4,
  );
  const rows = LANES_MEASURED.map((lane) => {
    const bulk = byName(`lane-${lane}:bulk`);
    const simple = byName(`lane-${lane}:simple`);
    const retried = byName(`lane-${lane}:retry-once`);
    const d = bulk?.dollarsPerMillionTasks;
    const terms =
      d === undefined
        ? []
        : (['sqs', 'dynamodb', 'lambdaRequests', 'lambdaDuration', 'scheduler'] as const).map(
            (k) => [k, d[k]] as const,
          );
    const dominant = [...terms].sort((a, b) => b[1] - a[1])[0];
    const target = TARGETS[lane] ?? null;
    const total = d?.total ?? 0;
    return {
      lane,
      simple: {
        dynamodbWrites: simple?.perTask.dynamodbWrites ?? null,
        dynamodbReads: simple?.perTask.dynamodbReads ?? null,
        wru: simple?.perTask.wru ?? null,
        rru: simple?.perTask.rru ?? null,
        sqsFifoRequests: simple?.perTask.sqsFifoRequests ?? null,
      },
      bulk: bulk?.perTask ?? null,
      retried: retried === undefined ? null : retried.perTask,
      dollarsPerMillion: total,
      dollarsByTerm: d ?? null,
      target,
      missedBy: target === null || total <= target ? null : round(total - target, 4),
      dominantTerm: dominant === undefined ? '-' : `${dominant[0]} ${dominant[1].toFixed(3)}`,
    };
  });
  return [
    {
      lane: 'machinery (design)',
      simple: {
        dynamodbWrites: MACHINERY_WRITES_PER_TASK,
        dynamodbReads: 0,
        wru: MACHINERY_WRITES_PER_TASK,
        rru: 0,
        sqsFifoRequests: null,
      },
      bulk: null,
      retried: null,
      dollarsPerMillion: machineryDollars,
      dollarsByTerm: null,
      target: null,
      missedBy: null,
      dominantTerm: 'dynamodb (4 writes)',
    },
    ...rows,
  ];
}

function opsLine(c: RequestCounts): string {
  return Object.entries(c.ops)
    .filter(([k]) => !k.endsWith('(empty)'))
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
}

async function main() {
  const machine = machineInfo();
  const clock = new AdjustableClock();
  const params = {
    /** Tasks of each single-task scenario, sent one at a time (each waits for the previous). */
    repeat: 3,
    workerConcurrency: 4,
    batchSize: 10,
    bulkTasks: 100,
    etaDelaySeconds: 2,
    etaScheduleMinutes: 20,
    prices: PRICES,
    lambdaDuration:
      'measured: wall time of each handler invocation on the local emulators (DynamoDB Local, fauxqs in process)',
    machineryWritesPerTask: MACHINERY_WRITES_PER_TASK,
    writeBudget: WRITE_BUDGET,
  };
  const results = await withSystem(
    {
      tasks: [...exampleTasks(), flaky, addAnyLane],
      clock,
      workerConcurrency: params.workerConcurrency,
    },
    async (sys) => {
      // Warm-up: JIT of DynamoDB Local and of this process; not counted.
      const warm = await sys.client.sendTasks(
        Array.from({ length: 20 }, (_, i) => newSignature('add', [int64(i), int64(1)])),
      );
      await waitFinal(
        sys,
        warm.map((r) => r.uuid),
      );
      await settle(sys, sys.runners.worker.stats.deleted, 0);

      const out: ScenarioResult[] = [];
      const simpleSigs: Signature[] = [];
      const R = params.repeat;

      out.push(
        await scenario(sys, 'simple', 'one add task, sent alone, succeeds at once', R, async () => {
          for (let i = 0; i < R; i++) {
            const sig = newSignature('add', [int64(1), int64(i)]);
            simpleSigs.push(sig);
            await sys.client.sendTask(sig);
            await waitFinal(sys, [sig.UUID]);
          }
          return { workerDeletes: R, forwarderDeletes: 0 };
        }),
      );

      out.push(
        await scenario(
          sys,
          'retry-once',
          'fails its first attempt (RetryCount 1, back-off 1 s), succeeds on the second',
          R,
          async () => {
            for (let i = 0; i < R; i++) {
              const sig = newSignature('bench_flaky', [], { RetryCount: 1 });
              await sys.client.sendTask(sig);
              await waitFinal(sys, [sig.UUID]);
            }
            return { workerDeletes: R, forwarderDeletes: 0 };
          },
        ),
      );

      out.push(
        await scenario(
          sys,
          'eta-delay-queue',
          `ETA ${params.etaDelaySeconds} s away: delay queue (DelaySeconds) + forwarder + task queue`,
          R,
          async () => {
            for (let i = 0; i < R; i++) {
              const sig = newSignature('add', [int64(3), int64(i)], {
                ETA: clock.now() + params.etaDelaySeconds * 1000,
              });
              await sys.client.sendTask(sig);
              await waitFinal(sys, [sig.UUID]);
            }
            return { workerDeletes: R, forwarderDeletes: R };
          },
        ),
      );

      out.push(
        await scenario(
          sys,
          'duplicate',
          'a second delivery of a finished task (worker side only)',
          R,
          async () => {
            const before = sys.runners.worker.stats.deleted;
            for (const [i, sig] of simpleSigs.entries()) {
              // Sent with the uncounted client: it stands for SQS redelivering the message.
              await sys.raw.sqs.send(
                new SendMessageCommand({
                  QueueUrl: sys.stack.queueUrls.tasks,
                  MessageBody: encodeSignature(sig),
                  MessageGroupId: sig.UUID,
                  MessageDeduplicationId: `${sig.UUID}-duplicate`,
                }),
              );
              await waitFor(
                () => sys.runners.worker.stats.deleted >= before + i + 1,
                'the duplicate to be acknowledged',
              );
            }
            return { workerDeletes: R, forwarderDeletes: 0 };
          },
        ),
      );

      out.push(
        await scenario(
          sys,
          'bulk',
          `${params.bulkTasks} add tasks in one sendTasks: batched sends, receives and deletes`,
          params.bulkTasks,
          async () => {
            const sigs = Array.from({ length: params.bulkTasks }, (_, i) =>
              newSignature('add', [int64(i), int64(i)]),
            );
            await sys.client.sendTasks(sigs);
            await waitFinal(
              sys,
              sigs.map((s) => s.UUID),
            );
            return { workerDeletes: params.bulkTasks, forwarderDeletes: 0 };
          },
        ),
      );

      out.push(
        await scenario(
          sys,
          'eta-schedule',
          `ETA ${params.etaScheduleMinutes} min away: one-time Scheduler at() schedule into the delay queue + forwarder + task queue (clock advanced)`,
          R,
          async () => {
            for (let i = 0; i < R; i++) {
              const sig = newSignature('add', [int64(5), int64(i)], {
                ETA: clock.now() + params.etaScheduleMinutes * 60_000,
              });
              await sys.client.sendTask(sig);
              clock.advance(params.etaScheduleMinutes * 60_000 + 2_000);
              await waitFinal(sys, [sig.UUID]);
            }
            return { workerDeletes: R, forwarderDeletes: R };
          },
        ),
      );
      for (const lane of LANES_MEASURED) {
        out.push(
          await scenario(
            sys,
            `lane-${lane}:simple`,
            `one task sent alone, ${lane} lane`,
            R,
            async () => {
              for (let i = 0; i < R; i++) {
                const sig = newSignature('bench_add', [int64(1), int64(i)]);
                await sys.client.sendTask(sig, { lane });
                await waitFinal(sys, [sig.UUID]);
              }
              return { workerDeletes: R, forwarderDeletes: 0 };
            },
          ),
        );
        out.push(
          await scenario(
            sys,
            `lane-${lane}:retry-once`,
            `fails its first run (RetryCount 1), succeeds on the second, ${lane} lane`,
            R,
            async () => {
              for (let i = 0; i < R; i++) {
                const sig = newSignature('bench_flaky', [], { RetryCount: 1 });
                await sys.client.sendTask(sig, { lane });
                await waitFinal(sys, [sig.UUID]);
              }
              return { workerDeletes: R, forwarderDeletes: 0 };
            },
          ),
        );
        out.push(
          await scenario(
            sys,
            `lane-${lane}:bulk`,
            `${params.bulkTasks} tasks in one sendTasks, ${lane} lane`,
            params.bulkTasks,
            async () => {
              const sigs = Array.from({ length: params.bulkTasks }, (_, i) =>
                newSignature('bench_add', [int64(i), int64(i)]),
              );
              await sys.client.sendTasks(sigs, { lane });
              await waitFinal(
                sys,
                sigs.map((s) => s.UUID),
              );
              return { workerDeletes: params.bulkTasks, forwarderDeletes: 0 };
            },
          ),
        );
      }
      return out;
    },
  );

  const simple = results.find((r) => r.name === 'simple');
  const summary = {
    writesPerSimpleTask: simple?.perTask.dynamodbWrites,
    wruPerSimpleTask: simple?.perTask.wru,
    machineryWritesPerTask: MACHINERY_WRITES_PER_TASK,
    writesVsMachinery: simple
      ? round(simple.perTask.dynamodbWrites / MACHINERY_WRITES_PER_TASK)
      : null,
    withinWriteBudget: simple ? simple.perTask.dynamodbWrites <= WRITE_BUDGET : null,
    machineryDynamodbDollarsPerMillion: round(
      MACHINERY_WRITES_PER_TASK * PRICES.dynamodbWru * 1e6,
      4,
    ),
  };
  const lanes = laneSummary(results);
  const file = writeResults('cost', machine, params, { summary, lanes, scenarios: results });

  console.log(`\nRequests per task (${machine.cpus} cpus, node ${machine.node})\n`);
  printTable(
    [
      'scenario',
      'SQS FIFO',
      'SQS std',
      'DDB writes',
      'WRU',
      'DDB reads',
      'RRU',
      'cond.fail',
      'sched',
      'λ inv',
      'λ ms',
    ],
    results.map((r) => [
      r.name,
      String(r.perTask.sqsFifoRequests),
      String(r.perTask.sqsStandardRequests),
      String(r.perTask.dynamodbWrites),
      String(r.perTask.wru),
      String(r.perTask.dynamodbReads),
      String(r.perTask.rru),
      String(r.perTask.conditionalFailures),
      String(r.perTask.schedulerInvocations),
      String(round(r.perTask.workerInvocations + r.perTask.forwarderInvocations, 3)),
      String(round(r.perTask.lambdaMs, 1)),
    ]),
  );
  console.log('\n$ per million tasks\n');
  printTable(
    ['scenario', 'SQS', 'DynamoDB', 'λ requests', 'λ GB-s', 'Scheduler', 'total'],
    results.map((r) => [
      r.name,
      r.dollarsPerMillionTasks.sqs.toFixed(3),
      r.dollarsPerMillionTasks.dynamodb.toFixed(3),
      r.dollarsPerMillionTasks.lambdaRequests.toFixed(3),
      r.dollarsPerMillionTasks.lambdaDuration.toFixed(3),
      r.dollarsPerMillionTasks.scheduler.toFixed(3),
      r.dollarsPerMillionTasks.total.toFixed(3),
    ]),
  );
  console.log('\nOperations per scenario (all roles)\n');
  for (const r of results) console.log(`${r.name.padEnd(16)} ${opsLine(r.total)}`);
  console.log(
    `\nwrites per simple task: ${summary.writesPerSimpleTask} (budget ${WRITE_BUDGET}, machinery ${MACHINERY_WRITES_PER_TASK})`,
  );
  console.log('\nLanes beside machinery (bulk scenario, $ per million tasks)\n');
  printTable(
    [
      'lane',
      'DDB writes',
      'DDB reads',
      'retried: writes',
      'retried: reads',
      '$/M',
      'target',
      'largest term',
    ],
    lanes.map((l) => [
      l.lane,
      String(l.simple.dynamodbWrites),
      String(l.simple.dynamodbReads),
      String(l.retried?.dynamodbWrites ?? '-'),
      String(l.retried?.dynamodbReads ?? '-'),
      l.dollarsPerMillion.toFixed(3),
      l.target === null
        ? '-'
        : `${l.target.toFixed(2)} ${l.missedBy === null ? 'met' : `missed by ${l.missedBy.toFixed(3)}`}`,
      l.dominantTerm,
    ]),
  );
  console.log(`written ${file}`);
}

await main();
