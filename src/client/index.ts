/**
 * The SDK client: send tasks and read their results.
 *
 * ```ts
 * import { createClient } from 'machinery-serverless/client';
 * import { newSignature } from 'machinery-serverless/core/signature';
 *
 * const client = createClient(); // MACHINERY_* and AWS_* from the environment
 * const result = await client.sendTask(newSignature('add', [
 *   { Name: '', Type: 'int64', Value: 1 },
 *   { Name: '', Type: 'int64', Value: 2 },
 * ]));
 * console.log(await result.get({ timeoutMs: 10_000 })); // [3]
 * ```
 *
 * IAM for producers: `sqs:SendMessage` on the task queue, the high-priority queue (when used) and
 * the delay queue (for ETAs),
 * `dynamodb:PutItem` and `dynamodb:GetItem` on `task_states`, plus `scheduler:CreateSchedule` and
 * `iam:PassRole` on the Scheduler role for ETAs more than 15 minutes away.
 *
 * @module
 */
import { type AdapterOptions, createAdapters } from '../aws/adapters.js';
import { PublishError } from '../aws/errors.js';
import type { MachineryConfig } from '../aws/settings.js';
import { messageGroupId } from '../aws/sqs-broker.js';
import { messageBytes } from '../core/bounds.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type ContractArgs, type Sendable, signatureOf } from '../core/contract.js';
import { type DispatchRoute, dispatch } from '../core/dispatch.js';
import { type Lane, parseLane, withLane } from '../core/lanes.js';
import type {
  Broker,
  GroupBackend,
  PublishItem,
  ResultBackend,
  Scheduler,
  TaskRecord,
} from '../core/ports.js';
import { DEFAULTS } from '../core/resources.js';
import { type QueueChoice, routeSignature } from '../core/routing.js';
import { etaToMillis } from '../core/time.js';
import type { Signature } from '../core/types.js';
import type { Chain, Group } from '../core/workflow.js';
import { AsyncResult } from './async-result.js';
import {
  BATCHING_DEFAULTS,
  type BatchingOptions,
  type Place,
  SendBatcher,
  type Slot,
} from './batcher.js';
import {
  type ChainResult,
  type ChordResult,
  type ChordSendOptions,
  type GroupResult,
  type GroupSendOptions,
  readWorkflowProgress,
  sendChain,
  sendChord,
  sendGroup,
  type WorkflowDeps,
  type WorkflowProgress,
} from './workflows.js';

export { ConfigError } from '../aws/errors.js';
export {
  fromEnv,
  fromLocalEnv,
  fromVariables,
  type MachineryConfig,
  type SettingsSource,
} from '../aws/settings.js';
export { fromStack, type StackSourceOptions } from '../aws/stack-source.js';
export {
  type ContractArgs,
  defineContract,
  implement,
  type Sendable,
  signatureOf,
  signatureWith,
  type TaskContract,
} from '../core/contract.js';
export { EtaParseError, LaneError } from '../core/errors.js';
export { LANE_HEADER, LANES, type Lane, type LaneOption } from '../core/lanes.js';
export type { OneTimeSchedule } from '../core/ports.js';
export type { QueueChoice } from '../core/routing.js';
export { formatEta, parseDuration, parseEta } from '../core/time.js';
export {
  type Chain,
  type Chord,
  type Group,
  newChain,
  newChord,
  newGroup,
} from '../core/workflow.js';
export { AsyncResult, type GetOptions } from './async-result.js';
export { BATCHING_DEFAULTS, type BatchingOptions } from './batcher.js';
// Cancel, dead-letter queues, errors, queues and periodic tasks.
export { type CancelDeps, type CancelResult, cancel } from './cancel.js';
export {
  bodyTask,
  createDeadLetterQueues,
  DeadLetterQueues,
  type DeadLetterQueuesDeps,
  DLQ_NAMES,
  type DlqEntry,
  type DlqMessageDetails,
  type DlqName,
  type MoveTask,
  type RedriveOptions,
  type RedriveProgress,
  type RedriveResult,
  type RedriveStatus,
} from './dlq.js';
export {
  InvalidWorkflowError,
  RedriveError,
  ResultTimeoutError,
  TaskFailedError,
  WorkflowFailedError,
} from './errors.js';
export {
  deletePeriodicTask,
  listOneTimeSchedules,
  listPeriodicTasks,
  type PeriodicOptions,
  PeriodicSpecError,
  registerPeriodicChain,
  registerPeriodicChainWith,
  registerPeriodicChord,
  registerPeriodicGroup,
  registerPeriodicTask,
  toScheduleExpression,
} from './periodic.js';
export { type QueueName, type QueueStats, type QueueStatsDeps, queueStats } from './queues.js';
export { listWorkers, type WorkerRecord } from './workers.js';
export {
  ChainResult,
  ChordResult,
  type ChordSendOptions,
  DEFAULT_SEND_CONCURRENCY,
  GroupHandle,
  GroupResult,
  type GroupSendOptions,
  type WorkflowProgress,
} from './workflows.js';

/** Signatures dispatched at once by `sendTasks` (bounds concurrent PENDING writes). */
const SEND_CHUNK = 100;

/**
 * Configuration of {@link createClient}. Everything is optional: settings missing here are read
 * from `source` (`fromLocalEnv()` for a running `machinery local up`), by default the environment
 * (`MACHINERY_*`, `AWS_REGION`, `AWS_ENDPOINT_URL_*`).
 *
 * @example
 * ```ts
 * const cfg: ClientConfig = {
 *   config: { taskQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tasks.fifo', taskStatesTable: 'task_states' },
 *   aws: { region: 'eu-west-1' },
 * };
 * ```
 */
export interface ClientConfig extends AdapterOptions {
  /** The clock for ETAs, lifetimes and polling. @default systemClock */
  clock?: Clock;
  /** machinery's `ResultsExpireIn`: how long results live at least, seconds. @default 3600 */
  resultsExpireInSeconds?: number;
  /**
   * Automatic batching of {@link MachineryClient.sendTask}: concurrent sends to the task queue
   * share `SendMessageBatch` requests (at most 10 messages, 1 MiB), each waiting at most
   * `maxDelayMs` for others to join. @default BATCHING_DEFAULTS (on, 2 ms)
   */
  batching?: BatchingOptions;
  /**
   * Smallest `Priority` sent to the high-priority queue (`MACHINERY_HIGH_TASK_QUEUE_URL`) when a
   * send names no queue; without a high queue every task goes to the task queue.
   * @default DEFAULTS.highPriorityThreshold (5)
   */
  highPriorityThreshold?: number;
}

/**
 * Options of one send.
 *
 * @example
 * ```ts
 * await client.sendTask(sig, { deduplicationId: `${sig.UUID}-again` });
 * await client.sendTask(urgent, { queue: 'high' });
 * ```
 */
export interface SendOptions {
  /** FIFO deduplication id (immediate sends only). @default the task UUID */
  deduplicationId?: string;
  /**
   * The task queue: `'high'` (needs `MACHINERY_HIGH_TASK_QUEUE_URL`, else a `ConfigError` before
   * any write) or `'default'`, written to `RoutingKey` of the task and of its callbacks that have
   * none, so retries, ETAs, redrives and callbacks stay on it.
   * @default by `Priority`: at or above `highPriorityThreshold` the high queue, when configured
   */
  queue?: QueueChoice;
  /**
   * The cost lane (docs/design.md §4 "Lanes"), written to the message's `machinery.lane` header:
   * `'full'` records the task PENDING at send, `'lean'` does not (a poller sees STARTED and the
   * final state only), `'idempotent'` has the worker read once instead of claiming (only for tasks
   * that declare it; a raw signature's definition is unknown here, so the worker checks). A
   * `LaneError` refuses a value that names no lane, before any write.
   * @default the signature's `machinery.lane` header (set from the definition by `send`,
   * `signatureOf`, `signatureWith`), else 'full'
   */
  lane?: Lane;
}

/**
 * A client of one machinery-serverless deployment.
 *
 * @example
 * ```ts
 * const client = createClient();
 * const result = await client.sendTask(sig);
 * const state = await client.getState(result.uuid);
 * ```
 */
export interface MachineryClient {
  /**
   * Records the task PENDING (the full lane; the lean and idempotent lanes, `SendOptions.lane`,
   * write no record at send), then sends it: to its task queue (the one `options.queue` names,
   * else the high-priority queue for a `Priority` at or above `highPriorityThreshold` when one is
   * configured, else the default), or by its ETA through the delay queue (≤ 15 min) or an
   * EventBridge schedule (later), to reach that queue when due. Resolves with a handle on the
   * task once the message is sent; rejects when it could not be (nothing is silently dropped).
   * Sending the same signature again is safe: the PENDING write is conditional and FIFO
   * deduplicates.
   *
   * Concurrent calls share `SendMessageBatch` requests ({@link ClientConfig.batching}): each call
   * writes its PENDING record at once, and its message joins a batch of at most 10 sent when they
   * are all written (or `maxDelayMs` after the batch's first call). A failure rejects only the
   * call whose write or message failed. Concurrent sends of one message group reach the queue in
   * the order they were called.
   */
  sendTask(signature: Signature, options?: SendOptions): Promise<AsyncResult>;
  /**
   * Sends a task by its contract (or its `defineTask` definition) with its args, checked at
   * compile time against the declared types: `sendTask(signatureOf(contract, ...args))`. Use
   * `sendTask(signatureWith(contract, args, options))` for signature options.
   *
   * @throws ArgTypeError when a value does not fit its declared type (a cast got past the compiler).
   * @example
   * ```ts
   * const addContract = defineContract({ name: 'add', args: ['int64', 'int64'] });
   * const result = await client.send(addContract, 1, 2);
   * await result.get(); // [3]
   * ```
   */
  send<C extends Sendable>(task: C, ...args: ContractArgs<C>): Promise<AsyncResult>;
  /**
   * {@link MachineryClient.sendTask} for many signatures, batched (`SendMessageBatch`), 100 at a
   * time. On failure it rejects; signatures of earlier chunks were sent (re-sending all is safe).
   */
  sendTasks(
    signatures: readonly Signature[],
    options?: Pick<SendOptions, 'queue' | 'lane'>,
  ): Promise<AsyncResult[]>;
  /** The stored state of a task, or `undefined` when none is recorded. */
  getState(uuid: string): Promise<TaskRecord | undefined>;
  /** A handle on a task sent earlier (by UUID). */
  asyncResult(uuid: string): AsyncResult;
  /**
   * Sends a chain (machinery's `NewChain` + `SendChain`): signatures run one after the other, each
   * getting the previous one's results appended (unless it is `Immutable`). Resolves once the
   * first step is sent; the handle's `get()` waits for the last step's results and rejects with
   * `WorkflowFailedError` naming the step that failed (later steps never run).
   *
   * @example
   * ```ts
   * const chain = await client.sendChain([add(2, 2), add(5, 6), multiply(4)]);
   * await chain.get(); // [60]
   * ```
   */
  sendChain(chain: readonly Signature[] | Chain): Promise<ChainResult>;
  /**
   * Sends a group (machinery's `NewGroup` + `SendGroup`): the group record first, then the
   * members in `SendMessageBatch` calls, at most `sendConcurrency` at once; `concurrency` K runs at
   * most K members at once. The handle's `get()` resolves with every member's results in group
   * order.
   *
   * @example
   * ```ts
   * const group = await client.sendGroup([add(1, 1), add(2, 2), add(5, 6)], { sendConcurrency: 4 });
   * await group.get(); // [[2], [4], [11]]
   * ```
   */
  sendGroup(group: readonly Signature[] | Group, options?: GroupSendOptions): Promise<GroupResult>;
  /**
   * Sends a chord (machinery's `NewChord` + `SendChord`): a group whose callback runs exactly once
   * after every member succeeded, with their results in group order. The handle's `get()`
   * resolves with the callback's results.
   *
   * @example
   * ```ts
   * const chord = await client.sendChord([add(1, 1), add(2, 2), add(5, 6)], multiply());
   * await chord.get(); // [88]
   * ```
   */
  sendChord(
    group: readonly Signature[] | Group,
    callback: Signature,
    options?: ChordSendOptions,
  ): Promise<ChordResult>;
  /**
   * The progress of a group or chord by its `GroupUUID`, `undefined` when no record of it exists.
   *
   * @example
   * ```ts
   * const p = await client.workflowState('group_…'); // { kind: 'chord', state: 'STARTED', … }
   * ```
   */
  workflowState(groupUUID: string): Promise<WorkflowProgress | undefined>;
  /** Group and chord records, when configured. */
  readonly groups: GroupBackend | undefined;
  /** The settings in use. */
  readonly config: Partial<MachineryConfig>;
  readonly backend: ResultBackend;
  readonly broker: Broker;
  readonly scheduler: Scheduler | undefined;
  /** Releases the SDK clients this client built. */
  close(): void;
}

/**
 * Creates a client. Needs the task queue URL and the task-state table name (from `config` or
 * `MACHINERY_TASK_QUEUE_URL` / `MACHINERY_TASK_STATES_TABLE`), unless a broker and a backend are
 * passed; throws a `ConfigError` naming every missing or invalid variable. A send with an ETA more
 * than 15 minutes away needs EventBridge Scheduler: without its settings it is refused with a
 * `ConfigError` naming the variables to set, before anything is written.
 *
 * @example
 * ```ts
 * const client = createClient({ source: fromLocalEnv() }); // or createClient() to read process.env
 * const result = await client.sendTask(newSignature('sum_ints', [
 *   { Name: '', Type: '[]int64', Value: [1, 2, 3] },
 * ]));
 * const [sum] = await result.get(); // 6
 * ```
 */
export function createClient(config: ClientConfig = {}): MachineryClient {
  const adapters = createAdapters(config, ['taskQueueUrl', 'taskStatesTable']);
  const clock = config.clock ?? systemClock;
  const routing =
    adapters.routing === undefined
      ? undefined
      : {
          ...adapters.routing,
          highPriorityThreshold: config.highPriorityThreshold ?? DEFAULTS.highPriorityThreshold,
        };
  const deps = {
    backend: adapters.backend,
    broker: adapters.broker,
    clock,
    ...(adapters.scheduler ? { scheduler: adapters.scheduler } : {}),
    ...(config.resultsExpireInSeconds === undefined
      ? {}
      : { resultsExpireInSeconds: config.resultsExpireInSeconds }),
    ...(routing === undefined ? {} : { routing }),
  };
  // A send naming the high queue is refused, naming the variable, before any write; so is a
  // lane that names none.
  const route = (
    given: Signature,
    queue: QueueChoice | undefined,
    lane: Lane | undefined,
  ): Signature => {
    const signature = lane === undefined ? given : withLane(given, parseLane(lane));
    if (queue === 'high') {
      adapters.requireHighQueue(`task ${signature.UUID} asks for the high-priority queue`);
    }
    return routing === undefined ? signature : routeSignature(signature, routing, queue);
  };
  // dispatch() routes ETAs more than maxDelaySeconds away to the scheduler; without one, refuse
  // here, naming the settings, before any PENDING write.
  const checkSchedulable = (signatures: readonly Signature[]) => {
    if (adapters.scheduler !== undefined) return;
    const now = clock.now();
    for (const signature of signatures) {
      let eta: number | null;
      try {
        eta = etaToMillis(signature.ETA);
      } catch {
        continue; // a malformed ETA: dispatch() refuses it
      }
      if (eta !== null && eta - now > DEFAULTS.maxDelaySeconds * 1000) {
        adapters.requireScheduler(
          `task ${signature.UUID} has an ETA more than ${DEFAULTS.maxDelaySeconds} s away, which needs EventBridge Scheduler`,
        );
      }
    }
  };
  const handle = (signature: Signature) =>
    new AsyncResult(signature.UUID, { backend: adapters.backend, clock, signature });
  // Groups and chords are refused with InvalidWorkflowError when no group backend is configured.
  const groups = adapters.groups;
  const workflowDeps: WorkflowDeps = { ...deps, groups, checkSchedulable };
  const batching = { ...BATCHING_DEFAULTS, ...config.batching };
  const batcher = batching.enabled
    ? new SendBatcher<PublishItem>(publishOutcomes(adapters.broker), batching)
    : undefined;
  // The batch place of a signature sent to the task queue now; none for an ETA in the future or
  // a signature dispatch() refuses (it rejects the send).
  const placeOf = (signature: Signature): Place | undefined => {
    try {
      const eta = etaToMillis(signature.ETA);
      if (eta !== null && eta > clock.now()) return undefined;
      return {
        queue: signature.RoutingKey,
        group: messageGroupId(signature),
        bytes: messageBytes(signature),
      };
    } catch {
      return undefined;
    }
  };

  const client: MachineryClient = {
    config: adapters.config,
    backend: adapters.backend,
    broker: adapters.broker,
    scheduler: adapters.scheduler,
    async sendTask(given, options = {}) {
      // Routed first: the batch place is the queue's.
      const signature = route(given, options.queue, options.lane);
      checkSchedulable([signature]);
      const dedup = options.deduplicationId;
      const dispatchOptions = dedup === undefined ? {} : { deduplicationId: () => dedup };
      const place = batcher === undefined ? undefined : placeOf(signature);
      if (batcher === undefined || place === undefined) {
        await dispatch([signature], deps, dispatchOptions);
        return handle(signature);
      }
      // The place is taken now, in call order; the message fills it after the PENDING write.
      const slot = batcher.reserve(place);
      try {
        await dispatch(
          [signature],
          { ...deps, broker: slotBroker(slot, deps.broker) },
          dispatchOptions,
        );
      } finally {
        slot.cancel();
      }
      return handle(signature);
    },
    async send(task, ...args) {
      return client.sendTask(signatureOf(task, ...args));
    },
    async sendTasks(given, options = {}) {
      const signatures = given.map((s) => route(s, options.queue, options.lane));
      checkSchedulable(signatures);
      // Chunks bound the PENDING writes in flight (one per signature) to SEND_CHUNK at a time.
      for (let i = 0; i < signatures.length; i += SEND_CHUNK) {
        await dispatch(signatures.slice(i, i + SEND_CHUNK), deps);
      }
      return signatures.map(handle);
    },
    getState(uuid) {
      return adapters.backend.get(uuid, { now: clock.now() });
    },
    asyncResult(uuid) {
      return new AsyncResult(uuid, { backend: adapters.backend, clock });
    },
    groups,
    sendChain(chain) {
      return sendChain(chain, workflowDeps);
    },
    sendGroup(group, options) {
      return sendGroup(group, workflowDeps, options);
    },
    sendChord(group, callback, options) {
      return sendChord(group, callback, workflowDeps, options);
    },
    workflowState(groupUUID) {
      return readWorkflowProgress(groupUUID, workflowDeps);
    },
    close() {
      adapters.destroy();
    },
  };
  return client;
}

/**
 * The broker one batched send gives dispatch(): its message fills its batch place; any other
 * publish (a delayed route) gives the place up and goes straight to the broker.
 */
function slotBroker(slot: Slot<PublishItem>, broker: Broker): Broker {
  return {
    publish(items) {
      const [only] = items;
      if (items.length === 1 && only !== undefined) return slot.fill(only);
      slot.cancel();
      return broker.publish(items);
    },
    publishDelayed(items) {
      slot.cancel();
      return broker.publishDelayed(items);
    },
  };
}

/**
 * Sends a batch with `broker.publish` (one `SendMessageBatch` for at most 10 messages and 1 MiB)
 * and gives each message its outcome: a {@link PublishError} naming only that message when the
 * broker reports it unsent, the broker's error for all when the whole call failed.
 */
function publishOutcomes(broker: Broker): (items: PublishItem[]) => Promise<unknown[]> {
  return async (items) => {
    try {
      await broker.publish(items);
      return items.map(() => undefined);
    } catch (e) {
      if (!(e instanceof PublishError)) throw e;
      const unsent = new Set(e.unsent);
      return items.map(({ signature }) =>
        unsent.has(signature.UUID)
          ? new PublishError([signature.UUID], e.detail, { cause: e })
          : undefined,
      );
    }
  };
}

export type { DispatchRoute };
