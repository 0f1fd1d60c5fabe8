/**
 * Lossless JSON for the wire format: numbers are kept as their source text where a JavaScript
 * `number` could not hold them exactly, and `bigint`s are written as plain JSON numbers.
 *
 * Parsing uses `JSON.parse` with the reviver's `context.source` argument (JSON.parse source text
 * access, Node.js ≥ 22), so it runs at native speed and never rounds a 64-bit integer.
 *
 * @module
 */

/**
 * A JSON number kept as its source text, because as a `number` it would not be exact (an integer
 * beyond ±(2^53 − 1), or any number written with a fraction or an exponent).
 *
 * @example
 * ```ts
 * const v = parseJsonLossless('18446744073709551615'); // RawNumber { source: '18446744073709551615' }
 * ```
 */
export class RawNumber {
  readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  /** The value as a `number` (possibly rounded). */
  toNumber(): number {
    return Number(this.source);
  }

  toString(): string {
    return this.source;
  }
}

type ReviverWithSource = (
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
) => unknown;

const parseWithReviver = JSON.parse as (text: string, reviver: ReviverWithSource) => unknown;

const PLAIN_INTEGER = /^-?\d+$/;

let sourceAccessSupported: boolean | undefined;

function supportsSourceAccess(): boolean {
  if (sourceAccessSupported === undefined) {
    let seen: string | undefined;
    parseWithReviver('1', (_key, value, context) => {
      seen = context?.source;
      return value;
    });
    sourceAccessSupported = seen === '1';
  }
  return sourceAccessSupported;
}

/**
 * Parses JSON without losing precision: a number stays a `number` when it is a safe integer
 * written as a plain integer, and becomes a {@link RawNumber} otherwise.
 *
 * @throws SyntaxError when `text` is not JSON; Error on a runtime without JSON.parse source text
 * access (Node.js < 22).
 * @example
 * ```ts
 * parseJsonLossless('{"a":1,"b":1.5}'); // { a: 1, b: RawNumber { source: '1.5' } }
 * ```
 */
export function parseJsonLossless(text: string): unknown {
  if (!supportsSourceAccess()) {
    throw new Error(
      'this runtime lacks JSON.parse source text access; machinery-serverless needs Node.js >= 22',
    );
  }
  return parseWithReviver(text, (_key, value, context) => {
    if (typeof value !== 'number') return value;
    const source = context?.source ?? String(value);
    if (Number.isSafeInteger(value) && PLAIN_INTEGER.test(source)) return value === 0 ? 0 : value;
    return new RawNumber(source);
  });
}

/**
 * The deepest nesting of arrays and objects in a JSON text (strings are skipped), computed without
 * parsing, so a hostile body cannot exhaust the stack.
 *
 * @example
 * ```ts
 * jsonDepth('{"a":[1,[2]]}'); // 3
 * ```
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Serialises a JSON value; `bigint`s and {@link RawNumber}s are written as exact JSON numbers.
 * Object keys keep their insertion order; `undefined` properties are left out (as in
 * `JSON.stringify`).
 *
 * @throws TypeError for a non-finite number or a value JSON cannot hold.
 * @example
 * ```ts
 * stringifyJson({ v: 18446744073709551615n }); // '{"v":18446744073709551615}'
 * ```
 */
export function stringifyJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof RawNumber) return value.source;
      if (Array.isArray(value)) {
        return `[${value.map((v) => (v === undefined ? 'null' : stringifyJson(v))).join(',')}]`;
      }
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${stringifyJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`cannot encode a value of type ${typeof value} as JSON`);
  }
}

/**
 * Whether a value parsed by {@link parseJsonLossless} is a JSON object (not `null`, an array or a
 * lossless number).
 *
 * @example
 * ```ts
 * isJsonObject(parseJsonLossless('{"a":1}')); // true
 * isJsonObject(parseJsonLossless('[1]')); // false
 * ```
 */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);
}

/**
 * What kind of JSON value a parsed value is, for error messages: `'null'`, `'an array'`,
 * `'a number'`, `'an object'`, `'a string'`, `'a boolean'`.
 *
 * @example
 * ```ts
 * jsonKindOf(parseJsonLossless('12345678901234567890')); // 'a number'
 * ```
 */
export function jsonKindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof RawNumber || typeof v === 'number') return 'a number';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
