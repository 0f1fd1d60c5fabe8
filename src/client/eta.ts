/**
 * Parsing the ETAs people type (`machinery send --eta`, SDK helpers): a relative offset such as
 * `+30s`, `+20m` or `+1h30m`, or an absolute RFC 3339 time with an explicit offset.
 *
 * Pure: no clock is read here; callers pass `now`.
 *
 * @module
 */
import { MachineryError } from '../core/errors.js';

/**
 * An ETA that could not be understood. `code` is `INVALID_ETA`.
 *
 * @example
 * ```ts
 * try { parseEta('soon', Date.now()); } catch (e) { if (e instanceof EtaParseError) console.error(e.message); }
 * ```
 */
export class EtaParseError extends MachineryError {
  /** The text that was refused. */
  readonly input: string;

  constructor(input: string, why: string) {
    super(
      'INVALID_ETA',
      `invalid ETA '${input}': ${why} (use +<duration> such as +30s, +20m, +1h30m, or a date-time with an offset such as 2030-01-01T09:00:00Z)`,
    );
    this.input = input;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds in a relative duration: one or more `<number><unit>` parts with units `ms`, `s`,
 * `m`, `h`, `d` (`500ms`, `30s`, `1.5m`, `1h30m`, `2d`). Throws {@link EtaParseError} otherwise.
 *
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

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?$/;

/**
 * The ETA `text` names, as epoch milliseconds.
 *
 * - `+<duration>` (see {@link parseDuration}): `now` plus that duration, e.g. `+30s`, `+20m`.
 * - An RFC 3339 / ISO 8601 date-time with `Z` or an offset (`+02:00` or `+0200`), seconds
 *   optional, fractions up to nanoseconds (sub-millisecond digits are truncated), `T` or a space
 *   between date and time: `2030-01-01T10:00:00Z`, `2030-01-01 12:00+02:00`. A time without an
 *   offset is ambiguous and refused rather than guessed.
 *
 * A time in the past is accepted (the task runs at once, as in machinery).
 *
 * @example
 * ```ts
 * const eta = parseEta('+20m', Date.now());
 * const sig = { ...newSignature('add', args), ETA: formatEta(eta) };
 * ```
 */
export function parseEta(text: string, now: number): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new EtaParseError(text, 'empty');
  if (trimmed.startsWith('+')) return now + durationMs(trimmed.slice(1), text);
  const m = DATE_TIME.exec(trimmed);
  if (m === null) throw new EtaParseError(text, 'neither +<duration> nor an RFC 3339 date-time');
  if (m[4] === undefined) throw new EtaParseError(text, 'no time zone offset; add Z or +hh:mm');
  const time = m[2]?.length === 5 ? `${m[2]}:00` : (m[2] as string);
  const fraction = (m[3] ?? '').slice(0, 3).padEnd(3, '0');
  const offset = m[4].toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const iso = `${m[1]}T${time}.${fraction}${offset}`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || !sameCalendarDate(m[1] as string, time, offset, ms)) {
    throw new EtaParseError(text, 'not a valid date-time');
  }
  return ms;
}

/** Date.parse rolls 2030-02-30 over to March: check the fields survive the round trip. */
function sameCalendarDate(date: string, time: string, offset: string, ms: number): boolean {
  const sign = offset === 'Z' ? 0 : offset.startsWith('-') ? -1 : 1;
  const [oh, om] = offset === 'Z' ? [0, 0] : offset.slice(1).split(':').map(Number);
  const local = new Date(ms + sign * ((oh ?? 0) * 60 + (om ?? 0)) * 60_000).toISOString();
  return local.slice(0, 10) === date && local.slice(11, 19) === time;
}

/**
 * An epoch-ms time as the RFC 3339 UTC string a signature's `ETA` holds.
 *
 * @example
 * ```ts
 * formatEta(0); // '1970-01-01T00:00:00.000Z'
 * ```
 */
export function formatEta(ms: number): string {
  return new Date(ms).toISOString();
}
