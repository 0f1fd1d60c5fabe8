/**
 * What the `machinery` commands print. stdout carries only the result; these functions build it.
 *
 * - Plain (`send --wait`): one result as its plain value (a string raw, a bigint as its digits, a
 *   slice as JSON with big integers as bare digits), several results as a JSON array, none as
 *   nothing.
 * - JSON (`--json`): `{"uuid","state","results":[{"type","value"}],"error"}` for `send` and
 *   `{"uuid","name","state","results","error","createdAt","updatedAt","attempts","retries"}` for
 *   `status` (`attempts`: attempts claimed so far, a redrive's fresh attempt included; `retries`:
 *   retries used; `kind` `"task"`; `groupUUID` and `groupIndex` of a group member, else `null`;
 *   `eta` RFC 3339 or `null`), and for a group or chord (`status <group_…>`)
 *   `{"uuid","kind","state","total","succeeded","failed","waitingOn","error","callback"}`; integers
 *   beyond 2^53 are decimal strings (so any JSON parser reads them exactly), `[]byte` is base64,
 *   `results` is `null` until the task succeeded, times are ISO 8601 UTC.
 *
 * @module
 */
import type { GroupProgress } from '../core/chords.js';
import type { TaskRecord } from '../core/ports.js';
import { formatEta } from '../core/time.js';
import type { ArgValue, TaskState, TypedValue } from '../core/types.js';

function isSafe(n: bigint): boolean {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** JSON text of a value, integers of any size as bare digits (exact). */
function exactJson(value: ArgValue | number | bigint | boolean | string): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return JSON.stringify(base64(value));
  if (Array.isArray(value)) {
    return `[${(value as readonly (number | bigint | boolean | string)[]).map(exactJson).join(',')}]`;
  }
  return JSON.stringify(value);
}

/**
 * One value as `send --wait` prints it: strings raw, bigints as digits, numbers and bools as
 * text, `[]byte` as base64, slices as JSON (big integers as bare digits, exact).
 *
 * @example
 * ```ts
 * plainValue(18446744073709551615n); // '18446744073709551615'
 * plainValue(['a', 'b']);            // '["a","b"]'
 * ```
 */
export function plainValue(value: ArgValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return base64(value);
  if (Array.isArray(value)) return exactJson(value);
  return String(value);
}

/**
 * The results of a task as `send --wait` prints them: nothing for no result, the plain value of
 * a single result, a JSON array (exact integers) for several.
 *
 * @example
 * ```ts
 * formatPlainResults([{ Type: 'int64', Value: 2 }]);                              // '2'
 * formatPlainResults([{ Type: 'int64', Value: 1 }, { Type: 'string', Value: 'a' }]); // '[1,"a"]'
 * ```
 */
export function formatPlainResults(results: readonly TypedValue[]): string {
  if (results.length === 0) return '';
  if (results.length === 1) return plainValue((results[0] as TypedValue).Value);
  return `[${results.map((r) => exactJson(r.Value)).join(',')}]`;
}

/**
 * A JSON-safe form of a value: integers beyond 2^53 as decimal strings, `[]byte` as base64.
 *
 * @example
 * ```ts
 * jsonValue(9007199254740993n); // '9007199254740993'
 * jsonValue([1, 2]);            // [1, 2]
 * ```
 */
export function jsonValue(value: ArgValue): unknown {
  if (typeof value === 'bigint') return isSafe(value) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return base64(value);
  if (Array.isArray(value)) {
    return (value as readonly (number | bigint | boolean | string)[]).map((v) => jsonValue(v));
  }
  return value;
}

/**
 * Typed results in the `--json` form `[{"type","value"}]`, or `null`.
 *
 * @example
 * ```ts
 * jsonResults([{ Type: 'uint64', Value: 18446744073709551615n }]);
 * // [{ type: 'uint64', value: '18446744073709551615' }]
 * ```
 */
export function jsonResults(
  results: readonly TypedValue[] | null,
): { type: string; value: unknown }[] | null {
  return results === null
    ? null
    : results.map((r) => ({ type: r.Type, value: jsonValue(r.Value) }));
}

/**
 * The `--json` document of `machinery send`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${JSON.stringify(sendJson({ uuid, state: 'PENDING', results: null, error: null }))}\n`);
 * ```
 */
export function sendJson(task: {
  uuid: string;
  state: TaskState;
  results: readonly TypedValue[] | null;
  error: string | null;
}): { uuid: string; state: TaskState; results: unknown; error: string | null } {
  return {
    uuid: task.uuid,
    state: task.state,
    results: jsonResults(task.results),
    error: task.error,
  };
}

/**
 * The `--json` document of `machinery status`.
 *
 * @example
 * ```ts
 * const doc = statusJson(record); // { kind: 'task', uuid, name, state, results, error, … }
 * ```
 */
export function statusJson(record: TaskRecord): {
  kind: 'task';
  uuid: string;
  name: string;
  state: TaskState;
  results: unknown;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  attempts: number;
  retries: number;
  groupUUID: string | null;
  groupIndex: number | null;
  eta: string | null;
} {
  return {
    kind: 'task',
    uuid: record.uuid,
    name: record.name,
    state: record.state,
    results: jsonResults(record.results),
    error: record.error,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    attempts: record.attempt,
    retries: record.retries,
    groupUUID: record.groupUUID ?? null,
    groupIndex: record.groupIndex ?? null,
    eta: record.eta === undefined ? null : formatEta(record.eta),
  };
}

/**
 * The human-readable form of `machinery status` (aligned `label: value` lines).
 *
 * @example
 * ```ts
 * process.stdout.write(formatStatus(record));
 * ```
 */
export function formatStatus(record: TaskRecord): string {
  const rows: [string, string][] = [
    ['uuid', record.uuid],
    ['name', record.name],
    ['state', record.state],
  ];
  if (record.results !== null) {
    rows.push([
      'results',
      record.results.length === 0
        ? '(none)'
        : record.results.map((r) => `${exactJson(r.Value)} (${r.Type})`).join(', '),
    ]);
  }
  if (record.error !== null) rows.push(['error', record.error]);
  if (record.eta !== undefined) rows.push(['eta', formatEta(record.eta)]);
  if (record.groupUUID !== undefined) {
    rows.push([
      'group',
      record.groupIndex === undefined
        ? record.groupUUID
        : `${record.groupUUID} (member ${record.groupIndex})`,
    ]);
  }
  rows.push(['attempt', String(record.attempt)]);
  rows.push(['retries', String(record.retries)]);
  rows.push(['created', new Date(record.createdAt).toISOString()]);
  rows.push(['updated', new Date(record.updatedAt).toISOString()]);
  return rows.map(([k, v]) => `${`${k}:`.padEnd(9)}${v}\n`).join('');
}

/**
 * A plain-text table: a header row, a rule, then the rows; columns padded to their widest cell.
 *
 * @example
 * ```ts
 * formatTable(['task', 'state'], [['add', 'SUCCESS']]);
 * ```
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}\n`;
  return line(headers) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join('');
}

/**
 * The `--json` document of `machinery status <group_…>` (and of `send-workflow --json` for a
 * group or chord): `{"uuid","kind","state","total","succeeded","failed","waitingOn","error",
 * "callback"}`, `waitingOn` `null` when unknown (a Go group with no record), `callback`
 * `{"uuid","state"}` of a chord, else `null`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${JSON.stringify(groupStatusJson(progress))}\n`);
 * ```
 */
export function groupStatusJson(progress: GroupProgress): {
  uuid: string;
  kind: 'group' | 'chord';
  state: GroupProgress['state'];
  total: number;
  succeeded: number;
  failed: string[];
  waitingOn: string[] | null;
  error: string | null;
  callback: { uuid: string; state: TaskState } | null;
} {
  return {
    uuid: progress.uuid,
    kind: progress.kind,
    state: progress.state,
    total: progress.total,
    succeeded: progress.succeeded,
    failed: [...progress.failed],
    waitingOn: progress.waitingOn === null ? null : [...progress.waitingOn],
    error: progress.error,
    callback: progress.callback === null ? null : { ...progress.callback },
  };
}

/**
 * The human-readable form of `machinery status <group_…>`.
 *
 * @example
 * ```ts
 * process.stdout.write(formatGroupStatus(progress));
 * ```
 */
export function formatGroupStatus(progress: GroupProgress): string {
  const list = (uuids: readonly string[]) =>
    uuids.length <= 10 ? uuids.join(', ') : `${uuids.slice(0, 10).join(', ')} … (${uuids.length})`;
  const rows: [string, string][] = [
    ['uuid', progress.uuid],
    ['kind', progress.kind],
    ['state', progress.state],
    [
      'progress',
      progress.waitingOn === null
        ? `${progress.succeeded} of ${progress.total} accounted`
        : `${progress.succeeded} of ${progress.total} succeeded`,
    ],
  ];
  if (progress.failed.length > 0) rows.push(['failed', list(progress.failed)]);
  if (progress.waitingOn !== null && progress.waitingOn.length > 0) {
    rows.push(['waiting', list(progress.waitingOn)]);
  }
  if (progress.error !== null) rows.push(['error', progress.error]);
  if (progress.callback !== null) {
    rows.push(['callback', `${progress.callback.uuid} (${progress.callback.state})`]);
  }
  return rows.map(([k, v]) => `${`${k}:`.padEnd(10)}${v}\n`).join('');
}

/**
 * Several result lists (a group's members, in order) as the demo and `send-workflow --wait`
 * show them on one line: each list as a JSON array (exact integers), separated by `, `.
 *
 * @example
 * ```ts
 * formatResultLists([[{ Type: 'int64', Value: 2 }], [{ Type: 'int64', Value: 4 }]]); // '[2], [4]'
 * ```
 */
export function formatResultLists(lists: readonly (readonly TypedValue[])[]): string {
  return lists.map((results) => `[${results.map((r) => exactJson(r.Value)).join(',')}]`).join(', ');
}
