/**
 * Times and durations: the one parser and the one formatter of RFC 3339 times (Go's RFC3339Nano)
 * and of the ETAs and durations people type. Every layer reads and writes ETAs through here: the
 * signature codec, item lifetimes, dispatch, the worker, the forwarder, the client and the CLI.
 *
 * - **Wire form** (a signature's `ETA`): RFC 3339 with `T`, seconds, optional fractions up to
 *   nanoseconds and an offset `Z` or `±hh:mm`, years 0000–9999 once in UTC. Normalised to UTC
 *   with trailing zero fractions dropped, as Go's `time.Format(time.RFC3339Nano)` writes it:
 *   `2024-05-01T12:00:00.500+02:00` → `2024-05-01T10:00:00.5Z`.
 * - **Typed form** ({@link parseEta}): the wire form, or the same with a space for `T`, without
 *   seconds or with an offset written `+0200`; or `+<duration>` relative to now. A time without
 *   an offset is ambiguous and refused rather than guessed.
 * - **Durations** ({@link parseDuration}): `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
 *
 * Epoch milliseconds drop digits below the millisecond; the normalised text keeps them. Every
 * failure is an {@link EtaParseError}. Pure: no clock is read; callers pass `now`.
 *
 * @module
 */
import { EtaParseError } from './errors.js';

/**
 * A time read from RFC 3339 text: `text` normalised to UTC RFC3339Nano, `ms` its epoch
 * milliseconds (digits below the millisecond are kept in `text` only).
 *
 * @example
 * ```ts
 * const t: Rfc3339Time = { text: '2024-05-01T10:00:00.123456789Z', ms: 1714557600123 };
 * ```
 */
export interface Rfc3339Time {
  readonly text: string;
  readonly ms: number;
}

/**
 * Options of {@link parseRfc3339}.
 *
 * @example
 * ```ts
 * const typed: Rfc3339Options = { lenient: true };
 * ```
 */
export interface Rfc3339Options {
  /**
   * Also accept a space for `T`, no seconds, and an offset without its colon (`+0200`): what people
   * type. The wire form never is lenient.
   * @default false
   */
  lenient?: boolean;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(:?)(\d{2}))?$/;

const WIRE_FORM =
  'expected RFC 3339 like 2024-05-01T10:00:00Z or 2024-05-01T12:00:00.123456789+02:00';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Days in a month of the proleptic Gregorian calendar. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * RFC3339Nano text of a whole second (epoch ms, a multiple of 1000) plus fraction digits, or why
 * it cannot be written (outside years 0000–9999).
 */
function render(wholeMs: number, fraction: string): string | { error: string } {
  const utc = new Date(wholeMs);
  const year = utc.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) {
    return { error: 'the time in UTC falls outside years 0000-9999' };
  }
  const digits = fraction.replace(/0+$/, '');
  return (
    `${pad(year, 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}T` +
    `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}` +
    `${digits === '' ? '' : `.${digits}`}Z`
  );
}

/**
 * Reads an RFC 3339 time (see the module documentation for the wire and lenient forms).
 *
 * @throws EtaParseError saying which part is wrong.
 * @example
 * ```ts
 * parseRfc3339('2024-05-01T12:00:00.123456789+02:00').text; // '2024-05-01T10:00:00.123456789Z'
 * parseRfc3339('2024-05-01 12:00+0200', { lenient: true }).ms; // 1714557600000
 * ```
 */
export function parseRfc3339(text: string, options: Rfc3339Options = {}): Rfc3339Time {
  const fail = (detail: string): never => {
    throw new EtaParseError(text, detail);
  };
  const m = DATE_TIME.exec(text);
  if (m === null) return fail(WIRE_FORM);
  const [, ys, mos, ds, sep, hs, mis, ss, frac = '', z, sign, ohs, colon, oms] = m;
  if (!options.lenient && (sep === ' ' || ss === undefined || colon === '')) fail(WIRE_FORM);
  if (z === undefined && sign === undefined) fail('no time zone offset; add Z or +hh:mm');
  const [y, mo, d, h, mi, sec] = [ys, mos, ds, hs, mis, ss ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (frac.length > 9) fail('fractional seconds beyond nanoseconds (at most 9 digits)');
  if (mo < 1 || mo > 12) fail(`month ${mos} is out of range`);
  if (d < 1 || d > daysInMonth(y, mo)) fail(`day ${ds} is out of range`);
  if (h > 23) fail(`hour ${hs} is out of range`);
  if (mi > 59) fail(`minute ${mis} is out of range`);
  if (sec > 59) fail(`second ${ss} is out of range`);
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) fail(`offset ${sign}${ohs}:${oms} is out of range`);
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, sec, 0);
  const whole = date.getTime() - offsetMinutes * 60_000;
  const normalised = render(whole, frac);
  if (typeof normalised !== 'string') return fail(normalised.error);
  return { text: normalised, ms: whole + Number(frac.padEnd(3, '0').slice(0, 3)) };
}

/**
 * An epoch-milliseconds time as a signature's `ETA` holds it: UTC RFC3339Nano, trailing zero
 * fractions dropped (Go's `time.RFC3339Nano`).
 *
 * @throws EtaParseError when `ms` is not a finite time within years 0000–9999.
 * @example
 * ```ts
 * formatEta(0); // '1970-01-01T00:00:00Z'
 * formatEta(1_500); // '1970-01-01T00:00:01.5Z'
 * ```
 */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms)) throw new EtaParseError(String(ms), 'not a time');
  const whole = Math.floor(Math.trunc(ms) / 1000) * 1000;
  const text = render(whole, pad(Math.trunc(ms) - whole, 3));
  if (typeof text !== 'string') throw new EtaParseError(String(ms), text.error);
  return text;
}

/**
 * Normalises an ETA to the wire form (`null` and `undefined` give `null`): an RFC 3339 string in
 * the wire form, a `Date`, or epoch milliseconds.
 *
 * @throws EtaParseError when the ETA is not a valid time.
 * @example
 * ```ts
 * normalizeEta('2024-05-01T12:00:00.123456789+02:00'); // '2024-05-01T10:00:00.123456789Z'
 * normalizeEta(new Date(0)); // '1970-01-01T00:00:00Z'
 * ```
 */
export function normalizeEta(eta: string | Date | number | null | undefined): string | null {
  if (eta === null || eta === undefined) return null;
  if (typeof eta === 'string') return parseRfc3339(eta).text;
  return formatEta(typeof eta === 'number' ? eta : eta.getTime());
}

/**
 * Epoch milliseconds of a wire-form ETA (`null` gives `null`; digits below the millisecond are
 * dropped).
 *
 * @throws EtaParseError when the ETA is not valid RFC 3339.
 * @example
 * ```ts
 * etaToMillis('1970-01-01T00:00:01.5Z'); // 1500
 * etaToMillis(null); // null
 * ```
 */
export function etaToMillis(eta: string): number;
export function etaToMillis(eta: string | null): number | null;
export function etaToMillis(eta: string | null): number | null {
  return eta === null ? null : parseRfc3339(eta).ms;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds in a duration: one or more `<number><unit>` parts with units `ms`, `s`, `m`, `h`,
 * `d` (`500ms`, `30s`, `1.5m`, `1h30m`, `2d`), surrounding spaces ignored.
 *
 * @throws EtaParseError otherwise.
 * @example
 * ```ts
 * parseDuration('1h30m'); // 5_400_000
 * ```
 */
export function parseDuration(text: string): number {
  return durationMs(text, text);
}

function durationMs(text: string, original: string): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = part.exec(trimmed); m !== null; m = part.exec(trimmed)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = part.lastIndex;
  }
  if (trimmed === '' || matched !== trimmed.length) {
    throw new EtaParseError(original, 'not a duration');
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new EtaParseError(original, 'duration too large');
  return ms;
}

const TYPED_FORMS =
  'use +<duration> such as +30s, +20m, +1h30m, or a date-time with an offset such as 2030-01-01T09:00:00Z';

/**
 * The ETA a person typed (`machinery send --eta`, SDK helpers), as epoch milliseconds:
 *
 * - `+<duration>` (see {@link parseDuration}): `now` plus that duration, e.g. `+30s`, `+20m`;
 * - an RFC 3339 time in the lenient form (see {@link parseRfc3339}): `2030-01-01T10:00:00Z`,
 *   `2030-01-01 12:00+02:00`.
 *
 * A time in the past is accepted (the task runs at once, as in machinery).
 *
 * @throws EtaParseError saying what is wrong and which forms are accepted.
 * @example
 * ```ts
 * const eta = parseEta('+20m', Date.now());
 * const sig = newSignature('add', args, { ETA: formatEta(eta) });
 * ```
 */
export function parseEta(text: string, now: number): number {
  const trimmed = text.trim();
  try {
    if (trimmed === '') throw new EtaParseError(text, 'empty');
    if (trimmed.startsWith('+')) return now + durationMs(trimmed.slice(1), text);
    return parseRfc3339(trimmed, { lenient: true }).ms;
  } catch (e) {
    if (!(e instanceof EtaParseError)) throw e;
    throw new EtaParseError(text, `${e.detail} (${TYPED_FORMS})`, { cause: e });
  }
}
