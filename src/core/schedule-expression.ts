/**
 * EventBridge Scheduler schedule expressions: the one grammar of `at()`, `rate()` and `cron()`,
 * with the real API's validation, and "when does it fire next". The Scheduler adapter validates
 * with it before calling AWS; the local Scheduler emulator validates requests and fires schedules
 * with it.
 *
 * - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's time zone.
 * - `rate(n unit)`: `minute`/`minutes`, `hour`/`hours`, `day`/`days` (singular exactly when `n` is
 *   1). Occurrences are `StartDate + k × period` (k ≥ 0) when a start date is set, else
 *   `created + k × period` (k ≥ 1): the first firing is one period after creation. Like every
 *   occurrence (and `<aws.scheduler.scheduled-time>`), they fall on whole seconds: the start is
 *   rounded up to the next second.
 * - `cron(minutes hours day-of-month month day-of-week year)`: AWS's six fields; `*`, `?`, ranges,
 *   lists, steps, month and day names, `L` (last day of month, or last given weekday as `5L`), `W`
 *   (nearest weekday, `15W`, `LW`) and `#` (`3#2`: second Tuesday). Exactly one of day-of-month and
 *   day-of-week must be `?`. Day-of-week runs 1–7 from Sunday.
 *
 * Time zones use `Intl` (IANA names). A local time skipped by a daylight-saving jump fires at the
 * same clock reading shifted by the jump; a repeated local time fires once, at its first instant.
 *
 * @module
 */
import { InvalidScheduleExpressionError } from './errors.js';

/**
 * A parsed schedule expression.
 *
 * @example
 * ```ts
 * const e: ScheduleExpression = parseScheduleExpression('rate(5 minutes)'); // { kind: 'rate', periodMs: 300000 }
 * ```
 */
export type ScheduleExpression =
  | { kind: 'at'; local: LocalTime }
  | { kind: 'rate'; periodMs: number }
  | { kind: 'cron'; cron: CronSpec };

/**
 * A wall-clock time (month 1–12).
 *
 * @example
 * ```ts
 * const t: LocalTime = { year: 2030, month: 1, day: 1, hour: 9, minute: 0, second: 0 };
 * ```
 */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

interface DomSpec {
  values?: Set<number>;
  last?: boolean;
  lastWeekday?: boolean;
  nearestWeekday?: number;
}
interface DowSpec {
  values?: Set<number>;
  /** `n#k`: the k-th weekday n of the month. */
  nth?: { dow: number; k: number };
  /** `nL`: the last weekday n of the month. */
  lastDow?: number;
}

/**
 * A parsed `cron()` expression. `undefined` field sets mean "any".
 *
 * @example
 * ```ts
 * const e = parseScheduleExpression('cron(0 9 ? * MON-FRI *)');
 * if (e.kind === 'cron') e.cron.hours; // Set { 9 }
 * ```
 */
export interface CronSpec {
  minutes: Set<number>;
  hours: Set<number>;
  dom: DomSpec | undefined;
  months: Set<number> | undefined;
  dow: DowSpec | undefined;
  years: Set<number> | undefined;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function invalid(expression: string, why: string): InvalidScheduleExpressionError {
  return new InvalidScheduleExpressionError(expression, why);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether `t` names a real calendar date and time of day. */
function isCalendarTime(t: LocalTime): boolean {
  const { year, month, day, hour, minute, second } = t;
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  );
}

/** Day of week of a calendar date, AWS numbering (1 = Sunday … 7 = Saturday). */
function awsDow(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function parseNumber(
  token: string,
  min: number,
  max: number,
  names: string[] | undefined,
  offset: number,
): number {
  const upper = token.toUpperCase();
  const named = names?.indexOf(upper) ?? -1;
  const value = named >= 0 ? named + offset : /^\d+$/.test(token) ? Number(token) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`'${token}' is not in ${min}-${max}`);
  }
  return value;
}

/** Parses `*`, `a`, `a-b`, `*\/s`, `a/s`, `a-b/s` and lists of them into a set. */
function parseSet(
  field: string,
  min: number,
  max: number,
  names?: string[],
  offset = 1,
): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (range === undefined || range === '' || extra !== undefined)
      throw new Error(`bad item '${item}'`);
    const step = stepText === undefined ? 1 : parseNumber(stepText, 1, max - min + 1, undefined, 0);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (a === undefined || b === undefined || more !== undefined)
        throw new Error(`bad range '${range}'`);
      from = parseNumber(a, min, max, names, offset);
      to = parseNumber(b, min, max, names, offset);
      if (to < from) throw new Error(`bad range '${range}'`);
    } else {
      from = parseNumber(range, min, max, names, offset);
      to = stepText === undefined ? from : max;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function parseDom(field: string): DomSpec | undefined {
  if (field === '?') return undefined;
  if (field === '*') return undefined;
  if (field === 'L') return { last: true };
  if (field === 'LW') return { lastWeekday: true };
  const w = /^(\d{1,2})W$/.exec(field);
  if (w) return { nearestWeekday: parseNumber(w[1] as string, 1, 31, undefined, 0) };
  return { values: parseSet(field, 1, 31) };
}

function parseDow(field: string): DowSpec | undefined {
  if (field === '?' || field === '*') return undefined;
  const nth = /^([A-Za-z]{3}|\d)#([1-5])$/.exec(field);
  if (nth) return { nth: { dow: parseNumber(nth[1] as string, 1, 7, DAYS, 1), k: Number(nth[2]) } };
  const last = /^([A-Za-z]{3}|\d)L$/.exec(field);
  if (last) return { lastDow: parseNumber(last[1] as string, 1, 7, DAYS, 1) };
  if (field === 'L') return { lastDow: 7 };
  return { values: parseSet(field, 1, 7, DAYS, 1) };
}

function parseCron(expression: string, body: string): CronSpec {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw invalid(expression, 'cron() needs 6 fields');
  const [min, hour, dom, month, dow, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((dom === '?') === (dow === '?')) {
    throw invalid(expression, 'exactly one of day-of-month and day-of-week must be ?');
  }
  if (min === '?' || hour === '?' || month === '?' || year === '?') {
    throw invalid(expression, '? is only allowed in day-of-month or day-of-week');
  }
  try {
    return {
      minutes: parseSet(min, 0, 59, undefined, 0),
      hours: parseSet(hour, 0, 23, undefined, 0),
      dom: parseDom(dom),
      months: month === '*' ? undefined : parseSet(month, 1, 12, MONTHS, 1),
      dow: parseDow(dow),
      years: year === '*' ? undefined : parseSet(year, 1970, 2199),
    };
  } catch (e) {
    throw invalid(expression, (e as Error).message);
  }
}

/**
 * Parses a schedule expression, throwing {@link InvalidScheduleExpressionError} when the real API
 * would answer `ValidationException`.
 *
 * @example
 * ```ts
 * parseScheduleExpression('cron(0 9 ? * MON-FRI *)');
 * parseScheduleExpression('at(2030-01-01T00:00:00)');
 * ```
 */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number);
    const local: LocalTime = {
      year: year ?? 0,
      month: month ?? 0,
      day: day ?? 0,
      hour: hour ?? 0,
      minute: minute ?? 0,
      second: second ?? 0,
    };
    if (!isCalendarTime(local)) throw invalid(expression, 'not a valid date and time');
    return { kind: 'at', local };
  }
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (!Number.isSafeInteger(value) || value < 1)
      throw invalid(expression, 'value must be positive');
    if ((value === 1) !== !unit.endsWith('s')) {
      throw invalid(expression, 'use a singular unit for 1 and a plural unit otherwise');
    }
    const unitMs = unit.startsWith('minute')
      ? 60_000
      : unit.startsWith('hour')
        ? 3_600_000
        : 86_400_000;
    return { kind: 'rate', periodMs: value * unitMs };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return { kind: 'cron', cron: parseCron(expression, cron[1] as string) };
  throw invalid(expression, 'expected at(), rate() or cron()');
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Whether `timeZone` is an IANA time zone `Intl` knows.
 *
 * @example
 * ```ts
 * isValidTimeZone('Europe/Paris'); // true
 * ```
 */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall-clock time at instant `ms` in `timeZone`.
 *
 * @example
 * ```ts
 * toLocal(Date.UTC(2030, 0, 1), 'Asia/Tokyo').hour; // 9
 * ```
 */
export function toLocal(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

function localAsUtc(t: LocalTime): number {
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
}

/**
 * The first instant whose wall-clock time in `timeZone` is `t` (see the module notes for
 * daylight-saving gaps).
 *
 * @example
 * ```ts
 * fromLocal({ year: 2030, month: 1, day: 1, hour: 9, minute: 0, second: 0 }, 'Asia/Tokyo'); // Date.UTC(2030, 0, 1)
 * ```
 */
export function fromLocal(t: LocalTime, timeZone: string): number {
  const guess = localAsUtc(t);
  const offsetAt = (ms: number) => localAsUtc(toLocal(ms, timeZone)) - Math.floor(ms / 1000) * 1000;
  // Try both offsets around the guess; prefer the earliest instant that maps back to `t`.
  const candidates = [
    guess - offsetAt(guess - 86_400_000),
    guess - offsetAt(guess),
    guess - offsetAt(guess + 86_400_000),
  ];
  const exact = candidates
    .filter((ms) => localAsUtc(toLocal(ms, timeZone)) === guess)
    .sort((a, b) => a - b);
  return exact[0] ?? guess - offsetAt(guess);
}

function domMatches(spec: DomSpec | undefined, year: number, month: number, day: number): boolean {
  if (spec === undefined) return true;
  const last = daysInMonth(year, month);
  if (spec.values) return spec.values.has(day);
  if (spec.last) return day === last;
  const isWeekday = (d: number) => {
    const w = awsDow(year, month, d);
    return w >= 2 && w <= 6;
  };
  if (spec.lastWeekday) {
    let d = last;
    while (!isWeekday(d)) d--;
    return day === d;
  }
  if (spec.nearestWeekday !== undefined) {
    const target = Math.min(spec.nearestWeekday, last);
    let d = target;
    if (!isWeekday(target)) {
      const w = awsDow(year, month, target);
      // Saturday → Friday before (or Monday after on the 1st); Sunday → Monday after (or Friday before at month end).
      if (w === 7) d = target === 1 ? target + 2 : target - 1;
      else d = target === last ? target - 2 : target + 1;
    }
    return day === d;
  }
  return true;
}

function dowMatches(spec: DowSpec | undefined, year: number, month: number, day: number): boolean {
  if (spec === undefined) return true;
  const w = awsDow(year, month, day);
  if (spec.values) return spec.values.has(w);
  if (spec.nth) return w === spec.nth.dow && Math.ceil(day / 7) === spec.nth.k;
  if (spec.lastDow !== undefined) return w === spec.lastDow && day + 7 > daysInMonth(year, month);
  return true;
}

/** Calendar days from `year-month-day` on (UTC calendar arithmetic, no time zone involved). */
function* daysFrom(year: number, month: number, day: number): Generator<[number, number, number]> {
  let ms = Date.UTC(year, month - 1, day);
  for (;;) {
    const d = new Date(ms);
    yield [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    ms += 86_400_000;
  }
}

function nextCron(cron: CronSpec, afterMs: number, timeZone: string): number | undefined {
  const start = toLocal(afterMs, timeZone);
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  let scanned = 0;
  for (const [y, m, d] of daysFrom(start.year, start.month, start.day)) {
    if (y > 2199 || scanned++ > 366 * 250) return undefined;
    if (cron.years && !cron.years.has(y)) {
      if ([...cron.years].every((year) => year < y)) return undefined;
      continue;
    }
    if (cron.months && !cron.months.has(m)) continue;
    if (!domMatches(cron.dom, y, m, d) || !dowMatches(cron.dow, y, m, d)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const ms = fromLocal({ year: y, month: m, day: d, hour, minute, second: 0 }, timeZone);
        if (ms > afterMs) return ms;
      }
    }
  }
  return undefined;
}

/**
 * When a schedule fires next, strictly after `afterMs`; `undefined` when never again.
 *
 * - `at`: its instant, whatever `afterMs` (the caller fires a one-time schedule once).
 * - `rate`: see the module notes; `anchorMs` is the creation (or last update) time, its
 *   milliseconds rounded up to the second.
 * - `cron`: the next matching minute in `timeZone`.
 *
 * `startMs` / `endMs` bound `rate` and `cron` occurrences (`at` ignores them, as AWS does).
 *
 * @example
 * ```ts
 * const next = nextFireTime(parseScheduleExpression('rate(5 minutes)'), { afterMs: now, anchorMs: created, timeZone: 'UTC' });
 * ```
 */
export function nextFireTime(
  expression: ScheduleExpression,
  options: {
    afterMs: number;
    anchorMs: number;
    timeZone: string;
    startMs?: number;
    endMs?: number;
  },
): number | undefined {
  const { afterMs, anchorMs, timeZone, startMs, endMs } = options;
  let next: number | undefined;
  if (expression.kind === 'at') return fromLocal(expression.local, timeZone);
  const floor = startMs === undefined ? afterMs : Math.max(afterMs, startMs - 1);
  if (expression.kind === 'rate') {
    // Whole seconds, rounded up: never before StartDate nor one period after creation.
    const base = Math.ceil((startMs ?? anchorMs + expression.periodMs) / 1000) * 1000;
    const k = floor < base ? 0 : Math.floor((floor - base) / expression.periodMs) + 1;
    next = base + k * expression.periodMs;
  } else {
    next = nextCron(expression.cron, floor, timeZone);
  }
  if (next !== undefined && endMs !== undefined && next > endMs) return undefined;
  return next;
}

/**
 * The `at()` expression for an epoch-ms time: UTC, second granularity, rounded *down* so the
 * schedule never fires later than `ms`.
 *
 * @example
 * ```ts
 * formatAt(Date.parse('2030-01-01T10:00:00.999Z')); // 'at(2030-01-01T10:00:00)'
 * ```
 */
export function formatAt(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatAt: not a time: ${ms}`);
  const whole = Math.floor(ms / 1000) * 1000;
  return `at(${new Date(whole).toISOString().slice(0, 19)})`;
}

/**
 * The epoch-ms time of an `at()` expression in `timezone`, the reverse of {@link formatAt}: only
 * `UTC` (or `Etc/UTC`) is read, as that is what `formatAt` writes; `undefined` for any other time
 * zone, any other expression, or a date that does not exist.
 *
 * @example
 * ```ts
 * parseAt('at(2030-01-01T10:00:00)'); // 1893492000000
 * ```
 */
export function parseAt(expression: string, timezone = 'UTC'): number | undefined {
  if (timezone !== 'UTC' && timezone !== 'Etc/UTC') return undefined;
  let parsed: ScheduleExpression;
  try {
    parsed = parseScheduleExpression(expression);
  } catch {
    return undefined;
  }
  return parsed.kind === 'at' ? fromLocal(parsed.local, 'UTC') : undefined;
}

const RECURRING_FORMS =
  "use 'rate(<n> minute|minutes|hour|hours|day|days)' or 'cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)'";

/**
 * Checks a recurring expression (`rate()` or `cron()`, as {@link parseScheduleExpression} reads
 * them); throws {@link InvalidScheduleExpressionError} for anything else, `at()` included, with a
 * message that says the forms to use.
 *
 * @example
 * ```ts
 * validateRecurringExpression('rate(1 minute)');
 * validateRecurringExpression('cron(0 3 * * ? *)');
 * ```
 */
export function validateRecurringExpression(expression: string): void {
  let detail: string;
  let cause: unknown;
  try {
    if (parseScheduleExpression(expression).kind !== 'at') return;
    detail = 'at() fires once, a recurring schedule needs rate() or cron()';
  } catch (e) {
    if (!(e instanceof InvalidScheduleExpressionError)) throw e;
    detail = e.detail;
    cause = e;
  }
  throw new InvalidScheduleExpressionError(expression, detail, {
    message: `invalid recurring schedule expression '${expression}': ${detail}; ${RECURRING_FORMS}`,
    cause,
  });
}
