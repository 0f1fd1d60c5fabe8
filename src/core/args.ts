/**
 * The arg codec: machinery's Go type names (`bool`, `int`, `int8`…`int64`, `uint`…`uint64`,
 * `float32`, `float64`, `string`, the slice forms `[]T`, and `[]byte` as base64) to and from
 * JavaScript values, with no silent loss:
 *
 * - 64-bit integers (`int`, `int64`, `uint`, `uint64`) are a `number` while safe
 *   (|v| ≤ 2^53 − 1) and a `bigint` beyond; on the wire they may be JSON numbers of any size or
 *   decimal strings (`"18446744073709551615"`).
 * - A value that does not fit its type is an {@link ArgTypeError}: 300 as `uint8`, 1.5 as `int64`,
 *   3.5e38 as `float32`, a `number` beyond ±(2^53 − 1) for an integer type (it may already have been
 *   rounded: pass a `bigint` or a decimal string).
 * - Integers written as `1e3` or `2.0` are accepted (their value is whole).
 * - `[]byte` is standard base64 with padding on the wire and a `Uint8Array` in memory; `[]uint8`
 *   is a JSON array of numbers (a base64 string is accepted too, as Go writes it).
 * - `null` for a slice type is the empty slice (Go's nil slice).
 *
 * Results use the same codec ({@link encodeTypedValues} / {@link decodeTypedValues}), and
 * {@link toTypedResults} maps a task's return value to typed results:
 *
 * | returned | typed result |
 * | --- | --- |
 * | `undefined`, `null` (a `void` task) | no result (`[]`) |
 * | `boolean` | `bool` |
 * | `number`, a safe integer | `int64` |
 * | `number`, otherwise finite | `float64` (`NaN` / `Infinity` are refused) |
 * | `bigint` | `int64`, or `uint64` above 2^63 − 1 (beyond 2^64 − 1 refused) |
 * | `string` | `string` |
 * | `Uint8Array` (incl. `Buffer`) | `[]byte` |
 * | array of booleans / strings | `[]bool` / `[]string` |
 * | array of integers (numbers or bigints) | `[]int64` (`[]uint64` when one exceeds 2^63 − 1) |
 * | array of numbers with a fraction | `[]float64` |
 * | `[]` (empty array) | `[]string` (no element to infer from: use `typed()` to choose) |
 * | `typed(type, value)` | that type, value checked |
 * | `results(a, b, …)` | several results, each mapped as above |
 * | anything else (objects, `Date`, mixed arrays…) | {@link UnsupportedResultError}: the task fails |
 *
 * @module
 */
import { ArgTypeError, UnsupportedResultError } from './errors.js';
import { RawNumber } from './json.js';
import {
  type ArgType,
  type ArgValue,
  SCALAR_TYPES,
  type ScalarType,
  type TypedValue,
} from './types.js';

/**
 * Every arg type, scalars first, then `[]T` for each scalar, then `[]byte`.
 *
 * @example
 * ```ts
 * ARG_TYPES.includes('[]int64'); // true
 * ```
 */
export const ARG_TYPES: readonly ArgType[] = [
  ...SCALAR_TYPES,
  ...SCALAR_TYPES.map((t) => `[]${t}` as const),
  '[]byte',
];

const ARG_TYPE_SET: ReadonlySet<string> = new Set(ARG_TYPES);

/**
 * Whether `t` is a known arg type name.
 *
 * @example
 * ```ts
 * isArgType('int64'); // true
 * isArgType('complex128'); // false
 * ```
 */
export function isArgType(t: unknown): t is ArgType {
  return typeof t === 'string' && ARG_TYPE_SET.has(t);
}

/** Integer Go types. */
export type IntType = Extract<ScalarType, `int${string}` | `uint${string}`>;

/** The 64-bit integer types, whose values may be `bigint`. */
export type WideIntType = 'int' | 'int64' | 'uint' | 'uint64';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const INT_RANGES: Readonly<Record<IntType, readonly [bigint, bigint]>> = {
  int: [INT64_MIN, INT64_MAX],
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [INT64_MIN, INT64_MAX],
  uint: [0n, UINT64_MAX],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, UINT64_MAX],
};

const WIDE_TYPES: ReadonlySet<string> = new Set<WideIntType>(['int', 'int64', 'uint', 'uint64']);

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function isIntType(t: string): t is IntType {
  return Object.hasOwn(INT_RANGES, t);
}

/**
 * Whether `t` is a 64-bit integer type (`int`, `int64`, `uint`, `uint64`).
 *
 * @example
 * ```ts
 * isWideIntType('uint64'); // true
 * ```
 */
export function isWideIntType(t: string): t is WideIntType {
  return WIDE_TYPES.has(t);
}

/** A short description of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof RawNumber) return v.source;
  switch (typeof v) {
    case 'string': {
      const s = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
      return `the string ${s}`;
    }
    case 'bigint':
      return `${v}n`;
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      if (Array.isArray(v)) return 'an array';
      if (v instanceof Uint8Array) return 'a Uint8Array';
      return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : 'an object';
    default:
      return `a ${typeof v}`;
  }
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact integer value of a JSON number's source text, `'fraction'` when it is not whole, or
 * `'huge'` when its magnitude is beyond any 64-bit type.
 */
function integerFromSource(source: string): bigint | 'fraction' | 'huge' | undefined {
  const m = JSON_NUMBER.exec(source);
  if (!m) return undefined;
  const [, sign, intPart = '', frac = '', expText] = m;
  let digits = (intPart + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  let exp = (expText === undefined ? 0 : Number(expText)) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  if (exp < 0) return 'fraction';
  if (digits.length + exp > 25) return 'huge';
  const v = BigInt(digits) * 10n ** BigInt(exp);
  return sign === '-' ? -v : v;
}

function fail(field: string, message: string): never {
  throw new ArgTypeError(field, message);
}

function decodeInteger(type: IntType, raw: unknown, field: string): number | bigint {
  let v: bigint;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) fail(field, `${raw} is not a valid ${type}`);
    if (!Number.isInteger(raw)) fail(field, `${raw} is not a whole number (${type})`);
    if (!Number.isSafeInteger(raw)) {
      fail(
        field,
        `${raw} is beyond ±(2^53 − 1) and may have lost precision (${type}): pass a bigint or a decimal string`,
      );
    }
    v = BigInt(raw);
  } else if (typeof raw === 'bigint') {
    v = raw;
  } else if (raw instanceof RawNumber) {
    const r = integerFromSource(raw.source);
    if (r === undefined) fail(field, `${raw.source} is not a valid ${type}`);
    if (r === 'fraction') fail(field, `${raw.source} is not a whole number (${type})`);
    if (r === 'huge') fail(field, `${raw.source} does not fit ${type}`);
    v = r;
  } else if (typeof raw === 'string' && isWideIntType(type) && /^-?\d{1,25}$/.test(raw)) {
    v = BigInt(raw);
  } else {
    const hint = isWideIntType(type) ? 'a whole JSON number or a decimal string' : 'a whole number';
    fail(field, `expected ${hint} for ${type}, got ${describeValue(raw)}`);
  }
  const [min, max] = INT_RANGES[type];
  if (v < min || v > max) {
    const shown = raw instanceof RawNumber ? raw.source : String(v);
    fail(field, `${shown} does not fit ${type} (${min}..${max})`);
  }
  if (!isWideIntType(type) || (v >= -MAX_SAFE && v <= MAX_SAFE)) return Number(v);
  return v;
}

function decodeFloat(type: 'float32' | 'float64', raw: unknown, field: string): number {
  let v: number;
  if (typeof raw === 'number') v = raw;
  else if (raw instanceof RawNumber) v = raw.toNumber();
  else fail(field, `expected a JSON number for ${type}, got ${describeValue(raw)}`);
  if (!Number.isFinite(v)) fail(field, `${describeValue(raw)} is not a finite ${type}`);
  if (type === 'float32' && Math.abs(v) > FLOAT32_MAX) {
    fail(field, `${describeValue(raw)} does not fit float32 (±3.4028234663852886e38)`);
  }
  return v === 0 ? 0 : v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(raw: string, type: string, field: string): Uint8Array {
  if (!BASE64.test(raw)) fail(field, `${describeValue(raw)} is not standard base64 (${type})`);
  return new Uint8Array(Buffer.from(raw, 'base64'));
}

function decodeScalar(type: ScalarType, raw: unknown, field: string): ArgValue {
  switch (type) {
    case 'bool':
      if (typeof raw !== 'boolean')
        fail(field, `expected true or false, got ${describeValue(raw)}`);
      return raw;
    case 'string':
      if (typeof raw !== 'string') fail(field, `expected a string, got ${describeValue(raw)}`);
      return raw;
    case 'float32':
    case 'float64':
      return decodeFloat(type, raw, field);
    default:
      return decodeInteger(type, raw, field);
  }
}

/**
 * Checks `raw` against the Go type `type` and returns its canonical value: 64-bit integers as a
 * `number` when safe, else `bigint`; `[]byte` as a `Uint8Array`; slices as arrays. Accepts what the
 * wire, storage and callers hold: JSON numbers (also as {@link RawNumber}), `bigint`s, decimal
 * strings for 64-bit integers, base64 strings or `Uint8Array`s for `[]byte`.
 *
 * @param field path used in error messages (e.g. `Args[1].Value`).
 * @throws ArgTypeError when the type is unknown or the value does not fit it.
 * @example
 * ```ts
 * decodeArgValue('uint64', '18446744073709551615'); // 18446744073709551615n
 * decodeArgValue('uint8', 300); // throws ArgTypeError: 300 does not fit uint8 (0..255)
 * ```
 */
export function decodeArgValue(type: string, raw: unknown, field = ''): ArgValue {
  if (!isArgType(type)) {
    fail(
      field,
      `unknown arg type ${JSON.stringify(type)}; expected one of ${ARG_TYPES.join(', ')}`,
    );
  }
  if (type === '[]byte') {
    if (raw === null) return new Uint8Array(0);
    if (raw instanceof Uint8Array) return new Uint8Array(raw);
    if (typeof raw === 'string') return decodeBase64(raw, type, field);
    return fail(field, `expected a base64 string for []byte, got ${describeValue(raw)}`);
  }
  if (type.startsWith('[]')) {
    const elem = type.slice(2) as ScalarType;
    if (raw === null) return [];
    if (elem === 'uint8' && typeof raw === 'string') {
      return Array.from(decodeBase64(raw, type, field));
    }
    if (elem === 'uint8' && raw instanceof Uint8Array) return Array.from(raw);
    if (!Array.isArray(raw))
      fail(field, `expected an array for ${type}, got ${describeValue(raw)}`);
    return raw.map((item, i) => decodeScalar(elem, item, `${field}[${i}]`)) as ArgValue;
  }
  return decodeScalar(type as ScalarType, raw, field);
}

/**
 * Whether `type` is an integer type whose values are checked for range.
 *
 * @example
 * ```ts
 * isIntegerType('int8'); // true
 * ```
 */
export function isIntegerType(type: string): type is IntType {
  return isIntType(type);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * A canonical value as a JSON-ready wire value: `bigint`s stay `bigint` (written as exact JSON
 * numbers by `stringifyJson`), `[]byte` becomes base64.
 *
 * @example
 * ```ts
 * toWireValue('[]byte', new Uint8Array([1, 2])); // 'AQI='
 * ```
 */
export function toWireValue(type: ArgType, value: ArgValue): unknown {
  if (type === '[]byte') return base64(value as Uint8Array);
  return value;
}

function toStorageValue(type: ArgType, value: ArgValue): unknown {
  if (type === '[]byte') return base64(value as Uint8Array);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'bigint' ? v.toString() : v));
  return value;
}

/**
 * Typed values as plain JSON for storage: `[{ Type, Value }]`, Value in its JSON type, 64-bit
 * integers beyond 2^53 as decimal strings, `[]byte` as base64. The output holds no `bigint` and
 * survives `JSON.stringify` and the DynamoDB document client.
 *
 * @throws ArgTypeError when a value does not fit its type.
 * @example
 * ```ts
 * encodeTypedValues([{ Type: 'uint64', Value: 18446744073709551615n }]);
 * // [{ Type: 'uint64', Value: '18446744073709551615' }]
 * ```
 */
export function encodeTypedValues(
  values: readonly TypedValue[],
): { Type: ArgType; Value: unknown }[] {
  return values.map((tv, i) => {
    const value = decodeArgValue(tv.Type, tv.Value, `[${i}].Value`);
    return { Type: tv.Type, Value: toStorageValue(tv.Type, value) };
  });
}

/**
 * The inverse of {@link encodeTypedValues}: checks and decodes stored typed values (`null` or
 * `undefined` is no results).
 *
 * @throws ArgTypeError when the JSON is not an array of `{ Type, Value }` or a value does not fit.
 * @example
 * ```ts
 * decodeTypedValues([{ Type: 'int64', Value: '9223372036854775807' }]);
 * // [{ Type: 'int64', Value: 9223372036854775807n }]
 * ```
 */
export function decodeTypedValues(json: unknown): TypedValue[] {
  if (json === null || json === undefined) return [];
  if (!Array.isArray(json))
    fail('', `expected an array of { Type, Value }, got ${describeValue(json)}`);
  return json.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      fail(`[${i}]`, `expected { Type, Value }, got ${describeValue(item)}`);
    }
    const { Type, Value } = item as { Type?: unknown; Value?: unknown };
    if (!isArgType(Type)) {
      fail(`[${i}].Type`, `unknown result type ${describeValue(Type)}`);
    }
    return { Type, Value: decodeArgValue(Type, Value ?? null, `[${i}].Value`) };
  });
}

const RESULTS = Symbol.for('machinery-serverless.results');
const TYPED = Symbol.for('machinery-serverless.typed');

/**
 * Several results of one task (Go tasks may return several values), built by {@link results}.
 *
 * @example
 * ```ts
 * const r: MultipleResults = results(1, 'one');
 * ```
 */
export interface MultipleResults {
  readonly [RESULTS]: true;
  readonly values: readonly unknown[];
}

/**
 * Returns several results from a task: each value is mapped as a single result would be.
 *
 * @example
 * ```ts
 * const divmod = defineTask({ name: 'divmod', args: ['int64', 'int64'],
 *   run: (_ctx, a, b) => results(Math.trunc(a / b), a % b) });
 * ```
 */
export function results(...values: unknown[]): MultipleResults {
  return Object.freeze({ [RESULTS]: true as const, values: Object.freeze([...values]) });
}

/**
 * Whether `v` was built by {@link results}.
 *
 * @example
 * ```ts
 * isMultipleResults(results(1, 2)); // true
 * ```
 */
export function isMultipleResults(v: unknown): v is MultipleResults {
  return typeof v === 'object' && v !== null && (v as { [RESULTS]?: unknown })[RESULTS] === true;
}

/**
 * A value with an explicit Go type, built by {@link typed}.
 *
 * @example
 * ```ts
 * const v: ExplicitlyTyped = typed('float32', 1.5);
 * ```
 */
export interface ExplicitlyTyped extends TypedValue {
  readonly [TYPED]: true;
}

/**
 * Gives a result (or an inferred arg) an explicit Go type instead of the default mapping, e.g. a
 * whole `number` as `float64`, or an empty array as `[]int64`. The value is checked.
 *
 * @throws ArgTypeError when the value does not fit the type.
 * @example
 * ```ts
 * run: () => typed('float64', 2) // stored as { Type: 'float64', Value: 2 }, not int64
 * ```
 */
export function typed(type: ArgType, value: unknown): ExplicitlyTyped {
  const checked = decodeArgValue(type, value);
  return Object.freeze({ [TYPED]: true as const, Type: type, Value: checked });
}

function isExplicitlyTyped(v: unknown): v is ExplicitlyTyped {
  return typeof v === 'object' && v !== null && (v as { [TYPED]?: unknown })[TYPED] === true;
}

function unsupported(v: unknown, where: string): never {
  throw new UnsupportedResultError(
    `${where} is ${describeValue(v)}, which has no typed mapping; return a boolean, number, bigint, ` +
      'string, Uint8Array, an array of one of those, typed(type, value), or results(...) for several',
  );
}

function inferInteger(v: bigint, where: string): TypedValue {
  if (v >= INT64_MIN && v <= INT64_MAX) {
    return { Type: 'int64', Value: v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v };
  }
  if (v > INT64_MAX && v <= UINT64_MAX) return { Type: 'uint64', Value: v };
  throw new UnsupportedResultError(`${where} is ${v}n, which fits neither int64 nor uint64`);
}

function inferArray(arr: readonly unknown[], where: string): TypedValue {
  if (arr.length === 0) return { Type: '[]string', Value: [] };
  if (arr.every((x) => typeof x === 'boolean'))
    return { Type: '[]bool', Value: [...arr] as boolean[] };
  if (arr.every((x) => typeof x === 'string'))
    return { Type: '[]string', Value: [...arr] as string[] };
  if (arr.every((x) => typeof x === 'number' || typeof x === 'bigint')) {
    const nums = arr as readonly (number | bigint)[];
    const allIntegers = nums.every((x) => typeof x === 'bigint' || Number.isSafeInteger(x));
    if (allIntegers) {
      const big = nums.map((x) => BigInt(x));
      for (const t of ['[]int64', '[]uint64'] as const) {
        const [min, max] = t === '[]int64' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
        if (big.every((x) => x >= min && x <= max)) {
          return {
            Type: t,
            Value: big.map((x) => (x <= MAX_SAFE && x >= -MAX_SAFE ? Number(x) : x)),
          };
        }
      }
      throw new UnsupportedResultError(
        `${where} holds integers that fit neither []int64 nor []uint64`,
      );
    }
    if (nums.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return { Type: '[]float64', Value: nums.map((x) => (x === 0 ? 0 : x)) };
    }
    throw new UnsupportedResultError(
      `${where} mixes bigints with fractions or holds NaN/Infinity; use typed() to choose a type`,
    );
  }
  throw new UnsupportedResultError(
    `${where} is an array mixing types or holding unsupported values; arrays must be homogeneous ` +
      'booleans, strings or numbers',
  );
}

/**
 * The typed value of one JavaScript value, by the mapping documented in this module (used for
 * results and for args of untyped tasks).
 *
 * @throws UnsupportedResultError when the value has no mapping.
 * @example
 * ```ts
 * inferTypedValue(2); // { Type: 'int64', Value: 2 }
 * inferTypedValue(4.2); // { Type: 'float64', Value: 4.2 }
 * ```
 */
export function inferTypedValue(value: unknown, where = 'the value'): TypedValue {
  if (isExplicitlyTyped(value)) return { Type: value.Type, Value: value.Value };
  switch (typeof value) {
    case 'boolean':
      return { Type: 'bool', Value: value };
    case 'string':
      return { Type: 'string', Value: value };
    case 'bigint':
      return inferInteger(value, where);
    case 'number':
      if (Number.isSafeInteger(value)) return { Type: 'int64', Value: value === 0 ? 0 : value };
      if (Number.isFinite(value)) return { Type: 'float64', Value: value };
      throw new UnsupportedResultError(`${where} is ${value}, which JSON cannot carry`);
    case 'object':
      if (value instanceof Uint8Array) return { Type: '[]byte', Value: new Uint8Array(value) };
      if (Array.isArray(value)) return inferArray(value, where);
      return unsupported(value, where);
    default:
      return unsupported(value, where);
  }
}

/**
 * Maps a task's return value to typed results (see the table in this module's documentation):
 * `undefined`/`null` → `[]`, {@link results} → one typed value per element, anything else → one
 * typed value.
 *
 * @throws UnsupportedResultError when a value has no mapping.
 * @example
 * ```ts
 * toTypedResults(undefined); // []
 * toTypedResults(['f', 'o', 'o']); // [{ Type: '[]string', Value: ['f', 'o', 'o'] }]
 * toTypedResults(results(1, true)); // [{ Type: 'int64', Value: 1 }, { Type: 'bool', Value: true }]
 * ```
 */
export function toTypedResults(returnValue: unknown): TypedValue[] {
  if (returnValue === undefined || returnValue === null) return [];
  if (isMultipleResults(returnValue)) {
    return returnValue.values.map((v, i) => {
      if (isMultipleResults(v)) throw new UnsupportedResultError(`result ${i} nests results()`);
      if (v === undefined || v === null) {
        throw new UnsupportedResultError(`result ${i} is ${describeValue(v)}`);
      }
      return inferTypedValue(v, `result ${i}`);
    });
  }
  return [inferTypedValue(returnValue, 'the return value')];
}
