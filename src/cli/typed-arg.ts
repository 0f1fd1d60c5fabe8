/**
 * `TYPE:VALUE` arguments of `machinery send`.
 *
 * | form | example | value |
 * | --- | --- | --- |
 * | scalar | `int64:1`, `uint64:18446744073709551615`, `float64:1.5`, `bool:true` | a JSON number / `true` / `false` |
 * | string | `string:a:b c` | everything after the first `:`, verbatim |
 * | slice, comma list | `[]int64:1,2,3`, `[]string:foo,bar` | elements split on `,` (numbers trimmed, strings verbatim) |
 * | slice, JSON array | `'[]string:["a,b","c"]'`, `[]int64:[1,2]` | a JSON array (big integers keep full precision) |
 * | empty slice | `[]int64:` | `[]` |
 * | bytes | `[]byte:aGVsbG8=` | base64 |
 *
 * This module only splits and shapes the text; the value is decoded and checked against its type
 * (range, integer-ness, 64-bit precision) by core's wire codec, exactly as a message body would be.
 *
 * @module
 */
import { ARG_TYPES, decodeArgValue, isArgType } from '../core/args.js';
import { ArgTypeError } from '../core/errors.js';
import { parseJsonLossless } from '../core/json.js';
import type { Arg, ArgType } from '../core/types.js';
import { UsageError } from './errors.js';

/**
 * One `TYPE:VALUE` argument, shaped as a wire-format arg: `valueJson` is the JSON text of its
 * `Value` (number literals kept as written, so 64-bit integers lose nothing).
 *
 * @example
 * ```ts
 * const raw: RawArg = { type: 'int64', valueJson: '9007199254740993' };
 * ```
 */
export interface RawArg {
  type: ArgType;
  valueJson: string;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function scalarJson(scalar: string, text: string, spec: string): string {
  if (scalar === 'string') return JSON.stringify(text);
  const value = text.trim();
  if (scalar === 'bool') {
    if (value === 'true' || value === 'false') return value;
    throw new UsageError(`invalid argument '${spec}': a bool is true or false`);
  }
  if (!NUMBER.test(value)) {
    throw new UsageError(`invalid argument '${spec}': '${text}' is not a number`);
  }
  return value;
}

/**
 * Splits one `TYPE:VALUE` argument into its type and the JSON text of its value. Throws
 * {@link UsageError} (exit code 2) for a missing `:`, an unknown type, a malformed number or bool,
 * or a slice that is not valid JSON.
 *
 * @example
 * ```ts
 * parseTypedArg('[]int64:1,2,3'); // { type: '[]int64', valueJson: '[1,2,3]' }
 * parseTypedArg('string:a:b');    // { type: 'string', valueJson: '"a:b"' }
 * ```
 */
export function parseTypedArg(spec: string): RawArg {
  const colon = spec.indexOf(':');
  if (colon <= 0) {
    throw new UsageError(
      `invalid argument '${spec}': expected TYPE:VALUE (e.g. int64:1, string:hello, []int64:1,2,3)`,
    );
  }
  const type = spec.slice(0, colon).trim();
  const text = spec.slice(colon + 1);
  if (!isArgType(type)) {
    throw new UsageError(
      `invalid argument '${spec}': unknown type '${type}' (types: ${ARG_TYPES.join(', ')})`,
    );
  }
  if (type === '[]byte') {
    const b64 = text.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
      throw new UsageError(`invalid argument '${spec}': []byte takes base64`);
    }
    return { type, valueJson: JSON.stringify(b64) };
  }
  if (!type.startsWith('[]')) return { type, valueJson: scalarJson(type, text, spec) };

  const element = type.slice(2);
  if (text.trim() === '') return { type, valueJson: '[]' };
  if (text.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error('not an array');
    } catch {
      throw new UsageError(`invalid argument '${spec}': not a valid JSON array`);
    }
    return { type, valueJson: text.trim() };
  }
  const items = text.split(',').map((item) => scalarJson(element, item, spec));
  return { type, valueJson: `[${items.join(',')}]` };
}

/**
 * Parses one `TYPE:VALUE` argument into a decoded {@link Arg}: shaped by {@link parseTypedArg},
 * then decoded and checked by core's wire codec (`300` is not a `uint8`, `1.5` not an `int64`,
 * 64-bit integers beyond 2^53 become `bigint`). Every error is a {@link UsageError} (exit code 2)
 * naming the argument.
 *
 * @example
 * ```ts
 * decodeTypedArg('uint64:18446744073709551615'); // { Name: '', Type: 'uint64', Value: 18446744073709551615n }
 * ```
 */
export function decodeTypedArg(spec: string): Arg {
  const raw = parseTypedArg(spec);
  try {
    return {
      Name: '',
      Type: raw.type,
      Value: decodeArgValue(raw.type, parseJsonLossless(raw.valueJson)),
    };
  } catch (e) {
    if (e instanceof ArgTypeError) {
      throw new UsageError(`invalid argument '${spec}': ${e.message}`, { cause: e });
    }
    throw e;
  }
}
