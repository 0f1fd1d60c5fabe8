/**
 * The worker: the Lambda handler of the FIFO task queue. Thin by design: it turns each SQS record
 * into a `Delivery`, lets core's processor run the task, and maps the `ProcessOutcome` to what SQS
 * and the event source mapping must do.
 *
 * | outcome | the worker |
 * | --- | --- |
 * | `done`, `duplicate`, `ignored`, `revoked` | acknowledges (the event source mapping deletes the message) |
 * | `not-due` | sends the signature through the delay path for its ETA (delay queue, or a schedule), then acknowledges |
 * | `retry` | `ChangeMessageVisibility` to the back-off, then reports a batch item failure: the message stays in flight for the delay and keeps its group's place. When first receive + delay would pass SQS's 12 h visibility cap, it re-sends through the delay path instead and acknowledges: **that retry loses its place in its message group** |
 * | `busy` | visibility until the other attempt's lease ends, batch item failure |
 * | `transient` | by the error's kind (`classifyFault`): see below |
 * | `dead-letter` | sends the original body to the task DLQ with `machinery.reason` / `machinery.detail` / `machinery.task-uuid` / `machinery.dead-lettered-at` / `machinery.source-queue` attributes, then acknowledges; if that send fails, batch item failure (never dropped). A body too large to carry the attributes is sent bare (never cut), its reason first written to the failure ledger as a note keyed by the copy's deduplication id (see `docs/dead-letters.md`) |
 *
 * A `transient` outcome by the kind of its error:
 *
 * | kind | the worker |
 * | --- | --- |
 * | `transient` (throttling, timeouts, 5xx) | a short back-off (1, 2, 4 … 60 s by receive count), batch item failure: no retry consumed |
 * | `deployment` (access denied, a missing table or queue, an unreachable endpoint) | the same back-off and batch item failure, and one count in the `DeploymentErrors` metric; never dead-lettered, never counted against the task |
 * | `message` (a write refused for what the message holds) | dead-lettered at once (`message-rejected`), the task recorded FAILURE when its UUID is known |
 * | `unclassified` (anything else) | the backstop of the failure ledger (`src/core/ledger.ts`): the same code on 3 or more different messages within 5 minutes is systemic (one count in `SystemicErrors`, back-off, never dead-lettered); otherwise it counts in the message's streak, and the 5th failing receive in a row with the same code dead-letters it (`repeated-error`, the error as detail, the task FAILURE when its UUID is known). Below that, the same back-off and batch item failure |
 *
 * An unexpected error of the worker itself (sending to the DLQ or through the delay path failed)
 * backs off the same way and, when it is a deployment error, counts in `DeploymentErrors` too.
 *
 * Metrics (`DeploymentErrors`, `SystemicErrors`; namespace `Machinery`, dimension
 * `service=machinery-worker`, see `METRICS`) go out in CloudWatch embedded metric format on stdout
 * through Powertools Metrics, flushed at the end of every invocation that counted something. The
 * per-task metrics (`TasksSucceeded`, `TasksFailed`, `TasksRetried`, `TasksDeadLettered`,
 * `TaskDuration` in ms) carry a `TaskName` dimension beside `service`, one EMF line each, written
 * when the outcome is known; the four counts also go out with `service` alone (the totals the
 * failure-rate alarm and the dashboard read). The long-running worker emits the same (it runs this
 * handler).
 *
 * Message groups of a batch run concurrently (up to `groupConcurrency` at once): the batch is split
 * by `MessageGroupId`, keeping the record order within each group, and each group goes through its
 * own Powertools `SqsFifoPartialProcessorAsync` (`skipGroupOnError`, `throwOnFullBatchFailure:
 * false`): a group's records run one after another, and after a failure the rest of that group's
 * records in the batch fail too (other groups go on). The batch item failures are reported in the
 * batch's record order. A record without a `MessageGroupId` is a group of its own. With
 * `groupConcurrency: 1` the whole batch goes through one processor in record order (the behaviour
 * before groups ran concurrently). The records failed with their group, and the ones left when
 * time runs short, are released at once (visibility 0) instead of waiting out the queue's
 * visibility timeout: their group stays blocked by the in-flight failed record, so order is kept.
 *
 * Time: each task gets `Delivery.remainingTimeMs()` (time until the abort) and `Delivery.signal`,
 * aborted `abortMarginMs` before the Lambda timeout. The worker claims no new record when less than
 * `safetyMarginMs` is left: those records fail (and are released) instead of being cut mid-write.
 *
 * The Powertools batch processor keeps per-batch state, so one is created per group and invocation:
 * groups of a batch run concurrently, and a handler may be invoked concurrently (the local runner
 * does).
 *
 * IAM (worker role): `sqs:ReceiveMessage`, `sqs:DeleteMessage`, `sqs:GetQueueAttributes`,
 * `sqs:ChangeMessageVisibility` on the task queue; `sqs:SendMessage` on the task DLQ, the task
 * queue (callbacks, chains) and the delay queue; `dynamodb:GetItem`, `PutItem`, `UpdateItem` on
 * `task_states` (and the group table for workflows), `dynamodb:BatchGetItem` on `task_states` (the
 * failure ledger); `scheduler:CreateSchedule` + `iam:PassRole`
 * when ETAs found on receipt are more than 15 minutes away.
 *
 * @module
 */
import { hostname } from 'node:os';
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type AdapterOptions, createAdapters } from '../aws/adapters.js';
import { ConfigError } from '../aws/errors.js';
import { DynamoDbFailureLedger } from '../aws/ledger.js';
import { DynamoDbLivenessStore } from '../aws/liveness.js';
import { SqsConsumer } from '../aws/sqs-consumer.js';
import { ChordExtension, type ChordOptions } from '../core/chords.js';
import { type Clock, setLongTimeout, systemClock } from '../core/clock.js';
import { forEachConcurrently } from '../core/concurrency.js';
import { dispatch, resend } from '../core/dispatch.js';
import { classifyFault, MachineryError } from '../core/errors.js';
import { type FailureLedger, judgeUnclassifiedFault } from '../core/ledger.js';
import { taskExpiresAt } from '../core/lifetime.js';
import { LivenessReporter } from '../core/liveness.js';
import type { Logger as CoreLogger, LogFields } from '../core/logger.js';
import type {
  Broker,
  Delivery,
  GroupBackend,
  ProcessOutcome,
  ResultBackend,
  Scheduler,
} from '../core/ports.js';
import {
  createProcessor,
  type Dispatcher,
  type ProcessorOptions,
  type TaskLookup,
} from '../core/processor.js';
import { createRegistry } from '../core/registry.js';
import { DEFAULTS, METRICS } from '../core/resources.js';
import { decodeSignature } from '../core/signature.js';
import { normalizeEta } from '../core/time.js';
import type { DeadLetterReason, Signature } from '../core/types.js';

/**
 * What the worker needs from core: turn one message body into an outcome. `createProcessor` of
 * `src/core/processor.ts` returns one.
 *
 * @example
 * ```ts
 * const p: BodyProcessor = { processBody: async () => ({ kind: 'done', uuid, state: 'SUCCESS' }) };
 * ```
 */
export interface BodyProcessor {
  processBody(body: string, delivery: Delivery): Promise<ProcessOutcome>;
}

/** What a processor factory gets. */
export interface ProcessorDeps {
  backend: ResultBackend;
  broker: Broker;
  scheduler: Scheduler | undefined;
  /** Group and chord records, when the `group_metas` table is configured. */
  groups: GroupBackend | undefined;
  clock: Clock;
  /** The worker's logger, as core's `Logger`. */
  logger: CoreLogger;
}

/**
 * The chord extension and the dispatcher it shares with the processor, when there is a group
 * backend and no workflow extension was given.
 */
function chordWiring(
  deps: ProcessorDeps,
  given: WorkerProcessorOptions | undefined,
  chords: ChordOptions | undefined,
  resultsExpireInSeconds: number,
): Pick<ProcessorOptions, 'workflow' | 'dispatch'> {
  if (deps.groups === undefined || given?.workflow !== undefined) return {};
  const send: Dispatcher =
    given?.dispatch ??
    ((sigs) =>
      dispatch(sigs, {
        backend: deps.backend,
        broker: deps.broker,
        clock: deps.clock,
        resultsExpireInSeconds,
        ...(deps.scheduler === undefined ? {} : { scheduler: deps.scheduler }),
      }));
  const workflow = new ChordExtension(
    {
      groups: deps.groups,
      results: deps.backend,
      dispatch: send,
      clock: deps.clock,
      logger: deps.logger,
    },
    chords,
  );
  return { workflow, dispatch: send };
}

/** Tasks as `createRegistry` takes them: a list of definitions, or a record of name → task or function. */
export type WorkerTasks = Parameters<typeof createRegistry>[0];

/**
 * Processor settings the worker passes through to core's `createProcessor` (the ports, clock and
 * logger come from the worker).
 *
 * @example
 * ```ts
 * const p: WorkerProcessorOptions = { leaseMs: 120_000, hooks: { errorHandler: (e) => alert(e) } };
 * ```
 */
export type WorkerProcessorOptions = Partial<
  Omit<ProcessorOptions, 'registry' | 'backend' | 'broker' | 'scheduler' | 'clock' | 'logger'>
>;

/**
 * Options of {@link createWorker}. Give the tasks as exactly one of `tasks`, `registry` or
 * `processor`. Settings missing here come from the environment (`MACHINERY_*`, `AWS_*`), read on
 * the first invocation.
 *
 * @example
 * ```ts
 * const opts: WorkerOptions = { tasks: [add, concat], safetyMarginMs: 5_000 };
 * ```
 */
export interface WorkerOptions extends AdapterOptions {
  /** The task definitions (or `{ name: fn }`, like machinery's `RegisterTasks`). */
  tasks?: WorkerTasks;
  /** A ready registry (`createRegistry(...)`). */
  registry?: TaskLookup;
  /**
   * A processor, or a factory of one from the adapters: for tests and custom wiring. `tasks` and
   * `registry` build core's `createProcessor` instead.
   */
  processor?: BodyProcessor | ((deps: ProcessorDeps) => BodyProcessor);
  /** Passed to core's `createProcessor` (lease, crash limit, hooks, write retries…). @default {} */
  processorOptions?: WorkerProcessorOptions;
  /** The clock for leases, ETAs and back-offs. @default systemClock */
  clock?: Clock;
  /** Structured JSON logger. @default new Logger({ serviceName: 'machinery-worker' }) */
  logger?: Logger;
  /**
   * Where the `DeploymentErrors` and `SystemicErrors` counts go; the worker publishes its stored
   * metrics at the end of each invocation that counted one.
   * @default new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service })
   */
  metrics?: Metrics;
  /**
   * The failure ledger: streaks and systemic faults of the backstop, reason notes of DLQ copies too
   * large to carry attributes. @default a DynamoDB ledger in the `task_states` table when that table
   * is configured, else none (no backstop: unclassified errors are returned to the queue like
   * transient ones; oversized DLQ copies are sent without a note)
   */
  ledger?: FailureLedger;
  /**
   * Thresholds of the backstop for unclassified errors (see `src/core/ledger.ts`).
   * @default { streakLimit: 5, systemicMessages: 3, systemicWindowMs: 300_000 }
   */
  backstop?: { streakLimit?: number; systemicMessages?: number; systemicWindowMs?: number };
  /**
   * Limits of the chord protocol (inline results, the by-reference byte cap). The worker runs
   * groups and chords (`ChordExtension`, `src/core/chords.ts`) whenever it has a group backend
   * (`groups`, or the `group_metas` table configured) and `processorOptions.workflow` is not set.
   * @default CHORD_DEFAULTS
   */
  chords?: ChordOptions;
  /** Claim no new record when less than this is left of the invocation, ms. @default 10_000 */
  safetyMarginMs?: number;
  /** Abort running tasks this long before the Lambda timeout, ms. @default 3_000 */
  abortMarginMs?: number;
  /**
   * Visibility back-off of a record that failed for a transient reason, by receive count, seconds.
   * @default (n) => min(60, 2^(n-1))
   */
  transientBackoffSeconds?: (receiveCount: number) => number;
  /**
   * A retry re-sends through the delay path instead of waiting in flight when first receive +
   * delay comes within this margin of SQS's 12 h cap, seconds. @default 300
   */
  visibilityCapMarginSeconds?: number;
  /**
   * How many message groups of one batch run at once (records of one group always run one after
   * another, in order). `1` runs the whole batch one record at a time in record order. An integer
   * >= 1. @default 10 (a batch has at most 10 records, so every group of it at once)
   */
  groupConcurrency?: number;
  /**
   * Keep an alive record of this execution environment in the workers table
   * (`MACHINERY_WORKERS_TABLE`; nothing without it): written at the end of an invocation when the
   * last write is older than a third of the lapse, so an environment shows as live while it is
   * invoked and lapses `lapseSeconds` after its last invocation (`src/core/liveness.ts`).
   * `machinery worker` keeps its own record and leaves this off. @default false
   */
  liveness?: boolean | { lapseSeconds?: number };
}

/** Field values Powertools would not serialise well: errors and bigints. */
function safeFields(fields: LogFields | undefined): LogFields {
  if (fields === undefined) return {};
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) {
      const code = (v as { code?: unknown }).code;
      out[k] = { name: v.name, message: v.message, ...(code === undefined ? {} : { code }) };
    } else if (typeof v === 'bigint') out[k] = v.toString();
    else out[k] = v;
  }
  return out;
}

/**
 * Core's `Logger` on top of a Powertools `Logger` (structured JSON in CloudWatch).
 *
 * @example
 * ```ts
 * const log = fromPowertools(new Logger({ serviceName: 'tasks' }));
 * log.info('hello', { uuid });
 * ```
 */
export function fromPowertools(logger: Logger): CoreLogger {
  return {
    debug: (m, f) => logger.debug(m, safeFields(f)),
    info: (m, f) => logger.info(m, safeFields(f)),
    warn: (m, f) => logger.warn(m, safeFields(f)),
    error: (m, f) => logger.error(m, safeFields(f)),
  };
}

/**
 * The worker's handler: an `SQSHandler` that always resolves with the batch response.
 *
 * @example
 * ```ts
 * const { batchItemFailures } = await handler(event, context);
 * ```
 */
export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * A record that failed on purpose (its visibility already dealt with, or left for the release at
 * the end of the batch): not backed off again like an unexpected error.
 */
class RecordFailedError extends MachineryError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

interface WorkerRuntime {
  liveness: LivenessReporter | undefined;
  processor: BodyProcessor;
  consumer: SqsConsumer;
  broker: Broker;
  scheduler: Scheduler | undefined;
  backend: ResultBackend;
  ledger: FailureLedger | undefined;
}

/** Best-effort top-level `Name` of a body, for logs (no full parse). */
function peekName(body: string): string | undefined {
  return /"Name"\s*:\s*"((?:[^"\\]|\\.){1,200})"/.exec(body)?.[1];
}

function receiveCountOf(record: SQSRecord): number {
  const n = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

function firstReceivedAtOf(record: SQSRecord, now: number): number {
  const n = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
  return Number.isFinite(n) && n > 0 ? n : now;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Splits a batch into its message groups, each keeping the batch's record order; groups come in
 * the order of their first record. A record without a `MessageGroupId` is a group of its own.
 */
function splitByGroup(records: readonly SQSRecord[]): SQSRecord[][] {
  const groups: SQSRecord[][] = [];
  const byId = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const id = record.attributes?.MessageGroupId;
    if (id === undefined || id === '') {
      groups.push([record]);
      continue;
    }
    let group = byId.get(id);
    if (group === undefined) {
      group = [];
      byId.set(id, group);
      groups.push(group);
    }
    group.push(record);
  }
  return groups;
}

/**
 * Creates the worker's Lambda handler. Nothing is read or connected until the first invocation,
 * so the handler can be created at module level (the Lambda pattern):
 *
 * ```ts
 * export const handler = createWorker({ tasks: [add, concat] });
 * ```
 *
 * The handler resolves with `{ batchItemFailures }` (the function's event source mapping must
 * have `ReportBatchItemFailures`); it does not throw for failed records.
 *
 * @example
 * ```ts
 * const handler = createWorker({
 *   tasks: { add: (a: number, b: number) => a + b }, // like machinery's RegisterTasks
 *   config: { taskQueueUrl, dlqUrl, taskStatesTable },
 * });
 * const res = await handler(event, context, () => {});
 * ```
 */
export function createWorker(options: WorkerOptions): WorkerHandler {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new Logger({ serviceName: 'machinery-worker' });
  const coreLogger = fromPowertools(logger);
  const metrics =
    options.metrics ?? new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
  const given = [options.tasks, options.registry, options.processor].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new ConfigError('createWorker needs exactly one of `tasks`, `registry` or `processor`');
  }

  const safetyMarginMs = options.safetyMarginMs ?? 10_000;
  const abortMarginMs = options.abortMarginMs ?? 3_000;
  const transientBackoff =
    options.transientBackoffSeconds ?? ((n: number) => Math.min(60, 2 ** Math.max(0, n - 1)));
  const capMargin = options.visibilityCapMarginSeconds ?? 300;
  const resultsExpireInSeconds =
    options.processorOptions?.resultsExpireInSeconds ?? DEFAULTS.resultsExpireInSeconds;
  const groupConcurrency = options.groupConcurrency ?? 10;
  if (!Number.isInteger(groupConcurrency) || groupConcurrency < 1) {
    throw new ConfigError(
      `groupConcurrency must be an integer >= 1 (got ${String(options.groupConcurrency)})`,
    );
  }
  let runtime: WorkerRuntime | undefined;

  const init = (): WorkerRuntime => {
    if (runtime) return runtime;
    const adapters = createAdapters(options, ['taskStatesTable', 'taskQueueUrl', 'dlqUrl']);
    const table = adapters.config.taskStatesTable;
    const workersTable = adapters.config.workersTable;
    const liveness =
      options.liveness === undefined || options.liveness === false || workersTable === undefined
        ? undefined
        : new LivenessReporter({
            store: new DynamoDbLivenessStore({
              dynamodb: adapters.clients.dynamodb,
              tableName: workersTable,
            }),
            clock,
            kind: 'lambda',
            host: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? hostname(),
            ...(typeof options.liveness === 'object' && options.liveness.lapseSeconds !== undefined
              ? { lapseMs: options.liveness.lapseSeconds * 1000 }
              : {}),
          });
    const ledger =
      options.ledger ??
      (table === undefined
        ? undefined
        : new DynamoDbFailureLedger({ dynamodb: adapters.clients.dynamodb, tableName: table }));
    const deps: ProcessorDeps = {
      backend: adapters.backend,
      broker: adapters.broker,
      scheduler: adapters.scheduler,
      groups: adapters.groups,
      clock,
      logger: coreLogger,
    };
    let processor: BodyProcessor;
    if (options.processor !== undefined) {
      processor =
        typeof options.processor === 'function' ? options.processor(deps) : options.processor;
    } else {
      processor = createProcessor({
        ...chordWiring(deps, options.processorOptions, options.chords, resultsExpireInSeconds),
        ...options.processorOptions,
        ...(liveness === undefined
          ? {}
          : { hooks: liveness.hooks(options.processorOptions?.hooks) }),
        registry: options.registry ?? (createRegistry(options.tasks as WorkerTasks) as TaskLookup),
        backend: deps.backend,
        broker: deps.broker,
        ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
        clock,
        logger: deps.logger,
      });
    }
    runtime = {
      liveness,
      processor,
      consumer: new SqsConsumer({
        sqs: adapters.clients.sqs,
        ...(adapters.config.taskQueueUrl ? { taskQueueUrl: adapters.config.taskQueueUrl } : {}),
        ...(adapters.config.dlqUrl ? { dlqUrl: adapters.config.dlqUrl } : {}),
        ...(adapters.config.highTaskQueueUrl
          ? { highTaskQueueUrl: adapters.config.highTaskQueueUrl }
          : {}),
        ...(adapters.config.highDlqUrl ? { highDlqUrl: adapters.config.highDlqUrl } : {}),
        ...(ledger ? { notes: ledger } : {}),
      }),
      broker: adapters.broker,
      scheduler: adapters.scheduler,
      backend: adapters.backend,
      ledger,
    };
    return runtime;
  };

  /**
   * Sends a signature to run at `eta` through the delay path (never the FIFO queue directly). If it
   * became due while we worked, `tag` is a fresh deduplication id, so FIFO deduplication cannot drop
   * it against the message we are about to acknowledge.
   */
  const sendLater = (rt: WorkerRuntime, signature: Signature, eta: number, tag: string) =>
    resend(
      { ...signature, ETA: normalizeEta(eta) },
      { broker: rt.broker, clock, ...(rt.scheduler ? { scheduler: rt.scheduler } : {}) },
      { deduplicationId: tag },
    );

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const rt = init();
    const log = logger.createChild();
    log.addContext(context);
    const abort = new AbortController();
    const abortIn = Math.max(0, context.getRemainingTimeInMillis() - abortMarginMs);
    const timer = setLongTimeout(
      () => abort.abort(new Error('the invocation is running out of time')),
      abortIn,
      { ref: false },
    );
    /** Records whose visibility the handler already set (the rest of the failures are released). */
    const visibilityHandled = new Set<string>();

    const setVisibility = async (record: SQSRecord, seconds: number) => {
      try {
        await rt.consumer.changeVisibility(record, seconds);
        visibilityHandled.add(record.messageId);
      } catch (e) {
        log.warn('could not change the visibility of a record', {
          messageId: record.messageId,
          seconds,
          error: errorText(e),
        });
      }
    };

    const handleRecord = async (record: SQSRecord): Promise<void> => {
      const messageId = record.messageId;
      if (context.getRemainingTimeInMillis() < safetyMarginMs) {
        throw new RecordFailedError(
          'TIME_RUNNING_SHORT',
          'not started: the invocation is running out of time',
        );
      }
      const now = clock.now();
      const receiveCount = receiveCountOf(record);
      const delivery: Delivery = {
        messageId,
        receiveCount,
        firstReceivedAt: firstReceivedAtOf(record, now),
        remainingTimeMs: () => Math.max(0, context.getRemainingTimeInMillis() - abortMarginMs),
        signal: abort.signal,
      };
      let outcome: ProcessOutcome;
      const startedAt = clock.now();
      try {
        outcome = await rt.processor.processBody(record.body, delivery);
      } catch (e) {
        // The processor maps what it knows; anything else must not lose the message.
        outcome = { kind: 'transient', error: e };
      }
      taskMetrics(outcome, peekName(record.body), clock.now() - startedAt);
      const fields = {
        messageId,
        receiveCount,
        taskUuid: 'uuid' in outcome ? outcome.uuid : undefined,
        taskName: peekName(record.body),
        outcome: outcome.kind,
      };

      switch (outcome.kind) {
        case 'done':
          log.info('task finished', { ...fields, state: outcome.state });
          return;
        case 'duplicate':
          log.info('duplicate delivery acknowledged', { ...fields, state: outcome.state });
          return;
        case 'ignored':
          log.warn('unregistered task ignored (IgnoreWhenTaskNotRegistered)', {
            ...fields,
            state: 'FAILURE',
            reason: outcome.reason,
          });
          return;
        case 'revoked':
          log.info('revoked task dropped', { ...fields, state: 'FAILURE' });
          return;
        case 'not-due': {
          await sendLater(rt, outcome.signature, outcome.eta, `${outcome.uuid}.${messageId}`);
          log.info('task not due yet: sent through the delay path', {
            ...fields,
            eta: new Date(outcome.eta).toISOString(),
          });
          return;
        }
        case 'retry': {
          const delayS = Math.max(0, Math.ceil(outcome.delayMs / 1000));
          const inFlightS = (now - delivery.firstReceivedAt) / 1000;
          if (inFlightS + delayS > DEFAULTS.maxVisibilitySeconds - capMargin) {
            // Past SQS's 12 h visibility cap: re-send for later and acknowledge. This retry loses
            // its place in its message group.
            const signature = decodeSignature(record.body);
            await sendLater(
              rt,
              signature,
              now + outcome.delayMs,
              `${outcome.uuid}.a${outcome.attempt}.${messageId}`,
            );
            log.info('retry scheduled through the delay path (past the 12 h visibility cap)', {
              ...fields,
              state: 'RETRY',
              attempt: outcome.attempt,
              delayMs: outcome.delayMs,
              error: outcome.error,
            });
            return;
          }
          await setVisibility(record, delayS);
          log.info('task will be retried', {
            ...fields,
            state: 'RETRY',
            attempt: outcome.attempt,
            delayMs: outcome.delayMs,
            error: outcome.error,
          });
          throw new RecordFailedError('RETRY', `retry in ${delayS} s`);
        }
        case 'busy': {
          const seconds = Math.max(1, Math.ceil((outcome.leaseUntil - clock.now()) / 1000));
          await setVisibility(record, seconds);
          log.info('task is held by another attempt', {
            ...fields,
            state: 'STARTED',
            leaseUntil: new Date(outcome.leaseUntil).toISOString(),
          });
          throw new RecordFailedError('BUSY', 'another attempt holds the lease');
        }
        case 'transient':
          return transientFailure(record, fields, outcome.uuid, outcome.error, now);
        case 'dead-letter': {
          await sendToDlq(record, fields, {
            reason: outcome.reason,
            detail: outcome.detail,
            ...(outcome.uuid ? { uuid: outcome.uuid } : {}),
            now,
          });
          return;
        }
      }
    };

    const countMetric = (name: string) => metrics.addMetric(name, MetricUnit.Count, 1);

    /** One metric with the `TaskName` dimension (its own EMF line, written at once). */
    const taskMetric = (
      task: string | undefined,
      name: string,
      unit: (typeof MetricUnit)[keyof typeof MetricUnit],
      value: number,
    ) => {
      const single = metrics.singleMetric();
      single.addDimension(METRICS.taskNameDimension, task ?? 'unknown');
      single.addMetric(name, unit, value);
    };

    /** The per-task metrics of an outcome: succeeded, failed, retried, with the attempt's duration. */
    const taskMetrics = (outcome: ProcessOutcome, task: string | undefined, ms: number) => {
      const counted =
        outcome.kind === 'done'
          ? outcome.state === 'SUCCESS'
            ? METRICS.tasksSucceeded
            : METRICS.tasksFailed
          : outcome.kind === 'retry'
            ? METRICS.tasksRetried
            : undefined;
      if (counted === undefined) return;
      countMetric(counted);
      taskMetric(task, counted, MetricUnit.Count, 1);
      taskMetric(task, METRICS.taskDuration, MetricUnit.Milliseconds, ms);
    };

    /** Sends a record to the DLQ (see `SqsConsumer.deadLetter`) and logs it. */
    const sendToDlq = async (
      record: SQSRecord,
      fields: LogFields,
      info: { reason: DeadLetterReason; detail: string; uuid?: string; now: number },
    ): Promise<void> => {
      const copy = await rt.consumer.deadLetter(record, info);
      countMetric(METRICS.tasksDeadLettered);
      taskMetric(peekName(record.body), METRICS.tasksDeadLettered, MetricUnit.Count, 1);
      log.warn('message dead-lettered', {
        ...fields,
        state: 'FAILURE',
        reason: info.reason,
        detail: info.detail.slice(0, 500),
        ...(copy.withAttributes
          ? {}
          : { reasonNote: `dlq#${copy.deduplicationId ?? record.messageId}` }),
      });
    };

    /**
     * Dead-letters a record the worker itself judged (the processor returned `transient`): records
     * the task FAILURE first when its UUID is known (best effort: the write may be the very one
     * refused; the DLQ copy carries the reason either way).
     */
    const deadLetterJudged = async (
      record: SQSRecord,
      fields: LogFields,
      info: { reason: DeadLetterReason; detail: string; uuid: string | undefined; now: number },
    ): Promise<void> => {
      const { uuid, ...rest } = info;
      if (uuid !== undefined) {
        try {
          await rt.backend.markFailure(
            { UUID: uuid, Name: peekName(record.body) ?? '' },
            info.detail,
            {
              now: info.now,
              expiresAt: taskExpiresAt({ now: info.now, eta: null, resultsExpireInSeconds }),
              deadLetterReason: info.reason,
            },
          );
        } catch (e) {
          log.warn('could not record the dead-lettered task FAILURE', {
            ...fields,
            reason: info.reason,
            error: errorText(e),
          });
        }
      }
      await sendToDlq(record, fields, { ...rest, ...(uuid === undefined ? {} : { uuid }) });
    };

    /** The backstop's verdict on an unclassified error, or `undefined` when there is no ledger or it failed. */
    const judge = async (record: SQSRecord, code: string, now: number) => {
      if (rt.ledger === undefined) return undefined;
      try {
        return await judgeUnclassifiedFault(
          rt.ledger,
          { messageId: record.messageId, code, now },
          options.backstop,
        );
      } catch (e) {
        if (classifyFault(e).kind === 'deployment') countMetric(METRICS.deploymentErrors);
        log.warn('the failure ledger failed: the error is treated as transient', {
          messageId: record.messageId,
          error: errorText(e),
        });
        return undefined;
      }
    };

    /** A `transient` outcome, by the kind of its error (see the module documentation). */
    const transientFailure = async (
      record: SQSRecord,
      fields: LogFields,
      uuid: string | undefined,
      error: unknown,
      now: number,
    ): Promise<void> => {
      const fault = classifyFault(error);
      const text = errorText(error);
      const faultFields = { ...fields, error: text, fault: fault.kind, code: fault.code };
      let streak: number | undefined;
      if (fault.kind === 'message') {
        return deadLetterJudged(record, faultFields, {
          reason: 'message-rejected',
          detail: text,
          uuid,
          now,
        });
      }
      if (fault.kind === 'unclassified') {
        const judged = await judge(record, fault.code, now);
        if (judged?.verdict === 'repeated') {
          return deadLetterJudged(record, faultFields, {
            reason: 'repeated-error',
            detail: `${text} (code ${fault.code}: ${judged.streak} receives in a row)`,
            uuid,
            now,
          });
        }
        if (judged?.verdict === 'systemic') countMetric(METRICS.systemicErrors);
        streak = judged?.streak;
      }
      if (fault.kind === 'deployment') countMetric(METRICS.deploymentErrors);
      await setVisibility(record, transientBackoff(receiveCountOf(record)));
      const message =
        fault.kind === 'transient'
          ? 'transient failure: the record will be redelivered'
          : `${fault.kind} error: the record will be redelivered`;
      (fault.kind === 'transient' ? log.warn : log.error).call(log, message, {
        ...faultFields,
        ...(streak === undefined ? {} : { streak }),
      });
      throw new RecordFailedError('TRANSIENT', text, error);
    };

    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        await handleRecord(record);
      } catch (e) {
        if (!(e instanceof RecordFailedError)) {
          // Sending to the DLQ or through the delay path failed: back off like a transient error
          // (releasing it at once would spin on a persistent failure).
          const fault = classifyFault(e);
          if (fault.kind === 'deployment') countMetric(METRICS.deploymentErrors);
          log.error('record failed', {
            messageId: record.messageId,
            error: errorText(e),
            fault: fault.kind,
            code: fault.code,
          });
          await setVisibility(record, transientBackoff(receiveCountOf(record)));
        }
        throw e;
      }
    };

    // One Powertools FIFO processor per group (it keeps per-batch state), groups concurrently.
    // With a limit of 1, the whole batch goes through one processor in record order.
    const lanes = groupConcurrency === 1 ? [event.Records] : splitByGroup(event.Records);
    const failedIds = new Set<string>();
    try {
      await forEachConcurrently(lanes, groupConcurrency, async (records) => {
        const lane = await processPartialResponse(
          { Records: records },
          recordHandler,
          new SqsFifoPartialProcessorAsync(),
          { context, skipGroupOnError: true, throwOnFullBatchFailure: false },
        );
        for (const f of lane.batchItemFailures) failedIds.add(f.itemIdentifier);
      });
    } finally {
      timer.clear();
      await rt.liveness?.beatIfDue();
      // Flushed per invocation (embedded metric format on stdout).
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
    // In the batch's record order, whatever order the groups finished in.
    const failed = event.Records.filter((r) => failedIds.has(r.messageId));
    const response: SQSBatchResponse = {
      batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })),
    };
    // Failed records whose visibility nobody set (skipped with their group, out of time, or an
    // unexpected error) go back now rather than after the queue's visibility timeout. Their
    // group is still held by its in-flight failed record, so FIFO order is kept.
    const toRelease = failed.filter((r) => !visibilityHandled.has(r.messageId));
    if (toRelease.length > 0) {
      const stuck = await rt.consumer.release(toRelease);
      if (stuck.length > 0) log.warn('could not release records', { messageIds: stuck });
    }
    return response;
  };
}
