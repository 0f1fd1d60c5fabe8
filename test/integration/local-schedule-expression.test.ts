import { describe, expect, it } from 'vitest';
import { InvalidScheduleExpressionError } from '../../src/core/errors.js';
import {
  fromLocal,
  nextFireTime,
  parseScheduleExpression,
  toLocal,
} from '../../src/core/schedule-expression.js';

/** Next firing of `expression` strictly after the ISO instant `after` (UTC unless `timeZone`). */
function next(expression: string, after: string, timeZone = 'UTC'): string | undefined {
  const afterMs = Date.parse(after);
  const ms = nextFireTime(parseScheduleExpression(expression), {
    afterMs,
    anchorMs: afterMs,
    timeZone,
  });
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

describe('Function: nextFireTime', () => {
  it.each([
    ['cron(0 9 * * ? *)', '2030-01-01T08:59:59.000Z', '2030-01-01T09:00:00.000Z'],
    ['cron(0 9 * * ? *)', '2030-01-01T09:00:00.000Z', '2030-01-02T09:00:00.000Z'],
    ['cron(*/15 * * * ? *)', '2030-01-01T10:07:00.000Z', '2030-01-01T10:15:00.000Z'],
    ['cron(0 8 ? * MON-FRI *)', '2030-01-04T09:00:00.000Z', '2030-01-07T08:00:00.000Z'],
    ['cron(0 0 L * ? *)', '2030-02-10T00:00:00.000Z', '2030-02-28T00:00:00.000Z'],
    ['cron(0 0 LW * ? *)', '2030-08-01T00:00:00.000Z', '2030-08-30T00:00:00.000Z'],
    ['cron(0 0 15W * ? *)', '2030-06-01T00:00:00.000Z', '2030-06-14T00:00:00.000Z'],
    ['cron(0 12 ? * 3#2 *)', '2030-01-01T00:00:00.000Z', '2030-01-08T12:00:00.000Z'],
    ['cron(0 12 ? * 6L *)', '2030-01-01T00:00:00.000Z', '2030-01-25T12:00:00.000Z'],
    ['cron(30 1 1 JAN,JUL ? 2031)', '2030-03-01T00:00:00.000Z', '2031-01-01T01:30:00.000Z'],
    ['cron(0 0 1 1 ? 2029)', '2030-01-01T00:00:00.000Z', undefined],
  ])('computes %s after %s as %s', (expression, after, expected) => {
    // Prepare / Act
    const got = next(expression, after);

    // Assess
    expect(got).toBe(expected);
  });

  it('honours the time zone, across a daylight-saving change', () => {
    // Prepare: Paris is UTC+1 in winter and UTC+2 from 2030-03-31.
    const expression = 'cron(0 9 * * ? *)';

    // Act
    const winter = next(expression, '2030-03-29T12:00:00.000Z', 'Europe/Paris');
    const summer = next(expression, '2030-03-31T00:00:00.000Z', 'Europe/Paris');

    // Assess
    expect(winter).toBe('2030-03-30T08:00:00.000Z');
    expect(summer).toBe('2030-03-31T07:00:00.000Z');
  });

  it('fires rate() one period after the anchor, or on StartDate then every period', () => {
    // Prepare
    const rate = parseScheduleExpression('rate(10 minutes)');
    const anchor = Date.parse('2030-01-01T00:00:00Z');

    // Act
    const first = nextFireTime(rate, { afterMs: anchor, anchorMs: anchor, timeZone: 'UTC' });
    const later = nextFireTime(rate, {
      afterMs: anchor + 25 * 60_000,
      anchorMs: anchor,
      timeZone: 'UTC',
    });
    const fromStart = nextFireTime(rate, {
      afterMs: anchor,
      anchorMs: anchor,
      timeZone: 'UTC',
      startMs: anchor + 3 * 60_000,
    });
    const ended = nextFireTime(rate, {
      afterMs: anchor,
      anchorMs: anchor,
      timeZone: 'UTC',
      endMs: anchor + 5 * 60_000,
    });

    // Assess
    expect(first).toBe(anchor + 10 * 60_000);
    expect(later).toBe(anchor + 30 * 60_000);
    expect(fromStart).toBe(anchor + 3 * 60_000);
    expect(ended).toBeUndefined();
  });

  it('rounds rate() occurrences up to whole seconds when the anchor or StartDate has milliseconds', () => {
    // Prepare
    const rate = parseScheduleExpression('rate(10 minutes)');
    const anchor = Date.parse('2030-01-01T00:00:00.400Z');
    const whole = Date.parse('2030-01-01T00:00:01Z');

    // Act
    const first = nextFireTime(rate, { afterMs: anchor, anchorMs: anchor, timeZone: 'UTC' });
    const later = nextFireTime(rate, {
      afterMs: whole + 10 * 60_000,
      anchorMs: anchor,
      timeZone: 'UTC',
    });
    const fromStart = nextFireTime(rate, {
      afterMs: anchor,
      anchorMs: anchor,
      timeZone: 'UTC',
      startMs: anchor + 3 * 60_000,
    });

    // Assess
    expect(first).toBe(whole + 10 * 60_000);
    expect(later).toBe(whole + 20 * 60_000);
    expect(fromStart).toBe(whole + 3 * 60_000);
  });

  it('reads at() in the schedule time zone', () => {
    // Prepare
    const at = parseScheduleExpression('at(2030-07-01T12:00:00)');

    // Act
    const ms = nextFireTime(at, { afterMs: 0, anchorMs: 0, timeZone: 'America/New_York' });

    // Assess
    expect(new Date(ms ?? 0).toISOString()).toBe('2030-07-01T16:00:00.000Z');
  });
});

describe('Function: fromLocal', () => {
  it('round-trips with toLocal', () => {
    // Prepare
    const ms = Date.parse('2030-11-03T05:30:00Z');

    // Act
    const local = toLocal(ms, 'America/Los_Angeles');

    // Assess
    expect(fromLocal(local, 'America/Los_Angeles')).toBe(ms);
  });
});

describe('Function: parseScheduleExpression', () => {
  it.each([
    'cron(0 9 * * * *)',
    'cron(0 9 ? * ? *)',
    'cron(0 25 * * ? *)',
    'cron(0 9 * FOO ? *)',
    'cron(0 9 ? * 8 *)',
    'rate(1 hours)',
    'rate(2 hour)',
    'rate(-1 minutes)',
    'at(2030-13-01T00:00:00)',
    'at(2030-01-01T24:00:00)',
    'now',
  ])('refuses %s', (expression) => {
    // Prepare / Act
    const parse = () => parseScheduleExpression(expression);

    // Assess
    expect(parse).toThrow(InvalidScheduleExpressionError);
  });
});
