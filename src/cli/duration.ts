/**
 * Durations on the command line (`send --wait --timeout 30s`). The grammar is core's
 * `parseDuration` (src/core/time.ts, units `ms`, `s`, `m`, `h`, `d`, combinable as `1m30s`), plus
 * a bare number read as seconds. ETAs (`--eta +20m`) are parsed by core's `parseEta`.
 *
 * @module
 */
import { parseDuration } from '../core/time.js';
import { UsageError } from './errors.js';

/**
 * Parses the value of a duration flag (`30s`, `1m30s`, `500ms`, or `30` = 30 s) into
 * milliseconds. Throws {@link UsageError} (exit code 2) naming the flag otherwise.
 *
 * @example
 * ```ts
 * parseTimeout('1m30s'); // 90000
 * parseTimeout('30');    // 30000
 * ```
 */
export function parseTimeout(text: string, flag = '--timeout'): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1_000);
  try {
    return parseDuration(trimmed);
  } catch (e) {
    throw new UsageError(
      `invalid ${flag} '${text}': use a number with a unit ms, s, m or h (e.g. 500ms, 30s, 2m, 1h30m)`,
      { cause: e },
    );
  }
}

/**
 * Formats milliseconds for messages in the same grammar (`90000` → `1m30s`).
 *
 * @example
 * ```ts
 * formatDuration(30_000); // '30s'
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
