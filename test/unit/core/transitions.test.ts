import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../../src/core/ports.js';
import {
  TASK_ATTRIBUTES as A,
  and,
  attemptIs,
  type Condition,
  deadLettered,
  not,
  or,
  stateIs,
  taskIsAbsent,
  taskIsExpired,
  taskIsLive,
  taskView,
  transitionConditions,
  ttlSeconds,
} from '../../../src/core/transitions.js';
import {
  admitted,
  CONDITIONS,
  NOW,
  type StoredItem,
  TASK_ITEMS,
  transitionConditionAgreement,
} from '../../conformance/transition-conditions.js';

// ---------------------------------------------------------------------------------------------
// A stand-in evaluator of the DynamoDB condition-expression subset the conditions use (comparisons
// `=`, `<`, `<=`, `>`, `>=`, `IN`, `attribute_exists`, `attribute_not_exists`, `NOT`, `AND`, `OR`,
// parentheses), with DynamoDB's rules: an absent item is an empty one, a comparison with a missing
// attribute is false. It lets this unit test read the expression text; the integration test
// `test/integration/transition-conditions.test.ts` runs the same table on DynamoDB Local.
// ---------------------------------------------------------------------------------------------

const TOKEN =
  /\s*(attribute_not_exists|attribute_exists|AND\b|OR\b|NOT\b|IN\b|<=|>=|<>|[()=<>,]|[#:][A-Za-z0-9_]+)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.trimEnd().length) {
    const m = TOKEN.exec(text);
    if (m?.[1] === undefined) throw new Error(`cannot read ${text.slice(TOKEN.lastIndex)}`);
    tokens.push(m[1]);
  }
  return tokens;
}

function evaluateExpression(c: Condition, stored: StoredItem): boolean {
  const tokens = tokenize(c.expression);
  const item = stored ?? {};
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string): string => {
    const t = tokens[at++];
    if (t === undefined || (expected !== undefined && t !== expected)) {
      throw new Error(`expected ${expected ?? 'a token'} at ${at - 1} in ${c.expression}`);
    }
    return t;
  };
  const MISSING = Symbol('missing');
  const operand = (): unknown => {
    const t = take();
    if (t.startsWith('#')) {
      const attribute = c.names[t];
      if (attribute === undefined) throw new Error(`no name for ${t}`);
      return attribute in item ? item[attribute] : MISSING;
    }
    if (!(t in c.values)) throw new Error(`no value for ${t}`);
    return c.values[t];
  };
  const comparable = (a: unknown, b: unknown) =>
    a !== MISSING && b !== MISSING && typeof a === typeof b;
  const primary = (): boolean => {
    const t = peek();
    if (t === '(') {
      take('(');
      const v = orExpr();
      take(')');
      return v;
    }
    if (t === 'attribute_exists' || t === 'attribute_not_exists') {
      take();
      take('(');
      const v = operand();
      take(')');
      return (v !== MISSING) === (t === 'attribute_exists');
    }
    const left = operand();
    const op = take();
    if (op === 'IN') {
      take('(');
      const options = [operand()];
      while (peek() === ',') {
        take(',');
        options.push(operand());
      }
      take(')');
      return options.some((o) => comparable(left, o) && left === o);
    }
    const right = operand();
    if (!comparable(left, right)) return false;
    const [a, b] = [left as number, right as number];
    if (op === '=') return a === b;
    if (op === '<') return a < b;
    if (op === '<=') return a <= b;
    if (op === '>') return a > b;
    if (op === '>=') return a >= b;
    throw new Error(`unsupported operator ${op}`);
  };
  const notExpr = (): boolean => {
    if (peek() === 'NOT') {
      take('NOT');
      return !notExpr();
    }
    return primary();
  };
  const andExpr = (): boolean => {
    let v = notExpr();
    while (peek() === 'AND') {
      take('AND');
      v = notExpr() && v;
    }
    return v;
  };
  const orExpr = (): boolean => {
    let v = andExpr();
    while (peek() === 'OR') {
      take('OR');
      v = andExpr() || v;
    }
    return v;
  };
  const result = orExpr();
  if (at !== tokens.length) throw new Error(`unread tokens in ${c.expression}`);
  return result;
}

/** The placeholders an expression uses. */
function placeholders(expression: string, sigil: '#' | ':'): string[] {
  return [...new Set(expression.match(new RegExp(`${sigil}[A-Za-z0-9_]+`, 'g')) ?? [])].sort();
}

transitionConditionAgreement('stand-in evaluator', async (c, stored) =>
  evaluateExpression(c, stored),
);

describe('Function: and', () => {
  it('joins the expressions with AND and holds only when every clause holds', () => {
    // Prepare
    const c = and(stateIs('STARTED'), attemptIs(2));

    // Act
    const onOwner = c.test({ uuid: 't', state: 'STARTED', attempt: 2 });
    const onOther = c.test({ uuid: 't', state: 'STARTED', attempt: 3 });

    // Assess
    expect(c.expression).toBe('(#State = :STARTED AND #Attempt = :attempt)');
    expect(c.names).toEqual({ '#State': 'State', '#Attempt': 'Attempt' });
    expect(c.values).toEqual({ ':STARTED': 'STARTED', ':attempt': 2 });
    expect(onOwner).toBe(true);
    expect(onOther).toBe(false);
  });

  it('renames a placeholder that two clauses use for different values', () => {
    // Prepare
    const c = or(attemptIs(1), attemptIs(2), attemptIs(1), attemptIs(3));

    // Act
    const onTwo = c.test({ uuid: 't', attempt: 2 });
    const onThree = c.test({ uuid: 't', attempt: 3 });
    const onFour = c.test({ uuid: 't', attempt: 4 });

    // Assess
    expect(c.expression).toBe(
      '(#Attempt = :attempt OR #Attempt = :attempt_2 OR #Attempt = :attempt OR #Attempt = :attempt_3)',
    );
    expect(c.values).toEqual({ ':attempt': 1, ':attempt_2': 2, ':attempt_3': 3 });
    expect([onTwo, onThree, onFour]).toEqual([true, true, false]);
  });

  it('returns a single clause unchanged', () => {
    // Act
    const c = and(deadLettered);

    // Assess
    expect(c).toBe(deadLettered);
  });
});

describe('Function: or', () => {
  it('joins the expressions with OR and holds when any clause holds', () => {
    // Prepare
    const c = or(taskIsAbsent, taskIsExpired(NOW));

    // Act
    const results = [
      c.test(undefined),
      c.test({ uuid: 't', expiresAt: NOW }),
      c.test({ uuid: 't', expiresAt: NOW + 1000 }),
    ];

    // Assess
    expect(c.expression).toBe('(attribute_not_exists(#TaskUUID) OR #TTL <= :nowSec)');
    expect(c.values).toEqual({ ':nowSec': NOW / 1000 });
    expect(results).toEqual([true, true, false]);
  });
});

describe('Function: not', () => {
  it('negates the expression and the predicate, true on a missing attribute', () => {
    // Prepare
    const c = not(deadLettered);

    // Act
    const results = [
      c.test({ uuid: 't', deadLettered: true }),
      c.test({ uuid: 't', deadLettered: false }),
      c.test({ uuid: 't' }),
    ];

    // Assess
    expect(c.expression).toBe('(NOT #DeadLettered = :true)');
    expect(results).toEqual([false, true, true]);
  });
});

describe('Function: taskIsLive', () => {
  it('holds on an absent item, as DynamoDB evaluates a condition on an empty item', () => {
    // Act
    const absent = taskIsLive(NOW).test(undefined);
    const atExpiry = taskIsLive(NOW).test({ uuid: 't', expiresAt: NOW });

    // Assess
    expect(absent).toBe(true);
    expect(atExpiry).toBe(false);
  });
});

describe('Function: taskView', () => {
  it('reads the TTL in seconds as epoch ms and attributes of another type as missing', () => {
    // Act
    const view = taskView({
      [A.uuid]: 'task_1',
      [A.state]: 'STARTED',
      [A.ttl]: 1_900_000_000,
      [A.attempt]: '2',
      [A.lease]: 5,
      [A.deadLettered]: 'yes',
    });

    // Assess
    expect(view).toEqual({
      uuid: 'task_1',
      state: 'STARTED',
      attempt: undefined,
      leaseUntil: 5,
      deadLettered: undefined,
      expiresAt: 1_900_000_000_000,
    });
    expect(taskView(undefined)).toBeUndefined();
  });
});

describe('Function: ttlSeconds', () => {
  it('rounds up to whole seconds', () => {
    // Act
    const values = [ttlSeconds(1_000), ttlSeconds(1_001), ttlSeconds(1_999)];

    // Assess
    expect(values).toEqual([1, 2, 2]);
  });
});

/** The live PENDING items of the table. */
const LIVE_PENDING = ['PENDING', 'PENDING, no TTL', 'PENDING, no dead-letter attribute'];

describe('Constant: transitionConditions', () => {
  it('lists in names and values exactly the placeholders each expression uses', () => {
    for (const [name, c] of Object.entries(CONDITIONS)) {
      // Act
      const names = placeholders(c.expression, '#');
      const values = placeholders(c.expression, ':');

      // Assess
      expect(Object.keys(c.names).sort(), name).toEqual(names);
      expect(Object.keys(c.values).sort(), name).toEqual(values);
    }
  });

  it('admits to putPending only an absent or expired task', () => {
    // Act
    const names = admitted(transitionConditions.putPending(NOW));

    // Assess
    expect(names).toEqual(['absent', 'PENDING, expired', 'PENDING, expiring this second']);
  });

  it('admits to the common claim an absent task and a live, waiting, not dead-lettered one', () => {
    // Act
    const names = admitted(transitionConditions.claim(NOW));

    // Assess
    expect(names).toEqual(['absent', ...LIVE_PENDING, 'RECEIVED', 'RETRY']);
  });

  it('admits to the redrive a dead-lettered task whose attempt is unchanged', () => {
    // Act
    const names = admitted(transitionConditions.redrive(2));

    // Assess
    expect(names).toEqual(['RETRY, dead-lettered', 'FAILURE, dead-lettered']);
  });

  it('admits to finish and the crash reclaim only the task STARTED by that attempt', () => {
    // Act
    const finish = admitted(transitionConditions.finish(2, NOW));
    const reclaim = admitted(transitionConditions.reclaimCrashed(2));

    // Assess
    const started = [
      'STARTED, live lease',
      'STARTED, lease ending now',
      'STARTED, lease expired',
      'STARTED, no lease',
    ];
    expect(finish).toEqual(started);
    expect(reclaim).toEqual(started);
  });

  it('admits to markFailure without a claim any task not final and not leased by a running attempt', () => {
    // Act
    const names = admitted(transitionConditions.failUnclaimed(NOW));

    // Assess
    expect(names).toEqual([
      'absent',
      ...LIVE_PENDING,
      'RECEIVED',
      'STARTED, lease ending now',
      'STARTED, lease expired',
      'STARTED, no lease',
      'RETRY',
      'RETRY, dead-lettered',
    ]);
  });

  it('admits to revoke an absent task and a live PENDING or RETRY one', () => {
    // Act
    const names = admitted(transitionConditions.revoke(NOW));

    // Assess
    expect(names).toEqual(['absent', ...LIVE_PENDING, 'RETRY', 'RETRY, dead-lettered']);
  });

  it('gives a TaskRecord of the memory backend the answers it gives the same DynamoDB item', () => {
    // Prepare
    const record: TaskRecord = {
      uuid: 'task_table',
      name: 'conformance',
      state: 'STARTED',
      results: null,
      error: null,
      createdAt: NOW - 60_000,
      updatedAt: NOW - 1_000,
      attempt: 2,
      retries: 0,
      crashes: 0,
      leaseUntil: null,
      deadLettered: false,
      deadLetterReason: null,
      expiresAt: (NOW / 1000 + 3600) * 1000,
      body: null,
    };
    const stored = TASK_ITEMS['STARTED, no lease'];

    // Act
    const fromRecord = Object.values(CONDITIONS).map((c) => c.test(record));
    const fromItem = Object.values(CONDITIONS).map((c) => c.test(taskView(stored)));

    // Assess
    expect(fromRecord).toEqual(fromItem);
  });
});
