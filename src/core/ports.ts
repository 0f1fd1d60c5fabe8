/**
 * Ports: the interfaces core needs from the outside world. `src/aws` implements them against
 * SQS, DynamoDB and EventBridge Scheduler; `src/core/memory.ts` implements them in memory for unit
 * tests. One conformance suite (`test/conformance/`) runs against every implementation.
 *
 * @module
 */
import type { DeadLetterReason, Signature, TaskState, TypedValue } from './types.js';

export type { Clock } from './clock.js';

/**
 * The stored state of one task, as a result backend returns it. Times are epoch milliseconds.
 *
 * @example
 * ```ts
 * const rec = await backend.get('task_…');
 * if (rec?.state === 'SUCCESS') console.log(rec.results);
 * ```
 */
export interface TaskRecord {
  uuid: string;
  name: string;
  state: TaskState;
  /** Typed results of a SUCCESS, otherwise `null`. */
  results: TypedValue[] | null;
  /** Error message of the last failure or retry, `'revoked'` for a cancelled task, else `null`. */
  error: string | null;
  createdAt: number;
  updatedAt: number;
  /** Attempts claimed so far (0 before the first claim). */
  attempt: number;
  /** Retries consumed so far (RETRY transitions). */
  retries: number;
  /** Claims that found an expired lease: attempts that crashed. */
  crashes: number;
  /** End of the current attempt's lease while STARTED, else `null`. */
  leaseUntil: number | null;
  /** Set while the task's message sits in the dead-letter queue (cleared by the redrive claim). */
  deadLettered: boolean;
  /** Why it was dead-lettered, when it was. */
  deadLetterReason: DeadLetterReason | null;
  /** When the item expires (the DynamoDB TTL attribute, as epoch ms). Expired items read as absent. */
  expiresAt: number;
  /** The encoded signature when it was stored by reference (a schedule input too large), else `null`. */
  body: string | null;
  /** The task's ETA (epoch ms), stored by `putPending` or the claim that creates the item; absent when it has none. */
  eta?: number;
  /** The `GroupUUID` of a group or chord member, stored like `eta`; absent when not a member. */
  groupUUID?: string;
  /** A member's index in its group (the `machinery.groupIndex` header), stored like `eta`; absent when unknown. */
  groupIndex?: number;
}

/**
 * What a claim found.
 *
 * - `claimed`: this delivery owns a new attempt and must run the task.
 * - `finished`: SUCCESS, or a FAILURE that is not dead-lettered (includes revoked tasks): acknowledge
 *   the message without running.
 * - `leased`: another attempt holds a live lease: return the record as a batch item failure.
 * - `crash-loop`: the claim found an expired lease and the crash count reached the limit: the caller
 *   dead-letters the task (the backend has not written FAILURE yet).
 *
 * @example
 * ```ts
 * const c = await backend.claim(sig, { now, leaseUntil, expiresAt, maxCrashes: 3 });
 * if (c.kind === 'claimed') await run(c.attempt);
 * ```
 */
export type ClaimResult =
  | { kind: 'claimed'; attempt: number; retries: number; crashes: number; redrive: boolean }
  | { kind: 'finished'; record: TaskRecord }
  | { kind: 'leased'; leaseUntil: number }
  | { kind: 'crash-loop'; record: TaskRecord };

/**
 * Stores task state. Every transition is a conditional write; a state never moves backwards
 * except by the redrive claim. Reads that decide anything are strongly consistent.
 *
 * Write budget of a simple successful task in the full lane: `putPending` + `claim` +
 * `markSuccess` = 3 writes (RECEIVED is coalesced into the claim, which writes STARTED: a poller
 * sees PENDING, STARTED and the final state). The lean lane skips `putPending` (2 writes); the
 * idempotent lane makes one `get` and one `settle` (docs/design.md §4 "Lanes").
 *
 * Deliberately left out: group and chord bookkeeping (`GroupBackend`), listing and querying
 * (tasks are looked up by UUID only), and deletion (items expire by TTL).
 *
 * @example
 * ```ts
 * await backend.putPending(sig, { now, expiresAt });
 * const claim = await backend.claim(sig, { now, leaseUntil: now + 90_000, expiresAt, maxCrashes: 3 });
 * if (claim.kind === 'claimed') await backend.markSuccess(sig.UUID, claim.attempt, [], { now, expiresAt });
 * ```
 */
export interface ResultBackend {
  /**
   * Records a new task as PENDING. Condition: the item is absent (or expired). A re-send of a known
   * UUID leaves its state untouched and returns `false`.
   * `body`: the encoded signature, stored when it must travel by reference.
   */
  putPending(
    signature: Signature,
    options: { now: number; expiresAt: number; body?: string },
  ): Promise<boolean>;

  /**
   * Claims a new attempt: writes STARTED with `attempt + 1` and the lease. Allowed when the item is
   * absent (a Go producer writes no PENDING) or expired, PENDING, RECEIVED or RETRY, dead-lettered
   * (the redrive: clears the mark, exactly once), or STARTED with an expired lease (a crash: counts
   * one in `crashes`; at `maxCrashes` it returns `crash-loop` instead of claiming).
   * `expiresAt` only ever extends the item's lifetime.
   */
  claim(
    signature: Signature,
    options: { now: number; leaseUntil: number; expiresAt: number; maxCrashes: number },
  ): Promise<ClaimResult>;

  /**
   * STARTED → SUCCESS with typed results; clears the lease. Condition: the item is STARTED by this
   * `attempt`. Returns `false` (and writes nothing) when the attempt lost its claim.
   */
  markSuccess(
    uuid: string,
    attempt: number,
    results: TypedValue[],
    options: { now: number; expiresAt: number },
  ): Promise<boolean>;

  /**
   * Moves the lease of the running attempt `attempt` to `leaseUntil` (the long-running worker's
   * heartbeat, so a task may run past its first lease). Condition: the item is STARTED by this
   * `attempt` and live; state, TTL and counts are untouched. Returns `false` (and writes nothing)
   * when the attempt lost its claim or the task finished.
   *
   * @example
   * ```ts
   * await backend.extendLease(uuid, attempt, { now, leaseUntil: now + 90_000 });
   * ```
   */
  extendLease(
    uuid: string,
    attempt: number,
    options: { now: number; leaseUntil: number },
  ): Promise<boolean>;

  /**
   * STARTED → RETRY: counts one retry, stores the error, clears the lease. Condition: STARTED by
   * this `attempt`. Returns `false` when the attempt lost its claim.
   */
  markRetry(
    uuid: string,
    attempt: number,
    error: string,
    options: { now: number; expiresAt: number },
  ): Promise<boolean>;

  /**
   * → FAILURE with the error. With `attempt`, the condition is STARTED by that attempt; without
   * (a message that never got a claim: unregistered task, invalid args, receive limit, crash loop,
   * an undecodable delay body), PENDING, RECEIVED, RETRY, STARTED with an expired lease
   * (`leaseUntil <= now`, or none), or an absent or expired item (then created, `name` taken from
   * the signature). Never SUCCESS or FAILURE, and never STARTED with a live lease
   * (`leaseUntil > now`): another attempt is running the task and will write its final state.
   * `deadLetterReason` also marks the task dead-lettered. Returns `false` when the condition
   * failed.
   */
  markFailure(
    signature: Pick<Signature, 'UUID' | 'Name'>,
    error: string,
    options: {
      now: number;
      expiresAt: number;
      attempt?: number;
      deadLetterReason?: DeadLetterReason;
    },
  ): Promise<boolean>;

  /**
   * Cancels a task that has not started: PENDING, RETRY or absent → FAILURE with error `'revoked'`.
   * Returns the state found: `'revoked'` when this call revoked it, else the blocking state.
   */
  revoke(uuid: string, options: { now: number; expiresAt: number }): Promise<'revoked' | TaskState>;

  /**
   * The idempotent lane's one write (docs/design.md §4 "Lanes"): an attempt that holds no claim
   * stores its outcome. `attempt` is the `attempt` of the record read before running (0 when
   * absent); the write stores `attempt + 1`, clears any lease, and: SUCCESS with typed results,
   * RETRY counting one retry, or FAILURE (with `deadLetterReason`, marked dead-lettered; else the
   * mark cleared). Condition `transitionConditions.settle(attempt, now)`: absent (or expired: a
   * fresh item, `name` and record fields from the signature), or live, still at `attempt`, and
   * either not final without a live lease, or dead-lettered (the redrive). Never overwrites SUCCESS
   * or a FAILURE that is not dead-lettered. Returns `false` (and writes nothing) when the condition
   * failed.
   *
   * @example
   * ```ts
   * const rec = await backend.get(sig.UUID, { now });
   * await backend.settle(sig, { state: 'SUCCESS', results }, { now, expiresAt, attempt: rec?.attempt ?? 0 });
   * ```
   */
  settle(
    signature: Signature,
    outcome: Settlement,
    options: { now: number; expiresAt: number; attempt: number },
  ): Promise<boolean>;

  /** Strongly consistent read. `undefined` when absent or expired (TTL passed, not yet deleted). */
  get(uuid: string, options: { now: number }): Promise<TaskRecord | undefined>;
}

/**
 * What {@link ResultBackend.settle} stores.
 *
 * @example
 * ```ts
 * const s: Settlement = { state: 'FAILURE', error: 'boom' };
 * ```
 */
export type Settlement =
  | { state: 'SUCCESS'; results: TypedValue[] }
  | { state: 'RETRY'; error: string }
  | { state: 'FAILURE'; error: string; deadLetterReason?: DeadLetterReason };

/**
 * One message for the task queue.
 *
 * @example
 * ```ts
 * const item: PublishItem = { signature: sig, deduplicationId: `${sig.UUID}-r1` };
 * ```
 */
export interface PublishItem {
  signature: Signature;
  /** FIFO deduplication id. @default signature.UUID */
  deduplicationId?: string;
}

/**
 * Sends signatures. FIFO sends use `MessageGroupId` = `BrokerMessageGroupId`, else the task UUID;
 * `RoutingKey`, when set, names the target queue. Many signatures go in `SendMessageBatch` calls
 * (≤ 10 entries, ≤ 1 MiB); failed entries are retried and never dropped: a send that still fails
 * rejects, naming the signatures not sent.
 *
 * Deliberately left out: receiving, deleting and visibility changes. Those belong to the consumer
 * (the Lambda event source mapping, or the local runner), not to producers or core.
 *
 * @example
 * ```ts
 * await broker.publish([{ signature: sig }]);
 * await broker.publishDelayed([{ signature: later, delaySeconds: 30 }]);
 * ```
 */
export interface Broker {
  /** Sends to the FIFO task queue (or the queue `RoutingKey` names). */
  publish(items: readonly PublishItem[]): Promise<void>;
  /** Sends to the standard delay queue with `DelaySeconds` (0–900); the forwarder moves it on. */
  publishDelayed(
    items: readonly { signature: Signature; delaySeconds: number; body?: string }[],
  ): Promise<void>;
}

/**
 * A recurring schedule (machinery's `RegisterPeriodicTask`).
 *
 * @example
 * ```ts
 * const p: PeriodicSpec = { name: 'nightly-report', expression: 'cron(0 3 * * ? *)', signature: sig };
 * ```
 */
export interface PeriodicSpec {
  /** Schedule name, unique in the schedule group. */
  name: string;
  /** `rate(...)` or `cron(...)`. */
  expression: string;
  /** IANA time zone of a `cron()` expression. @default 'UTC' */
  timezone?: string;
  /** Template of each firing; its UUID is replaced by one derived from the scheduled time. */
  signature: Signature;
  /**
   * What each firing starts (machinery's `RegisterPeriodicTask` / `Chain` / `Group` / `Chord`):
   * one task (`signature`), a chain (`signature` with its `OnSuccess` links), or a group or chord
   * (`members`, each carrying the `GroupUUID` and, for a chord, the `ChordCallback`).
   * @default 'task'
   */
  kind?: 'task' | 'chain' | 'group' | 'chord';
  /** Every member of a group or chord, in order (`signature` is the first). */
  members?: Signature[];
}

/**
 * Delays past what SQS can (ETA more than 15 minutes away) and recurring tasks, through
 * EventBridge Scheduler, whose targets are the delay queue.
 *
 * Deliberately left out: firing precision. Scheduler fires about a minute late at worst, so
 * one-time schedules fire early and the forwarder waits out the rest.
 *
 * @example
 * ```ts
 * await scheduler.scheduleOnce(sig, Date.parse(sig.ETA!) - 60_000);
 * ```
 */
export interface Scheduler {
  /**
   * Creates a one-time `at()` schedule named after the task UUID, firing at `fireAt` (epoch ms) into
   * the delay queue, deleted after completion. `bodyByReference`: the input holds only a reference
   * (the body is in the task's PENDING item). Resolves `true` when it created the schedule, `false`
   * when a schedule of that task already existed and was left as it is (a re-send; or, for the
   * forwarder, the schedule that just fired and is not deleted yet).
   */
  scheduleOnce(
    signature: Signature,
    fireAt: number,
    options?: { bodyByReference?: boolean },
  ): Promise<boolean>;
  /** Deletes the one-time schedule of a task; `false` when there was none. */
  cancelOnce(uuid: string): Promise<boolean>;
  /** Creates or replaces a recurring schedule. */
  putPeriodic(spec: PeriodicSpec): Promise<void>;
  /** Every recurring schedule of the group. */
  listPeriodic(): Promise<PeriodicSpec[]>;
  /** Deletes a recurring schedule; `false` when there was none. */
  deletePeriodic(name: string): Promise<boolean>;
  /** Every one-time schedule of the group (tasks with ETAs more than 15 minutes away), by fire time. */
  listOnce(): Promise<OneTimeSchedule[]>;
}

/**
 * A one-time schedule: a task whose ETA is more than 15 minutes away, waiting in the Scheduler.
 *
 * @example
 * ```ts
 * const s: OneTimeSchedule = { scheduleName: 'once-task_1', uuid: 'task_1', name: 'add',
 *   eta: '2030-01-01T10:00:00Z', fireAt: Date.parse('2030-01-01T09:59:00Z') };
 * ```
 */
export interface OneTimeSchedule {
  /** The schedule's name (`once-<uuid>`, or `once.<hash>` for a UUID that is no schedule name). */
  scheduleName: string;
  /** The task's UUID. */
  uuid: string;
  /** The task's name; `null` when neither the schedule's input nor its description says it. */
  name: string | null;
  /** The task's ETA (RFC 3339); `null` when neither the input nor the description says it. */
  eta: string | null;
  /** When the schedule fires, epoch ms (a minute before the ETA); `null` when unreadable. */
  fireAt: number | null;
}

/**
 * What the consumer knows about one delivery of a message.
 *
 * @example
 * ```ts
 * const d: Delivery = { messageId, receiveCount: 1, firstReceivedAt: Date.now(),
 *   remainingTimeMs: () => 30_000, signal: new AbortController().signal };
 * ```
 */
export interface Delivery {
  messageId: string;
  /** `ApproximateReceiveCount` of the message (1 on the first delivery). */
  receiveCount: number;
  /** `ApproximateFirstReceiveTimestamp`, epoch ms. */
  firstReceivedAt: number;
  /** Time left before the invocation is killed, ms. */
  remainingTimeMs: () => number;
  /** Aborted when the invocation runs out of time. */
  signal: AbortSignal;
}

/**
 * The outcome of processing one message: what the consumer must do with it.
 *
 * | kind | consumer action |
 * | --- | --- |
 * | `done` | delete (acknowledge) |
 * | `duplicate` | delete: the task already finished |
 * | `ignored` | delete: unregistered and `IgnoreWhenTaskNotRegistered`; recorded FAILURE |
 * | `revoked` | delete: the task was cancelled |
 * | `not-due` | send through the delay path for `eta`, then delete |
 * | `retry` | keep in flight for `delayMs` (visibility change), report as a batch item failure |
 * | `busy` | report as a batch item failure: another attempt holds a live lease |
 * | `transient` | report as a batch item failure: no retry consumed |
 * | `dead-letter` | send the body to the DLQ with `reason` / `detail` attributes, then delete |
 *
 * @example
 * ```ts
 * const outcome = await processor.processBody(record.body, delivery);
 * if (outcome.kind === 'retry') await changeVisibility(record, outcome.delayMs);
 * ```
 */
export type ProcessOutcome =
  | { kind: 'done'; uuid: string; state: 'SUCCESS' | 'FAILURE' }
  | { kind: 'duplicate'; uuid: string; state: TaskState }
  | { kind: 'ignored'; uuid: string; reason: string }
  | { kind: 'revoked'; uuid: string }
  | { kind: 'not-due'; uuid: string; eta: number; signature: Signature }
  | { kind: 'retry'; uuid: string; delayMs: number; attempt: number; error: string }
  | { kind: 'busy'; uuid: string; leaseUntil: number }
  | { kind: 'transient'; uuid?: string; error: unknown }
  | { kind: 'dead-letter'; uuid?: string; reason: DeadLetterReason; detail: string };

/**
 * What a producer records for a group or chord when it sends it (`GroupBackend.initGroup`).
 *
 * @example
 * ```ts
 * const init: GroupInit = { groupUUID: group.groupUUID, kind: 'chord', members: group.tasks.map((t) => t.UUID),
 *   callbackUUID: callback.UUID, deadline: Date.now() + 14 * 86_400_000 };
 * ```
 */
export interface GroupInit {
  groupUUID: string;
  kind: 'group' | 'chord';
  /** Member task UUIDs in group order (index `i` is the member with header `machinery.groupIndex` = i). */
  members: readonly string[];
  /** The chord callback's UUID (fixed at build time), `null` for a plain group. */
  callbackUUID: string | null;
  /** When a chord still waiting fails `expired`, epoch ms. */
  deadline: number;
}

/**
 * A group's root record, as `GroupBackend.getGroup` returns it: our fields (`null` when only Go
 * machinery's own item exists under the key) and machinery's (`taskUUIDs`, `triggered`).
 *
 * @example
 * ```ts
 * const rec = await groups.getGroup('group_…', { now });
 * if (rec?.triggered) console.log('callback sent');
 * ```
 */
export interface GroupRecord {
  groupUUID: string;
  /** Our kind, `null` when the item is machinery's alone. */
  kind: 'group' | 'chord' | null;
  /** Member count recorded at send, `null` when unknown. */
  total: number | null;
  callbackUUID: string | null;
  /** Epoch ms, `null` when unknown. */
  deadline: number | null;
  /** machinery's `TaskUUIDs` (Go producers on the DynamoDB backend), `null` when absent. */
  taskUUIDs: string[] | null;
  /** machinery's `ChordTriggered`: the callback was (or is being) sent. */
  triggered: boolean;
  /** Set when the chord failed: the member that failed (`null` for an expired chord) and why. */
  failure: { member: string | null; error: string } | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * One node of a group's completion tree: level 0 holds one slot per member (leaf `⌊i/B⌋`, slot
 * `i mod B`), level `l + 1` one slot per node of level `l` (see `docs/design.md §3`).
 *
 * @example
 * ```ts
 * const leaf: TreeNode = { groupUUID, level: 0, node: Math.floor(i / 100) };
 * ```
 */
export interface TreeNode {
  groupUUID: string;
  level: number;
  node: number;
}

/**
 * Group and chord bookkeeping on the `group_metas` table: storage steps only, each one
 * idempotent and each one conditional where it decides anything. The protocol that composes them
 * (walking the completion tree, triggering the callback, failing the chord) is core's
 * (`src/core/chords.ts`), so it is written once and a crash between any two steps can be tested
 * with a wrapper.
 *
 * Deliberately left out: task state (members' states and results are the `ResultBackend`'s),
 * sending anything (the callback goes through the dispatcher), listing groups (looked up by
 * UUID only) and deletion (items expire by TTL).
 *
 * @example
 * ```ts
 * await groups.initGroup(init, { now, expiresAt });
 * const { count } = await groups.markNode({ groupUUID, level: 0, node: 0 }, 3, { expiresAt });
 * ```
 */
export interface GroupBackend {
  /**
   * Writes the root record (our fields only where absent, so machinery's `TaskUUIDs`,
   * `ChordTriggered`, `Lock`, `CreatedAt` and `TTL` on the same key are kept) and the member pages
   * (`<GroupUUID>#M#<page>`, `GROUP_LIMITS.pageSize` UUIDs each). Idempotent: a re-send writes the
   * same items. Resolves `false` when the root already had our fields.
   */
  initGroup(init: GroupInit, options: { now: number; expiresAt: number }): Promise<boolean>;

  /** The root record (strongly consistent); `undefined` when absent or expired. */
  getGroup(groupUUID: string, options: { now: number }): Promise<GroupRecord | undefined>;

  /** Member UUIDs in group order from the pages `initGroup` wrote (`total` of them). */
  memberUUIDs(groupUUID: string, total: number, options: { now: number }): Promise<string[]>;

  /**
   * Marks `slot` of a tree node done, once: the write that marks it counts it. Resolves the
   * node's count of marked slots after the call and whether this call marked it (`false`: it was
   * already marked, the count is the stored one).
   */
  markNode(
    node: TreeNode,
    slot: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; marked: boolean }>;

  /** The marked slots of every node of `level` that has any, by node index (strongly consistent). */
  readLevel(
    groupUUID: string,
    level: number,
    nodes: number,
    options: { now: number },
  ): Promise<Map<number, Set<number>>>;

  /**
   * Counts a member of a group that has no index (a Go producer with no group record), once, in
   * one transaction: the member's UUID joins its bucket and the group's counter (which records
   * `total`) goes up by one. Resolves the counter after the call and whether this call counted
   * the member.
   */
  countMember(
    groupUUID: string,
    memberUUID: string,
    total: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; counted: boolean }>;

  /**
   * The members `countMember` counted (order unspecified), the counter and the total it was
   * given; `undefined` when nothing was counted.
   */
  countedMembers(
    groupUUID: string,
    options: { now: number },
  ): Promise<{ count: number; total: number; members: string[] } | undefined>;

  /**
   * Sets machinery's `ChordTriggered` unless the chord failed. Resolves `triggered` when this call
   * set it, `already-triggered` when it was set, `failed` when the chord failed first. Creates the
   * root when absent (a Go group with no record).
   */
  trigger(
    groupUUID: string,
    options: { now: number; expiresAt: number },
  ): Promise<'triggered' | 'already-triggered' | 'failed'>;

  /**
   * Records the chord failed (`member`: the failed member, `null` when it expired) unless it was
   * triggered. Resolves `failed` when this call recorded it, `already-failed` when a failure was
   * recorded before (the first one is kept), `triggered` when the callback was triggered first.
   */
  fail(
    groupUUID: string,
    failure: { member: string | null; error: string },
    options: { now: number; expiresAt: number },
  ): Promise<'failed' | 'already-failed' | 'triggered'>;
}
