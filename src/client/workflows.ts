/**
 * Workflows from the producer's side: sending machinery's chains, groups and chords, and handles
 * that report their progress and wait for their result (`docs/design.md §4`, groups and chords).
 *
 * - **Chain** (machinery's `SendChain`): the first step is sent carrying the rest as nested
 *   `OnSuccess` callbacks; each step runs after the previous one succeeded. The handle's result is
 *   the last step's.
 * - **Group** (`SendGroup`): the group record is written first (`GroupBackend.initGroup`: member
 *   order, kind), then the members are sent in `SendMessageBatch` calls of up to 10, at most
 *   `sendConcurrency` at once. `concurrency` K spreads the members over K FIFO message groups
 *   `<GroupUUID>#<i mod K>`, so at most K run at once. The handle's result is every member's
 *   results, in group order.
 * - **Chord** (`SendChord`): a group whose members carry the callback; the worker sends the
 *   callback exactly once when every member succeeded. A deadline signature is sent with it (ETA:
 *   the deadline, by default the DLQ retention away) that fails a chord still waiting `expired`.
 *   The handle's result is the callback's.
 *
 * Every check (fields, sizes, ETAs) runs on every signature before anything is written. `get()`
 * rejects with `WorkflowFailedError` naming the step or member that failed for good (FAILURE
 * without a dead-letter mark); a dead-lettered step or member is waited for, since its redrive
 * continues the workflow (`state().waitingOn` names it).
 *
 * @module
 */
import { splitIntoBatches } from '../aws/sqs-broker.js';
import { messageBytes } from '../core/bounds.js';
import { type GroupProgress, readGroup } from '../core/chords.js';
import type { Clock } from '../core/clock.js';
import { forEachConcurrently } from '../core/concurrency.js';
import { type DispatchDeps, dispatch } from '../core/dispatch.js';
import type { GroupBackend, ResultBackend, TaskRecord } from '../core/ports.js';
import { DEFAULTS } from '../core/resources.js';
import { etaToMillis } from '../core/time.js';
import type { ArgValue, Signature, TypedValue } from '../core/types.js';
import {
  type Chain,
  type Chord,
  chordDeadlineSignature,
  DEFAULT_CHORD_DEADLINE_MS,
  type Group,
  newChain,
  newChord,
  newGroup,
} from '../core/workflow.js';
import type { GetOptions } from './async-result.js';
import { InvalidWorkflowError, ResultTimeoutError, WorkflowFailedError } from './errors.js';

/**
 * `SendMessageBatch` calls in flight at once for one group, unless asked otherwise.
 *
 * @example
 * ```ts
 * await client.sendGroup(members, { sendConcurrency: DEFAULT_SEND_CONCURRENCY * 2 });
 * ```
 */
export const DEFAULT_SEND_CONCURRENCY = 8;

/**
 * Options of `sendGroup` (machinery's `SendGroup(group, sendConcurrency)` plus `concurrency`).
 *
 * @example
 * ```ts
 * await client.sendGroup(signatures, { sendConcurrency: 4, concurrency: 10 });
 * ```
 */
export interface GroupSendOptions {
  /**
   * Most `SendMessageBatch` calls (10 members each at most) in flight at once; `0` takes the
   * default. @default DEFAULT_SEND_CONCURRENCY (8)
   */
  sendConcurrency?: number;
  /**
   * Most members running at once: members without their own `BrokerMessageGroupId` are spread
   * over K FIFO message groups `<GroupUUID>#<i mod K>`. Only for a list of signatures (a built
   * `Group` already carries its message groups). @default unbounded (each member its own message group)
   */
  concurrency?: number;
}

/**
 * Options of `sendChord`.
 *
 * @example
 * ```ts
 * await client.sendChord(members, callback, { deadlineMs: 3_600_000 });
 * ```
 */
export interface ChordSendOptions extends GroupSendOptions {
  /**
   * How long the chord may wait for its members, ms: past it, a chord still waiting (a member
   * dead-lettered and never redriven) fails `expired`. More than 15 minutes needs EventBridge
   * Scheduler (the deadline is a one-time schedule). @default DEFAULT_CHORD_DEADLINE_MS (the DLQ retention, 14 days)
   */
  deadlineMs?: number;
}

/**
 * Progress of a workflow, as `state()` reports it and `machinery status --json` prints it: a
 * group's or chord's (`GroupProgress` of core's `readGroup`), or a chain's in the same shape
 * (`total` steps, `succeeded` steps, `failed` the step that failed, `waitingOn` the step the chain
 * waits on, `callback` `null`).
 *
 * @example
 * ```ts
 * const p = await handle.state();
 * console.log(`${p.kind} ${p.uuid}: ${p.succeeded} of ${p.total} done, ${p.state}`);
 * ```
 */
export type WorkflowProgress = GroupProgress | (Omit<GroupProgress, 'kind'> & { kind: 'chain' });

/**
 * What the workflow functions work with: the client's adapters.
 *
 * @example
 * ```ts
 * const deps: WorkflowDeps = { backend, broker, clock, groups, checkSchedulable: () => {} };
 * ```
 */
export interface WorkflowDeps extends DispatchDeps {
  /** Group and chord records; `undefined` when no group table is configured. */
  groups: GroupBackend | undefined;
  /** Refuses (throws) signatures whose ETA needs a scheduler that is not configured. */
  checkSchedulable(signatures: readonly Signature[]): void;
}

/** Polls `step` until it resolves a value or throws; `ResultTimeoutError` after `timeoutMs`. */
async function poll<T>(
  uuid: string,
  clock: Clock,
  options: GetOptions,
  step: () => Promise<{ done: true; value: T } | { done: false; state: string }>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = Math.max(1, options.pollMs ?? 100);
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const r = await step();
    if (r.done) return r.value;
    const left = deadline - clock.now();
    if (left <= 0) throw new ResultTimeoutError(uuid, timeoutMs, r.state);
    await clock.sleep(Math.min(pollMs, left), options.signal);
  }
}

function values(results: readonly TypedValue[]): ArgValue[] {
  return results.map((r) => r.Value);
}

/** The progress text of a pending workflow, for a timeout's `lastState`. */
function progressText(p: WorkflowProgress): string {
  const waiting =
    p.waitingOn === null || p.waitingOn.length === 0
      ? ''
      : `, waiting on ${p.waitingOn.slice(0, 5).join(', ')}${p.waitingOn.length > 5 ? ', …' : ''}`;
  return `${p.state}, ${p.succeeded} of ${p.total} done${waiting}`;
}

/** Whether a task record is a failure for good (FAILURE without a dead-letter mark). */
function failedForGood(r: TaskRecord | undefined): boolean {
  return r?.state === 'FAILURE' && !r.deadLettered;
}

/**
 * A handle on a chain sent by `sendChain`: its `uuid` is the last step's task UUID.
 *
 * @example
 * ```ts
 * const chain = await client.sendChain([add22, add56, multiply4]);
 * const [product] = await chain.get({ timeoutMs: 30_000 }); // 60
 * ```
 */
export class ChainResult {
  readonly kind = 'chain' as const;
  /** The last step's task UUID (its result is the chain's). */
  readonly uuid: string;
  /** Every step's task UUID, in order. */
  readonly steps: readonly string[];
  readonly #backend: ResultBackend;
  readonly #clock: Clock;

  constructor(steps: readonly string[], deps: { backend: ResultBackend; clock: Clock }) {
    if (steps.length === 0) throw new InvalidWorkflowError('a chain has at least one step');
    this.steps = [...steps];
    this.uuid = steps[steps.length - 1] as string;
    this.#backend = deps.backend;
    this.#clock = deps.clock;
  }

  #failed(i: number, rec: TaskRecord): WorkflowFailedError {
    return new WorkflowFailedError({
      uuid: this.uuid,
      kind: 'chain',
      failedUUID: rec.uuid,
      index: i,
      what: `step ${i + 1} of ${this.steps.length} (${rec.name})`,
      taskError: rec.error ?? 'unknown error',
    });
  }

  /**
   * The chain's progress: steps read in order up to the first one not done (at most one read per
   * step).
   *
   * @example
   * ```ts
   * const { succeeded, total, waitingOn } = await chain.state();
   * ```
   */
  async state(): Promise<WorkflowProgress> {
    const now = this.#clock.now();
    let succeeded = 0;
    let current: TaskRecord | undefined;
    for (const uuid of this.steps) {
      current = await this.#backend.get(uuid, { now });
      if (current?.state !== 'SUCCESS') break;
      succeeded++;
    }
    const total = this.steps.length;
    const failed = failedForGood(current);
    const base = { uuid: this.uuid, kind: 'chain' as const, total, succeeded, callback: null };
    if (succeeded === total) {
      return { ...base, failed: [], waitingOn: [], state: 'SUCCESS', error: null };
    }
    const step = this.steps[succeeded] as string;
    if (failed) {
      return {
        ...base,
        failed: [step],
        waitingOn: [],
        state: 'FAILURE',
        error: this.#failed(succeeded, current as TaskRecord).message,
      };
    }
    const started = succeeded > 0 || (current !== undefined && current.state !== 'PENDING');
    return {
      ...base,
      failed: [],
      waitingOn: [step],
      state: started ? 'STARTED' : 'PENDING',
      error: null,
    };
  }

  /**
   * Waits for the last step and resolves with its typed results. Rejects with
   * `WorkflowFailedError` naming the step that failed (later steps never run), and with
   * `ResultTimeoutError` after `timeoutMs`. One read per poll.
   *
   * @example
   * ```ts
   * const [last] = await chain.getTyped(); // { Type: 'int64', Value: 60 }
   * ```
   */
  getTyped(options: GetOptions = {}): Promise<TypedValue[]> {
    let i = 0;
    return poll(this.uuid, this.#clock, options, async () => {
      for (;;) {
        const uuid = this.steps[i] as string;
        const rec = await this.#backend.get(uuid, { now: this.#clock.now() });
        if (rec !== undefined && failedForGood(rec)) throw this.#failed(i, rec);
        if (rec?.state !== 'SUCCESS') {
          return {
            done: false,
            state: `step ${i + 1} of ${this.steps.length} ${rec?.state ?? 'not sent yet'}`,
          };
        }
        if (i === this.steps.length - 1) return { done: true, value: rec.results ?? [] };
        i++;
      }
    });
  }

  /**
   * {@link ChainResult.getTyped} as plain values.
   *
   * @example
   * ```ts
   * const [product] = await chain.get(); // 60
   * ```
   */
  async get(options: GetOptions = {}): Promise<ArgValue[]> {
    return values(await this.getTyped(options));
  }
}

/** What a group or chord handle reads. */
interface GroupHandleDeps {
  backend: ResultBackend;
  groups: GroupBackend;
  clock: Clock;
}

/**
 * What group and chord handles share: the `GroupUUID`, the members, and the progress read.
 *
 * @example
 * ```ts
 * const handle: GroupHandle = await client.sendGroup(signatures);
 * console.log((await handle.state()).succeeded);
 * ```
 */
export abstract class GroupHandle {
  abstract readonly kind: 'group' | 'chord';
  /** The `GroupUUID`. */
  readonly uuid: string;
  /** Every member's task UUID, in group order. */
  readonly members: readonly string[];
  protected readonly deps: GroupHandleDeps;

  constructor(uuid: string, members: readonly string[], deps: GroupHandleDeps) {
    this.uuid = uuid;
    this.members = [...members];
    this.deps = deps;
  }

  /**
   * The progress from the group record and the members not done (core's `readGroup`).
   *
   * @example
   * ```ts
   * const { succeeded, total, failed, waitingOn } = await handle.state();
   * ```
   */
  async state(): Promise<WorkflowProgress> {
    const progress = await readWorkflowProgress(this.uuid, this.deps);
    if (progress !== undefined) return progress;
    // No record (expired): what the handle knows.
    return {
      uuid: this.uuid,
      kind: this.kind,
      total: this.members.length,
      succeeded: 0,
      failed: [],
      waitingOn: null,
      state: 'PENDING',
      error: null,
      callback: null,
    };
  }

  /** The error of a progress that ended in FAILURE, naming the member that failed. */
  protected failure(p: WorkflowProgress): WorkflowFailedError {
    const member = p.failed[0] ?? null;
    const index = member === null ? -1 : this.members.indexOf(member);
    return new WorkflowFailedError({
      uuid: this.uuid,
      kind: this.kind,
      failedUUID: member,
      index: index < 0 ? null : index,
      what: index < 0 ? 'a member' : `member ${index} of ${this.members.length}`,
      taskError: p.error ?? 'unknown error',
    });
  }

  /** Polls the progress until SUCCESS; rejects on FAILURE or at the timeout. */
  protected waitForSuccess(options: GetOptions): Promise<WorkflowProgress> {
    return poll(this.uuid, this.deps.clock, options, async () => {
      const p = await this.state();
      if (p.state === 'FAILURE') throw this.failure(p);
      return p.state === 'SUCCESS'
        ? { done: true, value: p }
        : { done: false, state: progressText(p) };
    });
  }
}

/**
 * A handle on a group sent by `sendGroup`: its `uuid` is the `GroupUUID`.
 *
 * @example
 * ```ts
 * const group = await client.sendGroup([add11, add22, add56]);
 * await group.get(); // [[2], [4], [11]]
 * ```
 */
export class GroupResult extends GroupHandle {
  readonly kind = 'group' as const;

  /**
   * Waits for every member and resolves with their typed results, in group order. Rejects with
   * `WorkflowFailedError` naming a member that failed for good, and with `ResultTimeoutError`
   * after `timeoutMs`.
   *
   * @example
   * ```ts
   * const results = await group.getTyped(); // [[{ Type: 'int64', Value: 2 }], …]
   * ```
   */
  async getTyped(options: GetOptions = {}): Promise<TypedValue[][]> {
    await this.waitForSuccess(options);
    const now = this.deps.clock.now();
    const out: TypedValue[][] = new Array(this.members.length);
    await forEachConcurrently(this.members, 16, async (uuid, i) => {
      const rec = await this.deps.backend.get(uuid, { now });
      out[i] = rec?.results ?? [];
    });
    return out;
  }

  /**
   * {@link GroupResult.getTyped} as plain values: one array per member, in group order.
   *
   * @example
   * ```ts
   * await group.get(); // [[2], [4], [11]]
   * ```
   */
  async get(options: GetOptions = {}): Promise<ArgValue[][]> {
    return (await this.getTyped(options)).map(values);
  }
}

/**
 * A handle on a chord sent by `sendChord`: its `uuid` is the `GroupUUID`, `callbackUUID` the
 * callback's task UUID.
 *
 * @example
 * ```ts
 * const chord = await client.sendChord([add11, add22, add56], multiply);
 * const [product] = await chord.get(); // 88
 * ```
 */
export class ChordResult extends GroupHandle {
  readonly kind = 'chord' as const;
  /** The callback's task UUID. */
  readonly callbackUUID: string;

  constructor(
    uuid: string,
    members: readonly string[],
    callbackUUID: string,
    deps: GroupHandleDeps,
  ) {
    super(uuid, members, deps);
    this.callbackUUID = callbackUUID;
  }

  /** The failure of a chord: the member that failed it, else the callback, else none (expired). */
  protected override failure(p: WorkflowProgress): WorkflowFailedError {
    if (p.failed.length > 0 || p.callback?.state !== 'FAILURE') return super.failure(p);
    return new WorkflowFailedError({
      uuid: this.uuid,
      kind: 'chord',
      failedUUID: this.callbackUUID,
      index: null,
      what: 'the callback',
      taskError: p.error ?? 'unknown error',
    });
  }

  /**
   * Waits for the callback and resolves with its typed results. Rejects with
   * `WorkflowFailedError` naming the member that failed the chord (or the callback; none for an
   * expired chord), and with `ResultTimeoutError` after `timeoutMs` (its `lastState` names what
   * the chord waits on).
   *
   * @example
   * ```ts
   * const [product] = await chord.getTyped(); // { Type: 'int64', Value: 88 }
   * ```
   */
  async getTyped(options: GetOptions = {}): Promise<TypedValue[]> {
    await this.waitForSuccess(options);
    const rec = await this.deps.backend.get(this.callbackUUID, { now: this.deps.clock.now() });
    return rec?.results ?? [];
  }

  /**
   * {@link ChordResult.getTyped} as plain values.
   *
   * @example
   * ```ts
   * const [product] = await chord.get(); // 88
   * ```
   */
  async get(options: GetOptions = {}): Promise<ArgValue[]> {
    return values(await this.getTyped(options));
  }
}

/** The group backend, or an `InvalidWorkflowError` naming the setting to configure. */
function requireGroups(deps: Pick<WorkflowDeps, 'groups'>): GroupBackend {
  if (deps.groups !== undefined) return deps.groups;
  throw new InvalidWorkflowError(
    'groups and chords need the group table: set MACHINERY_GROUP_METAS_TABLE (or pass `groups` to createClient)',
  );
}

function isGroup(value: readonly Signature[] | Group): value is Group {
  return !Array.isArray(value) && typeof (value as Group).groupUUID === 'string';
}

/** A built group from a list of signatures (with `concurrency`) or a built `Group`. */
function buildGroup(group: readonly Signature[] | Group, options: GroupSendOptions): Group {
  if (isGroup(group)) {
    if (options.concurrency !== undefined) {
      throw new InvalidWorkflowError(
        'concurrency applies to a list of signatures; a built Group carries its message groups (newGroup(..., { concurrency }))',
      );
    }
    return group;
  }
  try {
    return newGroup(
      ...group,
      ...(options.concurrency === undefined ? [] : [{ concurrency: options.concurrency }]),
    );
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidWorkflowError(e.message, { cause: e });
    throw e;
  }
}

/**
 * Splits signatures into the sends of one `SendMessageBatch` each (≤ 10 messages, ≤ 1 MiB,
 * measured as SQS counts them), those due now apart from those with a future ETA, so that each
 * `dispatch()` of a chunk makes exactly one publish call. Measuring validates every signature, so
 * a bad one is refused here, before anything is written.
 */
function sendChunks(signatures: readonly Signature[], now: number): Signature[][] {
  const measured = signatures.map((signature) => ({
    uuid: signature.UUID,
    bytes: messageBytes(signature),
    signature,
    later: (etaToMillis(signature.ETA) ?? now) > now,
  }));
  return [false, true].flatMap((later) =>
    splitIntoBatches(measured.filter((m) => m.later === later)).map((batch) =>
      batch.map((m) => m.signature),
    ),
  );
}

/** Records the group, then sends its signatures in batches, `sendConcurrency` at a time. */
async function sendGroupSignatures(
  group: Group,
  extra: readonly Signature[],
  init: { kind: 'group' | 'chord'; callbackUUID: string | null; deadlineMs: number },
  deps: WorkflowDeps,
  sendConcurrency: number | undefined,
): Promise<void> {
  const groups = requireGroups(deps);
  const signatures = [...group.tasks, ...extra];
  deps.checkSchedulable(signatures);
  const now = deps.clock.now();
  const chunks = sendChunks(signatures, now);
  const deadline = now + init.deadlineMs;
  await groups.initGroup(
    {
      groupUUID: group.groupUUID,
      kind: init.kind,
      members: group.tasks.map((t) => t.UUID),
      callbackUUID: init.callbackUUID,
      deadline,
    },
    {
      now,
      expiresAt: deadline + (deps.resultsExpireInSeconds ?? DEFAULTS.resultsExpireInSeconds) * 1000,
    },
  );
  const limit =
    sendConcurrency === undefined || sendConcurrency === 0
      ? DEFAULT_SEND_CONCURRENCY
      : sendConcurrency;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidWorkflowError(`sendConcurrency must be a whole number >= 0, got ${limit}`);
  }
  await forEachConcurrently(chunks, limit, async (chunk) => {
    await dispatch(chunk, deps);
  });
}

/**
 * Sends a chain (machinery's `SendChain`): a list of signatures, chained with core's `newChain`,
 * or a built `Chain`. Only the first step is sent; the others travel as its nested `OnSuccess`.
 *
 * @example
 * ```ts
 * const chain = await sendChain([add(2, 2), add(5, 6), multiply(4)], deps);
 * await chain.get(); // [60]
 * ```
 */
export async function sendChain(
  chain: readonly Signature[] | Chain,
  deps: WorkflowDeps,
): Promise<ChainResult> {
  let built: Chain;
  try {
    built = Array.isArray(chain) ? newChain(...chain) : (chain as Chain);
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidWorkflowError(e.message, { cause: e });
    throw e;
  }
  const first = built.tasks[0];
  if (first === undefined) throw new InvalidWorkflowError('a chain has at least one step');
  deps.checkSchedulable([first]);
  await dispatch([first], deps);
  return new ChainResult(
    built.tasks.map((t) => t.UUID),
    deps,
  );
}

/**
 * Sends a group (machinery's `SendGroup`): records it, then sends its members in batches.
 *
 * @example
 * ```ts
 * const group = await sendGroup([add(1, 1), add(2, 2)], deps, { sendConcurrency: 4 });
 * ```
 */
export async function sendGroup(
  group: readonly Signature[] | Group,
  deps: WorkflowDeps,
  options: GroupSendOptions = {},
): Promise<GroupResult> {
  const built = buildGroup(group, options);
  await sendGroupSignatures(
    built,
    [],
    { kind: 'group', callbackUUID: null, deadlineMs: DEFAULT_CHORD_DEADLINE_MS },
    deps,
    options.sendConcurrency,
  );
  return new GroupResult(
    built.groupUUID,
    built.tasks.map((t) => t.UUID),
    { ...deps, groups: requireGroups(deps) },
  );
}

/**
 * Sends a chord (machinery's `SendChord`): the group's members carry `callback`, which the
 * worker sends exactly once when every member succeeded, with their results in group order. A
 * deadline signature goes with it (see {@link ChordSendOptions.deadlineMs}).
 *
 * @example
 * ```ts
 * const chord = await sendChord([add(1, 1), add(2, 2), add(5, 6)], multiply(), deps);
 * await chord.get(); // [88]
 * ```
 */
export async function sendChord(
  group: readonly Signature[] | Group,
  callback: Signature,
  deps: WorkflowDeps,
  options: ChordSendOptions = {},
): Promise<ChordResult> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_CHORD_DEADLINE_MS;
  if (!(deadlineMs > 0) || !Number.isFinite(deadlineMs)) {
    throw new InvalidWorkflowError(`deadlineMs must be a positive number of ms, got ${deadlineMs}`);
  }
  const chord: Chord = newChord(buildGroup(group, options), callback);
  const deadline = chordDeadlineSignature(chord, deps.clock.now() + deadlineMs);
  await sendGroupSignatures(
    chord.group,
    [deadline],
    { kind: 'chord', callbackUUID: chord.callback.UUID, deadlineMs },
    deps,
    options.sendConcurrency,
  );
  return new ChordResult(
    chord.group.groupUUID,
    chord.group.tasks.map((t) => t.UUID),
    chord.callback.UUID,
    { ...deps, groups: requireGroups(deps) },
  );
}

/**
 * The progress of a group or chord by its `GroupUUID` (core's `readGroup`), `undefined` when
 * there is no record of it.
 *
 * @example
 * ```ts
 * const p = await readWorkflowProgress('group_…', deps);
 * ```
 */
export function readWorkflowProgress(
  groupUUID: string,
  deps: Pick<WorkflowDeps, 'backend' | 'groups' | 'clock'>,
): Promise<WorkflowProgress | undefined> {
  return readGroup(groupUUID, {
    groups: requireGroups(deps),
    results: deps.backend,
    now: deps.clock.now(),
  });
}
