/**
 * Workflows: machinery's chains, groups and chords as signatures, and the geometry of a group's
 * completion tree. Pure: no I/O. Sending is the client's, the bookkeeping `chords.ts`'s.
 *
 * ## Glossary
 *
 * - **chain**: signatures run one after the other; each step is the previous step's `OnSuccess`
 *   (results appended to its args unless the producing step is `Immutable`).
 * - **group**: signatures run in parallel, sharing a `GroupUUID` (`group_<uuid>`) and a
 *   `GroupTaskCount`.
 * - **member**: one signature of a group.
 * - **index**: a member's position in its group, `0 … total-1`, carried in the header
 *   {@link GROUP_INDEX_HEADER}; results of a chord are given to the callback in index order.
 * - **chord**: a group plus a **callback**, the signature run exactly once after every member
 *   succeeded, with the members' results. Every member carries it as `ChordCallback`; its UUID is
 *   fixed when the chord is built, so every copy sent is the same task.
 * - **leaf**: a level-0 node of the completion tree, `<GroupUUID>#L0#<⌊i/B⌋>`, one slot per
 *   member; a node of level `l + 1` has one slot per node of level `l`.
 * - **root**: the group's own record, keyed by the bare `GroupUUID` (the key Go machinery uses
 *   for its group record too); the top node of the tree being full triggers it.
 *
 * @module
 */
import type { GroupInit } from './ports.js';
import { QUEUES } from './resources.js';
import { deriveTaskUUID, newChordUUID, newGroupUUID, newTaskUUID } from './signature.js';
import { formatEta } from './time.js';
import type { Signature } from './types.js';

/** Header holding a member's index in its group (a number). */
export const GROUP_INDEX_HEADER = 'machinery.groupIndex';

/**
 * Header of a chord callback whose members' results travel by reference: its value is the
 * `GroupUUID`; the worker reads the results and offers them as `ctx.chordResults()`.
 */
export const CHORD_RESULTS_HEADER = 'machinery.chordResults';

/**
 * Header (and task name) of a chord's deadline signature: its value is the `GroupUUID`. The
 * worker's chord extension handles it (fails the chord `expired` if it still waits); no task of
 * that name is registered.
 */
export const CHORD_DEADLINE_HEADER = 'machinery.chordDeadline';

/**
 * How long a chord may wait for its members by default, ms: the task DLQ's retention (after it, a
 * dead-lettered member can no longer be redriven).
 */
export const DEFAULT_CHORD_DEADLINE_MS = QUEUES.tasksDlq.retentionSeconds * 1000;

/**
 * Sizes of the group records (see `docs/design.md §3`).
 *
 * - `branching` (B): slots per tree node. A full leaf holds B small numbers, so it stays well
 *   under 1 KB (one write unit per write) and takes at most B + 1 writes per chord.
 * - `pageSize`: member UUIDs per page item (`<GroupUUID>#M#<page>`), about 45 KB at most.
 * - `bucketSize`: expected members per bucket when a Go group with no record is counted
 *   (buckets of about 16 UUIDs stay under 1 KB).
 */
export const GROUP_LIMITS = { branching: 100, pageSize: 1000, bucketSize: 16 } as const;

/** Key of a group's root record: the bare `GroupUUID`. */
export function rootKey(groupUUID: string): string {
  return groupUUID;
}

/**
 * Key of a tree node, `<GroupUUID>#L<level>#<node>`.
 *
 * @example
 * ```ts
 * nodeKey('group_1', 0, 3); // 'group_1#L0#3'
 * ```
 */
export function nodeKey(groupUUID: string, level: number, node: number): string {
  return `${groupUUID}#L${level}#${node}`;
}

/**
 * Key of a member page, `<GroupUUID>#M#<page>`.
 *
 * @example
 * ```ts
 * pageKey('group_1', 0); // 'group_1#M#0'
 * ```
 */
export function pageKey(groupUUID: string, page: number): string {
  return `${groupUUID}#M#${page}`;
}

/**
 * Key of a bucket of counted members (a Go group with no record), `<GroupUUID>#B#<bucket>`.
 *
 * @example
 * ```ts
 * bucketKey('group_1', 2); // 'group_1#B#2'
 * ```
 */
export function bucketKey(groupUUID: string, bucket: number): string {
  return `${groupUUID}#B#${bucket}`;
}

/**
 * Key of the counter of a Go group with no record, `<GroupUUID>#C`.
 *
 * @example
 * ```ts
 * counterKey('group_1'); // 'group_1#C'
 * ```
 */
export function counterKey(groupUUID: string): string {
  return `${groupUUID}#C`;
}

/**
 * Node counts per level of a group's completion tree, leaves first, up to the level with one
 * node (its node being full means every member is done).
 *
 * @example
 * ```ts
 * treeLevels(250, 100); // [3, 1]
 * treeLevels(1, 100); // [1]
 * ```
 */
export function treeLevels(total: number, branching: number = GROUP_LIMITS.branching): number[] {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`a group has at least 1 member`);
  const levels: number[] = [];
  let children = total;
  do {
    children = Math.ceil(children / branching);
    levels.push(children);
  } while (children > 1);
  return levels;
}

/**
 * How many slots node `node` of `level` has: B, or fewer for the last node of a level.
 *
 * @example
 * ```ts
 * nodeWidth(250, 0, 2, 100); // 50
 * nodeWidth(250, 1, 0, 100); // 3
 * ```
 */
export function nodeWidth(
  total: number,
  level: number,
  node: number,
  branching: number = GROUP_LIMITS.branching,
): number {
  const children = level === 0 ? total : (treeLevels(total, branching)[level - 1] ?? 0);
  return Math.max(0, Math.min(branching, children - node * branching));
}

/**
 * The bucket of a counted member: a stable hash of its UUID modulo the bucket count.
 *
 * @example
 * ```ts
 * bucketOf('task_…', 100); // 0 … 6
 * ```
 */
export function bucketOf(memberUUID: string, total: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < memberUUID.length; i++) {
    h ^= memberUUID.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % bucketCount(total);
}

/**
 * How many buckets a counted group of `total` members has.
 *
 * @example
 * ```ts
 * bucketCount(100); // 7
 * ```
 */
export function bucketCount(total: number): number {
  return Math.max(1, Math.ceil(total / GROUP_LIMITS.bucketSize));
}

/**
 * A member's index from its header, or `undefined` when it has none (a Go producer's member).
 *
 * @example
 * ```ts
 * groupIndexOf(group.tasks[2]); // 2
 * ```
 */
export function groupIndexOf(signature: Signature): number | undefined {
  const raw = signature.Headers[GROUP_INDEX_HEADER];
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return undefined;
  if (signature.GroupTaskCount > 0 && n >= signature.GroupTaskCount) return undefined;
  return n;
}

/**
 * A chain: `tasks[0]` carries the whole chain (each step is the previous one's last
 * `OnSuccess`); send it alone. `last` is the UUID whose result is the chain's.
 *
 * @example
 * ```ts
 * const chain = newChain(add(2, 2), add(5, 6), multiply(4));
 * await broker.publish([{ signature: chain.tasks[0]! }]);
 * ```
 */
export interface Chain {
  tasks: Signature[];
  /** UUID of the last step. */
  lastUUID: string;
}

/**
 * machinery's `NewChain`: each step's `OnSuccess` gets the next step appended (after any it
 * had), so results flow from step to step (appended to the next step's args unless the
 * producing step is `Immutable`). A step without a UUID gets a fresh one.
 *
 * @throws RangeError with no signature.
 * @example
 * ```ts
 * const chain = newChain(add(2, 2), add(5, 6), multiply(4)); // → 60
 * ```
 */
export function newChain(...signatures: Signature[]): Chain {
  if (signatures.length === 0) throw new RangeError('a chain has at least one step');
  const withIds = signatures.map((s) => (s.UUID === '' ? { ...s, UUID: newTaskUUID() } : s));
  const tasks: Signature[] = new Array(withIds.length);
  let next: Signature | undefined;
  for (let i = withIds.length - 1; i >= 0; i--) {
    const step = withIds[i] as Signature;
    const built: Signature =
      next === undefined ? step : { ...step, OnSuccess: [...(step.OnSuccess ?? []), next] };
    tasks[i] = built;
    next = built;
  }
  return { tasks, lastUUID: (withIds[withIds.length - 1] as Signature).UUID };
}

/**
 * Options of {@link newGroup}.
 *
 * @example
 * ```ts
 * const opts: GroupOptions = { concurrency: 4 };
 * ```
 */
export interface GroupOptions {
  /** The group's UUID. @default newGroupUUID() */
  groupUUID?: string;
  /**
   * At most this many members run at once: members without their own `BrokerMessageGroupId` are
   * spread over the message groups `<GroupUUID>#<i mod K>` (FIFO runs one message of a group at
   * a time). @default unbounded (each member its own message group)
   */
  concurrency?: number;
}

/**
 * A group: members in index order, each with `GroupUUID`, `GroupTaskCount` and its index header.
 *
 * @example
 * ```ts
 * const group = newGroup(add(1, 1), add(2, 2));
 * group.tasks[1]?.Headers['machinery.groupIndex']; // 1
 * ```
 */
export interface Group {
  groupUUID: string;
  tasks: Signature[];
}

/**
 * machinery's `NewGroup`: a fresh `group_<uuid>` on every member, `GroupTaskCount`, and each
 * member's index in the header {@link GROUP_INDEX_HEADER}. A member's message group is its own
 * (its UUID) unless it set `BrokerMessageGroupId` or `concurrency` is given. Pass options as the
 * last argument.
 *
 * @throws RangeError with no member or an invalid `concurrency`.
 * @example
 * ```ts
 * const group = newGroup(add(1, 1), add(2, 2), add(5, 6));
 * const throttled = newGroup(...sigs, { concurrency: 4 });
 * ```
 */
export function newGroup(...items: (Signature | GroupOptions)[]): Group {
  const last = items[items.length - 1];
  const hasOptions = last !== undefined && !isSignature(last);
  const options: GroupOptions = hasOptions ? (last as GroupOptions) : {};
  const signatures = (hasOptions ? items.slice(0, -1) : items) as Signature[];
  if (signatures.length === 0) throw new RangeError('a group has at least one member');
  const k = options.concurrency;
  if (k !== undefined && (!Number.isInteger(k) || k < 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${k}`);
  }
  const groupUUID = options.groupUUID ?? newGroupUUID();
  const tasks = signatures.map((s, i) => ({
    ...s,
    UUID: s.UUID === '' ? newTaskUUID() : s.UUID,
    GroupUUID: groupUUID,
    GroupTaskCount: signatures.length,
    Headers: { ...s.Headers, [GROUP_INDEX_HEADER]: i },
    BrokerMessageGroupId:
      s.BrokerMessageGroupId !== '' || k === undefined
        ? s.BrokerMessageGroupId
        : `${groupUUID}#${i % k}`,
  }));
  return { groupUUID, tasks };
}

function isSignature(value: unknown): value is Signature {
  return typeof value === 'object' && value !== null && 'Name' in value && 'Args' in value;
}

/**
 * A chord: the group's members each carry the callback as `ChordCallback`.
 *
 * @example
 * ```ts
 * const chord = newChord(newGroup(add(1, 1), add(2, 2)), multiply());
 * chord.callback.UUID; // 'chord_…'
 * ```
 */
export interface Chord {
  group: Group;
  callback: Signature;
}

/**
 * machinery's `NewChord`: the callback's UUID is fixed now (`chord_<uuid>` when it has none), and
 * every member's `ChordCallback` is the callback.
 *
 * @example
 * ```ts
 * const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), multiply()); // → 88
 * ```
 */
export function newChord(group: Group, callback: Signature): Chord {
  const cb = callback.UUID === '' ? { ...callback, UUID: newChordUUID() } : callback;
  return {
    group: { ...group, tasks: group.tasks.map((t) => ({ ...t, ChordCallback: cb })) },
    callback: cb,
  };
}

/**
 * The signature that fails a chord `expired` at its deadline if it still waits: send it with the
 * chord's members (the dispatcher routes it by its ETA: the delay queue, or a one-time Scheduler
 * schedule beyond 15 minutes). Its UUID is derived from the group, so re-sends are duplicates.
 *
 * @example
 * ```ts
 * const deadline = chordDeadlineSignature(chord, Date.now() + DEFAULT_CHORD_DEADLINE_MS);
 * await dispatch([...chord.group.tasks, deadline], deps);
 * ```
 */
export function chordDeadlineSignature(chord: Chord, deadline: number): Signature {
  const { groupUUID } = chord.group;
  return {
    UUID: deriveTaskUUID(groupUUID, 'deadline'),
    Name: CHORD_DEADLINE_HEADER,
    RoutingKey: chord.callback.RoutingKey,
    ETA: formatEta(deadline),
    GroupUUID: '',
    GroupTaskCount: 0,
    Args: [],
    Headers: { [CHORD_DEADLINE_HEADER]: groupUUID },
    Priority: 0,
    Immutable: true,
    RetryCount: 0,
    RetryTimeout: 0,
    OnSuccess: null,
    OnError: null,
    ChordCallback: chord.callback,
    BrokerMessageGroupId: '',
    SQSReceiptHandle: '',
    StopTaskDeletionOnError: false,
    IgnoreWhenTaskNotRegistered: false,
  };
}

/**
 * The group a chord deadline signature concerns, or `undefined` for any other signature.
 *
 * @example
 * ```ts
 * chordDeadlineGroup(chordDeadlineSignature(chord, at)); // chord.group.groupUUID
 * ```
 */
export function chordDeadlineGroup(signature: Signature): string | undefined {
  const g = signature.Headers[CHORD_DEADLINE_HEADER];
  return signature.Name === CHORD_DEADLINE_HEADER && typeof g === 'string' && g !== ''
    ? g
    : undefined;
}

/**
 * What `GroupBackend.initGroup` records for a group or chord: its kind, member UUIDs in order,
 * the callback's UUID and the deadline (epoch ms).
 *
 * @example
 * ```ts
 * await groups.initGroup(groupInit(chord, now + DEFAULT_CHORD_DEADLINE_MS), { now, expiresAt });
 * ```
 */
export function groupInit(workflow: Group | Chord, deadline: number): GroupInit {
  const group = 'group' in workflow ? workflow.group : workflow;
  return {
    groupUUID: group.groupUUID,
    kind: 'group' in workflow ? 'chord' : 'group',
    members: group.tasks.map((t) => t.UUID),
    callbackUUID: 'group' in workflow ? workflow.callback.UUID : null,
    deadline,
  };
}
