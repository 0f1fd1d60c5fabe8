/**
 * The chord protocol: the worker's {@link WorkflowExtension} for groups and chords, composed of
 * the idempotent storage steps of a {@link GroupBackend} (see `docs/design.md §4`, chords, and the
 * glossary in `workflow.ts`).
 *
 * ## Completion (a member's SUCCESS is stored)
 *
 * 1. **Locate** the member: its index header (our producers), else its position in Go
 *    machinery's `TaskUUIDs` (one read of the root), else it is **counted** (a Go group with no
 *    record: one transaction on its bucket and the group's counter, order unspecified).
 * 2. **Walk** the completion tree: mark slot `i mod B` of leaf `⌊i/B⌋`; when the node is full
 *    (this write filled it, or a re-walk finds it full), mark the node's slot one level up, and so
 *    on. One write per level at most, so O(1) amortised per member; no node takes more than B
 *    marks (+ re-walks of redelivered members).
 * 3. **Trigger** (a chord whose top node is full): set machinery's `ChordTriggered` unless the
 *    chord failed, then send the callback with its fixed UUID and the members' results in group
 *    order (inline when the message fits `inlineResultsMaxBytes`, else by reference: the header
 *    `machinery.chordResults` names the group and the worker offers the results to the callback as
 *    `ctx.chordResults()`). A walk that finds the trigger already set sends the callback again
 *    unless its task record shows it was delivered (a state past PENDING): a crash between the
 *    trigger and the send is repaired by the member's redelivery, and the callback's PENDING write
 *    and claim absorb the copies, so it runs once.
 *
 * Every step is idempotent, so a crash between any two of them is repaired by the redelivery of
 * the member (a duplicate of a finished task calls the extension again).
 *
 * ## Failure
 *
 * - A member recorded FAILURE without a dead-letter mark (retries exhausted, revoked) fails the
 *   chord (conditional, unless triggered; the first failure is kept): the callback is recorded
 *   FAILURE `member <uuid> failed: <error>` and its `OnError` callbacks are sent.
 * - A dead-lettered member (any reason) leaves the chord waiting; `readGroup` names it in
 *   `waitingOn`, and a redrive that succeeds completes the chord.
 * - The chord's deadline signature (`chordDeadlineSignature`) fails a chord still waiting
 *   `expired`, the same way; one whose members are all done by then is triggered instead.
 *
 * @module
 */
import { messageBytes, storedResultBytes, utf8Bytes } from './bounds.js';
import { onErrorCallbacks } from './callbacks.js';
import type { Clock } from './clock.js';
import { WorkflowError } from './errors.js';
import { taskExpiresAt } from './lifetime.js';
import { childLogger, type Logger } from './logger.js';
import type { GroupBackend, ResultBackend, TaskRecord } from './ports.js';
import type { Dispatcher, WorkflowExtension } from './processor.js';
import { DEFAULTS } from './resources.js';
import type { Arg, DeadLetterReason, Signature, TaskState, TypedValue } from './types.js';
import {
  CHORD_RESULTS_HEADER,
  chordDeadlineGroup,
  GROUP_LIMITS,
  groupIndexOf,
  nodeWidth,
  treeLevels,
} from './workflow.js';

/**
 * Limits of the chord protocol.
 *
 * - `inlineResultsMaxBytes`: largest callback message with the results appended (SQS's 1 MiB
 *   minus 64 KiB for attributes and trace headers); beyond it results go by reference.
 * - `chordResultsMaxBytes`: most result bytes (as stored) `ctx.chordResults()` reads for one
 *   callback (64 MiB); past it the iterator throws `WorkflowError` `CHORD_RESULTS_TOO_LARGE`.
 * - `readConcurrency`: member records read at once.
 */
export const CHORD_DEFAULTS = {
  inlineResultsMaxBytes: DEFAULTS.maxMessageBytes - 65_536,
  chordResultsMaxBytes: 64 * 1_048_576,
  readConcurrency: 16,
} as const;

/**
 * What the chord extension works with: the worker's adapters.
 *
 * @example
 * ```ts
 * const ctx: ChordContext = { groups, results: backend, dispatch: send, clock, logger };
 * ```
 */
export interface ChordContext {
  groups: GroupBackend;
  results: ResultBackend;
  /** Sends the callback and `OnError` callbacks (core's `dispatch()`). */
  dispatch: Dispatcher;
  clock: Clock;
  logger: Logger;
}

/**
 * Options of {@link ChordExtension}.
 *
 * @example
 * ```ts
 * const options: ChordOptions = { inlineResultsMaxBytes: 4096 };
 * ```
 */
export interface ChordOptions {
  /** @default CHORD_DEFAULTS.inlineResultsMaxBytes (983040) */
  inlineResultsMaxBytes?: number;
  /** @default CHORD_DEFAULTS.chordResultsMaxBytes (67108864) */
  chordResultsMaxBytes?: number;
  /** @default CHORD_DEFAULTS.readConcurrency (16) */
  readConcurrency?: number;
  /** Slots per tree node; `readGroup` must be given the same. @default GROUP_LIMITS.branching (100) */
  branching?: number;
}

/** How a member is counted. */
type Location = { mode: 'tree'; index: number; total: number } | { mode: 'count'; total: number };

/**
 * Groups and chords for the processor (see the module documentation).
 *
 * @example
 * ```ts
 * const workflow = new ChordExtension({ groups, results: backend, dispatch: send, clock, logger });
 * const processor = createProcessor({ registry, backend, broker, workflow });
 * ```
 */
export class ChordExtension implements WorkflowExtension {
  readonly #ctx: ChordContext;
  readonly #inlineMax: number;
  readonly #resultsMax: number;
  readonly #concurrency: number;
  readonly #branching: number;

  constructor(ctx: ChordContext, options: ChordOptions = {}) {
    this.#ctx = ctx;
    this.#inlineMax = options.inlineResultsMaxBytes ?? CHORD_DEFAULTS.inlineResultsMaxBytes;
    this.#resultsMax = options.chordResultsMaxBytes ?? CHORD_DEFAULTS.chordResultsMaxBytes;
    this.#concurrency = Math.max(1, options.readConcurrency ?? CHORD_DEFAULTS.readConcurrency);
    this.#branching = options.branching ?? GROUP_LIMITS.branching;
  }

  /** Counts a member's SUCCESS and, when it completes a chord, triggers the callback. */
  async memberSucceeded(signature: Signature, _results: readonly TypedValue[]): Promise<void> {
    const groupUUID = signature.GroupUUID;
    const at = await this.#locate(signature);
    if (at === undefined) return;
    const expiresAt = this.#expiresAt();
    if (at.mode === 'tree') {
      if (!(await this.#walk(groupUUID, at.index, at.total, expiresAt))) return;
    } else {
      const { count } = await this.#ctx.groups.countMember(groupUUID, signature.UUID, at.total, {
        expiresAt,
      });
      if (count < at.total) return;
    }
    if (signature.ChordCallback === null) return;
    await this.#fire(groupUUID, signature.ChordCallback);
  }

  /** A member recorded FAILURE for good (retries exhausted): fails its chord. */
  async memberFailed(signature: Signature, error: string): Promise<void> {
    if (signature.GroupUUID === '' || signature.ChordCallback === null) return;
    await this.#failChord(signature.GroupUUID, signature.ChordCallback, {
      member: signature.UUID,
      error,
    });
  }

  /** A member was revoked (`cancel()`): fails its chord. */
  async memberRevoked(signature: Signature): Promise<void> {
    await this.memberFailed(signature, 'revoked');
  }

  /** A member was dead-lettered: its chord waits (for a redrive, or its deadline). */
  async memberDeadLettered(
    signature: Signature,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<void> {
    if (signature.GroupUUID === '') return;
    this.#log(signature.GroupUUID).warn('a member was dead-lettered; its group waits for it', {
      member: signature.UUID,
      reason,
      detail,
    });
  }

  /**
   * Handles a chord's deadline signature: a chord still waiting fails `expired`; one whose
   * members are all done is triggered (the crash before its trigger is repaired). Resolves
   * `false` for any other signature.
   */
  async chordDeadline(signature: Signature): Promise<boolean> {
    const groupUUID = chordDeadlineGroup(signature);
    const callback = signature.ChordCallback;
    if (groupUUID === undefined || callback === null) return false;
    if (await this.#allDone(groupUUID)) {
      await this.#fire(groupUUID, callback);
    } else {
      await this.#failChord(groupUUID, callback, { member: null, error: 'expired' });
    }
    return true;
  }

  /** The members' results of a callback sent by reference, in group order, one member at a time. */
  async *chordResults(signature: Signature): AsyncGenerator<TypedValue[]> {
    const groupUUID = signature.Headers[CHORD_RESULTS_HEADER];
    if (typeof groupUUID !== 'string' || groupUUID === '') return;
    const members = await this.#memberOrder(groupUUID);
    let bytes = 0;
    for (let start = 0; start < members.length; start += this.#concurrency) {
      const chunk = members.slice(start, start + this.#concurrency);
      for (const results of await this.#readResults(groupUUID, chunk)) {
        bytes += storedResultBytes(results);
        if (bytes > this.#resultsMax) {
          throw new WorkflowError(
            `the results of group ${groupUUID} exceed the ${this.#resultsMax} bytes a callback may read`,
            { groupUUID, code: 'CHORD_RESULTS_TOO_LARGE' },
          );
        }
        yield results;
      }
    }
  }

  #log(groupUUID: string): Logger {
    return childLogger(this.#ctx.logger, { groupUUID });
  }

  #now(): number {
    return this.#ctx.clock.now();
  }

  /** Group records live as long as a member's message can still arrive. */
  #expiresAt(): number {
    return taskExpiresAt({ now: this.#now(), eta: null });
  }

  async #locate(signature: Signature): Promise<Location | undefined> {
    const groupUUID = signature.GroupUUID;
    if (groupUUID === '') return undefined;
    const index = groupIndexOf(signature);
    if (index !== undefined && signature.GroupTaskCount > 0) {
      return { mode: 'tree', index, total: signature.GroupTaskCount };
    }
    if (signature.ChordCallback === null) return undefined;
    const rec = await this.#ctx.groups.getGroup(groupUUID, { now: this.#now() });
    const position = rec?.taskUUIDs?.indexOf(signature.UUID) ?? -1;
    if (rec?.taskUUIDs != null && position >= 0) {
      return { mode: 'tree', index: position, total: rec.taskUUIDs.length };
    }
    if (signature.GroupTaskCount < 1) {
      this.#log(groupUUID).warn('a chord member without GroupTaskCount cannot be counted', {
        member: signature.UUID,
      });
      return undefined;
    }
    return { mode: 'count', total: signature.GroupTaskCount };
  }

  /** Marks the member up the tree; `true` when the top node is full. */
  async #walk(groupUUID: string, index: number, total: number, expiresAt: number) {
    const b = this.#branching;
    const levels = treeLevels(total, b);
    let child = index;
    for (let level = 0; level < levels.length; level++) {
      const node = Math.floor(child / b);
      const { count } = await this.#ctx.groups.markNode({ groupUUID, level, node }, child % b, {
        expiresAt,
      });
      if (count < nodeWidth(total, level, node, b)) return false;
      child = node;
    }
    return true;
  }

  /** Whether every member is done, from the records (used at the deadline). */
  async #allDone(groupUUID: string): Promise<boolean> {
    const { groups } = this.#ctx;
    const now = this.#now();
    const rec = await groups.getGroup(groupUUID, { now });
    const total = rec?.total ?? rec?.taskUUIDs?.length ?? null;
    if (total !== null && total > 0) {
      const levels = treeLevels(total, this.#branching);
      const top = levels.length - 1;
      const nodes = await groups.readLevel(groupUUID, top, 1, { now });
      return (nodes.get(0)?.size ?? 0) >= nodeWidth(total, top, 0, this.#branching);
    }
    const counted = await groups.countedMembers(groupUUID, { now });
    return counted !== undefined && counted.count >= counted.total;
  }

  /** Triggers the chord and sends its callback (again, when it may not have been delivered). */
  async #fire(groupUUID: string, callback: Signature): Promise<void> {
    const { groups, results, dispatch } = this.#ctx;
    const log = this.#log(groupUUID);
    const now = this.#now();
    const trigger = await groups.trigger(groupUUID, { now, expiresAt: this.#expiresAt() });
    if (trigger === 'failed') {
      log.info('every member is done but the chord failed before; no callback');
      return;
    }
    if (trigger === 'already-triggered') {
      const rec = await results.get(callback.UUID, { now });
      if (rec !== undefined && rec.state !== 'PENDING') return;
    }
    const ready = await this.#withResults(groupUUID, callback);
    await dispatch([ready]);
    log.info('chord callback sent', {
      callback: callback.UUID,
      again: trigger === 'already-triggered',
      byReference: ready.Headers[CHORD_RESULTS_HEADER] !== undefined,
    });
  }

  /** The callback with the members' results appended, or marked to read them by reference. */
  async #withResults(groupUUID: string, callback: Signature): Promise<Signature> {
    if (callback.Immutable) return callback;
    const byReference: Signature = {
      ...callback,
      Headers: { ...callback.Headers, [CHORD_RESULTS_HEADER]: groupUUID },
    };
    const members = await this.#memberOrder(groupUUID);
    const appended: Arg[] = [];
    let estimate = messageBytes(callback);
    for (let start = 0; start < members.length; start += this.#concurrency) {
      const chunk = members.slice(start, start + this.#concurrency);
      for (const memberResults of await this.#readResults(groupUUID, chunk)) {
        for (const r of memberResults) {
          appended.push({ Name: '', Type: r.Type, Value: r.Value });
          estimate += argBytes(r);
        }
      }
      if (estimate > this.#inlineMax) return byReference;
    }
    const inline: Signature = { ...callback, Args: [...callback.Args, ...appended] };
    return messageBytes(inline) > this.#inlineMax ? byReference : inline;
  }

  /** Member UUIDs in group order: our pages, machinery's `TaskUUIDs`, or the counted members. */
  async #memberOrder(groupUUID: string): Promise<string[]> {
    const { groups } = this.#ctx;
    const now = this.#now();
    const rec = await groups.getGroup(groupUUID, { now });
    if (rec?.kind != null && rec.total !== null) {
      const members = await groups.memberUUIDs(groupUUID, rec.total, { now });
      if (members.length !== rec.total) {
        throw new WorkflowError(
          `group ${groupUUID} lists ${members.length} of its ${rec.total} members (a page is missing)`,
          { groupUUID },
        );
      }
      return members;
    }
    if (rec?.taskUUIDs != null) return rec.taskUUIDs;
    const counted = await groups.countedMembers(groupUUID, { now });
    if (counted !== undefined) return counted.members;
    throw new WorkflowError(`group ${groupUUID} has no record to read its members from`, {
      groupUUID,
    });
  }

  /** The SUCCESS results of members, in the order given. */
  async #readResults(groupUUID: string, members: readonly string[]): Promise<TypedValue[][]> {
    const now = this.#now();
    const records = await Promise.all(members.map((m) => this.#ctx.results.get(m, { now })));
    return records.map((rec, i) => {
      if (rec?.state !== 'SUCCESS') {
        throw new WorkflowError(
          `member ${members[i]} of group ${groupUUID} has no SUCCESS result (state ${rec?.state ?? 'absent'})`,
          { groupUUID },
        );
      }
      return rec.results ?? [];
    });
  }

  /** Fails the chord (unless triggered) and records its callback FAILURE, sending its `OnError`. */
  async #failChord(
    groupUUID: string,
    callback: Signature,
    failure: { member: string | null; error: string },
  ): Promise<void> {
    const { groups, results, dispatch } = this.#ctx;
    const log = this.#log(groupUUID);
    const now = this.#now();
    const expiresAt = this.#expiresAt();
    const outcome = await groups.fail(groupUUID, failure, { now, expiresAt });
    if (outcome === 'triggered') {
      log.info('a failure after the chord was triggered does not fail it', failure);
      return;
    }
    const first =
      outcome === 'failed'
        ? failure
        : ((await groups.getGroup(groupUUID, { now }))?.failure ?? failure);
    const text = chordFailureText(first);
    await results.markFailure(callback, text, { now, expiresAt });
    const handlers = onErrorCallbacks(callback, text);
    if (handlers.length > 0) await dispatch(handlers);
    log.warn('chord failed', { callback: callback.UUID, error: text });
  }
}

/**
 * The error text of a failed chord's callback.
 *
 * @example
 * ```ts
 * chordFailureText({ member: 'task_1', error: 'boom' }); // 'member task_1 failed: boom'
 * chordFailureText({ member: null, error: 'expired' }); // 'expired'
 * ```
 */
export function chordFailureText(failure: { member: string | null; error: string }): string {
  return failure.member === null
    ? failure.error
    : `member ${failure.member} failed: ${failure.error}`;
}

function argBytes(value: TypedValue): number {
  const json = JSON.stringify({ Name: '', Type: value.Type, Value: value.Value }, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? 'x'.repeat(v.length * 2) : v,
  );
  return utf8Bytes(json) + 1;
}

/**
 * Progress of a group or chord, as handles' `state()` and `machinery status <group_…>` show it.
 *
 * - `succeeded`: members done; `failed`: members recorded FAILURE without a dead-letter mark;
 *   `waitingOn`: members not done yet (in group order; dead-lettered ones included), `null` when
 *   unknown (a Go group counted without a record: "`succeeded` of `total` accounted").
 * - `state`: a chord's is its callback's (FAILURE when the chord failed); a group's is SUCCESS
 *   when every member is done, FAILURE when one failed, STARTED once one finished, else PENDING.
 * - `kind` and `callback` of a Go group come from what its records say: machinery's item names no
 *   callback, so such a chord reads as a `group` with `callback: null` until it is triggered or
 *   fails (then `chord`).
 *
 * @example
 * ```ts
 * const p = await readGroup('group_…', { groups, results: backend, now: Date.now() });
 * console.log(`${p?.succeeded} of ${p?.total}`);
 * ```
 */
export interface GroupProgress {
  uuid: string;
  kind: 'group' | 'chord';
  total: number;
  succeeded: number;
  failed: string[];
  waitingOn: string[] | null;
  state: 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE';
  error: string | null;
  callback: { uuid: string; state: TaskState } | null;
}

/**
 * Reads a group's or chord's progress with O(pages + leaves) reads of `group_metas`, plus the
 * task records of the members not done (and the callback's). `undefined` when there is no
 * record of the group.
 *
 * @example
 * ```ts
 * const progress = await readGroup(groupUUID, { groups, results: backend, now: Date.now() });
 * ```
 */
export async function readGroup(
  groupUUID: string,
  deps: {
    groups: GroupBackend;
    results: ResultBackend;
    now: number;
    /** @default GROUP_LIMITS.branching */
    branching?: number;
    /** Member records read at once. @default CHORD_DEFAULTS.readConcurrency */
    readConcurrency?: number;
  },
): Promise<GroupProgress | undefined> {
  const { groups, results, now } = deps;
  const b = deps.branching ?? GROUP_LIMITS.branching;
  const rec = await groups.getGroup(groupUUID, { now });
  const callbackRecord = async (uuid: string | null) => {
    if (uuid === null) return null;
    const r = await results.get(uuid, { now });
    return { uuid, state: r?.state ?? 'PENDING' };
  };
  let total: number;
  let members: string[] | null;
  let succeeded: number;
  let notDone: string[];
  if (rec !== undefined && (rec.total !== null || rec.taskUUIDs !== null)) {
    total = rec.total ?? rec.taskUUIDs?.length ?? 0;
    members =
      rec.kind !== null ? await groups.memberUUIDs(groupUUID, total, { now }) : rec.taskUUIDs;
    const leaves = await groups.readLevel(groupUUID, 0, treeLevels(total, b)[0] ?? 0, { now });
    succeeded = 0;
    for (const slots of leaves.values()) succeeded += slots.size;
    notDone = (members ?? []).filter(
      (_m, i) => !(leaves.get(Math.floor(i / b))?.has(i % b) ?? false),
    );
  } else {
    const counted = await groups.countedMembers(groupUUID, { now });
    if (counted === undefined && rec === undefined) return undefined;
    total = counted?.total ?? 0;
    succeeded = counted?.count ?? 0;
    members = null;
    notDone = [];
  }
  const concurrency = Math.max(1, deps.readConcurrency ?? CHORD_DEFAULTS.readConcurrency);
  const records: (TaskRecord | undefined)[] = [];
  for (let start = 0; start < notDone.length; start += concurrency) {
    const chunk = notDone.slice(start, start + concurrency);
    records.push(...(await Promise.all(chunk.map((m) => results.get(m, { now })))));
  }
  const failedRecords = records.filter(
    (r): r is TaskRecord => r?.state === 'FAILURE' && !r.deadLettered,
  );
  const failed = failedRecords.map((r) => r.uuid);
  const kind: 'group' | 'chord' =
    rec?.kind ??
    (rec?.callbackUUID != null || rec?.triggered === true || rec?.failure != null
      ? 'chord'
      : 'group');
  const callback = await callbackRecord(rec?.callbackUUID ?? null);
  const anyStarted = succeeded > 0 || records.some((r) => r !== undefined && r.state !== 'PENDING');
  let state: GroupProgress['state'];
  let error: string | null = null;
  if (rec?.failure != null) {
    state = 'FAILURE';
    error = chordFailureText(rec.failure);
  } else if (kind === 'chord' && (callback?.state === 'SUCCESS' || callback?.state === 'FAILURE')) {
    state = callback.state;
    if (state === 'FAILURE') error = (await results.get(callback.uuid, { now }))?.error ?? null;
  } else if (kind === 'group' && failedRecords.length > 0) {
    state = 'FAILURE';
    const first = failedRecords[0] as TaskRecord;
    error = chordFailureText({ member: first.uuid, error: first.error ?? 'failed' });
  } else if (kind === 'group' && succeeded >= total && total > 0) {
    state = 'SUCCESS';
  } else {
    state = anyStarted || rec?.triggered === true ? 'STARTED' : 'PENDING';
  }
  return {
    uuid: groupUUID,
    kind,
    total,
    succeeded,
    failed,
    waitingOn: members === null ? null : notDone,
    state,
    error,
    callback,
  };
}
