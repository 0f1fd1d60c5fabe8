import { describe, expect, it } from 'vitest';
import { queueArnOfUrl } from '../../../src/aws/scheduler.js';
import { periodicFiringUUID } from '../../../src/core/delay-body.js';
import {
  InvalidScheduleExpressionError,
  InvalidScheduleNameError,
} from '../../../src/core/errors.js';
import {
  formatAt,
  parseAt,
  validateRecurringExpression,
} from '../../../src/core/schedule-expression.js';
import {
  MAX_SCHEDULE_NAME_LENGTH,
  oneTimeScheduleName,
  periodicNameOf,
  periodicScheduleName,
} from '../../../src/core/schedule-names.js';

const VALID_NAME = /^[0-9A-Za-z_.-]{1,64}$/;

describe('Function: oneTimeScheduleName', () => {
  it('prefixes a task UUID with once-', () => {
    // Act
    const name = oneTimeScheduleName('task_0b3c4d5e-0000-4000-8000-000000000001');

    // Assess
    expect(name).toBe('once-task_0b3c4d5e-0000-4000-8000-000000000001');
    expect(name).toMatch(VALID_NAME);
  });

  it.each([
    ['a UUID with characters Scheduler refuses', 'task:1/2 3'],
    ['a UUID too long for a name', `task_${'x'.repeat(80)}`],
    ['an empty UUID', ''],
  ])('hashes %s into a valid, stable name', (_what, uuid) => {
    // Act
    const first = oneTimeScheduleName(uuid);
    const second = oneTimeScheduleName(uuid);

    // Assess
    expect(first).toMatch(VALID_NAME);
    expect(first.length).toBeLessThanOrEqual(MAX_SCHEDULE_NAME_LENGTH);
    expect(first.startsWith('once.')).toBe(true);
    expect(second).toBe(first);
  });

  it('gives different hashed names to different UUIDs', () => {
    // Act
    const a = oneTimeScheduleName('a b');
    const b = oneTimeScheduleName('a c');

    // Assess
    expect(a).not.toBe(b);
  });
});

describe('Function: periodicScheduleName', () => {
  it('prefixes the name with periodic- and reads it back', () => {
    // Act
    const name = periodicScheduleName('nightly.report_v2');

    // Assess
    expect(name).toBe('periodic-nightly.report_v2');
    expect(periodicNameOf(name)).toBe('nightly.report_v2');
    expect(periodicNameOf(oneTimeScheduleName('task_1'))).toBeUndefined();
  });

  it.each(['', 'has space', 'x'.repeat(56), 'slash/name'])('refuses %j', (name) => {
    // Act
    const act = () => periodicScheduleName(name);

    // Assess
    expect(act).toThrow(InvalidScheduleNameError);
  });

  it('accepts a 55-character name, giving a 64-character schedule name', () => {
    // Act
    const name = periodicScheduleName('x'.repeat(55));

    // Assess
    expect(name).toHaveLength(64);
  });
});

describe('Function: formatAt', () => {
  it.each([
    ['2030-01-01T10:00:00.000Z', 'at(2030-01-01T10:00:00)'],
    ['2030-01-01T10:00:00.999Z', 'at(2030-01-01T10:00:00)'],
    ['2030-12-31T23:59:59.500Z', 'at(2030-12-31T23:59:59)'],
  ])('formats %s in UTC, rounded down to the second', (iso, expected) => {
    // Act
    const at = formatAt(Date.parse(iso));

    // Assess
    expect(at).toBe(expected);
  });

  it('never yields a time later than asked', () => {
    // Prepare
    const times = Array.from({ length: 200 }, (_, i) => 1_893_492_000_000 + i * 137);

    // Act
    const late = times.filter((t) => (parseAt(formatAt(t)) as number) > t);

    // Assess
    expect(late).toEqual([]);
  });

  it('refuses a non-finite time', () => {
    // Act
    const act = () => formatAt(Number.NaN);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('Function: parseAt', () => {
  it('reads an at() expression in UTC and refuses other forms', () => {
    // Act
    const ms = parseAt('at(2030-01-01T10:00:00)');

    // Assess
    expect(ms).toBe(Date.parse('2030-01-01T10:00:00Z'));
    expect(parseAt('rate(1 minute)')).toBeUndefined();
    expect(parseAt('at(2030-01-01T10:00:00)', 'Europe/Paris')).toBeUndefined();
  });

  it('reads nothing from a date that does not exist', () => {
    // Act
    const ms = parseAt('at(2030-02-30T10:00:00)');

    // Assess
    expect(ms).toBeUndefined();
  });
});

describe('Function: validateRecurringExpression', () => {
  it.each([
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(1 hour)',
    'rate(2 days)',
    'cron(0 3 * * ? *)',
  ])('accepts %s', (expression) => {
    // Act
    const act = () => validateRecurringExpression(expression);

    // Assess
    expect(act).not.toThrow();
  });

  it.each([
    'rate(1 minutes)',
    'rate(5 minute)',
    'rate(0 minutes)',
    'rate(1 second)',
    'cron(* * * * *)',
    'at(2030-01-01T10:00:00)',
    'every minute',
  ])('refuses %s', (expression) => {
    // Act
    const act = () => validateRecurringExpression(expression);

    // Assess
    expect(act).toThrow(InvalidScheduleExpressionError);
  });

  it.each([
    [
      'both day fields restricted',
      'cron(0 3 * * * *)',
      'exactly one of day-of-month and day-of-week must be ?',
    ],
    ['an hour out of range', 'cron(0 24 * * ? *)', "'24' is not in 0-23"],
    ['an unknown day name', 'cron(0 3 ? * FUN *)', "'FUN' is not in 1-7"],
  ])(
    'refuses a cron() with %s, naming what is wrong and the forms to use',
    (_what, expression, detail) => {
      // Act
      const error = (() => {
        try {
          validateRecurringExpression(expression);
          return undefined;
        } catch (e) {
          return e;
        }
      })();

      // Assess
      expect(error).toBeInstanceOf(InvalidScheduleExpressionError);
      const invalid = error as InvalidScheduleExpressionError;
      expect(invalid.code).toBe('INVALID_SCHEDULE_EXPRESSION');
      expect(invalid.expression).toBe(expression);
      expect(invalid.detail).toBe(detail);
      expect(invalid.message).toContain(`'${expression}': ${detail}`);
      expect(invalid.message).toContain('rate(<n> minute|minutes|hour|hours|day|days)');
    },
  );
});

describe('Function: periodicFiringUUID', () => {
  const T = '2030-01-01T03:00:00Z';

  it('is stable for one firing and distinct across firings, schedules and templates', () => {
    // Act
    const a = periodicFiringUUID('periodic-a', T, 'task_1');
    const again = periodicFiringUUID('periodic-a', '2030-01-01T03:00:00.000Z', 'task_1');
    const nextMinute = periodicFiringUUID('periodic-a', '2030-01-01T03:01:00Z', 'task_1');
    const otherSchedule = periodicFiringUUID('periodic-b', T, 'task_1');
    const otherTemplate = periodicFiringUUID('periodic-a', T, 'task_2');

    // Assess
    expect(a).toMatch(/^task_[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(again).toBe(a);
    expect(new Set([a, nextMinute, otherSchedule, otherTemplate]).size).toBe(4);
  });

  it('keeps the group_ and chord_ prefixes', () => {
    // Act
    const group = periodicFiringUUID('periodic-a', T, 'group_1');
    const chord = periodicFiringUUID('periodic-a', T, 'chord_1');

    // Assess
    expect(group.startsWith('group_')).toBe(true);
    expect(chord.startsWith('chord_')).toBe(true);
  });

  it('refuses an unsubstituted scheduled-time placeholder', () => {
    // Act
    const act = () => periodicFiringUUID('periodic-a', '<aws.scheduler.scheduled-time>', 'task_1');

    // Assess
    expect(act).toThrow(/not substituted/);
  });
});

describe('Function: queueArnOfUrl', () => {
  it.each([
    [
      'https://sqs.eu-west-1.amazonaws.com/123456789012/delay',
      'arn:aws:sqs:eu-west-1:123456789012:delay',
    ],
    [
      'https://sqs.us-east-1.amazonaws.com/123456789012/tasks.fifo',
      'arn:aws:sqs:us-east-1:123456789012:tasks.fifo',
    ],
    [
      'https://eu-west-1.queue.amazonaws.com/123456789012/delay',
      'arn:aws:sqs:eu-west-1:123456789012:delay',
    ],
    [
      'https://vpce-0a1b2c3d-abcdefgh.sqs.eu-west-1.vpce.amazonaws.com/123456789012/delay',
      'arn:aws:sqs:eu-west-1:123456789012:delay',
    ],
    [
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/delay',
      'arn:aws-cn:sqs:cn-north-1:123456789012:delay',
    ],
    [
      'https://sqs.us-gov-west-1.amazonaws.com/123456789012/delay',
      'arn:aws-us-gov:sqs:us-gov-west-1:123456789012:delay',
    ],
  ])('reads %s', (url, arn) => {
    // Act
    const out = queueArnOfUrl(url);

    // Assess
    expect(out).toBe(arn);
  });

  it.each([
    'http://127.0.0.1:4566/000000000000/delay',
    'https://sqs.eu-west-1.amazonaws.com/notanaccount/delay',
    'not a url',
  ])('leaves %s to a lookup', (url) => {
    // Act
    const out = queueArnOfUrl(url);

    // Assess
    expect(out).toBeUndefined();
  });
});
