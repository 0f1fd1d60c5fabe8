/**
 * The long-running worker (`machinery worker`): polls the task queues itself instead of being
 * invoked by Lambda's event source, for containers and servers, and for tasks longer than
 * Lambda's 15 minutes. Each message goes through the Lambda worker's own handler
 * (`createWorker`, `src/handlers/worker.ts`) as a one-record batch, so processing, retries,
 * dead-letters and their visibility changes are the Lambda worker's exactly; the poller does what
 * the event source mapping does (receive, delete what succeeded) plus:
 *
 * - **Priority**: with the high-priority queue configured, each receive asks the high queue first
 *   and the default queue only when the high queue is empty. Anti-starvation: after
 *   `highStreak` high batches in a row the next receive asks the default queue first (and takes
 *   the high queue when the default one is empty), then the streak starts over. Idle, it
 *   long-polls the default queue for `waitTimeSeconds` after an empty short poll of the high one.
 *   It receives no more messages than it has free slots, so nothing waits in the poller.
 * - **Heartbeat**: every `heartbeatSeconds` while a task runs, `ChangeMessageVisibility` to
 *   `visibilityTimeoutSeconds` from now and `ResultBackend.extendLease` to `leaseSeconds` from
 *   now (the attempt read once from the task's item), so a task may run up to `taskTimeoutSeconds`
 *   (at most SQS's 12 h visibility cap from the first receive) and is neither redelivered nor
 *   reclaimed meanwhile. After a crash (SIGKILL, a lost machine) the message is visible again
 *   within `visibilityTimeoutSeconds`; the next claim waits out the lease (`busy`) and then
 *   reruns the task as a crashed attempt (docs/design.md §4).
 * - **Liveness**: with the workers table configured, an alive record (id, host, start time, tasks
 *   executed and failed) written every third of `livenessLapseSeconds` and deleted on stop; it
 *   lapses `livenessLapseSeconds` after the last heartbeat when the process dies
 *   (`src/core/liveness.ts`).
 * - **Stop** (`stop()`, SIGTERM in the CLI): stops receiving at once (an in-flight receive is
 *   aborted; anything it still returns is released with visibility 0), waits for the running
 *   tasks up to `graceSeconds`, and resolves. A task still running then is abandoned with its
 *   message in flight and its lease: it runs again after both end, like a crash.
 *
 * @module
 */

import { hostname } from 'node:os';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { type AdapterOptions, createAdapters } from '../aws/adapters.js';
import { ConfigError } from '../aws/errors.js';
import { DynamoDbLivenessStore } from '../aws/liveness.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULT_LAPSE_MS, LivenessReporter } from '../core/liveness.js';
import type { ResultBackend } from '../core/ports.js';
import { decodeSignature } from '../core/signature.js';
import { toSqsRecord } from '../local/runner.js';
import { createWorker, type WorkerHandler, type WorkerOptions } from './worker.js';

/** SQS's cap on a message's visibility, counted from its first receive, s. */
const VISIBILITY_CAP_SECONDS = 12 * 3600;

/**
 * Which queue a message came from.
 *
 * @example
 * ```ts
 * const q: PollerQueue = 'high';
 * ```
 */
export type PollerQueue = 'high' | 'default';

/**
 * Options of {@link createPoller}: the worker's options (tasks, settings, processor options…)
 * plus the poller's own.
 *
 * @example
 * ```ts
 * const opts: PollerOptions = { tasks: [add], env: process.env, concurrency: 4 };
 * ```
 */
export interface PollerOptions extends WorkerOptions {
  /** Tasks running at once. An integer >= 1. @default 1 */
  concurrency?: number;
  /** The queues to poll. @default ['high', 'default'] (high only when it is configured) */
  queues?: readonly PollerQueue[];
  /** High batches in a row before the default queue is asked first once. @default 4 */
  highStreak?: number;
  /** Long-poll wait of an idle receive, s (also how long a stop may wait for it). @default 5 */
  waitTimeSeconds?: number;
  /** Visibility set by each heartbeat, s. @default 300 */
  visibilityTimeoutSeconds?: number;
  /** Lease set by the claim and by each heartbeat, s. @default 360 */
  leaseSeconds?: number;
  /** Interval of the heartbeat while a task runs, s. @default 60 */
  heartbeatSeconds?: number;
  /** The longest a task may run before it is aborted, s; at most 12 h. @default 43_200 − 600 */
  taskTimeoutSeconds?: number;
  /** How long `stop()` waits for running tasks, s. @default 30 */
  graceSeconds?: number;
  /**
   * The alive record lapses this long after its last heartbeat, s (written every third of it to
   * the workers table, when `MACHINERY_WORKERS_TABLE` is set). @default 30
   */
  livenessLapseSeconds?: number;
  /** Observes every message the poller finished (tests). */
  onMessageDone?: (done: PollerMessageDone) => void;
  /** Receives receive, delete and heartbeat errors (the loop keeps going). @default console.error */
  onError?: (error: unknown) => void;
}

/**
 * One message the poller finished with.
 *
 * @example
 * ```ts
 * poller.onMessageDone = (d) => console.log(d.queue, d.messageId, d.acknowledged);
 * ```
 */
export interface PollerMessageDone {
  queue: PollerQueue;
  messageId: string;
  /** The task UUID, when the body had one. */
  uuid: string | undefined;
  /** Deleted (the handler succeeded); `false` when the handler reported it failed. */
  acknowledged: boolean;
}

/**
 * What `stop()` resolves to.
 *
 * @example
 * ```ts
 * const { abandoned } = await poller.stop();
 * ```
 */
export interface PollerStopResult {
  /** Messages released unstarted (visibility 0). */
  released: number;
  /** Tasks still running when the grace period ended (they run again later). */
  abandoned: number;
}

/**
 * A running long-running worker.
 *
 * @example
 * ```ts
 * const poller = createPoller({ tasks: [add] });
 * poller.start();
 * process.once('SIGTERM', () => void poller.stop());
 * ```
 */
export interface Poller {
  /** Starts polling. */
  start(): void;
  /** Stops receiving, releases unstarted messages, waits for running tasks up to the grace period. */
  stop(): Promise<PollerStopResult>;
  /** Tasks running now. */
  readonly running: number;
  /** This worker's alive record id, when liveness is on. */
  readonly workerId: string | undefined;
  /** Resolves when the poll loop ended after `stop()`. */
  readonly stopped: Promise<PollerStopResult>;
}

interface Slot {
  queue: PollerQueue;
  message: Message;
  uuid: string | undefined;
  done: Promise<void>;
}

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `${name} must be a positive ${integer ? 'integer' : 'number'} (got ${value})`,
    );
  }
  return value;
}

function uuidOf(body: string): string | undefined {
  try {
    return decodeSignature(body).UUID || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates a long-running worker over the task queues of a deployment (see the module notes).
 * Settings come from the worker's options (`env`, `source`, `config`); the task queue, its DLQ and
 * the task-state table are required, the high-priority queue is polled when configured.
 *
 * @example
 * ```ts
 * const poller = createPoller({ tasks: [add], source: fromLocalEnv(), concurrency: 2 });
 * poller.start();
 * await poller.stop();
 * ```
 */
export function createPoller(options: PollerOptions): Poller {
  const clock: Clock = options.clock ?? systemClock;
  const concurrency = positive('concurrency', options.concurrency ?? 1, true);
  const highStreak = positive('highStreak', options.highStreak ?? 4, true);
  const waitTimeSeconds = options.waitTimeSeconds ?? 5;
  const visibilitySeconds = positive(
    'visibilityTimeoutSeconds',
    options.visibilityTimeoutSeconds ?? 300,
    true,
  );
  const leaseMs = positive('leaseSeconds', options.leaseSeconds ?? 360) * 1000;
  const heartbeatMs = positive('heartbeatSeconds', options.heartbeatSeconds ?? 60) * 1000;
  const taskTimeoutMs =
    Math.min(
      positive('taskTimeoutSeconds', options.taskTimeoutSeconds ?? VISIBILITY_CAP_SECONDS - 600),
      VISIBILITY_CAP_SECONDS,
    ) * 1000;
  const graceMs = (options.graceSeconds ?? 30) * 1000;
  const onError = options.onError ?? ((e: unknown) => console.error('[machinery worker]', e));

  const adapters = createAdapters(options as AdapterOptions, [
    'taskStatesTable',
    'taskQueueUrl',
    'dlqUrl',
  ]);
  const sqs: SQSClient = adapters.clients.sqs;
  const backend: ResultBackend = adapters.backend;
  const urls: Partial<Record<PollerQueue, string>> = {};
  if (adapters.config.taskQueueUrl !== undefined) urls.default = adapters.config.taskQueueUrl;
  if (adapters.config.highTaskQueueUrl !== undefined) urls.high = adapters.config.highTaskQueueUrl;
  const wanted = options.queues ?? ['high', 'default'];
  const queues = wanted.filter((q) => urls[q] !== undefined);
  for (const q of wanted) {
    if (options.queues !== undefined && urls[q] === undefined) {
      throw new ConfigError(`the ${q} queue is not configured (MACHINERY_HIGH_TASK_QUEUE_URL)`);
    }
  }
  if (queues.length === 0) throw new ConfigError('no queue to poll');

  const liveness =
    adapters.config.workersTable === undefined
      ? undefined
      : new LivenessReporter({
          store: new DynamoDbLivenessStore({
            dynamodb: adapters.clients.dynamodb,
            tableName: adapters.config.workersTable,
          }),
          clock,
          kind: 'poller',
          host: hostname(),
          lapseMs:
            positive(
              'livenessLapseSeconds',
              options.livenessLapseSeconds ?? DEFAULT_LAPSE_MS / 1000,
            ) * 1000,
          onError,
        });
  const hooks = options.processorOptions?.hooks;
  const handler: WorkerHandler = createWorker({
    ...options,
    config: adapters.config,
    aws: { sqs: adapters.clients.sqs, dynamodb: adapters.clients.dynamodb },
    backend: adapters.backend,
    broker: adapters.broker,
    ...(adapters.scheduler === undefined ? {} : { scheduler: adapters.scheduler }),
    ...(adapters.groups === undefined ? {} : { groups: adapters.groups }),
    // The poller keeps its own alive record (below), not one per handler.
    liveness: false,
    processorOptions: {
      leaseMs,
      ...options.processorOptions,
      ...(liveness === undefined ? {} : { hooks: liveness.hooks(hooks) }),
    },
  } as WorkerOptions);

  const arns = new Map<PollerQueue, string>();
  const queueArn = async (q: PollerQueue): Promise<string> => {
    let arn = arns.get(q);
    if (arn === undefined) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: urls[q], AttributeNames: ['QueueArn'] }),
      );
      arn = out.Attributes?.QueueArn ?? '';
      arns.set(q, arn);
    }
    return arn;
  };

  const slots = new Set<Slot>();
  let running = false;
  let receiveAbort: AbortController | undefined;
  let slotFreed: (() => void) | undefined;
  let highInARow = 0;
  let released = 0;
  let resolveStopped!: (r: PollerStopResult) => void;
  const stopped = new Promise<PollerStopResult>((r) => {
    resolveStopped = r;
  });
  let stopping: Promise<PollerStopResult> | undefined;
  let loop: Promise<void> | undefined;

  const receive = async (q: PollerQueue, max: number, wait: number): Promise<Message[]> => {
    receiveAbort = new AbortController();
    try {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: urls[q],
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: wait,
          // The heartbeat's visibility from the start: a crash before the first beat is redelivered
          // as soon as after a later one.
          VisibilityTimeout: visibilitySeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: receiveAbort.signal },
      );
      return out.Messages ?? [];
    } finally {
      receiveAbort = undefined;
    }
  };

  /** One receive round under the priority rule: the queue it came from and its messages. */
  const receiveRound = async (max: number): Promise<[PollerQueue, Message[]] | undefined> => {
    const order: PollerQueue[] =
      queues.length === 1
        ? [...queues]
        : highInARow >= highStreak
          ? ['default', 'high']
          : ['high', 'default'];
    for (const [i, q] of order.entries()) {
      const last = i === order.length - 1;
      const messages = await receive(q, max, last && q === 'default' ? waitTimeSeconds : 0);
      if (messages.length > 0) {
        highInARow = q === 'high' ? highInARow + 1 : 0;
        return [q, messages];
      }
      if (!running) return undefined;
    }
    if (order[0] === 'default') highInARow = 0;
    return undefined;
  };

  const release = async (q: PollerQueue, messages: readonly Message[]): Promise<void> => {
    if (messages.length === 0) return;
    try {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: urls[q],
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      released += messages.length;
    } catch (e) {
      onError(e);
    }
  };

  /** Extends the message's visibility and the attempt's lease while the task runs. */
  const heartbeat = (slot: Slot, firstReceivedAt: number): (() => void) => {
    let attempt: number | undefined;
    let beating = false;
    const beat = async () => {
      if (beating) return;
      beating = true;
      try {
        const now = clock.now();
        const capLeft = Math.floor((firstReceivedAt + VISIBILITY_CAP_SECONDS * 1000 - now) / 1000);
        const seconds = Math.min(visibilitySeconds, capLeft);
        if (seconds > 0) {
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: urls[slot.queue],
              ReceiptHandle: slot.message.ReceiptHandle,
              VisibilityTimeout: seconds,
            }),
          );
        }
        if (slot.uuid !== undefined) {
          if (attempt === undefined) {
            const rec = await backend.get(slot.uuid, { now });
            if (rec?.state === 'STARTED') attempt = rec.attempt;
          }
          if (attempt !== undefined) {
            await backend.extendLease(slot.uuid, attempt, { now, leaseUntil: now + leaseMs });
          }
        }
      } catch (e) {
        onError(e);
      } finally {
        beating = false;
      }
    };
    const timer = setInterval(() => void beat(), heartbeatMs);
    timer.unref?.();
    return () => clearInterval(timer);
  };

  const runOne = async (slot: Slot, arn: string): Promise<void> => {
    const record = toSqsRecord(slot.message, arn, await sqs.config.region());
    const startedAt = clock.now();
    const firstReceivedAt =
      Number(record.attributes?.ApproximateFirstReceiveTimestamp) || startedAt;
    const deadline = Math.min(
      startedAt + taskTimeoutMs,
      firstReceivedAt + VISIBILITY_CAP_SECONDS * 1000,
    );
    const stopBeat = heartbeat(slot, firstReceivedAt);
    let acknowledged = false;
    try {
      const context = {
        functionName: 'machinery-worker',
        awsRequestId: slot.message.MessageId ?? '',
        getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
      } as unknown as Context;
      const response = await handler({ Records: [record] }, context);
      if (response.batchItemFailures.length === 0) {
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: urls[slot.queue],
            ReceiptHandle: slot.message.ReceiptHandle,
          }),
        );
        acknowledged = true;
      }
    } catch (e) {
      onError(e);
    } finally {
      stopBeat();
    }
    options.onMessageDone?.({
      queue: slot.queue,
      messageId: slot.message.MessageId ?? '',
      uuid: slot.uuid,
      acknowledged,
    });
  };

  const pollLoop = async (): Promise<void> => {
    while (running) {
      if (slots.size >= concurrency) {
        await new Promise<void>((r) => {
          slotFreed = r;
        });
        slotFreed = undefined;
        continue;
      }
      let round: [PollerQueue, Message[]] | undefined;
      try {
        round = await receiveRound(concurrency - slots.size);
      } catch (e) {
        if (!running) break;
        onError(e);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (round === undefined) continue;
      const [q, messages] = round;
      if (!running) {
        await release(q, messages);
        break;
      }
      const arn = await queueArn(q).catch((e: unknown) => {
        onError(e);
        return '';
      });
      for (const message of messages) {
        const slot: Slot = {
          queue: q,
          message,
          uuid: uuidOf(message.Body ?? ''),
          done: Promise.resolve(),
        };
        slot.done = runOne(slot, arn).finally(() => {
          slots.delete(slot);
          slotFreed?.();
        });
        slots.add(slot);
      }
    }
  };

  const stop = (): Promise<PollerStopResult> => {
    if (stopping !== undefined) return stopping;
    stopping = (async () => {
      running = false;
      receiveAbort?.abort();
      slotFreed?.();
      await loop;
      const all = Promise.allSettled([...slots].map((s) => s.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      await liveness?.stop();
      const result = { released, abandoned: slots.size };
      resolveStopped(result);
      return result;
    })();
    return stopping;
  };

  return {
    start() {
      if (running || stopping !== undefined) return;
      running = true;
      liveness?.start();
      loop = pollLoop();
    },
    stop,
    workerId: liveness?.id,
    get running() {
      return slots.size;
    },
    stopped,
  };
}
