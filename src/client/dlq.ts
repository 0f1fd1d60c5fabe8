/**
 * Dead-letter queues: list, show, redrive, redrive status, purge (see `docs/dead-letters.md` and
 * `docs/design.md §4`).
 *
 * The DLQs, by name:
 *
 * | name | queue (`MACHINERY_…`) | redrives into |
 * | --- | --- | --- |
 * | `task` | `DLQ_URL` (FIFO) | the task queue |
 * | `high` | `HIGH_DLQ_URL` (FIFO) | the high-priority task queue |
 * | `delay` | `DELAY_DLQ_URL` | the delay queue |
 * | `scheduler` | `SCHEDULER_DLQ_URL` | the delay queue (where the Scheduler delivers) |
 *
 * - **Listing is a receive.** SQS has no peek: listing receives the messages, holds them while it
 *   reads, then releases them all at once (visibility 0). Each listing adds one to every listed
 *   message's receive count. On a FIFO DLQ a message waits behind the in-flight messages of its
 *   group, so a listing shows each group's first messages.
 * - **Reasons** come from the message's `machinery.*` attributes, else from the failure ledger's
 *   note `dlq#<MessageDeduplicationId>` (copies too large for attributes), else the message was
 *   moved by SQS's redrive policy (`movedBySqs`, no reason). Scheduler DLQ messages carry the
 *   Scheduler's `ERROR_CODE` / `ERROR_MESSAGE`.
 * - **Redrive** of a whole task (or high) or delay DLQ uses a message move task (`StartMessageMoveTask` with
 *   `DestinationArn`: explicitly dead-lettered messages have no source queue), one per queue at a
 *   time, at most 500 messages/s. The Scheduler DLQ (no queue's DLQ), selected messages, and
 *   endpoints without the API go through a receive → send → delete loop. Either way a redriven
 *   FIFO message joins the tail of its message group: its old place is gone.
 * - **A kill loses nothing.** The loop deletes a DLQ message only after its copy is sent. A copy
 *   to the FIFO task queue has the DLQ message id as `MessageDeduplicationId`, so a second run
 *   within SQS's 5-minute window sends nothing new; every copy carries the attribute
 *   `machinery.redriven-from` (the DLQ message id). A copy sent twice runs once: the worker's claim
 *   never reruns a finished task, and clears the dead-letter mark exactly once (the redrive is one
 *   fresh attempt).
 *
 * IAM: see `src/aws/dlq.ts`, plus `dynamodb:GetItem` on `task_states` (reasons, task states).
 *
 * @module
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type AdapterOptions, createAdapters } from '../aws/adapters.js';
import { type MessageCopy, type MoveTask, type ReceivedMessage, SqsQueue } from '../aws/dlq.js';
import { ConfigError, MoveTasksUnsupportedError } from '../aws/errors.js';
import { DynamoDbFailureLedger } from '../aws/ledger.js';
import type { MachineryConfig } from '../aws/settings.js';
import { messageBytes } from '../aws/sqs-broker.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { FailureLedger } from '../core/ledger.js';
import type { ResultBackend, TaskRecord } from '../core/ports.js';
import { DEFAULTS, ENV } from '../core/resources.js';
import { RedriveError } from './errors.js';

export type { MoveTask } from '../aws/dlq.js';

/**
 * The name of a dead-letter queue.
 *
 * @example
 * ```ts
 * const q: DlqName = 'task';
 * ```
 */
export type DlqName = 'task' | 'high' | 'delay' | 'scheduler';

/** Every DLQ name, in the order `show` searches them. */
export const DLQ_NAMES: readonly DlqName[] = ['task', 'high', 'delay', 'scheduler'];

/** The attribute naming the DLQ message a redriven copy came from. */
export const REDRIVEN_FROM_ATTRIBUTE = 'machinery.redriven-from';

/** Message attributes a redriven copy keeps (the trace context); reasons are left behind. */
const KEPT_ATTRIBUTES = ['traceparent', 'tracestate'];

/** How long a listing holds the messages it received (released at its end), seconds. */
const LIST_HOLD_SECONDS = 60;

/**
 * How long the redrive loop holds a received batch while it sends the copies and deletes the
 * originals, seconds: a run killed half-way leaves at most one batch hidden this long.
 */
export const REDRIVE_HOLD_SECONDS = 15;

/** Largest `MaxNumberOfMessagesPerSecond` of a message move task. */
export const MAX_MOVE_RATE = 500;

/**
 * One DLQ message as `list` reports it.
 *
 * @example
 * ```ts
 * const e: DlqEntry = { messageId: 'm-1', taskUUID: 'task_1', name: 'add', reason: 'unregistered',
 *   detail: 'task "add" is not registered', receiveCount: 2, deadLetteredAt: '2026-01-01T00:00:00.000Z',
 *   messageGroupId: 'task_1', movedBySqs: false };
 * ```
 */
export interface DlqEntry {
  messageId: string;
  /** `null` when the body names no task (undecodable). */
  taskUUID: string | null;
  /** `null` when the body names no task (undecodable). */
  name: string | null;
  /** `null` for a message SQS moved itself. */
  reason: string | null;
  detail: string | null;
  /** SQS's `ApproximateReceiveCount`, this listing's receive included. */
  receiveCount: number;
  /** ISO 8601, `null` when unknown (a message SQS moved). */
  deadLetteredAt: string | null;
  /** `null` on a standard queue. */
  messageGroupId: string | null;
  /** Moved by the queue's redrive policy (a crash loop the worker did not see): no reason. */
  movedBySqs: boolean;
}

/**
 * What `show` found: the DLQ entry, the message body (and its JSON when it is JSON), and the
 * task's recorded state.
 *
 * @example
 * ```ts
 * const found = await dlqs.show('task_1');
 * console.log(found?.entry.reason, found?.task?.attempt);
 * ```
 */
export interface DlqMessageDetails {
  queue: DlqName;
  entry: DlqEntry;
  body: string;
  /**
   * The body parsed as JSON (machinery's signature; for a delay-queue reference, the signature
   * kept in the task's item), `null` when it is not JSON.
   */
  signature: unknown;
  /** The task's stored state, when the body names a task and one is recorded. */
  task: TaskRecord | null;
}

/**
 * Progress of a redrive.
 *
 * @example
 * ```ts
 * const p: RedriveProgress = { moved: 120, total: 500 };
 * ```
 */
export interface RedriveProgress {
  moved: number;
  /** Messages to move, as far as known (SQS's approximate count), `null` when unknown. */
  total: number | null;
}

/**
 * Options of {@link DeadLetterQueues.redrive}.
 *
 * @example
 * ```ts
 * const o: RedriveOptions = { queue: 'task', uuids: ['task_1'], maxPerSecond: 50 };
 * ```
 */
export interface RedriveOptions {
  /** @default 'task' */
  queue?: DlqName;
  /** Only the messages of these tasks (by the loop). @default every message */
  uuids?: readonly string[];
  /** Messages per second, 1 to 500. @default SQS's own pace (move task), unthrottled (loop) */
  maxPerSecond?: number;
  /** `move-task` when the API answers, else the loop; `loop` forces the loop. @default 'auto' */
  method?: 'auto' | 'loop';
  /** Called after each batch (loop) or status poll (move task). */
  onProgress?: (progress: RedriveProgress) => void;
  /** How often a move task's status is read, ms. @default 1000 */
  pollMs?: number;
}

/**
 * What a redrive did.
 *
 * - `move-task`: SQS moved `moved` messages (`status` the task's final status).
 * - `loop`: `moved` messages were copied back and deleted; `notFound` lists the `uuids` asked for
 *   that were not in the DLQ; `fallback` says why the move task was not used (the API is missing).
 *
 * @example
 * ```ts
 * const r: RedriveResult = { method: 'loop', queue: 'task', moved: 3, notFound: [], fallback: null };
 * ```
 */
export type RedriveResult =
  | { method: 'move-task'; queue: DlqName; moved: number; status: string; taskHandle: string }
  | {
      method: 'loop';
      queue: DlqName;
      moved: number;
      notFound: string[];
      fallback: string | null;
    };

/**
 * What `redriveStatus` found: the queue's running and recent move tasks, or that the endpoint has
 * no move-task API.
 *
 * @example
 * ```ts
 * const s: RedriveStatus = { queue: 'task', supported: false, tasks: [] };
 * ```
 */
export interface RedriveStatus {
  queue: DlqName;
  supported: boolean;
  tasks: MoveTask[];
}

/**
 * What {@link DeadLetterQueues} needs.
 *
 * @example
 * ```ts
 * const deps: DeadLetterQueuesDeps = { sqs, settings, backend, ledger };
 * ```
 */
export interface DeadLetterQueuesDeps {
  sqs: SQSClient;
  /** The queue URLs (`dlqUrl`, `delayDlqUrl`, `schedulerDlqUrl`, `taskQueueUrl`, `delayQueueUrl`). */
  settings: Partial<MachineryConfig>;
  /** Task states (for `show`). */
  backend: ResultBackend;
  /** Reason notes of copies without attributes. @default none: such copies list without a reason */
  ledger?: FailureLedger;
  /** @default systemClock */
  clock?: Clock;
}

const QUEUE_SETTINGS: Record<
  DlqName,
  { dlq: keyof MachineryConfig; target: keyof MachineryConfig }
> = {
  task: { dlq: 'dlqUrl', target: 'taskQueueUrl' },
  high: { dlq: 'highDlqUrl', target: 'highTaskQueueUrl' },
  delay: { dlq: 'delayDlqUrl', target: 'delayQueueUrl' },
  scheduler: { dlq: 'schedulerDlqUrl', target: 'delayQueueUrl' },
};

/**
 * Whether a string names a DLQ.
 *
 * @example
 * ```ts
 * isDlqName('delay'); // true
 * ```
 */
export function isDlqName(value: string): value is DlqName {
  return (DLQ_NAMES as readonly string[]).includes(value);
}

/**
 * The task UUID and name a message body names, read leniently (an invalid signature still names
 * its task): a signature's `UUID` / `Name`, a delay reference's UUID, the first template of a
 * periodic firing (no UUID: each firing derives its own). `null`s for a body that is not a JSON
 * object.
 *
 * @example
 * ```ts
 * bodyTask('{"UUID":"task_1","Name":"add"}'); // { uuid: 'task_1', name: 'add' }
 * bodyTask('not json'); // { uuid: null, name: null }
 * ```
 */
export function bodyTask(body: string): { uuid: string | null; name: string | null } {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { uuid: null, name: null };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { uuid: null, name: null };
  }
  const o = doc as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  if (typeof o['machinery.ref'] === 'string') return { uuid: o['machinery.ref'], name: null };
  const periodic = o['machinery.periodic'] as { signatures?: unknown } | undefined;
  if (
    periodic &&
    Array.isArray(periodic.signatures) &&
    typeof periodic.signatures[0] === 'string'
  ) {
    return { uuid: null, name: bodyTask(periodic.signatures[0]).name };
  }
  return { uuid: text(o.UUID), name: text(o.Name) };
}

function isReference(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && 'machinery.ref' in doc;
}

/**
 * The dead-letter queues of one deployment. Build it with {@link createDeadLetterQueues}, or from
 * parts.
 *
 * @example
 * ```ts
 * const dlqs = createDeadLetterQueues({ source: fromLocalEnv() });
 * for (const e of await dlqs.list({ queue: 'task' })) console.log(e.taskUUID, e.reason);
 * await dlqs.redrive({ queue: 'task' });
 * dlqs.close();
 * ```
 */
export class DeadLetterQueues {
  readonly #sqs: SQSClient;
  readonly #settings: Partial<MachineryConfig>;
  readonly #backend: ResultBackend;
  readonly #ledger: FailureLedger | undefined;
  readonly #clock: Clock;
  #close: () => void = () => {};

  constructor(deps: DeadLetterQueuesDeps) {
    this.#sqs = deps.sqs;
    this.#settings = deps.settings;
    this.#backend = deps.backend;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock ?? systemClock;
  }

  /** @internal Set by {@link createDeadLetterQueues}: releases the clients it built. */
  onClose(close: () => void): this {
    this.#close = close;
    return this;
  }

  /** Releases the SDK clients built for this object (none when built from parts). */
  close(): void {
    this.#close();
  }

  /** The DLQs configured (their URL is set), in the order of {@link DLQ_NAMES}. */
  configured(): DlqName[] {
    return DLQ_NAMES.filter((n) => this.#settings[QUEUE_SETTINGS[n].dlq] !== undefined);
  }

  #queue(name: DlqName, role: 'dlq' | 'target'): SqsQueue {
    const key = QUEUE_SETTINGS[name][role];
    const url = this.#settings[key];
    if (url === undefined) {
      const variable = ENV[key];
      throw new ConfigError(
        `the ${name} DLQ ${role === 'dlq' ? '' : 'redrive target '}needs ${variable}, which is not set`,
        { variables: [variable] },
      );
    }
    return new SqsQueue(this.#sqs, url);
  }

  /**
   * Receives up to `limit` messages of a DLQ, holding them, then releases them all at once. Stops
   * early when `found` says so.
   */
  async #scan(
    dlq: SqsQueue,
    limit: number,
    found: (m: ReceivedMessage) => boolean = () => false,
  ): Promise<ReceivedMessage[]> {
    const held: ReceivedMessage[] = [];
    const seen = new Set<string>();
    try {
      scan: while (seen.size < limit) {
        const got = await dlq.receive({
          max: limit - seen.size,
          visibilityTimeoutSeconds: LIST_HOLD_SECONDS,
        });
        if (got.length === 0) break;
        held.push(...got);
        for (const m of got) {
          seen.add(m.messageId);
          if (found(m)) break scan;
        }
      }
    } finally {
      await dlq.release(held);
    }
    const unique = new Map(held.map((m) => [m.messageId, m]));
    return [...unique.values()];
  }

  async #entry(queue: DlqName, m: ReceivedMessage): Promise<DlqEntry> {
    const attr = (k: string) => m.messageAttributes[k]?.StringValue;
    const task = bodyTask(m.body);
    const sent = m.attributes.SentTimestamp;
    const sentAt = sent === undefined ? null : new Date(Number(sent)).toISOString();
    const base = {
      messageId: m.messageId,
      taskUUID: task.uuid ?? attr('machinery.task-uuid') ?? null,
      name: task.name,
      receiveCount: Number(m.attributes.ApproximateReceiveCount ?? 0),
      messageGroupId: m.attributes.MessageGroupId ?? null,
    };
    const reason = attr('machinery.reason');
    if (reason !== undefined) {
      return {
        ...base,
        reason,
        detail: attr('machinery.detail') ?? null,
        deadLetteredAt: attr('machinery.dead-lettered-at') ?? sentAt,
        movedBySqs: false,
      };
    }
    const errorCode = attr('ERROR_CODE');
    if (queue === 'scheduler') {
      // The Scheduler's own dead-letter attributes; SQS never moves messages into this queue.
      return {
        ...base,
        reason: errorCode ?? null,
        detail: attr('ERROR_MESSAGE') ?? null,
        deadLetteredAt: sentAt,
        movedBySqs: false,
      };
    }
    const dedup = m.attributes.MessageDeduplicationId;
    if (dedup !== undefined && this.#ledger !== undefined) {
      const note = await this.#ledger.getDeadLetterNote(dedup, { now: this.#clock.now() });
      if (note !== undefined && note.bodyMd5 === m.md5OfBody) {
        return {
          ...base,
          taskUUID: base.taskUUID ?? note.taskUuid,
          reason: note.reason,
          detail: note.detail,
          deadLetteredAt: new Date(note.deadLetteredAt).toISOString(),
          movedBySqs: false,
        };
      }
    }
    return { ...base, reason: null, detail: null, deadLetteredAt: null, movedBySqs: true };
  }

  /**
   * Lists up to `limit` messages of a DLQ with their reasons, leaving them in the queue. A listing
   * is a receive: every listed message's receive count goes up by one.
   *
   * @example
   * ```ts
   * const entries = await dlqs.list({ queue: 'task', limit: 50 });
   * ```
   */
  async list(options: { queue?: DlqName; limit?: number } = {}): Promise<DlqEntry[]> {
    const queue = options.queue ?? 'task';
    const messages = await this.#scan(this.#queue(queue, 'dlq'), options.limit ?? 50);
    return Promise.all(messages.map((m) => this.#entry(queue, m)));
  }

  /**
   * Finds one DLQ message by its message id or its task UUID (in `queue`, else in every
   * configured DLQ, receiving at most `limit` messages of each) and reads its task's state;
   * `undefined` when not found. The message stays in the DLQ.
   *
   * @example
   * ```ts
   * const found = await dlqs.show('task_1');
   * if (found) console.log(found.entry.reason, found.signature);
   * ```
   */
  async show(
    id: string,
    options: { queue?: DlqName; limit?: number } = {},
  ): Promise<DlqMessageDetails | undefined> {
    const queues = options.queue ? [options.queue] : this.configured();
    const matches = (m: ReceivedMessage) =>
      m.messageId === id ||
      bodyTask(m.body).uuid === id ||
      m.messageAttributes['machinery.task-uuid']?.StringValue === id;
    for (const queue of queues) {
      const held = await this.#scan(this.#queue(queue, 'dlq'), options.limit ?? 1000, matches);
      const m = held.find(matches);
      if (m === undefined) continue;
      const entry = await this.#entry(queue, m);
      let signature: unknown = null;
      try {
        signature = JSON.parse(m.body);
      } catch {
        signature = null;
      }
      const task =
        entry.taskUUID === null
          ? undefined
          : await this.#backend.get(entry.taskUUID, { now: this.#clock.now() });
      // A delay-queue reference stands for the signature kept in the task's item.
      if (isReference(signature) && task?.body) signature = JSON.parse(task.body);
      return { queue, entry, body: m.body, signature, task: task ?? null };
    }
    return undefined;
  }

  /**
   * Sends a DLQ's messages back to where they run (see the module documentation): a message move
   * task for a whole task or delay DLQ where the API answers, else the receive → send → delete
   * loop. Rejects with {@link RedriveError} `MOVE_TASK_RUNNING` when a move task already runs on
   * the queue.
   *
   * @example
   * ```ts
   * const r = await dlqs.redrive({ queue: 'task', onProgress: (p) => console.error(p.moved) });
   * console.log(r.method, r.moved);
   * ```
   */
  async redrive(options: RedriveOptions = {}): Promise<RedriveResult> {
    const queue = options.queue ?? 'task';
    const rate = options.maxPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > MAX_MOVE_RATE)) {
      throw new RangeError(
        `maxPerSecond must be a whole number from 1 to ${MAX_MOVE_RATE}, got ${rate}`,
      );
    }
    const dlq = this.#queue(queue, 'dlq');
    const target = this.#queue(queue, 'target');
    let fallback: string | null = null;
    if (options.uuids === undefined && queue !== 'scheduler' && options.method !== 'loop') {
      try {
        return await this.#moveTask(queue, dlq, target, options);
      } catch (e) {
        if (!(e instanceof MoveTasksUnsupportedError)) throw e;
        fallback = e.message;
      }
    }
    return { ...(await this.#loop(queue, dlq, target, options)), fallback };
  }

  async #moveTask(
    queue: DlqName,
    dlq: SqsQueue,
    target: SqsQueue,
    options: RedriveOptions,
  ): Promise<RedriveResult> {
    const running = (await dlq.listMoveTasks()).find((t) => t.status === 'RUNNING');
    if (running !== undefined) {
      throw new RedriveError(
        'MOVE_TASK_RUNNING',
        `a message move task is already running on the ${queue} DLQ (${running.moved} moved so far); one runs per queue at a time: wait for it (machinery dlq redrive-status)`,
      );
    }
    const total = await dlq.approximateCount();
    const taskHandle = await dlq.startMoveTask({
      destinationArn: await target.arn(),
      ...(options.maxPerSecond === undefined ? {} : { maxPerSecond: options.maxPerSecond }),
    });
    options.onProgress?.({ moved: 0, total });
    for (;;) {
      const tasks = await dlq.listMoveTasks();
      // The newest task comes first; a finished task no longer shows its handle.
      const task = tasks.find((t) => t.taskHandle === taskHandle) ?? tasks[0];
      if (task === undefined)
        return { method: 'move-task', queue, moved: 0, status: 'UNKNOWN', taskHandle };
      options.onProgress?.({ moved: task.moved, total: task.toMove ?? total });
      if (task.status !== 'RUNNING') {
        if (task.status === 'FAILED') {
          throw new RedriveError(
            'MOVE_TASK_FAILED',
            `the message move task of the ${queue} DLQ failed after moving ${task.moved} message(s): ${task.failureReason ?? 'no reason given'}`,
          );
        }
        return { method: 'move-task', queue, moved: task.moved, status: task.status, taskHandle };
      }
      await this.#clock.sleep(options.pollMs ?? 1000);
    }
  }

  #copy(m: ReceivedMessage, fifo: boolean): MessageCopy {
    let attributes: MessageCopy['attributes'] = {
      [REDRIVEN_FROM_ATTRIBUTE]: { DataType: 'String', StringValue: m.messageId },
    };
    for (const k of KEPT_ATTRIBUTES) {
      const v = m.messageAttributes[k];
      if (v !== undefined) attributes[k] = v;
    }
    // A body near 1 MiB goes bare, as the worker sent it to the DLQ.
    if (messageBytes(m.body, attributes) > DEFAULTS.maxMessageBytes) attributes = {};
    if (!fifo) return { id: m.messageId, body: m.body, attributes };
    return {
      id: m.messageId,
      body: m.body,
      attributes,
      groupId: m.attributes.MessageGroupId ?? bodyTask(m.body).uuid ?? m.messageId,
      // The DLQ message id: a copy sent again by a second run is a duplicate SQS drops.
      deduplicationId: m.messageId,
    };
  }

  async #loop(
    queue: DlqName,
    dlq: SqsQueue,
    target: SqsQueue,
    options: RedriveOptions,
  ): Promise<{ method: 'loop'; queue: DlqName; moved: number; notFound: string[] }> {
    const wanted = options.uuids === undefined ? undefined : new Set(options.uuids);
    const total = wanted === undefined ? await dlq.approximateCount() : wanted.size;
    const rate = options.maxPerSecond;
    const started = this.#clock.now();
    const skipped: ReceivedMessage[] = [];
    const unsent: string[] = [];
    const seen = new Set<string>();
    let moved = 0;
    options.onProgress?.({ moved, total });
    try {
      while (wanted === undefined || wanted.size > 0) {
        const got = await dlq.receive({ max: 10, visibilityTimeoutSeconds: REDRIVE_HOLD_SECONDS });
        // Empty, or only messages seen before (skipped ones whose hold ran out): the end.
        if (got.every((m) => seen.has(m.messageId))) {
          skipped.push(...got);
          break;
        }
        for (const m of got) seen.add(m.messageId);
        const chosen: ReceivedMessage[] = [];
        for (const m of got) {
          const uuid =
            bodyTask(m.body).uuid ?? m.messageAttributes['machinery.task-uuid']?.StringValue;
          if (wanted === undefined || (uuid !== undefined && uuid !== null && wanted.has(uuid))) {
            chosen.push(m);
          } else {
            skipped.push(m);
          }
        }
        if (chosen.length === 0) continue;
        if (rate !== undefined) {
          const due = started + ((moved + chosen.length) / rate) * 1000;
          const wait = due - this.#clock.now();
          if (wait > 0) await this.#clock.sleep(wait);
        }
        const { sent, failed } = await target.send(chosen.map((m) => this.#copy(m, target.fifo)));
        const sentIds = new Set(sent);
        const done = chosen.filter((m) => sentIds.has(m.messageId));
        const notDeleted = await dlq.delete(done);
        unsent.push(...failed);
        skipped.push(...chosen.filter((m) => !sentIds.has(m.messageId)));
        moved += done.length - notDeleted.length;
        for (const m of done) {
          const uuid = bodyTask(m.body).uuid;
          if (uuid !== null) wanted?.delete(uuid);
        }
        options.onProgress?.({ moved, total });
      }
    } finally {
      await dlq.release(skipped);
    }
    if (unsent.length > 0) {
      throw new RedriveError(
        'REDRIVE_INCOMPLETE',
        `${unsent.length} message(s) of the ${queue} DLQ could not be sent back and stay there (${unsent.slice(0, 5).join(', ')}${unsent.length > 5 ? ', …' : ''}); ${moved} were redriven. Running the redrive again is safe`,
      );
    }
    return { method: 'loop', queue, moved, notFound: [...(wanted ?? [])] };
  }

  /**
   * The running and recent message move tasks of a DLQ (`ListMessageMoveTasks`), or
   * `supported: false` when the endpoint has no such API (fauxqs, the local stack).
   *
   * @example
   * ```ts
   * const s = await dlqs.redriveStatus({ queue: 'task' });
   * if (!s.supported) console.log('no move tasks on this endpoint');
   * ```
   */
  async redriveStatus(options: { queue?: DlqName } = {}): Promise<RedriveStatus> {
    const queue = options.queue ?? 'task';
    try {
      return { queue, supported: true, tasks: await this.#queue(queue, 'dlq').listMoveTasks() };
    } catch (e) {
      if (e instanceof MoveTasksUnsupportedError) return { queue, supported: false, tasks: [] };
      throw e;
    }
  }

  /**
   * Deletes every message of a DLQ (`PurgeQueue`: SQS allows one purge per queue every 60 s).
   *
   * @example
   * ```ts
   * await dlqs.purge({ queue: 'scheduler' });
   * ```
   */
  async purge(options: { queue?: DlqName } = {}): Promise<void> {
    await this.#queue(options.queue ?? 'task', 'dlq').purge();
  }
}

/**
 * Builds {@link DeadLetterQueues} from a configuration source, like `createClient` (the settings
 * of `MACHINERY_*` and `AWS_*`; the DLQ URLs are checked when a DLQ is used).
 *
 * @example
 * ```ts
 * const dlqs = createDeadLetterQueues({ source: fromLocalEnv() });
 * try { console.log(await dlqs.list()); } finally { dlqs.close(); }
 * ```
 */
export function createDeadLetterQueues(
  options: AdapterOptions & { clock?: Clock } = {},
): DeadLetterQueues {
  const adapters = createAdapters(options);
  const table = adapters.config.taskStatesTable;
  return new DeadLetterQueues({
    sqs: adapters.clients.sqs,
    settings: adapters.config,
    backend: adapters.backend,
    ...(table === undefined
      ? {}
      : {
          ledger: new DynamoDbFailureLedger({
            dynamodb: adapters.clients.dynamodb,
            tableName: table,
          }),
        }),
    ...(options.clock ? { clock: options.clock } : {}),
  }).onClose(() => adapters.destroy());
}
