/**
 * machinery's `tasks.Signature` on the wire: encode, decode (validating every field), build, and
 * the task / group / chord UUIDs.
 *
 * Decoding rules (what a Go machinery producer may send, and nothing unsafe):
 *
 * - The body is a JSON object of at most 1 MiB (`DEFAULTS.maxMessageBytes`), nested at most
 *   {@link MAX_SIGNATURE_DEPTH} signatures deep (`OnSuccess` / `OnError` / `ChordCallback`).
 * - Keys match machinery's field names exactly or, like Go's `encoding/json`, case-insensitively;
 *   unknown keys are ignored; missing keys and `null` take Go's zero values (`""`, `0`, `false`,
 *   `null` for `ETA` / callbacks, `[]` for `Args`, `{}` for `Headers`).
 * - `UUID` is required on the top-level signature (every machinery producer sets it); callbacks may
 *   leave it empty (the worker derives a stable one when it sends them). A UUID and a non-empty
 *   `GroupUUID` are 1–`DEFAULTS.maxUuidLength` (128) printable ASCII characters other than `#`
 *   (reserved for the tables' own keys); a non-empty
 *   `BrokerMessageGroupId` 1–128 (what an SQS `MessageGroupId` allows; the UUID is the default
 *   message group).
 * - `Name` is required, non-empty and at most `DEFAULTS.maxTaskNameLength` (256) characters, at
 *   every level (`OnSuccess`, `OnError`, `ChordCallback` too).
 * - `ETA` is `null` or RFC 3339 with any offset and up to nanosecond fractions; it is normalised to
 *   UTC in Go's RFC3339Nano form (`2024-05-01T10:00:00.5Z`).
 * - `Priority` 0–255 (Go `uint8`), `RetryCount` 0–`DEFAULTS.maxRetryCount`, `RetryTimeout` and
 *   `GroupTaskCount` whole numbers ≥ 0.
 * - Each arg has a known `Type` and a `Value` that fits it (see `args.ts`); an arg's `Name` is
 *   carried but ignored.
 *
 * Encoding writes every key in machinery's field order, 64-bit integers exactly, `[]byte` as
 * base64; `decodeSignature(encodeSignature(s))` equals the normalised `s`, and
 * `encodeSignature(decodeSignature(body)) === body` for any body this module encoded.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { ARG_TYPES, decodeArgValue, isArgType, toWireValue } from './args.js';
import {
  ArgTypeError,
  EtaParseError,
  SignatureDecodeError,
  SignatureEncodeError,
} from './errors.js';
import {
  isJsonObject,
  jsonDepth,
  jsonKindOf,
  parseJsonLossless,
  RawNumber,
  stringifyJson,
} from './json.js';
import { DEFAULTS } from './resources.js';
import { formatEta, normalizeEta, parseRfc3339 } from './time.js';
import type { Arg, ArgType, ArgValue, Signature } from './types.js';

/** Deepest nesting of signatures (the top level counts as 1) a body may have. */
export const MAX_SIGNATURE_DEPTH = 64;

/** Deepest nesting of JSON arrays/objects a body may have (checked before parsing). */
export const MAX_JSON_DEPTH = 512;

/** Largest `RetryTimeout`, seconds. */
const MAX_RETRY_TIMEOUT = 2 ** 31 - 1;

/** The signature's keys in machinery's field order (the order `encodeSignature` writes). */
export const SIGNATURE_KEYS = [
  'UUID',
  'Name',
  'RoutingKey',
  'ETA',
  'GroupUUID',
  'GroupTaskCount',
  'Args',
  'Headers',
  'Priority',
  'Immutable',
  'RetryCount',
  'RetryTimeout',
  'OnSuccess',
  'OnError',
  'ChordCallback',
  'BrokerMessageGroupId',
  'SQSReceiptHandle',
  'StopTaskDeletionOnError',
  'IgnoreWhenTaskNotRegistered',
] as const satisfies readonly (keyof Signature)[];

const ARG_KEYS = ['Name', 'Type', 'Value'] as const;

/** Letters, digits and punctuation: what SQS allows in a `MessageGroupId`. */
const PRINTABLE = /^[\x21-\x7e]+$/;

/** Longest SQS `MessageGroupId`. */
const MAX_GROUP_ID_LENGTH = 128;

/**
 * `#` is reserved: the tables keep operational records under `<prefix>#…` keys (the failure
 * ledger's `streak#`/`fault#`/`dlq#` items in `task_states`, a group's page and counter items in
 * `group_metas`), so no task or group id may contain it.
 */
function isId(value: string, max: number, hashAllowed = false): boolean {
  return value.length <= max && PRINTABLE.test(value) && (hashAllowed || !value.includes('#'));
}

class Invalid extends Error {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
  }
}

type Fields = Map<string, unknown>;

/** Go's `encoding/json` key matching: exact first, else case-insensitive; later keys win. */
function readFields(obj: Record<string, unknown>, names: readonly string[]): Fields {
  const exact = new Set(names);
  const folded = new Map(names.map((n) => [n.toLowerCase(), n]));
  const out: Fields = new Map();
  for (const key of Object.keys(obj)) {
    const name = exact.has(key) ? key : folded.get(key.toLowerCase());
    if (name !== undefined) out.set(name, obj[key]);
  }
  return out;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function readString(f: Fields, key: string, path: string): string {
  const v = f.get(key);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string')
    throw new Invalid(join(path, key), `expected a string, got ${jsonKindOf(v)}`);
  return v;
}

function readBool(f: Fields, key: string, path: string): boolean {
  const v = f.get(key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    throw new Invalid(join(path, key), `expected true or false, got ${jsonKindOf(v)}`);
  }
  return v;
}

function readInt(f: Fields, key: string, path: string, max: number): number {
  const v = f.get(key);
  if (v === undefined || v === null) return 0;
  const field = join(path, key);
  if (typeof v !== 'number' && !(v instanceof RawNumber)) {
    throw new Invalid(field, `expected a whole number, got ${jsonKindOf(v)}`);
  }
  let n: number;
  try {
    n = Number(decodeArgValue('int64', v, field));
  } catch (e) {
    throw new Invalid(field, (e as ArgTypeError).detail, { cause: e });
  }
  if (n < 0 || n > max) throw new Invalid(field, `${n} is out of range (0..${max})`);
  return n;
}

function checkId(
  value: string,
  field: string,
  what: string,
  max: number,
  hashAllowed = false,
): void {
  if (!isId(value, max, hashAllowed)) {
    const shown = JSON.stringify(value.slice(0, 140)) + (value.length > 140 ? '…' : '');
    throw new Invalid(
      field,
      `${what} must be 1-${max} printable ASCII characters without spaces${hashAllowed ? '' : " or '#' (reserved for the tables' own keys)"}, got ${shown} (${value.length} characters)`,
    );
  }
}

function readName(f: Fields, path: string): string {
  const name = readString(f, 'Name', path);
  if (name === '') throw new Invalid(join(path, 'Name'), 'missing or empty task name');
  if (name.length > DEFAULTS.maxTaskNameLength) {
    throw new Invalid(
      join(path, 'Name'),
      `a task name is at most ${DEFAULTS.maxTaskNameLength} characters, got ${name.length} (${JSON.stringify(name.slice(0, 40))}…)`,
    );
  }
  return name;
}

function readGroupUUID(f: Fields, path: string): string {
  const group = readString(f, 'GroupUUID', path);
  if (group !== '') checkId(group, join(path, 'GroupUUID'), 'a group UUID', DEFAULTS.maxUuidLength);
  return group;
}

function readEta(f: Fields, path: string): string | null {
  const v = f.get('ETA');
  if (v === undefined || v === null) return null;
  const field = join(path, 'ETA');
  try {
    if (typeof v === 'string') return parseRfc3339(v).text;
    if (v instanceof Date && !Number.isNaN(v.getTime())) return formatEta(v.getTime());
  } catch (e) {
    if (!(e instanceof EtaParseError)) throw e;
    throw new Invalid(field, e.message, { cause: e });
  }
  throw new Invalid(field, `expected an RFC 3339 string or null, got ${jsonKindOf(v)}`);
}

function headerValue(v: unknown): unknown {
  if (v instanceof RawNumber) {
    const n = v.toNumber();
    if (/^-?\d+$/.test(v.source) && !Number.isSafeInteger(n)) return BigInt(v.source);
    return n;
  }
  if (Array.isArray(v)) return v.map(headerValue);
  if (isJsonObject(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, headerValue(x)]));
  return v;
}

function readHeaders(f: Fields, path: string): Record<string, unknown> {
  const v = f.get('Headers');
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v))
    throw new Invalid(join(path, 'Headers'), `expected an object, got ${jsonKindOf(v)}`);
  return headerValue(v) as Record<string, unknown>;
}

function readArgs(f: Fields, path: string): Arg[] {
  const v = f.get('Args');
  const field = join(path, 'Args');
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Invalid(field, `expected an array, got ${jsonKindOf(v)}`);
  return v.map((item: unknown, i): Arg => {
    const at = `${field}[${i}]`;
    if (!isJsonObject(item))
      throw new Invalid(at, `expected an object { Type, Value }, got ${jsonKindOf(item)}`);
    const a = readFields(item, ARG_KEYS);
    const name = readString(a, 'Name', at);
    const type = a.get('Type');
    if (type === undefined || type === null || type === '') {
      throw new Invalid(`${at}.Type`, 'missing arg type');
    }
    if (typeof type !== 'string')
      throw new Invalid(`${at}.Type`, `expected a string, got ${jsonKindOf(type)}`);
    if (!isArgType(type)) {
      throw new Invalid(
        `${at}.Type`,
        `unknown arg type ${JSON.stringify(type)}; expected one of ${ARG_TYPES.join(', ')}`,
      );
    }
    let value: ArgValue;
    try {
      value = decodeArgValue(type, a.get('Value') ?? null, `${at}.Value`);
    } catch (e) {
      if (!(e instanceof ArgTypeError)) throw e;
      throw new Invalid(e.field, e.detail, { cause: e });
    }
    return { Name: name, Type: type, Value: value };
  });
}

function readSignatureList(
  f: Fields,
  key: 'OnSuccess' | 'OnError',
  path: string,
  depth: number,
): Signature[] | null {
  const v = f.get(key);
  const field = join(path, key);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v))
    throw new Invalid(field, `expected an array of signatures, got ${jsonKindOf(v)}`);
  return v.map((item: unknown, i) => readSignature(item, `${field}[${i}]`, depth + 1));
}

function readSignature(obj: unknown, path: string, depth: number): Signature {
  if (!isJsonObject(obj))
    throw new Invalid(path, `expected a signature object, got ${jsonKindOf(obj)}`);
  if (depth > MAX_SIGNATURE_DEPTH) {
    throw new Invalid(path, `signatures nested deeper than ${MAX_SIGNATURE_DEPTH} levels`);
  }
  const f = readFields(obj, SIGNATURE_KEYS);
  const uuid = readString(f, 'UUID', path);
  if (uuid === '') {
    if (depth === 1) {
      throw new Invalid('UUID', 'missing or empty; every machinery producer sets a task UUID');
    }
  } else checkId(uuid, join(path, 'UUID'), 'a UUID', DEFAULTS.maxUuidLength);
  const name = readName(f, path);
  const groupId = readString(f, 'BrokerMessageGroupId', path);
  if (groupId !== '')
    checkId(
      groupId,
      join(path, 'BrokerMessageGroupId'),
      'a message group id',
      MAX_GROUP_ID_LENGTH,
      true,
    );
  const chord = f.get('ChordCallback');
  return {
    UUID: uuid,
    Name: name,
    RoutingKey: readString(f, 'RoutingKey', path),
    ETA: readEta(f, path),
    GroupUUID: readGroupUUID(f, path),
    GroupTaskCount: readInt(f, 'GroupTaskCount', path, Number.MAX_SAFE_INTEGER),
    Args: readArgs(f, path),
    Headers: readHeaders(f, path),
    Priority: readInt(f, 'Priority', path, 255),
    Immutable: readBool(f, 'Immutable', path),
    RetryCount: readInt(f, 'RetryCount', path, DEFAULTS.maxRetryCount),
    RetryTimeout: readInt(f, 'RetryTimeout', path, MAX_RETRY_TIMEOUT),
    OnSuccess: readSignatureList(f, 'OnSuccess', path, depth),
    OnError: readSignatureList(f, 'OnError', path, depth),
    ChordCallback:
      chord === undefined || chord === null
        ? null
        : readSignature(chord, join(path, 'ChordCallback'), depth + 1),
    BrokerMessageGroupId: groupId,
    SQSReceiptHandle: readString(f, 'SQSReceiptHandle', path),
    StopTaskDeletionOnError: readBool(f, 'StopTaskDeletionOnError', path),
    IgnoreWhenTaskNotRegistered: readBool(f, 'IgnoreWhenTaskNotRegistered', path),
  };
}

function identityHint(obj: Record<string, unknown>): { uuid?: string; taskName?: string } {
  const f = readFields(obj, ['UUID', 'Name']);
  const uuid = f.get('UUID');
  const name = f.get('Name');
  return {
    ...(typeof uuid === 'string' && isId(uuid, DEFAULTS.maxUuidLength) ? { uuid } : {}),
    ...(typeof name === 'string' && name !== '' && name.length <= DEFAULTS.maxTaskNameLength
      ? { taskName: name }
      : {}),
  };
}

/**
 * Decodes and validates a message body (see the module documentation for every rule).
 *
 * @throws SignatureDecodeError naming the offending field, with `reason` `'undecodable'` (not a
 * JSON object, too big, too deep) or `'invalid-signature'`, and the top-level `uuid` / `taskName`
 * when they could be read.
 * @example
 * ```ts
 * const sig = decodeSignature('{"UUID":"task_1","Name":"add","Args":[{"Type":"int64","Value":1}]}');
 * sig.Args[0]?.Value; // 1
 * ```
 */
export function decodeSignature(body: string): Signature {
  const undecodable = (message: string, cause?: unknown) =>
    new SignatureDecodeError('', message, { reason: 'undecodable', cause });
  if (typeof body !== 'string')
    throw undecodable(`the body must be a string, got ${jsonKindOf(body)}`);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > DEFAULTS.maxMessageBytes) {
    throw undecodable(
      `the body is ${bytes} bytes, over the ${DEFAULTS.maxMessageBytes}-byte limit`,
    );
  }
  if (body.trim() === '') throw undecodable('the body is empty');
  if (jsonDepth(body) > MAX_JSON_DEPTH) {
    throw undecodable(`the body nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = parseJsonLossless(body);
  } catch (e) {
    throw undecodable(`the body is not JSON: ${(e as Error).message}`, e);
  }
  if (!isJsonObject(parsed))
    throw undecodable(`the body is not a JSON object but ${jsonKindOf(parsed)}`);
  try {
    return readSignature(parsed, '', 1);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    throw new SignatureDecodeError(e.field, e.message, {
      reason: 'invalid-signature',
      ...identityHint(parsed),
      cause: e.cause,
    });
  }
}

/**
 * Checks an in-memory signature and returns it normalised (every key present, ETA in UTC
 * RFC3339Nano, arg values canonical). Accepts what {@link decodeSignature} accepts, plus `bigint`s,
 * `Uint8Array`s and `Date` ETAs.
 *
 * @throws SignatureEncodeError naming the offending field.
 * @example
 * ```ts
 * const sig = normalizeSignature({ UUID: 'task_1', Name: 'add' }); // RetryCount 0, Args [] …
 * ```
 */
export function normalizeSignature(signature: unknown): Signature {
  try {
    return readSignature(signature, '', 1);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    throw new SignatureEncodeError(e.field, e.message, { cause: e.cause });
  }
}

function toWire(sig: Signature): Record<string, unknown> {
  const list = (l: Signature[] | null) => (l === null ? null : l.map(toWire));
  return {
    UUID: sig.UUID,
    Name: sig.Name,
    RoutingKey: sig.RoutingKey,
    ETA: sig.ETA,
    GroupUUID: sig.GroupUUID,
    GroupTaskCount: sig.GroupTaskCount,
    Args: sig.Args.map((a) => ({
      Name: a.Name,
      Type: a.Type,
      Value: toWireValue(a.Type, a.Value),
    })),
    Headers: sig.Headers,
    Priority: sig.Priority,
    Immutable: sig.Immutable,
    RetryCount: sig.RetryCount,
    RetryTimeout: sig.RetryTimeout,
    OnSuccess: list(sig.OnSuccess),
    OnError: list(sig.OnError),
    ChordCallback: sig.ChordCallback === null ? null : toWire(sig.ChordCallback),
    BrokerMessageGroupId: sig.BrokerMessageGroupId,
    SQSReceiptHandle: sig.SQSReceiptHandle,
    StopTaskDeletionOnError: sig.StopTaskDeletionOnError,
    IgnoreWhenTaskNotRegistered: sig.IgnoreWhenTaskNotRegistered,
  };
}

/**
 * Encodes a signature as machinery's JSON (PascalCase keys in machinery's field order, 64-bit
 * integers exact, `[]byte` as base64, ETA in UTC RFC3339Nano). The signature is validated first.
 *
 * @throws SignatureEncodeError naming the offending field.
 * @example
 * ```ts
 * const body = encodeSignature(newSignature('add', [{ Type: 'int64', Value: 1 }]));
 * ```
 */
export function encodeSignature(signature: Signature): string {
  return stringifyJson(toWire(normalizeSignature(signature)));
}

/**
 * What {@link newSignature} accepts for each arg: a full {@link Arg} or just `{ Type, Value }`.
 *
 * @example
 * ```ts
 * const a: ArgInput = { Type: 'uint64', Value: 18446744073709551615n };
 * ```
 */
export interface ArgInput {
  Name?: string;
  Type: ArgType;
  Value: unknown;
}

/**
 * Options of {@link newSignature}: any signature field but `Name` and `Args`; `ETA` may also be a
 * `Date` or epoch milliseconds.
 *
 * @example
 * ```ts
 * const opts: SignatureOptions = { RetryCount: 3, ETA: new Date(Date.now() + 60_000) };
 * ```
 */
export type SignatureOptions = Partial<Omit<Signature, 'Name' | 'Args' | 'ETA'>> & {
  ETA?: string | Date | number | null;
};

/**
 * Builds a validated signature with machinery's zero values and a fresh `task_<uuid v4>` UUID
 * (unless `options.UUID` is given).
 *
 * @throws SignatureEncodeError naming the offending field.
 * @example
 * ```ts
 * const sig = newSignature('add', [{ Type: 'int64', Value: 1 }, { Type: 'int64', Value: 2 }], {
 *   RetryCount: 3,
 * });
 * ```
 */
export function newSignature(
  name: string,
  args: readonly ArgInput[] = [],
  options: SignatureOptions = {},
): Signature {
  let eta: string | null;
  try {
    eta = normalizeEta(options.ETA);
  } catch (e) {
    throw new SignatureEncodeError('ETA', (e as Error).message, { cause: e });
  }
  return normalizeSignature({
    UUID: newTaskUUID(),
    ...options,
    Name: name,
    ETA: eta,
    Args: args.map((a) => ({ Name: a.Name ?? '', Type: a.Type, Value: a.Value })),
  });
}

/**
 * A fresh task UUID, `task_<uuid v4>` (machinery's format).
 *
 * @example
 * ```ts
 * newTaskUUID(); // 'task_9b2c…'
 * ```
 */
export function newTaskUUID(): string {
  return `task_${randomUUID()}`;
}

/**
 * A fresh group UUID, `group_<uuid v4>`.
 *
 * @example
 * ```ts
 * newGroupUUID(); // 'group_1f0e…'
 * ```
 */
export function newGroupUUID(): string {
  return `group_${randomUUID()}`;
}

/**
 * A fresh chord UUID, `chord_<uuid v4>`.
 *
 * @example
 * ```ts
 * newChordUUID(); // 'chord_77aa…'
 * ```
 */
export function newChordUUID(): string {
  return `chord_${randomUUID()}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 4122's URL namespace. */
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * A name-based UUID (version 5, SHA-1) as in RFC 4122: `name` hashed within `namespace` (a UUID).
 *
 * @throws RangeError when `namespace` is not a UUID.
 * @example
 * ```ts
 * uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'); // '2ed6657d-e927-568b-95e1-2665a8aea6a2'
 * ```
 */
export function uuidV5(name: string, namespace: string): string {
  if (!UUID_RE.test(namespace)) throw new RangeError(`not a UUID: ${namespace}`);
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The namespace of machinery-serverless's derived UUIDs: `uuidV5('machinery-serverless', URL ns)`.
 */
export const MACHINERY_NAMESPACE = uuidV5('machinery-serverless', URL_NAMESPACE);

/**
 * A task UUID derived from a namespace and a name, `task_<uuid v5>`: the same inputs always give
 * the same UUID, so re-sends of one logical task (a periodic firing retried by Scheduler, a callback
 * re-sent after a crash) are recognised as duplicates.
 *
 * `namespace` may be a UUID, with or without a `task_` / `group_` / `chord_` prefix (its 16 bytes
 * are the v5 namespace), or any other string (then the namespace is
 * `uuidV5(namespace, MACHINERY_NAMESPACE)`).
 *
 * @example
 * ```ts
 * deriveTaskUUID('nightly-report', '2024-05-01T03:00:00Z'); // the same on every call
 * deriveTaskUUID('task_0b3c…', 'OnSuccess/0');
 * ```
 */
export function deriveTaskUUID(namespace: string, name: string): string {
  const bare = namespace.replace(/^(task|group|chord)_/, '');
  const ns = UUID_RE.test(bare) ? bare.toLowerCase() : uuidV5(namespace, MACHINERY_NAMESPACE);
  return `task_${uuidV5(name, ns)}`;
}
