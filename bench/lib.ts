/**
 * Shared pieces of the benchmarks: the whole system on the embedded local stack with one set of
 * instrumented SDK clients per role (producer, worker, forwarder, and the event source mappings),
 * request counters, prices, machine description and the result files.
 *
 * Request counting is SDK middleware at the `finalizeRequest` step with low priority, i.e. below
 * the SDK's retry layer: every HTTP request is counted, retries included, as AWS bills them.
 * DynamoDB requests ask for `ReturnConsumedCapacity: 'TOTAL'`, so write and read units are the
 * ones DynamoDB Local reports, not estimates.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSHandler } from 'aws-lambda';
import { createAdapters } from '../src/aws/adapters.js';
import { DOCUMENT_TRANSLATE_CONFIG } from '../src/aws/config.js';
import { EventBridgeScheduler } from '../src/aws/scheduler.js';
import { createClient, type MachineryClient } from '../src/client/index.js';
import type { Clock } from '../src/core/clock.js';
import { createRegistry, type Task } from '../src/core/registry.js';
import { FUNCTION_MEMORY_MB } from '../src/core/resources.js';
import { createForwarder, sqsDeadLetterSink } from '../src/handlers/forwarder.js';
import { createWorker } from '../src/handlers/worker.js';
import { EventSourceRunner } from '../src/local/runner.js';
import { type LocalStack, startLocalStack } from '../src/local/stack.js';

/** AWS list prices used for the cost figures (us-east-1; docs/design.md §6, plus SQS standard). */
export const PRICES = {
  /** SQS FIFO, $ per request (per 64 KB chunk). */
  sqsFifoRequest: 0.5 / 1e6,
  /** SQS standard (the delay queue), $ per request. Not in docs/design.md §6: AWS's public price. */
  sqsStandardRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, $ per write request unit. */
  dynamodbWru: 0.625 / 1e6,
  /** DynamoDB on-demand, $ per read request unit. */
  dynamodbRru: 0.125 / 1e6,
  /** Lambda, $ per request. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64, $ per GB-s. */
  lambdaGbSecond: 0.0000133334,
  /** Memory of the worker as the CDK construct deploys it, GB (`FUNCTION_MEMORY_MB`). */
  workerMemoryGb: FUNCTION_MEMORY_MB.worker / 1024,
  /** Memory of the forwarder as the CDK construct deploys it, GB (`FUNCTION_MEMORY_MB`). */
  forwarderMemoryGb: FUNCTION_MEMORY_MB.forwarder / 1024,
  /** EventBridge Scheduler, $ per invocation (schedule API calls are free). */
  schedulerInvocation: 1 / 1e6,
} as const;

/** The machine a benchmark ran on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemoryGb: number;
  /** 1, 5 and 15 minute load averages when the benchmark started (the machine is shared). */
  loadAverage: number[];
}

/**
 * Describes this machine.
 *
 * @example
 * ```ts
 * const machine = machineInfo(); // { cpus: 2, node: 'v24…', … }
 * ```
 */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    totalMemoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Where result files go. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/**
 * Writes `bench/results/<name>.json` as `{ date, machine, params, results }`.
 *
 * @example
 * ```ts
 * writeResults('throughput', machine, { tasks: 2000 }, { tasksPerSecond: 400 });
 * ```
 */
export function writeResults(
  name: string,
  machine: MachineInfo,
  params: Record<string, unknown>,
  results: unknown,
): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const body = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd },
    params,
    results,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/**
 * Prints rows as an aligned text table.
 *
 * @example
 * ```ts
 * printTable(['metric', 'value'], [['tasks/s', '412']]);
 * ```
 */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** Rounds to `digits` significant decimals for reports. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Request counting

/** Counted requests of one role (or a sum of roles). */
export interface RequestCounts {
  /** Requests by `<service>:<Operation>`, service one of `sqs-fifo`, `sqs-standard`, `dynamodb`, `scheduler`. Empty `ReceiveMessage`s are counted apart as `ReceiveMessage(empty)`. */
  ops: Record<string, number>;
  /** DynamoDB write units consumed (as reported), plus 1 per failed conditional write. */
  wru: number;
  /** DynamoDB read units consumed (as reported). */
  rru: number;
  /** DynamoDB write requests refused by their condition (billed: 1 WRU each for items ≤ 1 KB). */
  conditionalFailures: number;
}

/**
 * A mutable request counter, fed by {@link instrument}.
 *
 * @example
 * ```ts
 * const log = new RequestLog();
 * instrument(sqs, log, 'sqs');
 * log.snapshot().ops['sqs-fifo:SendMessageBatch'];
 * ```
 */
export class RequestLog {
  ops = new Map<string, number>();
  wru = 0;
  rru = 0;
  conditionalFailures = 0;

  add(key: string, n = 1): void {
    this.ops.set(key, (this.ops.get(key) ?? 0) + n);
  }

  reset(): void {
    this.ops.clear();
    this.wru = 0;
    this.rru = 0;
    this.conditionalFailures = 0;
  }

  snapshot(): RequestCounts {
    return {
      ops: Object.fromEntries([...this.ops].sort(([a], [b]) => a.localeCompare(b))),
      wru: round(this.wru, 3),
      rru: round(this.rru, 3),
      conditionalFailures: this.conditionalFailures,
    };
  }
}

/** Sum of several snapshots. */
export function sumCounts(list: readonly RequestCounts[]): RequestCounts {
  const ops: Record<string, number> = {};
  let wru = 0;
  let rru = 0;
  let conditionalFailures = 0;
  for (const c of list) {
    for (const [k, v] of Object.entries(c.ops)) ops[k] = (ops[k] ?? 0) + v;
    wru += c.wru;
    rru += c.rru;
    conditionalFailures += c.conditionalFailures;
  }
  return {
    ops: Object.fromEntries(Object.entries(ops).sort(([a], [b]) => a.localeCompare(b))),
    wru: round(wru, 3),
    rru: round(rru, 3),
    conditionalFailures,
  };
}

/** Sum of the ops whose key matches. */
export function opsMatching(c: RequestCounts, match: (key: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(c.ops)) if (match(k)) n += v;
  return n;
}

const DYNAMODB_WRITE_OPS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);
const DYNAMODB_CAPACITY_OPS = new Set([
  ...DYNAMODB_WRITE_OPS,
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'TransactGetItems',
]);

/** DynamoDB write requests (successful or refused by their condition) in `c`. */
export function dynamodbWrites(c: RequestCounts): number {
  return opsMatching(c, (k) => k.startsWith('dynamodb:') && DYNAMODB_WRITE_OPS.has(k.slice(9)));
}

/** DynamoDB read requests in `c`. */
export function dynamodbReads(c: RequestCounts): number {
  return opsMatching(c, (k) => k.startsWith('dynamodb:') && !DYNAMODB_WRITE_OPS.has(k.slice(9)));
}

/** Billable SQS requests in `c` (empty receives left out unless `withEmpty`). */
export function sqsRequests(c: RequestCounts, kind: 'fifo' | 'standard', withEmpty = false) {
  return opsMatching(
    c,
    (k) => k.startsWith(`sqs-${kind}:`) && (withEmpty || !k.endsWith('ReceiveMessage(empty)')),
  );
}

/** A client whose middleware stack we can extend (every SDK v3 client and the document client). */
interface WithMiddleware {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are generic per client
    add(middleware: any, options: any): void;
  };
}

type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output?: unknown }>;

interface CapacityLike {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/**
 * Counts a client's requests into `log`. For DynamoDB, asks for the consumed capacity of every
 * request (`capacity`, default true) and adds it up.
 *
 * @example
 * ```ts
 * const log = new RequestLog();
 * instrument(new SQSClient({}), log, 'sqs');
 * ```
 */
export function instrument(
  client: WithMiddleware,
  log: RequestLog,
  service: 'sqs' | 'dynamodb' | 'scheduler',
  options: { capacity?: boolean } = {},
): void {
  const capacity = options.capacity ?? true;
  const id = Math.random().toString(36).slice(2);
  const opOf = (context: { commandName?: string }) =>
    (context.commandName ?? 'Unknown').replace(/Command$/, '');
  if (service === 'dynamodb' && capacity) {
    client.middlewareStack.add(
      (next: Handler, context: { commandName?: string }) =>
        async (args: { input: Record<string, unknown> }) => {
          if (DYNAMODB_CAPACITY_OPS.has(opOf(context))) {
            args.input.ReturnConsumedCapacity = 'TOTAL';
          }
          return next(args);
        },
      { step: 'initialize', priority: 'low', name: `benchCapacity-${id}` },
    );
  }
  client.middlewareStack.add(
    (next: Handler, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const op = opOf(context);
        let key: string;
        if (service === 'sqs') {
          const url = String(args.input.QueueUrl ?? '');
          key = `${url.endsWith('.fifo') ? 'sqs-fifo' : 'sqs-standard'}:${op}`;
        } else {
          key = `${service}:${op}`;
        }
        try {
          const result = await next(args);
          const output = result.output as Record<string, unknown> | undefined;
          if (op === 'ReceiveMessage' && ((output?.Messages as unknown[]) ?? []).length === 0) {
            key = `${key}(empty)`;
          }
          if (service === 'dynamodb' && output?.ConsumedCapacity !== undefined) {
            const list = [output.ConsumedCapacity].flat() as CapacityLike[];
            for (const c of list) {
              if (DYNAMODB_WRITE_OPS.has(op))
                log.wru += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
              else log.rru += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
            }
          }
          log.add(key);
          return result;
        } catch (e) {
          log.add(key);
          if ((e as { name?: string }).name === 'ConditionalCheckFailedException') {
            log.conditionalFailures++;
            log.wru += 1;
          }
          throw e;
        }
      },
    { step: 'finalizeRequest', priority: 'low', name: `benchCount-${id}` },
  );
}

// ---------------------------------------------------------------------------------------------
// Timing of handler invocations (Lambda duration)

/** Invocations of one handler and their durations. */
export class InvocationLog {
  durationsMs: number[] = [];

  reset(): void {
    this.durationsMs = [];
  }

  get count(): number {
    return this.durationsMs.length;
  }

  get totalMs(): number {
    return this.durationsMs.reduce((a, b) => a + b, 0);
  }

  get meanMs(): number {
    return this.count === 0 ? 0 : this.totalMs / this.count;
  }
}

/** Wraps an SQS handler to time each invocation into `log`. */
export function timed(
  handler: (event: SQSEvent, context: Context) => Promise<unknown>,
  log: InvocationLog,
): SQSHandler {
  return (async (event: SQSEvent, context: Context) => {
    const start = performance.now();
    try {
      return await handler(event, context);
    } finally {
      log.durationsMs.push(performance.now() - start);
    }
  }) as SQSHandler;
}

// ---------------------------------------------------------------------------------------------
// The system on the local stack

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Roles whose requests are counted apart. */
export const ROLES = [
  'producer',
  'worker',
  'workerPoller',
  'forwarder',
  'forwarderPoller',
] as const;
/** A role. `workerPoller` / `forwarderPoller`: the Lambda event source mappings' receives and deletes. */
export type Role = (typeof ROLES)[number];

/** The running system. */
export interface BenchSystem {
  stack: LocalStack;
  client: MachineryClient;
  /** Uncounted clients, for the benchmark's own observations and baselines. */
  raw: { sqs: SQSClient; dynamodb: DynamoDBClient; doc: DynamoDBDocumentClient };
  requests: Record<Role, RequestLog>;
  invocations: { worker: InvocationLog; forwarder: InvocationLog };
  runners: { worker: EventSourceRunner; forwarder: EventSourceRunner };
  /** Resets every counter. */
  reset(): void;
  /** Requests of every role now. */
  snapshot(): Record<Role, RequestCounts>;
  stop(): Promise<void>;
}

/** Options of {@link startSystem}. */
export interface SystemOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any task definition
  tasks: readonly Task<string, readonly any[]>[];
  clock?: Clock;
  /** Worker invocations at once (different message groups). @default 4 */
  workerConcurrency?: number;
  /** Records per worker invocation. @default 10 */
  batchSize?: number;
  /** Ask DynamoDB for consumed capacity on every request. @default true */
  capacity?: boolean;
  /** Called with each role's DynamoDB client once it is instrumented, to add more counters. */
  onDynamodbClient?: (role: Role, client: DynamoDBClient) => void;
}

/**
 * Starts the local stack (fauxqs, DynamoDB Local, the Scheduler emulator), then the worker on the
 * task queue and the forwarder on the delay queue, each through the local event-source runner,
 * and a producer client. Every role has its own instrumented SDK clients.
 *
 * @example
 * ```ts
 * const sys = await startSystem({ tasks: exampleTasks() });
 * await sys.client.sendTask(sig);
 * await sys.stop();
 * ```
 */
export async function startSystem(options: SystemOptions): Promise<BenchSystem> {
  const stack = await startLocalStack(options.clock ? { clock: options.clock } : {});
  const destroyers: (() => void)[] = [];
  const base = { region: stack.region, credentials: stack.credentials };
  const requests = Object.fromEntries(ROLES.map((r) => [r, new RequestLog()])) as Record<
    Role,
    RequestLog
  >;
  const capacity = options.capacity ?? true;
  const clientsFor = (role: Role) => {
    const sqs = new SQSClient({ ...base, endpoint: stack.endpoints.sqs });
    const ddb = new DynamoDBClient({ ...base, endpoint: stack.endpoints.dynamodb });
    const scheduler = new SchedulerClient({ ...base, endpoint: stack.endpoints.scheduler });
    instrument(sqs, requests[role], 'sqs');
    instrument(ddb, requests[role], 'dynamodb', { capacity });
    instrument(scheduler, requests[role], 'scheduler');
    options.onDynamodbClient?.(role, ddb);
    destroyers.push(
      () => sqs.destroy(),
      () => ddb.destroy(),
      () => scheduler.destroy(),
    );
    const dynamodb = DynamoDBDocumentClient.from(ddb, DOCUMENT_TRANSLATE_CONFIG);
    const sched = new EventBridgeScheduler({
      client: scheduler,
      groupName: stack.names.scheduleGroup,
      roleArn: stack.schedulerRoleArn,
      delayQueueArn: stack.queueArns.delay,
      deadLetterArn: stack.queueArns.schedulerDlq,
    });
    return { aws: { sqs, dynamodb, scheduler }, scheduler: sched };
  };
  const rawSqs = new SQSClient({ ...base, endpoint: stack.endpoints.sqs });
  const rawDdb = new DynamoDBClient({ ...base, endpoint: stack.endpoints.dynamodb });
  destroyers.push(
    () => rawSqs.destroy(),
    () => rawDdb.destroy(),
  );
  const raw = {
    sqs: rawSqs,
    dynamodb: rawDdb,
    doc: DynamoDBDocumentClient.from(rawDdb, DOCUMENT_TRANSLATE_CONFIG),
  };
  const clock = stack.clock;
  const registry = createRegistry(options.tasks);

  const producer = clientsFor('producer');
  const client = createClient({
    env: stack.env,
    aws: producer.aws,
    clock,
    scheduler: producer.scheduler,
  });

  const workerRole = clientsFor('worker');
  const worker = createWorker({
    env: stack.env,
    aws: workerRole.aws,
    clock,
    scheduler: workerRole.scheduler,
    logger: new Logger({ logLevel: 'SILENT' }),
    registry,
  });

  const forwarderRole = clientsFor('forwarder');
  const forwarderAdapters = createAdapters(
    { env: stack.env, aws: forwarderRole.aws, scheduler: forwarderRole.scheduler },
    ['taskQueueUrl', 'taskStatesTable', 'delayQueueUrl'],
  );
  const forwarder = createForwarder({
    backend: forwarderAdapters.backend,
    broker: forwarderAdapters.broker,
    scheduler: forwarderRole.scheduler,
    clock,
    deadLetter: sqsDeadLetterSink(forwarderRole.aws.sqs, stack.queueUrls.delayDlq),
    logger: quietLogger,
  });

  const invocations = { worker: new InvocationLog(), forwarder: new InvocationLog() };
  const onError = (e: unknown) => console.error('runner error:', e);
  const workerRunner = new EventSourceRunner({
    sqs: clientsFor('workerPoller').aws.sqs,
    queueUrl: stack.queueUrls.tasks,
    queueArn: stack.queueArns.tasks,
    handler: timed(worker, invocations.worker),
    concurrency: options.workerConcurrency ?? 4,
    batchSize: options.batchSize ?? 10,
    functionName: 'machinery-worker',
    onError,
  });
  const forwarderRunner = new EventSourceRunner({
    sqs: clientsFor('forwarderPoller').aws.sqs,
    queueUrl: stack.queueUrls.delay,
    queueArn: stack.queueArns.delay,
    handler: timed(forwarder, invocations.forwarder),
    concurrency: 2,
    functionName: 'machinery-forwarder',
    onError,
  });
  workerRunner.start();
  forwarderRunner.start();

  let stopping: Promise<void> | undefined;
  return {
    stack,
    client,
    raw,
    requests,
    invocations,
    runners: { worker: workerRunner, forwarder: forwarderRunner },
    reset() {
      for (const r of ROLES) requests[r].reset();
      invocations.worker.reset();
      invocations.forwarder.reset();
    },
    snapshot() {
      return Object.fromEntries(ROLES.map((r) => [r, requests[r].snapshot()])) as Record<
        Role,
        RequestCounts
      >;
    },
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled([workerRunner.stop(), forwarderRunner.stop()]);
        client.close();
        forwarderAdapters.destroy();
        for (const d of destroyers) d();
        await stack.stop();
      })();
      return stopping;
    },
  };
}

/**
 * Runs `main` with a started system and always stops it (also on SIGINT / SIGTERM), so no
 * emulator process outlives the benchmark.
 *
 * @example
 * ```ts
 * await withSystem({ tasks }, async (sys) => { ... });
 * ```
 */
export async function withSystem<T>(
  options: SystemOptions,
  main: (sys: BenchSystem) => Promise<T>,
): Promise<T> {
  const sys = await startSystem(options);
  const onSignal = () => {
    void sys.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await main(sys);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sys.stop();
  }
}
