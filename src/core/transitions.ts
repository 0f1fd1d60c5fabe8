/**
 * The conditions of task-state transitions, each written once. A {@link Condition} is a named
 * clause carrying both forms of the same rule:
 *
 * - `expression`, `names`, `values`: a DynamoDB condition expression over the `task_states` item
 *   (pure data, used by the DynamoDB backend);
 * - `test(task)`: the same rule as a JS predicate over a stored task (used by the in-memory backend,
 *   and by the DynamoDB backend to learn which clause failed from the old item it gets back).
 *
 * Clauses compose with {@link and}, {@link or} and {@link not}, which build both forms at once. The
 * predicates follow DynamoDB's evaluation: a condition on an absent item is evaluated on an empty
 * one, a comparison with a missing attribute is false, and `NOT` negates that (two-valued logic).
 *
 * This module owns the item's attribute names ({@link TASK_ATTRIBUTES}), the reading of an item as a
 * {@link TaskView} and the conditions of every `ResultBackend` transition
 * ({@link transitionConditions}). It leaves the writes themselves (update expressions, the fresh
 * items, the retries after a failed condition) to the backends.
 *
 * @module
 */
import { TABLES } from './resources.js';
import type { TaskState } from './types.js';

/**
 * Attribute names of a `task_states` item.
 *
 * @example
 * ```ts
 * const item = { [TASK_ATTRIBUTES.uuid]: 'task_…', [TASK_ATTRIBUTES.state]: 'PENDING' };
 * ```
 */
export const TASK_ATTRIBUTES = {
  uuid: TABLES.taskStates.partitionKey,
  name: 'TaskName',
  state: 'State',
  results: 'Results',
  error: 'Error',
  createdAt: 'CreatedAt',
  updatedAt: 'UpdatedAt',
  /** Epoch seconds, the table's TTL attribute. */
  ttl: TABLES.taskStates.ttlAttribute,
  attempt: 'Attempt',
  retries: 'Retries',
  crashes: 'Crashes',
  lease: 'LeaseUntil',
  deadLettered: 'DeadLettered',
  deadLetterReason: 'DeadLetterReason',
  body: 'Body',
  /** The task's ETA, epoch ms (absent when it has none). */
  eta: 'ETA',
  /** A group member's `GroupUUID` and index. */
  groupUUID: 'GroupUUID',
  groupIndex: 'GroupIndex',
} as const;

/**
 * What a condition reads of a stored task. A `TaskRecord` is one; {@link taskView} reads a DynamoDB
 * item as one. A field that is `undefined` (or a `null` lease) is a missing attribute; an absent
 * task is `undefined`.
 *
 * @example
 * ```ts
 * const view: TaskView = { uuid: 'task_1', state: 'STARTED', attempt: 1, leaseUntil: Date.now() + 60_000 };
 * ```
 */
export interface TaskView {
  readonly uuid?: string | undefined;
  readonly state?: string | undefined;
  readonly attempt?: number | undefined;
  /** End of the running attempt's lease, epoch ms. */
  readonly leaseUntil?: number | null | undefined;
  readonly deadLettered?: boolean | undefined;
  /** When the item expires, epoch ms; missing when the item has no TTL. */
  readonly expiresAt?: number | undefined;
}

/**
 * One condition in both forms. `names` and `values` hold exactly the placeholders `expression`
 * uses.
 *
 * @example
 * ```ts
 * const c: Condition = transitionConditions.claim(Date.now());
 * await ddb.send(new UpdateCommand({ …, ConditionExpression: c.expression,
 *   ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values }));
 * c.test(undefined); // true: an absent task may be claimed
 * ```
 */
export interface Condition {
  /** DynamoDB condition expression, with `#Attribute` names and `:value` placeholders. */
  readonly expression: string;
  /** `ExpressionAttributeNames` of the expression. */
  readonly names: Readonly<Record<string, string>>;
  /** `ExpressionAttributeValues` of the expression. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The same rule on a stored task (`undefined`: absent). */
  readonly test: (task: TaskView | undefined) => boolean;
}

type Field = 'uuid' | 'state' | 'attempt' | 'leaseUntil' | 'deadLettered' | 'expiresAt';

/** The attribute of each view field, and the factor from attribute to view units. */
const FIELDS: { readonly [F in Field]: { readonly attribute: string; readonly scale: number } } = {
  uuid: { attribute: TASK_ATTRIBUTES.uuid, scale: 1 },
  state: { attribute: TASK_ATTRIBUTES.state, scale: 1 },
  attempt: { attribute: TASK_ATTRIBUTES.attempt, scale: 1 },
  leaseUntil: { attribute: TASK_ATTRIBUTES.lease, scale: 1 },
  deadLettered: { attribute: TASK_ATTRIBUTES.deadLettered, scale: 1 },
  expiresAt: { attribute: TASK_ATTRIBUTES.ttl, scale: 1000 },
};

/**
 * The `TTL` attribute (epoch seconds) of an item that expires at `expiresAt` (epoch ms), rounded up
 * so the item never expires early.
 *
 * @example
 * ```ts
 * ttlSeconds(1_700_000_000_001); // 1_700_000_001
 * ```
 */
export function ttlSeconds(expiresAt: number): number {
  return Math.ceil(expiresAt / 1000);
}

/**
 * Reads a stored DynamoDB item (unmarshalled) as a {@link TaskView}; `undefined` stays absent.
 * Attributes of an unexpected type read as missing.
 *
 * @example
 * ```ts
 * transitionConditions.revoke(now).test(taskView(oldItem));
 * ```
 */
export function taskView(
  item: Readonly<Record<string, unknown>> | undefined,
): TaskView | undefined {
  if (item === undefined) return undefined;
  const str = (f: Field) => {
    const v = item[FIELDS[f].attribute];
    return typeof v === 'string' ? v : undefined;
  };
  const num = (f: Field) => {
    const v = item[FIELDS[f].attribute];
    return typeof v === 'number' ? v * FIELDS[f].scale : undefined;
  };
  const dl = item[FIELDS.deadLettered.attribute];
  return {
    uuid: str('uuid'),
    state: str('state'),
    attempt: num('attempt'),
    leaseUntil: num('leaseUntil'),
    deadLettered: typeof dl === 'boolean' ? dl : undefined,
    expiresAt: num('expiresAt'),
  };
}

// ---------------------------------------------------------------------------------------------
// Leaves and combinators.
// ---------------------------------------------------------------------------------------------

function nameOf(field: Field): Record<string, string> {
  const attribute = FIELDS[field].attribute;
  return { [`#${attribute}`]: attribute };
}

function fieldOf(task: TaskView | undefined, field: Field): unknown {
  const v = task?.[field];
  return v === null ? undefined : v;
}

/** `attribute_not_exists` of one field. */
function missing(field: Field): Condition {
  return {
    expression: `attribute_not_exists(#${FIELDS[field].attribute})`,
    names: nameOf(field),
    values: {},
    test: (task) => fieldOf(task, field) === undefined,
  };
}

const COMPARE = {
  '=': (a: unknown, b: unknown) => a === b,
  '>': (a: unknown, b: unknown) => typeof a === 'number' && typeof b === 'number' && a > b,
  '<=': (a: unknown, b: unknown) => typeof a === 'number' && typeof b === 'number' && a <= b,
} as const;

/**
 * `#Attribute <op> :placeholder`, with `value` in view units (epoch ms for `expiresAt`, stored as
 * epoch seconds). False when the attribute is missing.
 */
function compare(
  field: Field,
  op: keyof typeof COMPARE,
  placeholder: string,
  value: number | boolean,
): Condition {
  const { attribute, scale } = FIELDS[field];
  return {
    expression: `#${attribute} ${op} ${placeholder}`,
    names: nameOf(field),
    values: { [placeholder]: typeof value === 'number' ? value / scale : value },
    test: (task) => COMPARE[op](fieldOf(task, field), value),
  };
}

/** The placeholders of `b`, renamed where `a` already uses the same one for another value. */
function merge(
  a: Readonly<Record<string, unknown>>,
  b: Condition,
): { expression: string; values: Record<string, unknown> } {
  let expression = b.expression;
  const values: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b.values)) {
    if (!(key in values) || Object.is(values[key], value)) {
      values[key] = value;
      continue;
    }
    let n = 2;
    while (`${key}_${n}` in values || `${key}_${n}` in b.values) n++;
    values[`${key}_${n}`] = value;
    expression = expression.replace(new RegExp(`${key}(?![A-Za-z0-9_])`, 'g'), `${key}_${n}`);
  }
  return { expression, values };
}

function combine(word: 'AND' | 'OR', clauses: readonly Condition[]): Condition {
  if (clauses.length === 1 && clauses[0] !== undefined) return clauses[0];
  let values: Record<string, unknown> = {};
  const parts: string[] = [];
  let names: Record<string, string> = {};
  for (const c of clauses) {
    const merged = merge(values, c);
    values = merged.values;
    parts.push(merged.expression);
    names = { ...names, ...c.names };
  }
  const every = word === 'AND';
  return {
    expression: `(${parts.join(` ${word} `)})`,
    names,
    values,
    test: (task) =>
      every ? clauses.every((c) => c.test(task)) : clauses.some((c) => c.test(task)),
  };
}

/**
 * All clauses hold. Placeholders that two clauses use for different values are renamed.
 *
 * @example
 * ```ts
 * and(stateIs('STARTED'), attemptIs(2)).expression; // '(#State = :STARTED AND #Attempt = :attempt)'
 * ```
 */
export function and(...clauses: [Condition, ...Condition[]]): Condition {
  return combine('AND', clauses);
}

/**
 * At least one clause holds.
 *
 * @example
 * ```ts
 * or(taskIsAbsent, taskIsExpired(now)).test(undefined); // true
 * ```
 */
export function or(...clauses: [Condition, ...Condition[]]): Condition {
  return combine('OR', clauses);
}

/**
 * The clause does not hold (on a missing attribute, a comparison is false, so its `not` is true).
 *
 * @example
 * ```ts
 * not(deadLettered).expression; // '(NOT #DeadLettered = :true)'
 * ```
 */
export function not(clause: Condition): Condition {
  return {
    expression: `(NOT ${clause.expression})`,
    names: clause.names,
    values: clause.values,
    test: (task) => !clause.test(task),
  };
}

// ---------------------------------------------------------------------------------------------
// Named clauses.
// ---------------------------------------------------------------------------------------------

/**
 * The item does not exist.
 *
 * @example
 * ```ts
 * taskIsAbsent.test(undefined); // true
 * ```
 */
export const taskIsAbsent: Condition = missing('uuid');

/**
 * The item exists and its TTL has passed (`expiresAt <= now`): it counts as absent, although
 * DynamoDB has not deleted it yet.
 *
 * @example
 * ```ts
 * taskIsExpired(Date.now()).test({ uuid: 'task_1', expiresAt: 0 }); // true
 * ```
 */
export function taskIsExpired(now: number): Condition {
  return compare('expiresAt', '<=', ':nowSec', now);
}

/**
 * No TTL, or a TTL that has not passed (`expiresAt > now`). Like DynamoDB, it holds on an absent
 * item too (there is no TTL to have passed): combine it with a clause that needs the item.
 *
 * @example
 * ```ts
 * taskIsLive(Date.now()).test({ uuid: 'task_1', expiresAt: Date.now() + 60_000 }); // true
 * ```
 */
export function taskIsLive(now: number): Condition {
  return or(missing('expiresAt'), compare('expiresAt', '>', ':nowSec', now));
}

/**
 * The task reads as absent: no item, or an expired one.
 *
 * @example
 * ```ts
 * taskIsAbsentOrExpired(Date.now()).test(undefined); // true
 * ```
 */
export function taskIsAbsentOrExpired(now: number): Condition {
  return or(taskIsAbsent, taskIsExpired(now));
}

/**
 * The task reads as present: the item exists and has not expired (what a read returns).
 *
 * @example
 * ```ts
 * taskIsPresent(Date.now()).test(undefined); // false
 * ```
 */
export function taskIsPresent(now: number): Condition {
  return not(taskIsAbsentOrExpired(now));
}

/**
 * The state is one of `states` (`#State = :S` for one, `#State IN (…)` for several).
 *
 * @example
 * ```ts
 * stateIs('PENDING', 'RETRY').expression; // '#State IN (:PENDING, :RETRY)'
 * ```
 */
export function stateIs(...states: [TaskState, ...TaskState[]]): Condition {
  const attribute = FIELDS.state.attribute;
  const placeholders = states.map((s) => `:${s}`);
  return {
    expression:
      states.length === 1
        ? `#${attribute} = ${placeholders[0]}`
        : `#${attribute} IN (${placeholders.join(', ')})`,
    names: nameOf('state'),
    values: Object.fromEntries(states.map((s) => [`:${s}`, s])),
    test: (task) => {
      const state = fieldOf(task, 'state');
      return states.some((s) => s === state);
    },
  };
}

/**
 * Waiting to run: PENDING, RECEIVED or RETRY.
 *
 * @example
 * ```ts
 * taskIsWaiting.test({ uuid: 'task_1', state: 'RETRY' }); // true
 * ```
 */
export const taskIsWaiting: Condition = stateIs('PENDING', 'RECEIVED', 'RETRY');

/**
 * Final: SUCCESS or FAILURE (a revoked task is a FAILURE).
 *
 * @example
 * ```ts
 * taskIsFinal.test({ uuid: 'task_1', state: 'SUCCESS' }); // true
 * ```
 */
export const taskIsFinal: Condition = stateIs('SUCCESS', 'FAILURE');

/**
 * Not started yet: PENDING or RETRY (what a revoke may cancel).
 *
 * @example
 * ```ts
 * taskIsRevocable.test({ uuid: 'task_1', state: 'STARTED' }); // false
 * ```
 */
export const taskIsRevocable: Condition = stateIs('PENDING', 'RETRY');

/**
 * Marked dead-lettered: its message sits in the dead-letter queue.
 *
 * @example
 * ```ts
 * deadLettered.test({ uuid: 'task_1', state: 'FAILURE', deadLettered: true }); // true
 * ```
 */
export const deadLettered: Condition = compare('deadLettered', '=', ':true', true);

/**
 * The attempt counter is `attempt`.
 *
 * @example
 * ```ts
 * attemptIs(2).test({ uuid: 'task_1', attempt: 2 }); // true
 * ```
 */
export function attemptIs(attempt: number): Condition {
  return compare('attempt', '=', ':attempt', attempt);
}

/**
 * STARTED by `attempt`: that attempt still owns the task.
 *
 * @example
 * ```ts
 * startedBy(1).test({ uuid: 'task_1', state: 'STARTED', attempt: 1 }); // true
 * ```
 */
export function startedBy(attempt: number): Condition {
  return and(stateIs('STARTED'), attemptIs(attempt));
}

/**
 * STARTED with a lease that has not ended (`leaseUntil > now`): an attempt is running the task
 * right now. A lease that has ended, or is missing, is a crashed attempt's.
 *
 * @example
 * ```ts
 * leaseIsLive(now).test({ uuid: 'task_1', state: 'STARTED', leaseUntil: now + 1 }); // true
 * ```
 */
export function leaseIsLive(now: number): Condition {
  return and(stateIs('STARTED'), compare('leaseUntil', '>', ':now', now));
}

/**
 * Setting the item's expiry to `expiresAt` does not shorten its life: no TTL yet, or a TTL at or
 * before `ttlSeconds(expiresAt)` (DynamoDB's update expressions have no `max()`).
 *
 * @example
 * ```ts
 * ttlOnlyExtends(now + 60_000).test({ uuid: 'task_1', expiresAt: now }); // true
 * ```
 */
export function ttlOnlyExtends(expiresAt: number): Condition {
  return or(
    missing('expiresAt'),
    compare('expiresAt', '<=', ':ttl', ttlSeconds(expiresAt) * FIELDS.expiresAt.scale),
  );
}

/**
 * The item's expiry is exactly `expiresAt` (epoch ms of a stored TTL): the item is still the one
 * that was read.
 *
 * @example
 * ```ts
 * expiresAtIs(1_700_000_000_000).expression; // '#TTL = :oldTtl'
 * ```
 */
export function expiresAtIs(expiresAt: number): Condition {
  return compare('expiresAt', '=', ':oldTtl', expiresAt);
}

/**
 * What a write without a claim may end: a task not final with no running attempt (waiting, or
 * STARTED by a crashed attempt), or a dead-lettered one (its redrive).
 *
 * @example
 * ```ts
 * taskIsSettleable(now).test({ uuid: 'task_1', state: 'SUCCESS' }); // false
 * ```
 */
export function taskIsSettleable(now: number): Condition {
  return or(and(not(taskIsFinal), not(leaseIsLive(now))), deadLettered);
}

// ---------------------------------------------------------------------------------------------
// The transitions of the ResultBackend port.
// ---------------------------------------------------------------------------------------------

/**
 * The condition of each `ResultBackend` transition (see `src/core/ports.ts`). Conditions that admit
 * an absent task admit an expired one too in effect: a backend replaces an expired item with a
 * fresh one (DynamoDB: a put conditional on {@link expiresAtIs}), the in-memory backend tests the
 * condition on the live task only.
 *
 * @example
 * ```ts
 * const c = transitionConditions.finish(attempt, now);
 * if (!c.test(stored)) return false; // the attempt lost its claim
 * ```
 */
export const transitionConditions = {
  /** `putPending`: a new task, or one whose item expired. */
  putPending: (now: number): Condition => taskIsAbsentOrExpired(now),
  /**
   * `claim`, the common path: absent (a Go producer writes no PENDING), or live, waiting and not
   * dead-lettered.
   */
  claim: (now: number): Condition =>
    or(taskIsAbsent, and(taskIsLive(now), taskIsWaiting, not(deadLettered))),
  /** `claim` of a dead-lettered task (the redrive), once: the attempt read is still the current one. */
  redrive: (attempt: number): Condition => and(deadLettered, attemptIs(attempt)),
  /** `claim` over a crashed attempt (its lease ended): that attempt is still the current one. */
  reclaimCrashed: (attempt: number): Condition => startedBy(attempt),
  /** `markSuccess`, `markRetry`, `markFailure` with an attempt: the attempt still owns the task. */
  finish: (attempt: number, now: number): Condition => and(startedBy(attempt), taskIsLive(now)),
  /**
   * `extendLease`: the attempt still owns the task (the same clauses as `finish`: a lease that ran
   * out while nobody reclaimed the task is still this attempt's).
   */
  extendLease: (attempt: number, now: number): Condition =>
    and(startedBy(attempt), taskIsLive(now)),
  /**
   * `markFailure` without an attempt: absent, or live, not final and not leased by a running
   * attempt.
   */
  failUnclaimed: (now: number): Condition =>
    or(taskIsAbsent, and(taskIsLive(now), not(taskIsFinal), not(leaseIsLive(now)))),
  /** `revoke`: absent, or live and not started yet. */
  revoke: (now: number): Condition => or(taskIsAbsent, and(taskIsLive(now), taskIsRevocable)),
  /**
   * `settle`, the idempotent lane's one write (no claim; docs/design.md §4 "Lanes"): absent, or
   * live and unchanged since the read (`attempt` as read) and either waiting or crashed (not final,
   * no running attempt's lease) or dead-lettered (the redrive). So it never overwrites a final
   * state, and of two runs that read the same item only the first write lands.
   */
  settle: (attempt: number, now: number): Condition =>
    or(taskIsAbsent, and(taskIsLive(now), attemptIs(attempt), taskIsSettleable(now))),
} as const;
