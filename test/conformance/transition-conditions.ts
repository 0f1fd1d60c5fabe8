/**
 * The agreement suite of the transition conditions (`src/core/transitions.ts`): on a table of
 * stored `task_states` items, each condition's DynamoDB expression must say what its JS predicate
 * says. A describe-block factory, run with an evaluator of expressions:
 *
 * ```ts
 * transitionConditionAgreement('DynamoDB Local', (condition, item) => conditionCheck(condition, item));
 * ```
 *
 * It also exports the table ({@link TASK_ITEMS}) and the conditions ({@link CONDITIONS}), with
 * `now` = {@link NOW}, so a test can state what each condition admits.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import {
  TASK_ATTRIBUTES as A,
  and,
  attemptIs,
  type Condition,
  deadLettered,
  expiresAtIs,
  leaseIsLive,
  not,
  or,
  stateIs,
  taskIsAbsent,
  taskIsAbsentOrExpired,
  taskIsExpired,
  taskIsFinal,
  taskIsLive,
  taskIsPresent,
  taskIsRevocable,
  taskIsSettleable,
  taskIsWaiting,
  taskView,
  transitionConditions,
  ttlOnlyExtends,
} from '../../src/core/transitions.js';

/** A stored item, unmarshalled (`undefined`: absent). */
export type StoredItem = Record<string, unknown> | undefined;

/** The `now` of every condition in {@link CONDITIONS} (a whole second, epoch ms). */
export const NOW = 1_900_000_000_000;
const NOW_S = NOW / 1000;
/** The TTL of a live item in the table: an hour after {@link NOW}, epoch seconds. */
const LIVE_TTL = NOW_S + 3600;
/** The attempt the attempt-pinned conditions ask for. */
const ATTEMPT = 2;

function item(fields: Record<string, unknown>, drop: readonly string[] = []): StoredItem {
  const out: Record<string, unknown> = {
    [A.uuid]: 'task_table',
    [A.name]: 'conformance',
    [A.createdAt]: NOW - 60_000,
    [A.updatedAt]: NOW - 1_000,
    [A.ttl]: LIVE_TTL,
    [A.attempt]: ATTEMPT,
    [A.retries]: 0,
    [A.crashes]: 0,
    [A.deadLettered]: false,
    ...fields,
  };
  for (const key of drop) delete out[key];
  return out;
}

/**
 * Stored items, one of each kind a transition must tell apart. Live items expire an hour after
 * {@link NOW} and carry attempt 2 unless their name says otherwise.
 */
export const TASK_ITEMS: Readonly<Record<string, StoredItem>> = {
  absent: undefined,
  'PENDING, expired': item({ [A.state]: 'PENDING', [A.ttl]: NOW_S - 1 }),
  'PENDING, expiring this second': item({ [A.state]: 'PENDING', [A.ttl]: NOW_S }),
  PENDING: item({ [A.state]: 'PENDING', [A.attempt]: 0 }),
  'PENDING, no TTL': item({ [A.state]: 'PENDING' }, [A.ttl]),
  'PENDING, no dead-letter attribute': item({ [A.state]: 'PENDING' }, [A.deadLettered]),
  RECEIVED: item({ [A.state]: 'RECEIVED' }),
  'STARTED, live lease': item({ [A.state]: 'STARTED', [A.lease]: NOW + 10_000 }),
  'STARTED, lease ending now': item({ [A.state]: 'STARTED', [A.lease]: NOW }),
  'STARTED, lease expired': item({ [A.state]: 'STARTED', [A.lease]: NOW - 10_000 }),
  'STARTED, no lease': item({ [A.state]: 'STARTED' }),
  'STARTED by attempt 3, live lease': item({
    [A.state]: 'STARTED',
    [A.attempt]: 3,
    [A.lease]: NOW + 10_000,
  }),
  RETRY: item({ [A.state]: 'RETRY', [A.retries]: 1, [A.error]: 'boom' }),
  'RETRY, dead-lettered': item({
    [A.state]: 'RETRY',
    [A.deadLettered]: true,
    [A.deadLetterReason]: 'crash-loop',
  }),
  SUCCESS: item({ [A.state]: 'SUCCESS', [A.results]: [] }),
  FAILURE: item({ [A.state]: 'FAILURE', [A.error]: 'boom' }),
  'FAILURE, dead-lettered': item({
    [A.state]: 'FAILURE',
    [A.error]: 'boom',
    [A.deadLettered]: true,
    [A.deadLetterReason]: 'crash-loop',
  }),
  revoked: item({ [A.state]: 'FAILURE', [A.error]: 'revoked', [A.attempt]: 0 }),
};

/** Every named clause and transition condition, at {@link NOW} and attempt 2. */
export const CONDITIONS: Readonly<Record<string, Condition>> = {
  taskIsAbsent,
  taskIsExpired: taskIsExpired(NOW),
  taskIsLive: taskIsLive(NOW),
  taskIsAbsentOrExpired: taskIsAbsentOrExpired(NOW),
  taskIsPresent: taskIsPresent(NOW),
  taskIsWaiting,
  taskIsFinal,
  taskIsRevocable,
  'stateIs(STARTED)': stateIs('STARTED'),
  deadLettered,
  'not(deadLettered)': not(deadLettered),
  'attemptIs(2)': attemptIs(ATTEMPT),
  'or(attemptIs(2), attemptIs(3))': or(attemptIs(ATTEMPT), attemptIs(3)),
  'and(taskIsWaiting, not(attemptIs(0)))': and(taskIsWaiting, not(attemptIs(0))),
  leaseIsLive: leaseIsLive(NOW),
  'ttlOnlyExtends(now + 30 min)': ttlOnlyExtends(NOW + 1_800_000),
  'ttlOnlyExtends(now + 2 h)': ttlOnlyExtends(NOW + 7_200_000),
  'expiresAtIs(live TTL)': expiresAtIs(LIVE_TTL * 1000),
  'transition putPending': transitionConditions.putPending(NOW),
  'transition claim': transitionConditions.claim(NOW),
  'transition redrive': transitionConditions.redrive(ATTEMPT),
  'transition reclaimCrashed': transitionConditions.reclaimCrashed(ATTEMPT),
  'transition finish': transitionConditions.finish(ATTEMPT, NOW),
  'transition failUnclaimed': transitionConditions.failUnclaimed(NOW),
  'transition revoke': transitionConditions.revoke(NOW),
  taskIsSettleable: taskIsSettleable(NOW),
  'transition settle': transitionConditions.settle(ATTEMPT, NOW),
};

/**
 * The names of the items of {@link TASK_ITEMS} on which `condition`'s predicate holds, in table
 * order.
 *
 * @example
 * ```ts
 * admitted(CONDITIONS['transition revoke']!); // ['absent', 'PENDING', …]
 * ```
 */
export function admitted(condition: Condition): string[] {
  return Object.entries(TASK_ITEMS)
    .filter(([, stored]) => condition.test(taskView(stored)))
    .map(([name]) => name);
}

/**
 * Registers one test per condition of {@link CONDITIONS}: `evaluate` (the expression, evaluated by
 * DynamoDB or a stand-in) agrees with the predicate on every item of {@link TASK_ITEMS}.
 *
 * @example
 * ```ts
 * transitionConditionAgreement('DynamoDB Local', (c, item) => conditionCheck(c, item));
 * ```
 */
export function transitionConditionAgreement(
  name: string,
  evaluate: (condition: Condition, item: StoredItem) => Promise<boolean>,
): void {
  describe(`Transition conditions agree with their expressions: ${name}`, () => {
    for (const [conditionName, condition] of Object.entries(CONDITIONS)) {
      it(`evaluates ${conditionName} as its predicate does on every item`, async () => {
        // Prepare
        const entries = Object.entries(TASK_ITEMS);

        // Act
        const byExpression = await Promise.all(
          entries.map(async ([itemName, stored]) => [itemName, await evaluate(condition, stored)]),
        );

        // Assess
        const byPredicate = entries.map(([itemName, stored]) => [
          itemName,
          condition.test(taskView(stored)),
        ]);
        expect(Object.fromEntries(byExpression)).toEqual(Object.fromEntries(byPredicate));
      });
    }
  });
}
